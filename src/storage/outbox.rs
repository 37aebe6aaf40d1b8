//! The mail outbox: messages written in the transaction that caused them, claimed by delivery
//! workers under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas never claim the
//! same message), and every delivery attempt recorded in `mail_attempts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{mail_attempts, mail_outbox};
use super::{DbConnection, StorageError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub invitation_id: Option<String>,
    pub recipient: String,
    /// JSON: what the message says, never a secret.
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    pub fn new(
        id: String,
        kind: &str,
        invitation_id: Option<String>,
        recipient: String,
        payload: String,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            id,
            kind: kind.into(),
            invitation_id,
            recipient,
            payload,
            state: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }
}

pub fn insert(conn: &mut DbConnection, m: &OutboxRow) -> Result<(), StorageError> {
    diesel::insert_into(mail_outbox::table)
        .values(m)
        .execute(conn)?;
    Ok(())
}

/// Cancels the unsent messages of an invitation (revoked, or superseded by a resend).
pub fn cancel_for_invitation(
    conn: &mut DbConnection,
    invitation_id: &str,
) -> Result<usize, StorageError> {
    Ok(diesel::update(
        mail_outbox::table
            .filter(mail_outbox::invitation_id.eq(invitation_id))
            .filter(mail_outbox::state.eq("pending")),
    )
    .set(mail_outbox::state.eq("cancelled"))
    .execute(conn)?)
}

/// Cancels a claimed message that has nothing left to deliver, closing its attempt.
pub fn cancel(
    conn: &mut DbConnection,
    id: &str,
    attempt: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::update(
        mail_outbox::table
            .find(id)
            .filter(mail_outbox::state.eq("pending")),
    )
    .set((
        mail_outbox::state.eq("cancelled"),
        mail_outbox::last_error.eq(reason),
        mail_outbox::lease_owner.eq(None::<String>),
        mail_outbox::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    finish_attempt(conn, id, attempt, "failed", Some(reason), now)
}

/// Claims up to `limit` due messages for `owner` until `lease_until`, counting the attempt and
/// recording its start. A message whose lease ran out (its worker stopped mid-delivery) is due
/// again.
pub fn claim(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<OutboxRow>, StorageError> {
    macro_rules! due {
        () => {
            mail_outbox::table
                .filter(mail_outbox::state.eq("pending"))
                .filter(mail_outbox::next_attempt_at.le(now))
                .filter(
                    mail_outbox::lease_until
                        .is_null()
                        .or(mail_outbox::lease_until.lt(now)),
                )
                .order(mail_outbox::next_attempt_at.asc())
                .limit(limit)
                .select(OutboxRow::as_select())
        };
    }
    let rows: Vec<OutboxRow> = match conn {
        DbConnection::Postgresql(pg) => due!().for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sq) => due!().load(sq)?,
    };
    let mut out = Vec::with_capacity(rows.len());
    for mut r in rows {
        r.attempts += 1;
        r.lease_owner = Some(owner.to_owned());
        r.lease_until = Some(lease_until);
        diesel::update(mail_outbox::table.find(&r.id))
            .set((
                mail_outbox::attempts.eq(r.attempts),
                mail_outbox::lease_owner.eq(owner),
                mail_outbox::lease_until.eq(lease_until),
            ))
            .execute(conn)?;
        diesel::insert_into(mail_attempts::table)
            .values((
                mail_attempts::message_id.eq(&r.id),
                mail_attempts::attempt.eq(r.attempts),
                mail_attempts::worker.eq(owner),
                mail_attempts::started_at.eq(now),
                mail_attempts::outcome.eq("started"),
            ))
            .execute(conn)?;
        out.push(r);
    }
    Ok(out)
}

fn finish_attempt(
    conn: &mut DbConnection,
    id: &str,
    attempt: i64,
    outcome: &str,
    error: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::update(mail_attempts::table.find((id, attempt)))
        .set((
            mail_attempts::outcome.eq(outcome),
            mail_attempts::error.eq(error),
            mail_attempts::finished_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a successful send: the message is never claimed again.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: &str,
    attempt: i64,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    // A message cancelled meanwhile (revoked, resent) stays cancelled; the attempt says it went.
    diesel::update(
        mail_outbox::table
            .find(id)
            .filter(mail_outbox::state.eq("pending")),
    )
    .set((
        mail_outbox::state.eq("sent"),
        mail_outbox::sent_at.eq(now),
        mail_outbox::lease_owner.eq(None::<String>),
        mail_outbox::lease_until.eq(None::<NaiveDateTime>),
        mail_outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    finish_attempt(conn, id, attempt, "sent", None, now)
}

/// Records a failed attempt: retried at `next` (or given up when `next` is None).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    attempt: i64,
    error: &str,
    next: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    let q = diesel::update(
        mail_outbox::table
            .find(id)
            .filter(mail_outbox::state.eq("pending")),
    );
    match next {
        Some(at) => q
            .set((
                mail_outbox::next_attempt_at.eq(at),
                mail_outbox::lease_owner.eq(None::<String>),
                mail_outbox::lease_until.eq(None::<NaiveDateTime>),
                mail_outbox::last_error.eq(error),
            ))
            .execute(conn)?,
        None => q
            .set((
                mail_outbox::state.eq("failed"),
                mail_outbox::lease_owner.eq(None::<String>),
                mail_outbox::lease_until.eq(None::<NaiveDateTime>),
                mail_outbox::last_error.eq(error),
            ))
            .execute(conn)?,
    };
    finish_attempt(conn, id, attempt, "failed", Some(error), now)
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<OutboxRow>, StorageError> {
    Ok(mail_outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?)
}

/// The backlog: how many messages wait to be sent, and when the oldest of them was written.
pub fn backlog(conn: &mut DbConnection) -> Result<(i64, Option<NaiveDateTime>), StorageError> {
    use diesel::dsl::{count_star, min};
    Ok(mail_outbox::table
        .filter(mail_outbox::state.eq("pending"))
        .select((count_star(), min(mail_outbox::created_at)))
        .first(conn)?)
}
