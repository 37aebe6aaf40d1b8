//! Idempotency records: (client, operation, request_id) → the fingerprint of the first request
//! and the id of what it created.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::native;
use super::schema::idempotency;
use super::{DbConnection, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: Vec<u8>,
    pub result_id: String,
}

pub fn get(
    conn: &mut DbConnection,
    client_id: &str,
    operation: &str,
    request_id: &str,
) -> Result<Option<IdempotencyRecord>, StorageError> {
    Ok(idempotency::table
        .find((client_id, operation, request_id))
        .select((idempotency::fingerprint, idempotency::result_id))
        .first::<(Vec<u8>, String)>(conn)
        .optional()?
        .map(|(fingerprint, result_id)| IdempotencyRecord {
            fingerprint,
            result_id,
        }))
}

pub fn insert(
    conn: &mut DbConnection,
    client_id: &str,
    operation: &str,
    request_id: &str,
    fingerprint: &[u8],
    result_id: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(idempotency::table)
        .values((
            idempotency::client_id.eq(client_id),
            idempotency::operation.eq(operation),
            idempotency::request_id.eq(request_id),
            idempotency::fingerprint.eq(fingerprint),
            idempotency::result_id.eq(result_id),
            idempotency::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Fills in the id of what the claimed request created.
pub fn set_result(
    conn: &mut DbConnection,
    client_id: &str,
    operation: &str,
    request_id: &str,
    result_id: &str,
) -> Result<(), StorageError> {
    diesel::update(idempotency::table.find((client_id, operation, request_id)))
        .set(idempotency::result_id.eq(result_id))
        .execute(conn)?;
    Ok(())
}

/// A request id to claim for what an idempotent write will create.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub client_id: &'a str,
    pub operation: &'a str,
    pub request_id: &'a str,
    pub fingerprint: &'a [u8],
    pub result_id: &'a str,
    pub now: NaiveDateTime,
}

/// Claims the request id; false when it was claimed before (a concurrent twin waits on the
/// unique index until the first commits or rolls back).
pub fn claim(conn: &mut DbConnection, c: &Claim) -> Result<bool, StorageError> {
    let q = diesel::insert_into(idempotency::table).values((
        idempotency::client_id.eq(c.client_id),
        idempotency::operation.eq(c.operation),
        idempotency::request_id.eq(c.request_id),
        idempotency::fingerprint.eq(c.fingerprint),
        idempotency::result_id.eq(c.result_id),
        idempotency::created_at.eq(c.now),
    ));
    let n = native!(conn, |c| q.on_conflict_do_nothing().execute(c))?;
    Ok(n == 1)
}
