//! The database connection over SQLite or PostgreSQL, the pool, migrations and transactions.
//!
//! The backend is chosen from the URL at run time: `postgres://` / `postgresql://` → PostgreSQL,
//! anything else (`sqlite://path`, `file:path` or a plain path) → SQLite. Sync diesel runs on a
//! bounded r2d2 pool, inside `spawn_blocking` (or, for SQLite point reads, on the caller's
//! thread: see `service::db`).
//!
//! **Checkout without a round trip.** r2d2 would test every connection it hands out with a
//! `SELECT 1` — on PostgreSQL one more network round trip for every read and every write
//! batch. [`checkout`] instead pings only a connection that has not been used for
//! [`TRUSTED_FOR`] (as HikariCP's `aliveBypassWindowMs` does), and a connection found dead,
//! there or later ([`PooledConn::mark_lost`]), is dropped from the pool instead of being put
//! back, so a database restart costs the requests in flight, not every later one.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StorageError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type over both backends; dialect differences are explicit `match`es.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut PgConnection` or
/// `&mut SqliteConnection`); the body is compiled once for each backend.
///
/// For hot statements. diesel's derived `MultiConnection` runs a query by wrapping it in a
/// `SerializedQuery` whose AST walk writes the whole SQL text out again on every pass, and diesel
/// walks a query three times per run (is it safe to cache, the cache key, the binds). Measured on
/// the token exchange (SQLite, `perf --call-graph dwarf`): the key-facts read spent 7 % of all
/// CPU there against 5.6 % in SQLite itself. On the backend's own connection a DSL query with a
/// static query id is found in the statement cache by its type and walked without writing SQL.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::conn::DbConnection::Postgresql($c) => $body,
            $crate::storage::conn::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use native;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub pool_size: u32,
    /// SQLite `synchronous` pragma: FULL (default) survives power loss, NORMAL survives a crash
    /// of the process.
    pub sqlite_synchronous: String,
    pub connect_timeout: Duration,
    /// Cache prepared statements per connection (PostgreSQL). Turn off when PostgreSQL is
    /// reached through a pooler in transaction mode that cannot carry named prepared statements
    /// from one server connection to another (PgBouncer before 1.21, or without
    /// `max_prepared_statements`): every statement is then prepared unnamed, as it runs.
    pub statement_cache: bool,
    /// Statements at least this slow are logged (`storage::query_log`); None: none are.
    pub slow_query: Option<Duration>,
    /// PostgreSQL write lanes (`service::Db`); None: as many as this machine has cores, at
    /// least two and at most half the pool.
    pub write_lanes: Option<u32>,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            sqlite_synchronous: "FULL".into(),
            connect_timeout: Duration::from_secs(5),
            statement_cache: true,
            slow_query: Some(Duration::from_millis(200)),
            write_lanes: None,
        }
    }
}

/// Strips the `sqlite://` or `file:` prefix diesel does not want.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// SQLite reads the database file through a shared memory map of up to this size instead of a
/// `pread` per page into each connection's own small page cache: an API-KEY lookup in a million
/// keys touches a few index pages that are then simply memory (writes still go through the WAL).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

/// What every new connection gets: SQLite's pragmas, PostgreSQL's statement cache setting,
/// and the slow-statement log.
#[derive(Debug)]
struct ConnectionSetup {
    synchronous: String,
    statement_cache: bool,
    slow_query: Option<Duration>,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Postgresql(c) = conn
            && !self.statement_cache
        {
            c.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
        }
        if let Some(threshold) = self.slow_query {
            let backend = match conn {
                DbConnection::Sqlite(_) => Backend::Sqlite,
                DbConnection::Postgresql(_) => Backend::Postgres,
            };
            conn.set_instrumentation(super::query_log::QueryLog::new(threshold, backend));
        }
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
                self.synchronous
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type DbPool = Pool<Manager>;

/// A connection used less than this long ago is handed out without a ping.
pub const TRUSTED_FOR: Duration = Duration::from_millis(500);

thread_local! {
    /// Set by a [`PooledConn`] marked lost just before it goes back to the pool, on the same
    /// thread, and read by the very next [`Manager::has_broken`] call there: that connection's.
    static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// diesel's connection manager, and a connection marked lost is not taken back.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        LOST.with(|l| l.replace(false)) || self.0.has_broken(conn)
    }
}

/// When a connection was last handed out (kept in its r2d2 extensions).
struct LastUsed(std::time::Instant);

/// A pooled connection; dereferences to [`DbConnection`].
pub struct PooledConn {
    inner: PooledConnection<Manager>,
    lost: bool,
}

impl PooledConn {
    /// The connection no longer answers: it is closed instead of going back to the pool.
    pub fn mark_lost(&mut self) {
        self.lost = true;
    }

    /// Neither marked lost nor left in a broken transaction state: fit to be used again
    /// without going back through the pool.
    pub fn reusable(&mut self) -> bool {
        use diesel::r2d2::R2D2Connection;
        !self.lost && !self.inner.is_broken()
    }
}

impl std::ops::Deref for PooledConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.inner
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        // `inner` is dropped right after this, on this thread: its check-in reads the flag.
        if self.lost {
            LOST.with(|l| l.set(true));
        }
    }
}

/// A connection from the pool: one used within [`TRUSTED_FOR`] as it is, any other after a
/// ping; dead ones are closed and the next is tried (at most the pool's size, then a fresh one).
pub fn checkout(pool: &DbPool) -> Result<PooledConn, StorageError> {
    for _ in 0..=pool.max_size() {
        let c = pool
            .get()
            .map_err(|e| StorageError::Unavailable(format!("no database connection: {e}")))?;
        if let Some(c) = trusted(c) {
            return Ok(c);
        }
    }
    Err(StorageError::Unavailable(
        "no database connection: every pooled connection was dead".into(),
    ))
}

/// [`checkout`] of an idle connection, without waiting: None when none is idle (or the idle
/// one is dead).
pub fn try_checkout(pool: &DbPool) -> Option<PooledConn> {
    trusted(pool.try_get()?)
}

/// The connection if it was used within [`TRUSTED_FOR`] or answers a ping; otherwise it is
/// closed.
fn trusted(inner: PooledConnection<Manager>) -> Option<PooledConn> {
    let mut c = PooledConn { inner, lost: false };
    let now = std::time::Instant::now();
    let recent = PooledConnection::extensions(&c.inner)
        .get::<LastUsed>()
        .is_some_and(|t| now.duration_since(t.0) < TRUSTED_FOR);
    if recent || ping(&mut c).is_ok() {
        PooledConnection::extensions_mut(&mut c.inner).insert(LastUsed(now));
        return Some(c);
    }
    c.mark_lost();
    None
}

/// Opens the pool (creating the SQLite file's folder if needed).
pub fn open_pool(cfg: &DbConfig) -> Result<(DbPool, Backend), StorageError> {
    let backend = Backend::from_url(&cfg.url);
    let url = match backend {
        Backend::Postgres => cfg.url.clone(),
        Backend::Sqlite => {
            let path = sqlite_path(&cfg.url);
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StorageError::Unavailable(format!(
                        "cannot create the folder {}: {e}",
                        parent.display()
                    ))
                })?;
            }
            path.to_owned()
        }
    };
    let synchronous = match cfg.sqlite_synchronous.to_ascii_uppercase().as_str() {
        s @ ("FULL" | "NORMAL" | "EXTRA") => s.to_owned(),
        other => {
            return Err(StorageError::Unavailable(format!(
                "sqlite synchronous must be FULL, NORMAL or EXTRA, not {other}"
            )));
        }
    };
    let manager = Manager(ConnectionManager::<DbConnection>::new(url));
    let pool = Pool::builder()
        .max_size(cfg.pool_size.max(1))
        // `checkout` tests connections itself, without a round trip for each one.
        .test_on_check_out(false)
        .connection_timeout(cfg.connect_timeout)
        .connection_customizer(Box::new(ConnectionSetup {
            synchronous,
            statement_cache: cfg.statement_cache,
            slow_query: cfg.slow_query,
        }))
        .build(manager)
        .map_err(|e| StorageError::Unavailable(format!("cannot open the database: {e}")))?;
    if backend == Backend::Sqlite {
        let mut c = checkout(&pool)?;
        if !sqlite_plans_are_stable(&mut c)? {
            tracing::warn!(
                "SQLite was built without SQLITE_ENABLE_QPSG: statements with a bound LIMIT are \
                 re-prepared on every execution (see .cargo/config.toml)"
            );
        }
    }
    Ok((pool, backend))
}

/// Whether the SQLite library was built with the query planner stability guarantee on
/// (`.cargo/config.toml` sets it for the bundled SQLite): without it, every statement with a
/// bound `LIMIT` is planned again each time it runs.
pub fn sqlite_plans_are_stable(conn: &mut DbConnection) -> Result<bool, StorageError> {
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        used: i32,
    }
    match conn {
        DbConnection::Sqlite(c) => {
            let u: Used =
                diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
                    .get_result(c)?;
            Ok(u.used == 1)
        }
        DbConnection::Postgresql(_) => Ok(true),
    }
}

/// Applies pending migrations of the connection's backend; returns their names.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    let done = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| StorageError::Other(format!("migration failed: {e}")))?;
    Ok(done.into_iter().map(|v| v.to_string()).collect())
}

/// Runs `f` in a write transaction. On SQLite the first statement takes the database's write
/// lock at once (a no-op UPDATE), so a transaction never has to upgrade a read lock later and
/// concurrent writers queue on `busy_timeout` instead of failing with SQLITE_BUSY. On PostgreSQL
/// rows that must be serialised are locked with `SELECT … FOR UPDATE` where they are read.
pub fn write_tx<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(|c| {
        if let DbConnection::Sqlite(s) = c {
            diesel::sql_query("UPDATE counters SET value = value WHERE 0 = 1").execute(s)?;
        }
        f(c)
    })
}

/// Runs `f` in a read-only transaction (a consistent snapshot on both backends).
pub fn read_tx<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(f)
}

/// A cheap round trip, for readiness.
pub fn ping(conn: &mut DbConnection) -> Result<(), StorageError> {
    diesel::sql_query("SELECT 1")
        .execute(conn)
        .map(|_| ())
        .map_err(StorageError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_sqlite_keeps_plans_stable() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let (pool, backend) =
            open_pool(&DbConfig::new(url)).unwrap_or_else(|e| panic!("pool: {e}"));
        assert_eq!(backend, Backend::Sqlite);
        let mut c = pool.get().unwrap_or_else(|e| panic!("connection: {e}"));
        assert!(
            sqlite_plans_are_stable(&mut c).unwrap_or(false),
            "the bundled SQLite must be built with SQLITE_ENABLE_QPSG (.cargo/config.toml)"
        );
    }

    #[test]
    fn lost_connections_are_closed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let (pool, _) = open_pool(&DbConfig::new(url)).unwrap_or_else(|e| panic!("pool: {e}"));
        // A TEMP table lives in one connection only: it tells the connections apart.
        let tag = |c: &mut PooledConn, name: &str| {
            c.batch_execute(&format!("CREATE TEMP TABLE {name} (x INTEGER)"))
                .unwrap_or_else(|e| panic!("tag: {e}"));
        };
        let tagged = |name: &str| {
            let all: Vec<PooledConn> = (0..pool.max_size())
                .map(|_| checkout(&pool).unwrap_or_else(|e| panic!("checkout: {e}")))
                .collect();
            let mut n = 0;
            for mut c in all {
                if c.batch_execute(&format!("SELECT x FROM temp.{name}"))
                    .is_ok()
                {
                    n += 1;
                }
            }
            n
        };
        let mut live = checkout(&pool).unwrap_or_else(|e| panic!("checkout: {e}"));
        tag(&mut live, "kept");
        drop(live);
        assert_eq!(tagged("kept"), 1, "a live connection goes back to the pool");
        let mut lost = checkout(&pool).unwrap_or_else(|e| panic!("checkout: {e}"));
        tag(&mut lost, "lost");
        lost.mark_lost();
        drop(lost);
        assert_eq!(tagged("lost"), 0, "a lost connection is closed");
        // The mark went with that connection: the next check-in on this thread is kept.
        assert_eq!(tagged("kept"), 1);
        assert!(try_checkout(&pool).is_some());
    }
}
