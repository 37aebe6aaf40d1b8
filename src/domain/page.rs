//! Cursor pagination: page size limits and opaque page tokens.
//!
//! A token is base64url of `v1|<filter fingerprint>|<last key>`: opaque to callers, bound to the
//! filters it was made for (a token reused with other filters is refused).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A requested page: how many rows, and the key after which to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: i64,
    pub after: Option<String>,
}

/// Why a page request was refused (shown as a field violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub &'static str, pub String);

/// Checks `page_size` and decodes `page_token` against the fingerprint of the filters.
pub fn page_request(size: i32, token: &str, fingerprint: &str) -> Result<PageRequest, PageError> {
    if size < 0 {
        return Err(PageError("page_size", "must not be negative".into()));
    }
    let size = if size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        i64::from(size).min(MAX_PAGE_SIZE)
    };
    if token.is_empty() {
        return Ok(PageRequest { size, after: None });
    }
    let bad = || PageError("page_token", "is not a token this list returned".into());
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(fp), Some(key)) if !key.is_empty() => {
            if fp != fingerprint {
                return Err(PageError(
                    "page_token",
                    "was made for other filters; start again without a token".into(),
                ));
            }
            Ok(PageRequest {
                size,
                after: Some(key.to_owned()),
            })
        }
        _ => Err(bad()),
    }
}

/// Makes the token for the page after `last_key`.
pub fn next_token(fingerprint: &str, last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{fingerprint}|{last_key}"))
}

/// A short fingerprint of filter values.
pub fn fingerprint(parts: &[&str]) -> String {
    let joined = parts.join("\u{1f}");
    let h = crate::crypto::streebog::streebog256(joined.as_bytes());
    hex::encode(&h[..6])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let fp = fingerprint(&["a", "b"]);
        let t = next_token(&fp, "123");
        assert_eq!(
            page_request(10, &t, &fp).unwrap().after.as_deref(),
            Some("123")
        );
        assert_eq!(page_request(10, &t, "other").unwrap_err().0, "page_token");
        assert_eq!(page_request(0, "", &fp).unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(page_request(10_000, "", &fp).unwrap().size, MAX_PAGE_SIZE);
        assert!(page_request(-1, "", &fp).is_err());
        assert!(page_request(1, "!!!", &fp).is_err());
    }
}
