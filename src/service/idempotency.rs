//! Idempotent creates: a client-chosen `request_id` makes a retry return the first result.

use chrono::NaiveDateTime;

use crate::crypto::streebog::streebog256;
use crate::domain::caller::Caller;
use crate::storage::{self, DbConnection, StorageError};

use super::error::ServiceError;

/// Checks a request id: 1–128 printable ASCII characters; empty means "not idempotent".
pub fn parse_request_id(s: &str) -> Result<Option<String>, ServiceError> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > 128 || !s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ServiceError::invalid(
            "request_id",
            "must be 1 to 128 printable ASCII characters without spaces",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// The fingerprint of a command: a hash of its canonical JSON.
pub fn fingerprint<T: serde::Serialize>(command: &T) -> Vec<u8> {
    let json = serde_json::to_vec(command).unwrap_or_default();
    streebog256(&json).to_vec()
}

/// Inside a write transaction: returns `Ok(Some(id))` when this request was already done (same
/// fingerprint), an error when the id was used for another request, `Ok(None)` to go on.
pub fn replayed(
    conn: &mut DbConnection,
    caller: &Caller,
    operation: &str,
    request_id: Option<&str>,
    fingerprint: &[u8],
) -> Result<Option<String>, ServiceError> {
    let Some(rid) = request_id else {
        return Ok(None);
    };
    match storage::idempotency::get(conn, &caller.client_id, operation, rid)? {
        Some(rec) if rec.fingerprint == fingerprint => Ok(Some(rec.result_id)),
        Some(_) => Err(ServiceError::AlreadyExists {
            reason: "REQUEST_ID_REUSED",
            resource: "request",
            field: Some("request_id"),
            message: "this request_id was already used for a different request".into(),
        }),
        None => Ok(None),
    }
}

/// Claims the request id before anything is created (after [`replayed`] said it is new): a
/// concurrent twin blocks on this row until the first commits, then retries and replays.
pub fn claim(
    conn: &mut DbConnection,
    caller: &Caller,
    operation: &str,
    request_id: Option<&str>,
    fingerprint: &[u8],
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let Some(rid) = request_id else {
        return Ok(());
    };
    match storage::idempotency::insert(
        conn,
        &caller.client_id,
        operation,
        rid,
        fingerprint,
        "",
        now,
    ) {
        Ok(()) => Ok(()),
        Err(StorageError::UniqueViolation(m)) => Err(ServiceError::Retry(m)),
        Err(e) => Err(e.into()),
    }
}

/// Records the id of what the claimed request created.
pub fn complete(
    conn: &mut DbConnection,
    caller: &Caller,
    operation: &str,
    request_id: Option<&str>,
    result_id: &str,
) -> Result<(), ServiceError> {
    let Some(rid) = request_id else {
        return Ok(());
    };
    Ok(storage::idempotency::set_result(
        conn,
        &caller.client_id,
        operation,
        rid,
        result_id,
    )?)
}
