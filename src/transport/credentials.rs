//! The request headers every transport reads the same way: `x-request-id` (generated when absent
//! or unusable), `authorization: Bearer …` and, for portals, `x-orgadm-person: <OID>`; and the
//! TLS client certificate the connection presented, which the listener puts into each request.

use ::http::HeaderMap;

use crate::service::ServiceError;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request id a client sent (1–128 ASCII characters), or a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    header(headers, "x-request-id")
        .filter(|r| !r.is_empty() && r.len() <= 128 && r.is_ascii())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The bearer token, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    })
}

/// The SHA-256 fingerprint of the connection's verified client certificate, if any.
pub fn client_certificate(extensions: &::http::Extensions) -> Option<[u8; 32]> {
    extensions
        .get::<super::tls::ClientCertificate>()
        .map(|c| c.sha256)
}

/// The person a portal acts for, if named; a malformed value is a bad argument.
pub fn acting_person(headers: &HeaderMap) -> Result<Option<i64>, ServiceError> {
    match header(headers, "x-orgadm-person").map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => match p.parse::<i64>() {
            Ok(oid) if oid > 0 => Ok(Some(oid)),
            _ => Err(ServiceError::invalid(
                "x-orgadm-person",
                "must be the OID of the person the portal acts for",
            )),
        },
    }
}
