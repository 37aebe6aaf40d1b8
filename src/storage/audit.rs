//! The audit chain in the database: one head row per chain, locked by the appending
//! transaction (PostgreSQL `SELECT … FOR UPDATE`; SQLite's write lock), so replicas cannot fork
//! a chain. Events are append-only (database triggers refuse UPDATE and DELETE). An append
//! first tries the head this process last wrote, guarded (see `HEAD_HINTS`), and reads and locks
//! the head only when that guess is wrong.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::prepared::{Statement, statement};
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

/// The heads this process last wrote, by chain: a hint, never trusted. An append first tries
/// to extend the hinted head with one guarded statement (the head row is updated only if it
/// still holds exactly the hinted sequence and hash, and the event is inserted only if it was);
/// if the guard fails — another replica appended, a transaction that wrote the hint rolled
/// back, the hint is from another database of this process — the append reads and locks the
/// head as before. So a hint saves the read of the head (a round trip on PostgreSQL) without
/// being able to fork or corrupt a chain: the event's hash is always computed from the head the
/// database holds when the row is written.
static HEAD_HINTS: std::sync::LazyLock<std::sync::Mutex<Hints>> =
    std::sync::LazyLock::new(Default::default);
/// Chain → (sequence, hash) of the head last written by this process.
type Hints = HashMap<i64, (i64, Vec<u8>)>;
/// Beyond this many chains the hints are dropped and gathered again.
const MAX_HINTS: usize = 100_000;

fn hints() -> std::sync::MutexGuard<'static, Hints> {
    HEAD_HINTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn hinted_head(chain: i64) -> Option<(i64, Vec<u8>)> {
    hints().get(&chain).cloned()
}

fn remember_head(chain: i64, seq: i64, hash: &[u8]) {
    let mut h = hints();
    if h.len() >= MAX_HINTS {
        h.clear();
    }
    h.insert(chain, (seq, hash.to_vec()));
}

/// Drops the chain's hint if it still is (`seq`, `hash`): a guard found it stale.
fn forget_head(chain: i64, seq: i64, hash: &[u8]) {
    let mut h = hints();
    if h.get(&chain).is_some_and(|(s, x)| *s == seq && x == hash) {
        h.remove(&chain);
    }
}

/// Appends an event to its chain in the caller's transaction and returns it.
pub fn append(
    conn: &mut DbConnection,
    e: &NewEvent,
    now: NaiveDateTime,
) -> Result<AuditEvent, StorageError> {
    let details = e.details.to_string();
    if let Some((seq, hash)) = hinted_head(e.chain) {
        let row = event_row(e, seq, hash, &details, now);
        if write_event(conn, &row, true)? {
            remember_head(row.chain, row.seq, &row.hash);
            return Ok(row.into());
        }
    }
    let (seq, hash) = lock_head(conn, e.chain)?;
    let row = event_row(e, seq, hash, &details, now);
    if !write_event(conn, &row, false)? {
        return Err(StorageError::Other(format!(
            "audit chain {} lost its head row",
            e.chain
        )));
    }
    remember_head(row.chain, row.seq, &row.hash);
    Ok(row.into())
}

/// The columns of an event row, in the order [`bind_event`] binds them.
const EVENT_COLUMNS: &str = "chain, seq, occurred_at, actor_client, actor_person, action, \
     target_type, target_id, request_id, details, prev_hash, hash";

/// The event's values, bound in [`EVENT_COLUMNS`] order.
fn bind_event<T>(q: Statement<T>, row: &EventRow) -> Statement<T> {
    q.bind(row.chain)
        .bind(row.seq)
        .bind(row.occurred_at)
        .bind(row.actor_client.as_str())
        .bind(row.actor_person)
        .bind(row.action.as_str())
        .bind(row.target_type.as_str())
        .bind(row.target_id.as_str())
        .bind(row.request_id.as_str())
        .bind(row.details.as_str())
        .bind(row.prev_hash.as_slice())
        .bind(row.hash.as_slice())
}

/// The placeholders `$first`… of an event's values, in [`EVENT_COLUMNS`] order.
fn event_placeholders(first: usize) -> String {
    (first..first + 12)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CTE `h`: the head moves to the event whose values start at `$first`, only if it still is the
/// event's predecessor (and, with `guard`, only if that CTE returned a row).
fn guarded_head(first: usize, guard: Option<&str>) -> String {
    let p = |k: usize| first + k - 1;
    let guard = guard.map_or(String::new(), |g| {
        format!(" AND EXISTS (SELECT 1 FROM {g})")
    });
    format!(
        "h AS (UPDATE audit_heads SET seq = ${}, hash = ${}, updated_at = ${} WHERE chain = ${} \
         AND seq = ${} - 1 AND hash = ${}{guard} RETURNING chain)",
        p(2),
        p(12),
        p(3),
        p(1),
        p(2),
        p(11)
    )
}

/// A hinted append on its own (PostgreSQL): writes the event only if the head moved.
static GUARDED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH {} INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT {} FROM h",
        guarded_head(1, None),
        event_placeholders(1)
    )
});

/// An append under the head's lock (PostgreSQL): the event, and the head moved to it.
static LOCKED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH e AS (INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES ({})) \
         UPDATE audit_heads SET seq = $2, hash = $12, updated_at = $3 WHERE chain = $1",
        event_placeholders(1)
    )
});

/// For a statement that writes other rows too (PostgreSQL, one round trip): CTEs `h` and `e`
/// that append a [`HintedEvent`] whose values start at `$first`, only if the CTE `guard` returned
/// a row and the head still is the event's predecessor. `e` returns a row when it appended.
pub fn guarded_after(guard: &str, first: usize) -> String {
    format!(
        "{}, e AS (INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT {} FROM h RETURNING 1)",
        guarded_head(first, Some(guard)),
        event_placeholders(first)
    )
}

/// An event made against the head this process last wrote to its chain (see `HEAD_HINTS`), for a
/// use case's own statement to write with [`guarded_after`] and [`HintedEvent::bind`]. If that
/// statement did not append it (the hint was stale), [`append`] writes the event as usual.
pub struct HintedEvent(EventRow);

/// The event after the hinted head of its chain; None when this process has no hint for it.
pub fn hinted(e: &NewEvent, now: NaiveDateTime) -> Option<HintedEvent> {
    let (seq, hash) = hinted_head(e.chain)?;
    Some(HintedEvent(event_row(
        e,
        seq,
        hash,
        &e.details.to_string(),
        now,
    )))
}

impl HintedEvent {
    /// Binds the event's values (the next twelve placeholders).
    pub fn bind<T>(&self, q: Statement<T>) -> Statement<T> {
        bind_event(q, &self.0)
    }

    /// What the use case's statement did. Appended: the chain's head is now this event. Not
    /// appended: the hint was stale and is dropped, so that the caller's [`append`] goes straight
    /// to the head's lock instead of trying the same hint again.
    pub fn outcome(self, appended: bool) -> Option<AuditEvent> {
        let e = self.0;
        if appended {
            remember_head(e.chain, e.seq, &e.hash);
            Some(e.into())
        } else {
            forget_head(e.chain, e.seq - 1, &e.prev_hash);
            None
        }
    }
}

/// The event following head (`head_seq`, `head_hash`).
fn event_row(
    e: &NewEvent,
    head_seq: i64,
    head_hash: Vec<u8>,
    details: &str,
    now: NaiveDateTime,
) -> EventRow {
    let seq = head_seq + 1;
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
        details,
        &head_hash,
    );
    EventRow {
        chain: e.chain,
        seq,
        occurred_at: now,
        actor_client: e.actor_client.clone(),
        actor_person: e.actor_person,
        action: e.action.to_owned(),
        target_type: e.target_type.to_owned(),
        target_id: e.target_id.clone(),
        request_id: e.request_id.clone(),
        details: details.to_owned(),
        prev_hash: head_hash,
        hash: hash.to_vec(),
    }
}

/// Writes the event and moves the head to it. `guarded`: only if the head still is the event's
/// predecessor (otherwise nothing is written and the answer is false); unguarded, the caller
/// holds the head's lock. Returns whether the event was written.
fn write_event(
    conn: &mut DbConnection,
    row: &EventRow,
    guarded: bool,
) -> Result<bool, StorageError> {
    match conn {
        // One statement for both rows (one round trip while the head row is locked).
        DbConnection::Postgresql(pg) => {
            /// The two statements' names in the statement cache.
            struct Guarded;
            struct Locked;
            let n = if guarded {
                bind_event(statement::<Guarded>(GUARDED_SQL.as_str()), row).execute(pg)?
            } else {
                bind_event(statement::<Locked>(LOCKED_SQL.as_str()), row).execute(pg)?
            };
            Ok(n == 1)
        }
        // The head's update as fixed texts: diesel marks every DSL `UPDATE` unsafe to cache,
        // so SQLite would parse and plan it for every event.
        DbConnection::Sqlite(sq) => {
            struct MoveHead;
            struct MoveHeadGuarded;
            fn bind<T>(q: Statement<T>, row: &EventRow) -> Statement<T> {
                q.bind(row.seq)
                    .bind(row.hash.as_slice())
                    .bind(row.occurred_at)
                    .bind(row.chain)
            }
            const MOVE: &str = "UPDATE audit_heads SET seq = $1, hash = $2, updated_at = $3 \
                                WHERE chain = $4";
            const MOVE_GUARDED: &str = "UPDATE audit_heads SET seq = $1, hash = $2, \
                                        updated_at = $3 WHERE chain = $4 AND seq = $1 - 1 \
                                        AND hash = $5";
            let n = if guarded {
                bind(statement::<MoveHeadGuarded>(MOVE_GUARDED), row)
                    .bind(row.prev_hash.as_slice())
                    .execute(sq)?
            } else {
                bind(statement::<MoveHead>(MOVE), row).execute(sq)?
            };
            if n != 1 {
                return Ok(false);
            }
            diesel::insert_into(audit_events::table)
                .values(row)
                .execute(sq)?;
            Ok(true)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conn::{self, DbConfig};
    use diesel::Connection;

    /// The PostgreSQL append statements, built from their parts, are the texts they were
    /// written as (whitespace aside); the combined form numbers its values from `$first`.
    #[test]
    fn append_statements_are_the_written_texts() {
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            norm(&GUARDED_SQL),
            norm(
                "WITH h AS (UPDATE audit_heads SET seq = $2, hash = $12, updated_at = $3 \
                 WHERE chain = $1 AND seq = $2 - 1 AND hash = $11 RETURNING chain) \
                 INSERT INTO audit_events (chain, seq, occurred_at, actor_client, actor_person, \
                 action, target_type, target_id, request_id, details, prev_hash, hash) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM h"
            )
        );
        assert_eq!(
            norm(&LOCKED_SQL),
            norm(
                "WITH e AS (INSERT INTO audit_events (chain, seq, occurred_at, actor_client, \
                 actor_person, action, target_type, target_id, request_id, details, prev_hash, \
                 hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)) \
                 UPDATE audit_heads SET seq = $2, hash = $12, updated_at = $3 WHERE chain = $1"
            )
        );
        let after = norm(&guarded_after("i", 18));
        assert!(
            after.starts_with(
                "h AS (UPDATE audit_heads SET seq = $19, hash = $29, updated_at = $20 \
                 WHERE chain = $18 AND seq = $19 - 1 AND hash = $28 AND EXISTS (SELECT 1 FROM i)"
            ),
            "{after}"
        );
        assert!(
            after.ends_with("SELECT $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 FROM h RETURNING 1)"),
            "{after}"
        );
    }

    fn database(dir: &std::path::Path, name: &str) -> conn::PooledConn {
        let url = format!("sqlite://{}", dir.join(name).display());
        let (pool, _) = conn::open_pool(&DbConfig::new(url)).unwrap_or_else(|e| panic!("{e}"));
        let mut c = conn::checkout(&pool).unwrap_or_else(|e| panic!("{e}"));
        conn::run_migrations(&mut c).unwrap_or_else(|e| panic!("{e}"));
        c
    }

    fn event(chain: i64, id: &str) -> NewEvent {
        NewEvent {
            chain,
            actor_client: "test".into(),
            actor_person: None,
            action: "test.event",
            target_type: "test",
            target_id: id.into(),
            request_id: String::new(),
            details: serde_json::json!({}),
        }
    }

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_764_547_200, 0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// A hint left by a rolled-back append, or one from another database with the same chain
    /// number, is refused by the guard: the append reads the real head and the chain links.
    #[test]
    fn stale_head_hints_never_fork_a_chain() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut a = database(dir.path(), "a.db");
        let mut b = database(dir.path(), "b.db");
        // An unused chain number, so that other tests' hints cannot meet this one.
        let chain = 7_000_000_000_000 + i64::from(std::process::id());
        for c in [&mut a, &mut b] {
            create_chain(c, chain, now()).unwrap_or_else(|e| panic!("{e}"));
        }
        let first = append(&mut a, &event(chain, "1"), now()).unwrap_or_else(|e| panic!("{e}"));
        // Appended, then rolled back: the hint is now ahead of the database.
        let _ = a.transaction::<(), StorageError, _>(|c| {
            append(c, &event(chain, "rolled back"), now())?;
            Err(StorageError::Other("roll back".into()))
        });
        let second = append(&mut a, &event(chain, "2"), now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(second.prev_hash, first.hash);
        // The hint is database a's head (seq 2); database b's chain is still empty.
        let in_b = append(&mut b, &event(chain, "b1"), now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(in_b.seq, 1);
        assert_eq!(in_b.prev_hash, GENESIS_HASH.to_vec());
        // And back in a, whose head the hint no longer holds.
        let third = append(&mut a, &event(chain, "3"), now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(third.seq, 3);
        assert_eq!(third.prev_hash, second.hash);
        let stored: Vec<(i64, Vec<u8>, Vec<u8>)> = audit_events::table
            .filter(audit_events::chain.eq(chain))
            .order(audit_events::seq)
            .select((
                audit_events::seq,
                audit_events::prev_hash,
                audit_events::hash,
            ))
            .load(&mut *a)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[0].1, GENESIS_HASH.to_vec());
        assert!(
            stored.windows(2).all(|w| w[1].1 == w[0].2),
            "the chain links"
        );
    }
}
