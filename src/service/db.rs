//! Runs storage work off the async executor: every call takes a pooled connection inside
//! `tokio::task::spawn_blocking`, opens one transaction, and retries transient conflicts.

use std::sync::Arc;

use crate::storage::conn::{self, DbConfig, DbPool, PooledConn};
use crate::storage::{Backend, DbConnection};

use super::error::ServiceError;

const MAX_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct Db {
    pool: Arc<DbPool>,
    backend: Backend,
    /// SQLite allows one writer at a time: this process queues its writers here (FIFO-ish, no
    /// sleeping) instead of letting them poll the file lock; other processes still wait on the
    /// busy timeout.
    sqlite_writer: Option<Arc<std::sync::Mutex<()>>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Opens the pool and applies pending migrations; returns the names applied.
    pub async fn open(cfg: DbConfig) -> Result<(Self, Vec<String>), ServiceError> {
        tokio::task::spawn_blocking(move || {
            let (pool, backend) = conn::open_pool(&cfg)?;
            let db = Self {
                pool: Arc::new(pool),
                backend,
                sqlite_writer: (backend == Backend::Sqlite)
                    .then(|| Arc::new(std::sync::Mutex::new(()))),
            };
            let mut c = db.get()?;
            let applied = conn::run_migrations(&mut c)?;
            Ok((db, applied))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("migration task failed: {e}")))?
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn get(&self) -> Result<PooledConn, ServiceError> {
        self.pool
            .get()
            .map_err(|e| ServiceError::Unavailable(format!("no database connection: {e}")))
    }

    /// A write transaction (see `storage::write_tx`), retried on transient conflicts.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let mut last = String::new();
            for _ in 0..MAX_ATTEMPTS {
                let mut c = db.get()?;
                // A poisoned lock only means another writer panicked; the database is consistent.
                let _turn = db
                    .sqlite_writer
                    .as_ref()
                    .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                match conn::write_tx(&mut c, &f) {
                    Err(ServiceError::Retry(m)) => last = m,
                    other => return other,
                }
            }
            Err(ServiceError::Unavailable(format!(
                "transaction kept conflicting: {last}"
            )))
        })
        .await
    }

    /// A read-only transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let mut c = db.get()?;
            conn::read_tx(&mut c, f)
        })
        .await
    }

    /// Reads outside any explicit transaction: saves the BEGIN and COMMIT round trips on the
    /// hottest reads. Each statement sees its own moment, so only for reads whose statements
    /// need no common snapshot.
    pub async fn read_one<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let mut c = db.get()?;
            f(&mut c)
        })
        .await
    }

    /// Readiness: a round trip to the database.
    pub async fn ping(&self) -> Result<(), ServiceError> {
        let db = self.clone();
        run_blocking(move || {
            let mut c = db.get()?;
            conn::ping(&mut c).map_err(ServiceError::from)
        })
        .await
    }

    /// Pool use, for metrics and diagnostics: (connections, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("database task failed: {e}")))?
}
