//! Reads for the records export (`service::records`): one consistent snapshot, then the stored
//! bytes of powers of attorney, their signatures and revocations a batch at a time, and the token
//! issuance log of a period in key order. Nothing here writes: records are never changed.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::poa_signed::Revocation;
use super::schema::{poa_revocations, poa_signatures, powers_of_attorney as poa, token_issuances};
use super::tokens::IssuanceRow;
use super::{DbConnection, StorageError};
use crate::domain::token::Issuance;

/// Makes the current transaction one snapshot for all its statements. PostgreSQL's default
/// (READ COMMITTED) gives each statement its own; REPEATABLE READ gives the transaction one, and
/// READ ONLY says it writes nothing. Must be the transaction's first statement. SQLite's read
/// transaction already sees one snapshot (WAL) from its first read on.
pub fn begin_snapshot(conn: &mut DbConnection) -> Result<(), StorageError> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(c)?;
    }
    Ok(())
}

/// The exact document bytes of several powers of attorney, by НомДовер.
pub fn documents_of(
    conn: &mut DbConnection,
    numbers: &[String],
) -> Result<HashMap<String, Vec<u8>>, StorageError> {
    Ok(poa::table
        .filter(poa::number.eq_any(numbers))
        .select((poa::number, poa::document))
        .load::<(String, Vec<u8>)>(conn)?
        .into_iter()
        .collect())
}

/// A stored signature of a power of attorney, unchanged, and what its check established.
#[derive(Debug, Clone)]
pub struct SignatureRecord {
    pub signature: Vec<u8>,
    pub signer_certificate: Vec<u8>,
    pub signing_time: Option<NaiveDateTime>,
    /// When the service accepted it (signed here, or imported).
    pub signed_at: NaiveDateTime,
}

pub fn signatures_of(
    conn: &mut DbConnection,
    numbers: &[String],
) -> Result<HashMap<String, SignatureRecord>, StorageError> {
    Ok(poa_signatures::table
        .filter(poa_signatures::number.eq_any(numbers))
        .select((
            poa_signatures::number,
            poa_signatures::signature,
            poa_signatures::signer_certificate,
            poa_signatures::signing_time,
            poa_signatures::signed_at,
        ))
        .load::<(
            String,
            Vec<u8>,
            Vec<u8>,
            Option<NaiveDateTime>,
            NaiveDateTime,
        )>(conn)?
        .into_iter()
        .map(
            |(n, signature, signer_certificate, signing_time, signed_at)| {
                (
                    n,
                    SignatureRecord {
                        signature,
                        signer_certificate,
                        signing_time,
                        signed_at,
                    },
                )
            },
        )
        .collect())
}

pub fn revocations_of(
    conn: &mut DbConnection,
    numbers: &[String],
) -> Result<HashMap<String, Revocation>, StorageError> {
    Ok(poa_revocations::table
        .filter(poa_revocations::number.eq_any(numbers))
        .select((
            poa_revocations::number,
            poa_revocations::document,
            poa_revocations::signature,
            poa_revocations::revoked_at,
        ))
        .load::<(String, Vec<u8>, Vec<u8>, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(n, statement, signature, revoked_at)| {
            (
                n,
                Revocation {
                    statement,
                    signature,
                    revoked_at,
                },
            )
        })
        .collect())
}

/// An organisation's token issuances with `from <= issued_at < to` (either bound optional), oldest first, after the
/// `(issued_at, sid)` key (index `token_issuances_org`).
pub fn token_issuances(
    conn: &mut DbConnection,
    organization_oid: i64,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Issuance>, StorageError> {
    let mut q = token_issuances::table
        .filter(token_issuances::organization_oid.eq(organization_oid))
        .select(IssuanceRow::as_select())
        .into_boxed();
    if let Some(t) = to {
        q = q.filter(token_issuances::issued_at.lt(t));
    }
    if let Some(f) = from {
        q = q.filter(token_issuances::issued_at.ge(f));
    }
    if let Some((t, sid)) = after {
        q = q.filter(
            token_issuances::issued_at
                .gt(*t)
                .or(token_issuances::issued_at
                    .eq(*t)
                    .and(token_issuances::sid.gt(sid.clone()))),
        );
    }
    Ok(
        q.order((token_issuances::issued_at.asc(), token_issuances::sid.asc()))
            .limit(limit)
            .load(conn)?
            .into_iter()
            .map(Issuance::from)
            .collect(),
    )
}
