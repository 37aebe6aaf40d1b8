//! Storage: diesel over SQLite and PostgreSQL. Row structs live here and never reach the wire;
//! functions take a `&mut DbConnection` (inside a transaction opened by the service) and return
//! domain values. Storage never sees tonic.
pub mod api_keys;
pub mod audit;
pub mod audit_checkpoints;
pub mod clients;
pub mod conn;
pub mod employees;
pub mod idempotency;
pub mod invitations;
pub mod organizations;
pub mod outbox;
pub mod persons;
pub mod poa;
pub mod poa_signed;
pub mod powers;
pub mod prepared;
pub mod query_log;
pub mod records;
pub mod schema;
pub mod systems;
pub mod tokens;

pub use conn::{Backend, DbConfig, DbConnection, DbPool, read_tx, write_tx};

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Storage failures, by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the text names the constraint or columns.
    #[error("unique violation: {0}")]
    UniqueViolation(String),
    #[error("foreign key violation: {0}")]
    ForeignKeyViolation(String),
    /// Serialisation failure or deadlock (PostgreSQL): the transaction may be retried.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is locked beyond the busy timeout.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let what = info
                    .constraint_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| info.message().to_owned());
                match kind {
                    DatabaseErrorKind::UniqueViolation => Self::UniqueViolation(what),
                    DatabaseErrorKind::ForeignKeyViolation => Self::ForeignKeyViolation(what),
                    DatabaseErrorKind::SerializationFailure => Self::Conflict(what),
                    DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand => Self::Unavailable(what),
                    _ if what.contains("database is locked") || what.contains("deadlock") => {
                        Self::Unavailable(what)
                    }
                    _ => Self::Other(what),
                }
            }
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("broken transaction manager".into())
            }
            other => Self::Other(other.to_string()),
        }
    }
}

/// Takes the next ESIA-style OID (shared by persons and organisations), serialised in the
/// database so replicas never hand out the same one: a sequence on PostgreSQL (no row lock held
/// to commit), the counter row on SQLite (whose writers are serialised anyway).
pub fn next_oid(conn: &mut DbConnection) -> Result<i64, StorageError> {
    use schema::counters::dsl::*;
    match conn {
        DbConnection::Postgresql(pg) => {
            #[derive(QueryableByName)]
            struct Next {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                oid: i64,
            }
            let n: Next = diesel::sql_query("SELECT nextval('oid_seq') AS oid").get_result(pg)?;
            Ok(n.oid)
        }
        DbConnection::Sqlite(sq) => {
            diesel::update(counters.find("oid"))
                .set(value.eq(value + 1))
                .execute(sq)?;
            Ok(counters.find("oid").select(value).first(sq)?)
        }
    }
}
