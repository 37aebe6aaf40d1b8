//! What is stored about signed powers of attorney beyond the row itself: the head's signing of a
//! draft (the signature row and the state, in one conditional write), revocations (the signed
//! statement, unchanged) and documents imported from elsewhere with their signature; and the
//! signatures read back for download.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::audit;
use super::conn::native;
use super::poa::{get, replace_powers};
use super::prepared::{Statement, statement};
use super::schema::{poa_revocations, poa_signatures, powers_of_attorney as poa};
use super::{DbConnection, StorageError};
use crate::domain::audit::{AuditEvent, NewEvent};
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

/// The head's signature of a draft, for [`sign`].
pub struct Signing<'a> {
    pub number: &'a str,
    /// The version the signer reviewed: the draft is signed only if it still is this one.
    pub version: i64,
    /// The principal organisation and the version of it the caller's checks were decided on:
    /// the draft is signed only if the organisation still is that version.
    pub organization_oid: i64,
    pub organization_version: i64,
    pub signature: &'a [u8],
    pub signer_certificate: &'a [u8],
    pub signing_time: Option<NaiveDateTime>,
}

/// What [`sign`] did.
pub struct Signed {
    /// False when the draft was no longer that version or no longer a draft, or the organisation
    /// no longer that version: nothing written.
    pub signed: bool,
    /// The audit event, when the same statement appended it (PostgreSQL, with this process's
    /// hint of the chain's head); otherwise the caller appends it.
    pub event: Option<AuditEvent>,
}

/// Records the head's signature and marks the draft signed, if it is still the given version
/// and a draft. Reads nothing back (the caller knows the row), so the write transaction stays
/// short: on PostgreSQL one statement with the audit event (`event`, under the head hint), on
/// SQLite the prepared state update and the signature row.
pub fn sign(
    conn: &mut DbConnection,
    s: &Signing,
    event: &NewEvent,
    now: NaiveDateTime,
) -> Result<Signed, StorageError> {
    /// The statements' names in the statement cache.
    struct MarkSigned;
    struct SignWithEvent;
    struct SignAlone;
    if let DbConnection::Postgresql(pg) = conn {
        let hinted = audit::hinted(event, now);
        let r: SignedRow = match &hinted {
            Some(e) => e
                .bind(bind_signing(
                    statement::<SignWithEvent>(&SIGN_WITH_EVENT_SQL),
                    s,
                    now,
                ))
                .get_result(pg)?,
            None => bind_signing(statement::<SignAlone>(&SIGN_SQL), s, now).get_result(pg)?,
        };
        // A draft no longer signable says nothing about the hint: keep it.
        let event = match hinted {
            Some(e) if r.signed => e.outcome(r.appended),
            _ => None,
        };
        return Ok(Signed {
            signed: r.signed,
            event,
        });
    }
    let marked = native!(conn, |c| bind_mark(
        statement::<MarkSigned>(MARK_SIGNED_SQL),
        s,
        now
    )
    .execute(c))?;
    let signed = marked == 1;
    if signed {
        insert_signature(
            conn,
            s.number,
            s.signature,
            s.signer_certificate,
            s.signing_time,
            now,
        )?;
    }
    Ok(Signed {
        signed,
        event: None,
    })
}

/// The draft (`$1` number, `$2` version, `$3` draft state) moves to `$4` (signed) at `$5`, its
/// version one up, if its organisation (`$6`) still is version `$7`. A fixed text, prepared once
/// per connection: diesel never caches a DSL UPDATE.
const MARK_SIGNED_SQL: &str = "UPDATE powers_of_attorney SET state = $4, updated_at = $5, \
     version = $2 + 1 WHERE number = $1 AND version = $2 AND state = $3 AND EXISTS (SELECT 1 \
     FROM organizations WHERE oid = $6 AND version = $7)";

/// PostgreSQL: the state update of [`MARK_SIGNED_SQL`] (CTE `u`) and the signature row
/// (`$8`…`$10`, CTE `s`, only if `u` matched) in one statement.
static SIGN_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT EXISTS (SELECT 1 FROM u) AS signed, FALSE AS appended",
        *SIGN_CTES
    )
});

/// [`SIGN_SQL`] and the audit event (`$11`…) after the hinted head, only if the signature row
/// was written.
static SIGN_WITH_EVENT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, {} SELECT EXISTS (SELECT 1 FROM u) AS signed, \
         EXISTS (SELECT 1 FROM e) AS appended",
        *SIGN_CTES,
        audit::guarded_after("s", 11)
    )
});

/// CTEs `u` (the state update) and `s` (the signature row, written only after `u`).
static SIGN_CTES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH u AS ({MARK_SIGNED_SQL} RETURNING number), s AS (INSERT INTO poa_signatures \
         (number, signature, signer_certificate, signing_time, signed_at) SELECT number, $8, $9, \
         $10, $5 FROM u RETURNING 1)"
    )
});

/// Binds `$1`…`$7` of [`MARK_SIGNED_SQL`].
fn bind_mark<T>(q: Statement<T>, s: &Signing, now: NaiveDateTime) -> Statement<T> {
    q.bind(s.number)
        .bind(s.version)
        .bind(StoredState::Draft.as_str())
        .bind(StoredState::Signed.as_str())
        .bind(now)
        .bind(s.organization_oid)
        .bind(s.organization_version)
}

/// Binds `$1`…`$10` of [`SIGN_SQL`].
fn bind_signing<T>(q: Statement<T>, s: &Signing, now: NaiveDateTime) -> Statement<T> {
    bind_mark(q, s, now)
        .bind(s.signature)
        .bind(s.signer_certificate)
        .bind(s.signing_time)
}

#[derive(QueryableByName)]
struct SignedRow {
    #[diesel(sql_type = Bool)]
    signed: bool,
    #[diesel(sql_type = Bool)]
    appended: bool,
}

/// The signature row of a power of attorney, as its signing and its import write it.
fn insert_signature(
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
