//! Small helpers shared by the PKI modules: PEM blocks, base64 of every flavour, time conversion.
//!
//! PEM is decoded with `pem-rfc7468` (re-exported by the `der` crate); base64 with the `base64`
//! crate. Nothing here parses ASN.1 by hand.
use chrono::{DateTime, Utc};

use super::error::{CryptoError, CryptoResult};

/// Every PEM block in `text` with the given label (e.g. `CERTIFICATE`, `X509 CRL`), decoded.
pub fn pem_blocks(text: &str, label: &str) -> CryptoResult<Vec<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start..];
        let Some(stop) = after.find(&end) else {
            return Err(CryptoError::Malformed(format!(
                "PEM block `{label}` has no END line"
            )));
        };
        let block = &after[..stop + end.len()];
        let (got, bytes) = der::pem::decode_vec(block.as_bytes()).map_err(|e| {
            CryptoError::Malformed(format!("PEM block `{label}` does not decode: {e}"))
        })?;
        if got != label {
            return Err(CryptoError::Malformed(format!(
                "PEM block labelled `{got}`, expected `{label}`"
            )));
        }
        out.push(bytes);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// True when the bytes look like PEM text rather than DER.
pub fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Seconds since the epoch to UTC; out-of-range values are malformed.
pub fn from_unix(secs: i64) -> CryptoResult<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .ok_or_else(|| CryptoError::Malformed(format!("time {secs} is out of range")))
}

/// Strips leading zero bytes of a big-endian integer (serial numbers compare by value).
pub fn trim_be(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[n..]
}

/// Lower-case hex with colons, as people read serial numbers and key identifiers.
pub fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
