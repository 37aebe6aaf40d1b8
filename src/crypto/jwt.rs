//! JWS/JWT with ESIA's GOST algorithms `GOST3410_2012_256` and `GOST3410_2012_512`.
//!
//! Signing input: the ASCII `base64url(header) "." base64url(claims)` (no padding, RFC 7515).
//! Digest: Streebog-256 (or -512 for `GOST3410_2012_512`) of the signing input, read as a
//! little-endian integer by GOST R 34.10-2012.
//!
//! **Signature byte order**: the third segment is base64url (no padding) of the 64 (or 128) bytes
//! **s‖r, each big-endian** — the layout OpenSSL's GOST engine produces and the one ESIA's tokens
//! carry (DESIGN.md §2, checked against real ESIA tokens). CryptoPro CSP's raw signature
//! (`CryptSignHash`, `csptest -sign`) is the same 64 bytes reversed as a whole, which is why ESIA
//! integrations built on CryptoPro reverse the bytes (`strrev`) before base64url-encoding them
//! (public reports: CryptoPro/libcore issue 45, fr05t1k/esia pull request 99). See docs/CRYPTO.md.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::error::{CryptoError, CryptoResult};
use super::gost3410::{PrivateKey, PublicKey};

pub const ALG_256: &str = "GOST3410_2012_256";
pub const ALG_512: &str = "GOST3410_2012_512";

/// Largest token accepted for verification.
pub const MAX_TOKEN: usize = 64 * 1024;

fn alg_for(is_512: bool) -> &'static str {
    if is_512 { ALG_512 } else { ALG_256 }
}

/// Signs `claims` (a JSON object). The header is `{"alg": …, "typ": "JWT"}` plus the members of
/// `header_extra` (e.g. ESIA's `"ver": 1, "sbt": "access"`); `alg` always follows the key size.
pub fn sign_jwt(key: &PrivateKey, header_extra: &Value, claims: &Value) -> CryptoResult<String> {
    let mut header = Map::new();
    if let Some(extra) = header_extra.as_object() {
        for (k, v) in extra {
            header.insert(k.clone(), v.clone());
        }
    } else if !header_extra.is_null() {
        return Err(CryptoError::Malformed(
            "the extra JWT header must be a JSON object".into(),
        ));
    }
    header
        .entry("typ")
        .or_insert_with(|| Value::String("JWT".into()));
    header.insert(
        "alg".into(),
        Value::String(alg_for(key.param_set().is_512()).into()),
    );
    if !claims.is_object() {
        return Err(CryptoError::Malformed(
            "JWT claims must be a JSON object".into(),
        ));
    }
    let h = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| CryptoError::Malformed(format!("JWT header: {e}")))?;
    let c = serde_json::to_vec(claims)
        .map_err(|e| CryptoError::Malformed(format!("JWT claims: {e}")))?;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(c)
    );
    let digest = key.param_set().digest(input.as_bytes());
    let sig = key.sign_digest(&digest)?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Checks the token's GOST signature with `key` and returns (header, claims). Only the signature
/// and `alg` are checked here; the caller checks `typ`, `iss`, `exp` and the rest.
pub fn verify_jwt_signature(token: &str, key: &PublicKey) -> CryptoResult<(Value, Value)> {
    if token.len() > MAX_TOKEN {
        return Err(CryptoError::Malformed(format!(
            "the token is longer than {MAX_TOKEN} bytes"
        )));
    }
    let mut parts = token.trim().split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::Malformed(
            "a JWT has three dot-separated parts".into(),
        ));
    };
    let decode = |what: &str, s: &str| {
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|e| CryptoError::Malformed(format!("JWT {what} is not base64url: {e}")))
    };
    let header: Value = serde_json::from_slice(&decode("header", h64)?)
        .map_err(|e| CryptoError::Malformed(format!("JWT header is not JSON: {e}")))?;
    let claims: Value = serde_json::from_slice(&decode("claims", c64)?)
        .map_err(|e| CryptoError::Malformed(format!("JWT claims are not JSON: {e}")))?;
    if !header.is_object() || !claims.is_object() {
        return Err(CryptoError::Malformed(
            "JWT header and claims must be JSON objects".into(),
        ));
    }
    let ps = key.param_set();
    let want = alg_for(ps.is_512());
    match header.get("alg").and_then(Value::as_str) {
        Some(a) if a == want => {}
        Some(a) => {
            return Err(CryptoError::BadSignature(format!(
                "JWT alg is {a}, but the key calls for {want}"
            )));
        }
        None => return Err(CryptoError::Malformed("JWT header has no alg".into())),
    }
    let sig = decode("signature", s64)?;
    if sig.len() != 2 * ps.size() {
        return Err(CryptoError::BadSignature(format!(
            "JWT signature of {} bytes, expected {}",
            sig.len(),
            2 * ps.size()
        )));
    }
    let input_len = h64.len() + 1 + c64.len();
    let input = &token.trim()[..input_len];
    let digest = ps.digest(input.as_bytes());
    key.verify_digest(&digest, &sig).map_err(|e| match e {
        CryptoError::BadSignature(m) => {
            CryptoError::BadSignature(format!("JWT signature does not verify ({m})"))
        }
        other => other,
    })?;
    Ok((header, claims))
}
