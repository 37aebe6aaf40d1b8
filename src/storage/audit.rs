//! The audit chain in the database: one head row per chain, locked by the appending
//! transaction (PostgreSQL `SELECT … FOR UPDATE`; SQLite's write lock), so replicas cannot fork
//! a chain. Events are append-only (database triggers refuse UPDATE and DELETE).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_events, audit_heads};
use super::{DbConnection, StorageError};
use crate::domain::audit::{AuditEvent, GENESIS_HASH, NewEvent, event_hash};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct EventRow {
    chain: i64,
    seq: i64,
    occurred_at: NaiveDateTime,
    actor_client: String,
    actor_person: Option<i64>,
    action: String,
    target_type: String,
    target_id: String,
    request_id: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<EventRow> for AuditEvent {
    fn from(r: EventRow) -> Self {
        AuditEvent {
            chain: r.chain,
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_client: r.actor_client,
            actor_person: r.actor_person,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            request_id: r.request_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Starts the chain of a new organisation (in the transaction that creates it).
pub fn create_chain(
    conn: &mut DbConnection,
    chain: i64,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(audit_heads::table)
        .values((
            audit_heads::chain.eq(chain),
            audit_heads::seq.eq(0_i64),
            audit_heads::hash.eq(GENESIS_HASH.to_vec()),
            audit_heads::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Reads a chain head, locking its row on PostgreSQL until the transaction ends.
fn lock_head(conn: &mut DbConnection, chain: i64) -> Result<(i64, Vec<u8>), StorageError> {
    let q = audit_heads::table
        .find(chain)
        .select((audit_heads::seq, audit_heads::hash));
    let head = match conn {
        DbConnection::Postgresql(pg) => q.for_update().first::<(i64, Vec<u8>)>(pg),
        DbConnection::Sqlite(sq) => q.first::<(i64, Vec<u8>)>(sq),
    };
    match head {
        Ok(h) => Ok(h),
        Err(diesel::result::Error::NotFound) => Err(StorageError::Other(format!(
            "audit chain {chain} has no head row"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Appends an event to its chain in the caller's transaction and returns it.
pub fn append(
    conn: &mut DbConnection,
    e: &NewEvent,
    now: NaiveDateTime,
) -> Result<AuditEvent, StorageError> {
    let (head_seq, head_hash) = lock_head(conn, e.chain)?;
    let seq = head_seq + 1;
    let details = e.details.to_string();
    let hash = event_hash(
        e.chain,
        seq,
        &now,
        &e.actor_client,
        e.actor_person,
        e.action,
        e.target_type,
        &e.target_id,
        &e.request_id,
        &details,
        &head_hash,
    );
    let row = EventRow {
        chain: e.chain,
        seq,
        occurred_at: now,
        actor_client: e.actor_client.clone(),
        actor_person: e.actor_person,
        action: e.action.to_owned(),
        target_type: e.target_type.to_owned(),
        target_id: e.target_id.clone(),
        request_id: e.request_id.clone(),
        details,
        prev_hash: head_hash,
        hash: hash.to_vec(),
    };
    match conn {
        // One round trip fewer while the head row is locked: the event and the new head in one
        // statement.
        DbConnection::Postgresql(pg) => {
            use diesel::sql_types::{BigInt, Binary, Nullable, Text, Timestamp};
            diesel::sql_query(
                "WITH e AS (INSERT INTO audit_events (chain, seq, occurred_at, actor_client, \
                 actor_person, action, target_type, target_id, request_id, details, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)) \
                 UPDATE audit_heads SET seq = $2, hash = $12, updated_at = $3 WHERE chain = $1",
            )
            .bind::<BigInt, _>(row.chain)
            .bind::<BigInt, _>(row.seq)
            .bind::<Timestamp, _>(row.occurred_at)
            .bind::<Text, _>(&row.actor_client)
            .bind::<Nullable<BigInt>, _>(row.actor_person)
            .bind::<Text, _>(&row.action)
            .bind::<Text, _>(&row.target_type)
            .bind::<Text, _>(&row.target_id)
            .bind::<Text, _>(&row.request_id)
            .bind::<Text, _>(&row.details)
            .bind::<Binary, _>(&row.prev_hash)
            .bind::<Binary, _>(&row.hash)
            .execute(pg)?;
        }
        DbConnection::Sqlite(sq) => {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(sq)?;
            diesel::update(audit_heads::table.find(e.chain))
                .set((
                    audit_heads::seq.eq(seq),
                    audit_heads::hash.eq(hash.to_vec()),
                    audit_heads::updated_at.eq(now),
                ))
                .execute(sq)?;
        }
    }
    Ok(row.into())
}

/// When the newest event of any chain was appended (None while no chain has an event).
pub fn last_append(conn: &mut DbConnection) -> Result<Option<NaiveDateTime>, StorageError> {
    Ok(audit_heads::table
        .filter(audit_heads::seq.gt(0_i64))
        .select(diesel::dsl::max(audit_heads::updated_at))
        .first(conn)?)
}

/// The stored head of a chain: sequence and hash; None when the chain does not exist.
pub fn head(conn: &mut DbConnection, chain: i64) -> Result<Option<(i64, Vec<u8>)>, StorageError> {
    Ok(audit_heads::table
        .find(chain)
        .select((audit_heads::seq, audit_heads::hash))
        .first(conn)
        .optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub actor_client: Option<String>,
    pub actor_person: Option<i64>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
}

/// Events of one chain after `after_seq`, in sequence order, filtered.
pub fn list(
    conn: &mut DbConnection,
    chain: i64,
    f: &EventFilter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, StorageError> {
    list_range(conn, chain, f, after_seq, i64::MAX, limit)
}

/// Events of one chain after `after_seq` and up to `to_seq`, in sequence order, filtered.
pub fn list_range(
    conn: &mut DbConnection,
    chain: i64,
    f: &EventFilter,
    after_seq: i64,
    to_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, StorageError> {
    let mut q = audit_events::table
        .filter(audit_events::chain.eq(chain))
        .filter(audit_events::seq.gt(after_seq))
        .filter(audit_events::seq.le(to_seq))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(v) = &f.actor_client {
        q = q.filter(audit_events::actor_client.eq(v.clone()));
    }
    if let Some(v) = f.actor_person {
        q = q.filter(audit_events::actor_person.eq(v));
    }
    if let Some(v) = &f.action {
        q = q.filter(audit_events::action.eq(v.clone()));
    }
    if let Some(v) = &f.target_type {
        q = q.filter(audit_events::target_type.eq(v.clone()));
    }
    if let Some(v) = &f.target_id {
        q = q.filter(audit_events::target_id.eq(v.clone()));
    }
    if let Some(v) = f.start {
        q = q.filter(audit_events::occurred_at.ge(v));
    }
    if let Some(v) = f.end {
        q = q.filter(audit_events::occurred_at.lt(v));
    }
    Ok(q.order(audit_events::seq.asc())
        .limit(limit)
        .load::<EventRow>(conn)?
        .into_iter()
        .map(AuditEvent::from)
        .collect())
}
