//! Invitation rows. The link's secret is never stored: only its Streebog-256 hash, set by the
//! delivery worker when it makes the link.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::audit;
use super::outbox::OutboxRow;
use super::prepared::{Statement, statement};
use super::schema::invitations;
use super::{DbConnection, StorageError};
use crate::domain::audit::{AuditEvent, NewEvent};
use crate::domain::employee::{Invitation, InvitationState, NewInvitation, email_key};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
struct InvitationRow {
    id: String,
    organization_oid: i64,
    email: String,
    email_lower: String,
    surname: String,
    given_name: String,
    patronymic: Option<String>,
    snils: Option<String>,
    position: Option<String>,
    add_to_org_admin: bool,
    state: String,
    secret_hash: Option<Vec<u8>>,
    inviter_oid: Option<i64>,
    accepted_by: Option<i64>,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl InvitationRow {
    fn into_domain(self) -> Result<Invitation, StorageError> {
        let stored_state = InvitationState::parse(&self.state).ok_or_else(|| {
            StorageError::Other(format!("unknown invitation state {}", self.state))
        })?;
        Ok(Invitation {
            id: self.id,
            organization_oid: self.organization_oid,
            email: self.email,
            surname: self.surname,
            given_name: self.given_name,
            patronymic: self.patronymic,
            snils: self.snils,
            position: self.position,
            add_to_org_admin: self.add_to_org_admin,
            stored_state,
            inviter_oid: self.inviter_oid,
            accepted_by: self.accepted_by,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Inserts a pending invitation, its outbox message and, on PostgreSQL when this process knows
/// the chain's head (`audit::hinted`), its audit event — all in one statement; `Some((invitation,
/// Some(event)))` when the event was appended too, `Some((invitation, None))` when the caller must
/// still append it (`audit::append`). None (and nothing written) when the organisation already
/// has a pending invitation for this e-mail (the partial unique index decides, so concurrent
/// twins cannot both pass).
#[allow(clippy::too_many_arguments)]
pub fn insert_with_mail(
    conn: &mut DbConnection,
    id: &str,
    n: &NewInvitation,
    inviter: Option<i64>,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
    mail: &OutboxRow,
    event: &NewEvent,
) -> Result<Option<(Invitation, Option<AuditEvent>)>, StorageError> {
    let row = InvitationRow {
        id: id.to_owned(),
        organization_oid: n.organization_oid,
        email: n.email.clone(),
        email_lower: email_key(&n.email),
        surname: n.surname.clone(),
        given_name: n.given_name.clone(),
        patronymic: n.patronymic.clone(),
        snils: n.snils.clone(),
        position: n.position.clone(),
        add_to_org_admin: n.add_to_org_admin,
        state: InvitationState::Pending.as_str().into(),
        secret_hash: None,
        inviter_oid: inviter,
        accepted_by: None,
        expires_at,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let inserted = match conn {
        DbConnection::Postgresql(pg) => {
            /// The statements' names in the statement cache.
            struct InsertWithMail;
            struct InsertWithMailAndEvent;
            let hinted = audit::hinted(event, now);
            let (written, appended) = match &hinted {
                None => {
                    let r: Written =
                        bind_invitation(statement::<InsertWithMail>(&INSERT_SQL), &row, mail)
                            .get_result(pg)?;
                    (r.written, false)
                }
                Some(e) => {
                    let r: Written = e
                        .bind(bind_invitation(
                            statement::<InsertWithMailAndEvent>(&INSERT_WITH_EVENT_SQL),
                            &row,
                            mail,
                        ))
                        .get_result(pg)?;
                    (r.written, r.appended)
                }
            };
            if !written {
                return Ok(None);
            }
            let event = hinted.and_then(|e| e.outcome(appended));
            return row.into_domain().map(|i| Some((i, event)));
        }
        DbConnection::Sqlite(sq) => {
            let n = diesel::insert_into(invitations::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(sq)?;
            if n == 1 {
                diesel::insert_into(super::schema::mail_outbox::table)
                    .values(mail)
                    .execute(sq)?;
            }
            n
        }
    };
    if inserted == 0 {
        return Ok(None);
    }
    row.into_domain().map(|i| Some((i, None)))
}

/// The invitation (`$1`…`$13`) and its outbox message (`$14`…`$17`): CTE `i` returns the
/// invitation's id when it was inserted, CTE `m` inserts the message after it.
const INSERT_CTES: &str = "i AS (INSERT INTO invitations (id, organization_oid, email, \
     email_lower, surname, given_name, patronymic, snils, position, add_to_org_admin, state, \
     secret_hash, inviter_oid, accepted_by, expires_at, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', NULL, $11, NULL, $12, \
     $13, $13, 1) ON CONFLICT DO NOTHING RETURNING id), \
     m AS (INSERT INTO mail_outbox (id, kind, invitation_id, recipient, payload, state, \
     attempts, next_attempt_at, created_at) \
     SELECT $14, $15, i.id, $16, $17, 'pending', 0, $13, $13 FROM i RETURNING 1)";

/// The invitation and its message only (`appended` is false).
static INSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("WITH {INSERT_CTES} SELECT EXISTS (SELECT 1 FROM i) AS written, false AS appended")
});

/// The invitation, its message and (`$18`…) its audit event, guarded by the hinted head.
static INSERT_WITH_EVENT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {INSERT_CTES}, {} SELECT EXISTS (SELECT 1 FROM i) AS written, \
         EXISTS (SELECT 1 FROM e) AS appended",
        audit::guarded_after("i", 18)
    )
});

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = Bool)]
    written: bool,
    #[diesel(sql_type = Bool)]
    appended: bool,
}

/// Binds the invitation's and its message's values (`$1`…`$17`).
fn bind_invitation<T>(q: Statement<T>, row: &InvitationRow, mail: &OutboxRow) -> Statement<T> {
    q.bind(row.id.as_str())
        .bind(row.organization_oid)
        .bind(row.email.as_str())
        .bind(row.email_lower.as_str())
        .bind(row.surname.as_str())
        .bind(row.given_name.as_str())
        .bind(row.patronymic.as_deref())
        .bind(row.snils.as_deref())
        .bind(row.position.as_deref())
        .bind(row.add_to_org_admin)
        .bind(row.inviter_oid)
        .bind(row.expires_at)
        .bind(row.created_at)
        .bind(mail.id.as_str())
        .bind(mail.kind.as_str())
        .bind(mail.recipient.as_str())
        .bind(mail.payload.as_str())
}

/// Records that a pending invitation for this e-mail ran out of time (so a new one may be made).
pub fn expire_pending_for_email(
    conn: &mut DbConnection,
    org: i64,
    key: &str,
    now: NaiveDateTime,
) -> Result<usize, StorageError> {
    Ok(diesel::update(
        invitations::table
            .filter(invitations::organization_oid.eq(org))
            .filter(invitations::email_lower.eq(key))
            .filter(invitations::state.eq(InvitationState::Pending.as_str()))
            .filter(invitations::expires_at.le(now)),
    )
    .set((
        invitations::state.eq(InvitationState::Expired.as_str()),
        invitations::updated_at.eq(now),
        invitations::version.eq(invitations::version + 1),
    ))
    .execute(conn)?)
}

pub fn get(
    conn: &mut DbConnection,
    org: i64,
    id: &str,
) -> Result<Option<Invitation>, StorageError> {
    invitations::table
        .filter(invitations::id.eq(id))
        .filter(invitations::organization_oid.eq(org))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .map(InvitationRow::into_domain)
        .transpose()
}

pub fn get_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<Invitation>, StorageError> {
    invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .map(InvitationRow::into_domain)
        .transpose()
}

pub fn find_by_secret(
    conn: &mut DbConnection,
    hash: &[u8],
) -> Result<Option<Invitation>, StorageError> {
    invitations::table
        .filter(invitations::secret_hash.eq(hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?
        .map(InvitationRow::into_domain)
        .transpose()
}

/// Moves a *pending* invitation to `to`: the conditional UPDATE is what makes acceptance atomic
/// (of two concurrent transitions exactly one sees `state = 'pending'`). Returns whether it moved.
pub fn transition(
    conn: &mut DbConnection,
    id: &str,
    to: InvitationState,
    accepted_by: Option<i64>,
    keep_secret: bool,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let q = diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::state.eq(InvitationState::Pending.as_str())),
    );
    let n = if keep_secret {
        q.set((
            invitations::state.eq(to.as_str()),
            invitations::accepted_by.eq(accepted_by),
            invitations::updated_at.eq(now),
            invitations::version.eq(invitations::version + 1),
        ))
        .execute(conn)?
    } else {
        q.set((
            invitations::state.eq(to.as_str()),
            invitations::secret_hash.eq(None::<Vec<u8>>),
            invitations::updated_at.eq(now),
            invitations::version.eq(invitations::version + 1),
        ))
        .execute(conn)?
    };
    Ok(n == 1)
}

/// Voids the current link of a pending invitation (resend): bumps the version.
pub fn void_secret(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::state.eq(InvitationState::Pending.as_str())),
    )
    .set((
        invitations::secret_hash.eq(None::<Vec<u8>>),
        invitations::updated_at.eq(now),
        invitations::version.eq(invitations::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The delivery worker's new link for a pending, unexpired invitation; false when the
/// invitation is no longer pending (the message is then cancelled).
pub fn set_secret(
    conn: &mut DbConnection,
    id: &str,
    hash: &[u8],
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::state.eq(InvitationState::Pending.as_str()))
            .filter(invitations::expires_at.gt(now)),
    )
    .set(invitations::secret_hash.eq(hash))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Default, Clone)]
pub struct InvitationFilter {
    /// The state a reader sees (pending past expiry counts as expired).
    pub state: Option<InvitationState>,
    pub email: Option<String>,
}

/// One page of an organisation's invitations in id order (ids are UUIDv7: creation order).
pub fn list(
    conn: &mut DbConnection,
    org: i64,
    f: &InvitationFilter,
    after_id: Option<&str>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<Invitation>, StorageError> {
    let mut q = invitations::table
        .filter(invitations::organization_oid.eq(org))
        .select(InvitationRow::as_select())
        .into_boxed();
    let pending = InvitationState::Pending.as_str();
    match f.state {
        Some(InvitationState::Pending) => {
            q = q
                .filter(invitations::state.eq(pending))
                .filter(invitations::expires_at.gt(now));
        }
        Some(InvitationState::Expired) => {
            q = q.filter(
                invitations::state
                    .eq(InvitationState::Expired.as_str())
                    .or(invitations::state
                        .eq(pending)
                        .and(invitations::expires_at.le(now))),
            );
        }
        Some(s) => q = q.filter(invitations::state.eq(s.as_str())),
        None => {}
    }
    if let Some(e) = &f.email {
        q = q.filter(invitations::email_lower.eq(e.clone()));
    }
    if let Some(a) = after_id {
        q = q.filter(invitations::id.gt(a.to_owned()));
    }
    q.order(invitations::id.asc())
        .limit(limit)
        .load::<InvitationRow>(conn)?
        .into_iter()
        .map(InvitationRow::into_domain)
        .collect()
}
