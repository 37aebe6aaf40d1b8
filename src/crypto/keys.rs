//! GOST private keys as OpenSSL's GOST engine writes them (PKCS#8 "PRIVATE KEY" PEM).
//!
//! ```text
//! PrivateKeyInfo ::= SEQUENCE {
//!   version INTEGER 0,
//!   algorithm SEQUENCE { OID 1.2.643.7.1.1.1.1 | 1.2.643.7.1.1.1.2,
//!                        SEQUENCE { paramSet OID [, digest OID] } },
//!   privateKey OCTET STRING }
//! ```
//! The engine writes the privateKey contents as the raw little-endian d (32 or 64 bytes); other
//! writers wrap it as a DER OCTET STRING (little-endian) or a DER INTEGER (big-endian, as DER
//! integers are). All three are read; the raw form is written.
#![allow(clippy::needless_range_loop, clippy::wrong_self_convention)] // limb arithmetic indexes arrays in lock-step
use base64::Engine;
use zeroize::Zeroize;

use super::error::{CryptoError, CryptoResult};
use super::gost3410::{ParamSet, PrivateKey};

fn bad(what: &str) -> CryptoError {
    CryptoError::Malformed(format!("private key PEM: {what}"))
}

/// One DER TLV: (tag, contents, rest).
fn tlv(b: &[u8]) -> CryptoResult<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first().ok_or_else(|| bad("truncated DER"))?;
    let (&l0, rest) = rest.split_first().ok_or_else(|| bad("truncated DER"))?;
    let (len, rest) = if l0 < 0x80 {
        (l0 as usize, rest)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("bad DER length"));
        }
        let mut len = 0usize;
        for &x in &rest[..n] {
            len = (len << 8) | x as usize;
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("truncated DER"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn oid_to_string(b: &[u8]) -> CryptoResult<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for &x in b {
        if v > (u64::MAX >> 8) {
            return Err(bad("OID arc too large"));
        }
        v = (v << 7) | (x & 0x7f) as u64;
        if x & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    if arcs.is_empty() {
        return Err(bad("empty OID"));
    }
    Ok(arcs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("."))
}

fn oid_to_der(oid: &str) -> Vec<u8> {
    let arcs: Vec<u64> = oid.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut body = Vec::new();
    if arcs.len() >= 2 {
        let mut enc = |mut v: u64| {
            let mut tmp = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            tmp.reverse();
            body.extend(tmp);
        };
        enc(arcs[0] * 40 + arcs[1]);
        for &a in &arcs[2..] {
            enc(a);
        }
    }
    der(0x06, &body)
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(body);
    out
}

/// The DER of a PEM block with the given label.
fn pem_body(pem: &str, label: &str) -> CryptoResult<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| bad(&format!("no {begin} line")))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| bad(&format!("no {end} line")))?
        + start;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| bad(&format!("base64: {e}")))
}

/// PKCS#8 "PRIVATE KEY" as OpenSSL's GOST engine writes it (the key may be raw, an OCTET STRING or
/// an INTEGER; see the module comment).
pub fn private_key_from_pem(pem: &str) -> CryptoResult<PrivateKey> {
    let mut der_bytes = pem_body(pem, "PRIVATE KEY")?;
    let r = private_key_from_der(&der_bytes);
    der_bytes.zeroize();
    r
}

/// PKCS#8 PrivateKeyInfo DER (see [`private_key_from_pem`]).
pub fn private_key_from_der(der_bytes: &[u8]) -> CryptoResult<PrivateKey> {
    let (tag, seq, _) = tlv(der_bytes)?;
    if tag != 0x30 {
        return Err(bad("not a SEQUENCE"));
    }
    let (tag, version, rest) = tlv(seq)?;
    if tag != 0x02 || version != [0] {
        return Err(bad("unsupported PKCS#8 version"));
    }
    let (tag, alg, rest) = tlv(rest)?;
    if tag != 0x30 {
        return Err(bad("algorithm is not a SEQUENCE"));
    }
    let (tag, alg_oid, alg_rest) = tlv(alg)?;
    if tag != 0x06 {
        return Err(bad("algorithm OID"));
    }
    let alg_oid = oid_to_string(alg_oid)?;
    let is512 = match alg_oid.as_str() {
        "1.2.643.7.1.1.1.1" | "1.2.643.2.2.19" => false,
        "1.2.643.7.1.1.1.2" => true,
        other => {
            return Err(bad(&format!(
                "not a GOST R 34.10-2012 key (algorithm {other})"
            )));
        }
    };
    let (tag, params, _) = tlv(alg_rest)?;
    if tag != 0x30 {
        return Err(bad("key parameters are not a SEQUENCE"));
    }
    let (tag, ps_oid, _) = tlv(params)?;
    if tag != 0x06 {
        return Err(bad("parameter set OID"));
    }
    let ps_oid = oid_to_string(ps_oid)?;
    let ps = ParamSet::from_oid(&ps_oid)
        .ok_or_else(|| bad(&format!("unknown parameter set {ps_oid}")))?;
    if ps.is_512() != is512 {
        return Err(bad("parameter set does not match the key size"));
    }
    let (tag, key, _) = tlv(rest)?;
    if tag != 0x04 {
        return Err(bad("privateKey is not an OCTET STRING"));
    }
    let size = ps.size();
    if key.len() == size {
        return PrivateKey::from_le_bytes(ps, key);
    }
    let (tag, inner, _) = tlv(key)?;
    match tag {
        0x04 => PrivateKey::from_le_bytes(ps, inner),
        0x02 => {
            // DER INTEGER: big-endian, possibly with a leading zero byte or shorter
            let trimmed: &[u8] = {
                let mut t = inner;
                while t.len() > size && t.first() == Some(&0) {
                    t = &t[1..];
                }
                t
            };
            if trimmed.len() > size {
                return Err(bad("private key INTEGER too large"));
            }
            let mut be = vec![0u8; size];
            be[size - trimmed.len()..].copy_from_slice(trimmed);
            let r = PrivateKey::from_be_bytes(ps, &be);
            be.zeroize();
            r
        }
        _ => Err(bad(
            "unsupported private key encoding (masked keys are not supported)",
        )),
    }
}

/// PKCS#8 DER as OpenSSL's GOST engine writes it.
pub fn private_key_to_der(key: &PrivateKey) -> zeroize::Zeroizing<Vec<u8>> {
    let ps = key.param_set();
    let alg_oid = if ps.is_512() {
        "1.2.643.7.1.1.1.2"
    } else {
        "1.2.643.7.1.1.1.1"
    };
    let mut params = oid_to_der(ps.oid());
    // the engine names the digest for the sets that have CryptoPro-era or 512 A/B OIDs
    if matches!(
        ps,
        ParamSet::Test256 | ParamSet::Tc26_512A | ParamSet::Tc26_512B | ParamSet::Test512
    ) {
        params.extend(oid_to_der(ps.digest_oid()));
    }
    let mut alg = oid_to_der(alg_oid);
    alg.extend(der(0x30, &params));
    let d = key.to_le_bytes();
    let mut body = der(0x02, &[0]);
    body.extend(der(0x30, &alg));
    let mut octets = der(0x04, &d);
    body.extend_from_slice(&octets);
    octets.zeroize();
    let out = der(0x30, &body);
    body.zeroize();
    zeroize::Zeroizing::new(out)
}

/// PKCS#8 PEM that `openssl pkey -engine gost` reads back.
pub fn private_key_to_pem(key: &PrivateKey) -> String {
    let der_bytes = private_key_to_der(key);
    let b64 =
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der_bytes));
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/pki/{name}.key.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap_or_default()
    }

    #[test]
    fn fixture_keys_load_and_round_trip() {
        let dir = format!("{}/tests/fixtures/pki", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !name.ends_with(".key.pem") {
                continue;
            }
            let pem = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let key = private_key_from_pem(&pem);
            assert!(key.is_ok(), "{name}: {key:?}");
            if let Ok(key) = key {
                let again = private_key_from_pem(&private_key_to_pem(&key));
                assert!(again.is_ok(), "{name}");
                if let Ok(again) = again {
                    assert_eq!(again.public_key(), key.public_key(), "{name}");
                    assert_eq!(again.param_set(), key.param_set());
                }
            }
            n += 1;
        }
        assert!(n >= 20, "found {n} keys");
    }

    #[test]
    fn integer_and_octet_string_forms() {
        let Ok(key) = private_key_from_pem(&fixture("ps256_TCB")) else {
            unreachable!("fixture")
        };
        let d = key.to_le_bytes();
        let ps = key.param_set();
        let mut alg = oid_to_der("1.2.643.7.1.1.1.1");
        alg.extend(der(0x30, &oid_to_der(ps.oid())));
        for inner in [der(0x04, &d), {
            let mut be = d.to_vec();
            be.reverse();
            let mut v = vec![0u8];
            v.extend(be);
            der(0x02, &v)
        }] {
            let mut body = der(0x02, &[0]);
            body.extend(der(0x30, &alg));
            body.extend(der(0x04, &inner));
            let k2 = private_key_from_der(&der(0x30, &body));
            assert!(k2.is_ok(), "{k2:?}");
            if let Ok(k2) = k2 {
                assert_eq!(k2.public_key(), key.public_key());
            }
        }
        assert!(private_key_from_pem("garbage").is_err());
        assert!(
            private_key_from_pem("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }
}
