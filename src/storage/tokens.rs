//! The token exchange's records: issued tokens (by sid) and refused exchanges; and the facts
//! about a key's organisation and holder the signer's certificate is matched against.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::audit;
use super::conn::native;
use super::prepared::{Statement, statement};
use super::schema::{token_issuances, token_refusals};
use super::{DbConnection, StorageError};
use crate::domain::audit::{AuditEvent, NewEvent};
use crate::domain::token::{Issuance, RefusalRecord};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = token_issuances)]
pub(super) struct IssuanceRow {
    sid: String,
    key_id: String,
    client_id: String,
    organization_oid: i64,
    holder_oid: i64,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    client_addr: String,
    signer_serial: String,
    signer_thumbprint: String,
    signer_kind: String,
    signing_time: NaiveDateTime,
}

impl From<&Issuance> for IssuanceRow {
    fn from(i: &Issuance) -> Self {
        let i = i.clone();
        Self {
            sid: i.sid,
            key_id: i.key_id,
            client_id: i.client_id,
            organization_oid: i.organization_oid,
            holder_oid: i.holder_oid,
            issued_at: i.issued_at,
            expires_at: i.expires_at,
            client_addr: i.client_addr,
            signer_serial: i.signer_serial,
            signer_thumbprint: i.signer_thumbprint,
            signer_kind: i.signer_kind,
            signing_time: i.signing_time,
        }
    }
}

impl From<IssuanceRow> for Issuance {
    fn from(r: IssuanceRow) -> Self {
        Self {
            sid: r.sid,
            key_id: r.key_id,
            client_id: r.client_id,
            organization_oid: r.organization_oid,
            holder_oid: r.holder_oid,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            client_addr: r.client_addr,
            signer_serial: r.signer_serial,
            signer_thumbprint: r.signer_thumbprint,
            signer_kind: r.signer_kind,
            signing_time: r.signing_time,
        }
    }
}

/// Records an issuance and, on PostgreSQL when this process knows the head of the event's chain
/// (`audit::hinted`), its audit event in the same statement: one round trip instead of two on
/// the organisation's write lane, which every token of the organisation goes through. Returns
/// the event when the statement appended it; None when the caller must still append it
/// (`audit::append`, same transaction): on SQLite, without a hint, or with a stale one.
pub fn insert_issuance(
    conn: &mut DbConnection,
    i: &Issuance,
    event: &NewEvent,
    now: NaiveDateTime,
) -> Result<Option<AuditEvent>, StorageError> {
    let row = IssuanceRow::from(i);
    if let DbConnection::Postgresql(pg) = conn
        && let Some(e) = audit::hinted(event, now)
    {
        /// The statement's name in the statement cache.
        struct IssueWithEvent;
        let r: Appended = e
            .bind(bind_issuance(
                statement::<IssueWithEvent>(&ISSUE_WITH_EVENT_SQL),
                &row,
            ))
            .get_result(pg)?;
        return Ok(e.outcome(r.appended));
    }
    native!(conn, |c| diesel::insert_into(token_issuances::table)
        .values(&row)
        .execute(c))?;
    Ok(None)
}

/// The issuance (`$1`…`$12`, CTE `t`) and (`$13`…) its audit event, guarded by the hinted head;
/// the issuance is written either way.
static ISSUE_WITH_EVENT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH t AS (INSERT INTO token_issuances (sid, key_id, client_id, organization_oid, \
         holder_oid, issued_at, expires_at, client_addr, signer_serial, signer_thumbprint, \
         signer_kind, signing_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         RETURNING 1), {} SELECT EXISTS (SELECT 1 FROM e) AS appended",
        audit::guarded_after("t", 13)
    )
});

#[derive(QueryableByName)]
struct Appended {
    #[diesel(sql_type = Bool)]
    appended: bool,
}

/// Binds the issuance's values (`$1`…`$12`).
fn bind_issuance<T>(q: Statement<T>, row: &IssuanceRow) -> Statement<T> {
    q.bind(row.sid.as_str())
        .bind(row.key_id.as_str())
        .bind(row.client_id.as_str())
        .bind(row.organization_oid)
        .bind(row.holder_oid)
        .bind(row.issued_at)
        .bind(row.expires_at)
        .bind(row.client_addr.as_str())
        .bind(row.signer_serial.as_str())
        .bind(row.signer_thumbprint.as_str())
        .bind(row.signer_kind.as_str())
        .bind(row.signing_time)
}

pub fn get_issuance(conn: &mut DbConnection, sid: &str) -> Result<Option<Issuance>, StorageError> {
    Ok(token_issuances::table
        .find(sid)
        .select(IssuanceRow::as_select())
        .first(conn)
        .optional()?
        .map(Issuance::from))
}

#[derive(Insertable)]
#[diesel(table_name = token_refusals)]
struct RefusalRow<'a> {
    id: &'a str,
    occurred_at: NaiveDateTime,
    key_id: Option<&'a str>,
    organization_oid: Option<i64>,
    esia_code: &'a str,
    reason: &'a str,
    detail: &'a str,
    client_addr: &'a str,
    signer_serial: Option<&'a str>,
}

pub fn insert_refusal(conn: &mut DbConnection, r: &RefusalRecord) -> Result<(), StorageError> {
    diesel::insert_into(token_refusals::table)
        .values(RefusalRow {
            id: &r.id,
            occurred_at: r.occurred_at,
            key_id: r.key_id.as_deref(),
            organization_oid: r.organization_oid,
            esia_code: &r.esia_code,
            reason: &r.reason,
            detail: &r.detail,
            client_addr: &r.client_addr,
            signer_serial: r.signer_serial.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}

/// What a signer's certificate is matched against: the key's organisation's (OGRN, INN), None
/// when it does not exist; and the holder's SNILS, None when the person does not exist
/// (`Some(None)`: a person without SNILS).
pub type KeySubject = (Option<(String, String)>, Option<Option<String>>);
