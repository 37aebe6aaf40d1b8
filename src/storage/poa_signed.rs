//! What is stored about signed powers of attorney beyond the row itself: revocations (the signed
//! statement, unchanged) and documents imported from elsewhere with their signature; and the
//! signatures read back for download.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::native;
use super::poa::{get, replace_powers};
use super::schema::{poa_revocations, poa_signatures, powers_of_attorney as poa};
use super::{DbConnection, StorageError};
use crate::domain::poa::{PowerGrant, PowerOfAttorney, Redelegation, StoredState};

/// The stored detached signature of a signed (or revoked) power of attorney.
pub fn signature(conn: &mut DbConnection, number: &str) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(poa_signatures::table
        .find(number)
        .select(poa_signatures::signature)
        .first(conn)
        .optional()?)
}

/// A stored revocation: the statement bytes, its signature, and when it took effect.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub statement: Vec<u8>,
    pub signature: Vec<u8>,
    pub revoked_at: NaiveDateTime,
}

pub fn revocation(
    conn: &mut DbConnection,
    number: &str,
) -> Result<Option<Revocation>, StorageError> {
    Ok(poa_revocations::table
        .find(number)
        .select((
            poa_revocations::document,
            poa_revocations::signature,
            poa_revocations::revoked_at,
        ))
        .first::<(Vec<u8>, Vec<u8>, NaiveDateTime)>(conn)
        .optional()?
        .map(|(statement, signature, revoked_at)| Revocation {
            statement,
            signature,
            revoked_at,
        }))
}

/// Marks a signed power of attorney revoked and stores the signed statement, if it is still the
/// given version and signed. None when it is not (changed meanwhile).
pub fn revoke(
    conn: &mut DbConnection,
    current: &PowerOfAttorney,
    statement: &[u8],
    signature: &[u8],
    revoked_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Option<PowerOfAttorney>, StorageError> {
    let n = diesel::update(
        poa::table
            .filter(poa::number.eq(&current.number))
            .filter(poa::version.eq(current.version))
            .filter(poa::state.eq(StoredState::Signed.as_str())),
    )
    .set((
        poa::state.eq(StoredState::Revoked.as_str()),
        poa::updated_at.eq(now),
        poa::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    diesel::insert_into(poa_revocations::table)
        .values((
            poa_revocations::number.eq(&current.number),
            poa_revocations::document.eq(statement),
            poa_revocations::signature.eq(signature),
            poa_revocations::revoked_at.eq(revoked_at),
        ))
        .execute(conn)?;
    get(conn, &current.number)
}

/// A power of attorney issued elsewhere, as its verified document says.
#[derive(Debug, Clone)]
pub struct Imported<'a> {
    pub number: &'a str,
    pub organization_oid: i64,
    pub internal_number: &'a str,
    pub principal_person_oid: i64,
    pub representative_person_oid: Option<i64>,
    pub start_date: chrono::NaiveDate,
    pub end_date: chrono::NaiveDate,
    pub redelegation: Redelegation,
    pub revocable: bool,
    pub powers: &'a [PowerGrant],
    pub document: &'a [u8],
    pub signature: &'a [u8],
    pub signer_certificate: &'a [u8],
    pub signing_time: Option<NaiveDateTime>,
}

/// Stores an imported, verified power of attorney as signed, with its signature. A НомДовер
/// already stored is a `UniqueViolation`.
pub fn insert_imported(
    conn: &mut DbConnection,
    i: &Imported<'_>,
    now: NaiveDateTime,
) -> Result<PowerOfAttorney, StorageError> {
    diesel::insert_into(poa::table)
        .values((
            poa::number.eq(i.number),
            poa::organization_oid.eq(i.organization_oid),
            poa::state.eq(StoredState::Signed.as_str()),
            poa::origin.eq("imported"),
            poa::internal_number.eq(i.internal_number),
            poa::principal_person_oid.eq(i.principal_person_oid),
            poa::representative_person_oid.eq(i.representative_person_oid),
            poa::start_date.eq(i.start_date),
            poa::end_date.eq(i.end_date),
            poa::redelegation.eq(i.redelegation.as_str()),
            poa::revocable.eq(i.revocable),
            poa::document.eq(i.document),
            poa::created_at.eq(now),
            poa::updated_at.eq(now),
            poa::version.eq(1i64),
        ))
        .execute(conn)?;
    replace_powers(conn, i.number, i.powers)?;
    insert_signature(
        conn,
        i.number,
        i.signature,
        i.signer_certificate,
        i.signing_time,
        now,
    )?;
    get(conn, i.number)?.ok_or(StorageError::NotFound)
}

/// The signature row of a power of attorney, as its signing and its import write it.
pub(super) fn insert_signature(
    conn: &mut DbConnection,
    number: &str,
    signature: &[u8],
    signer_certificate: &[u8],
    signing_time: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    native!(conn, |c| diesel::insert_into(poa_signatures::table)
        .values((
            poa_signatures::number.eq(number),
            poa_signatures::signature.eq(signature),
            poa_signatures::signer_certificate.eq(signer_certificate),
            poa_signatures::signing_time.eq(signing_time),
            poa_signatures::signed_at.eq(now),
        ))
        .execute(c))?;
    Ok(())
}

/// Whether a power of attorney with this НомДовер is stored.
pub fn exists(conn: &mut DbConnection, number: &str) -> Result<bool, StorageError> {
    Ok(diesel::select(diesel::dsl::exists(poa::table.find(number))).get_result(conn)?)
}
