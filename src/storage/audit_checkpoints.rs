//! Signed checkpoints of the audit chains. Append-only: database triggers refuse UPDATE and
//! DELETE, and nothing here changes a stored row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_checkpoints;
use super::{DbConnection, StorageError};
use crate::domain::audit_checkpoint::Checkpoint;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_checkpoints)]
struct Row {
    chain: i64,
    seq: i64,
    hash: Vec<u8>,
    signed_at: NaiveDateTime,
    cert_fingerprint: Vec<u8>,
    signature: Vec<u8>,
}

impl From<Row> for Checkpoint {
    fn from(r: Row) -> Self {
        Checkpoint {
            chain: r.chain,
            seq: r.seq,
            hash: r.hash,
            signed_at: r.signed_at,
            cert_fingerprint: r.cert_fingerprint,
            signature: r.signature,
        }
    }
}

/// Stores a checkpoint. Returns false (and stores nothing) when the chain already has one at
/// that sequence.
pub fn insert(conn: &mut DbConnection, c: &Checkpoint) -> Result<bool, StorageError> {
    let row = Row {
        chain: c.chain,
        seq: c.seq,
        hash: c.hash.clone(),
        signed_at: c.signed_at,
        cert_fingerprint: c.cert_fingerprint.clone(),
        signature: c.signature.clone(),
    };
    let q = diesel::insert_into(audit_checkpoints::table)
        .values(&row)
        .on_conflict_do_nothing();
    let n = match conn {
        DbConnection::Postgresql(pg) => q.execute(pg)?,
        DbConnection::Sqlite(sq) => q.execute(sq)?,
    };
    Ok(n == 1)
}

pub fn get(
    conn: &mut DbConnection,
    chain: i64,
    seq: i64,
) -> Result<Option<Checkpoint>, StorageError> {
    Ok(audit_checkpoints::table
        .find((chain, seq))
        .select(Row::as_select())
        .first::<Row>(conn)
        .optional()?
        .map(Into::into))
}

/// The chain's latest checkpoint at or below `max_seq`.
pub fn latest(
    conn: &mut DbConnection,
    chain: i64,
    max_seq: i64,
) -> Result<Option<Checkpoint>, StorageError> {
    Ok(audit_checkpoints::table
        .filter(audit_checkpoints::chain.eq(chain))
        .filter(audit_checkpoints::seq.le(max_seq))
        .order(audit_checkpoints::seq.desc())
        .select(Row::as_select())
        .first::<Row>(conn)
        .optional()?
        .map(Into::into))
}

/// A chain's checkpoints, newest first, below `before_seq`.
pub fn list(
    conn: &mut DbConnection,
    chain: i64,
    before_seq: i64,
    limit: i64,
) -> Result<Vec<Checkpoint>, StorageError> {
    Ok(audit_checkpoints::table
        .filter(audit_checkpoints::chain.eq(chain))
        .filter(audit_checkpoints::seq.lt(before_seq))
        .order(audit_checkpoints::seq.desc())
        .limit(limit)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    chain: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    hash: Vec<u8>,
}

/// Chain heads that moved past their latest checkpoint (chain, seq, hash), by chain, after
/// `after_chain`.
pub fn stale_heads(
    conn: &mut DbConnection,
    after_chain: i64,
    limit: i64,
) -> Result<Vec<(i64, i64, Vec<u8>)>, StorageError> {
    // Both values are integers formatted here, never text from outside.
    let q = format!(
        "SELECT h.chain AS chain, h.seq AS seq, h.hash AS hash FROM audit_heads h \
         WHERE h.chain > {after_chain} AND h.seq > 0 AND h.seq > COALESCE(\
         (SELECT MAX(c.seq) FROM audit_checkpoints c WHERE c.chain = h.chain), 0) \
         ORDER BY h.chain LIMIT {limit}"
    );
    let rows: Vec<Head> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(q).load(pg)?,
        DbConnection::Sqlite(sq) => diesel::sql_query(q).load(sq)?,
    };
    Ok(rows.into_iter().map(|h| (h.chain, h.seq, h.hash)).collect())
}
