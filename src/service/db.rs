//! Runs storage work off the async executor: every call takes a pooled connection inside
//! `tokio::task::spawn_blocking` (SQLite's write lane keeps one for itself, see [`Db::commit`]),
//! opens one transaction, and retries transient conflicts.
//!
//! **Writes are group-committed.** A write joins the queue of one of a few lanes; whoever finds
//! its lane idle becomes the lane's leader on a blocking thread, takes every write queued there
//! (up to [`MAX_BATCH`]), runs them in one transaction and commits once; only then is each caller
//! answered. They run one after the other straight in the transaction; if one fails, the
//! transaction is rolled back and the batch runs again with each write in its own savepoint, so
//! that a write that fails rolls back its savepoint alone and gets its error; a transient conflict is queued again (up to [`MAX_ATTEMPTS`] runs); if the commit
//! fails, no write of the batch is acknowledged. So each use case is still atomic with its audit
//! event, nothing is acknowledged before it is durable, and concurrent writers share one commit
//! (one fsync; one acquisition of an organisation's chain head) instead of queueing for one each.
//! SQLite has one lane (one writer at a time anyway); PostgreSQL as many as the machine has
//! cores, at least two and at most half the pool ([`postgres_lanes`]).

use std::any::Any;

use diesel::Connection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::storage::conn::{self, DbConfig, DbPool, PooledConn};
use crate::storage::{Backend, DbConnection};

use super::error::ServiceError;

const MAX_ATTEMPTS: u32 = 4;
/// The most writes one commit carries.
pub const MAX_BATCH: usize = 64;

type Output = Box<dyn Any + Send>;
/// A use case's write, its result type erased until its caller takes it back.
type Work = Box<dyn Fn(&mut DbConnection) -> Result<Output, ServiceError> + Send>;

/// One queued write: the use case's closure and where its answer goes.
struct Job {
    run: Work,
    done: tokio::sync::oneshot::Sender<Result<Output, ServiceError>>,
    attempts: u32,
    last_conflict: String,
}

#[derive(Default)]
struct LaneQueue {
    jobs: VecDeque<Job>,
    leading: bool,
}

#[derive(Default)]
struct Lane {
    queue: std::sync::Mutex<LaneQueue>,
}

fn lock(l: &Lane) -> std::sync::MutexGuard<'_, LaneQueue> {
    // A poisoned lock only means a leader panicked between two statements of queue handling.
    l.queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Clone)]
pub struct Db {
    pool: Arc<DbPool>,
    backend: Backend,
    /// SQLite allows one writer at a time: this process queues its writers here (FIFO-ish, no
    /// sleeping) instead of letting them poll the file lock; other processes still wait on the
    /// busy timeout. The writer's connection is kept here between batches: a connection that
    /// wrote last finds the WAL as it left it and keeps its page cache and memory map, where
    /// any other connection drops both (SQLite resets them when another connection wrote since
    /// that connection's last transaction).
    sqlite_writer: Option<Arc<std::sync::Mutex<Option<PooledConn>>>>,
    lanes: Arc<[Lane]>,
    next_lane: Arc<AtomicUsize>,
    /// Waits for a connection (and the writer turn), by kind: `orgadm_db_pool_wait_seconds`.
    pool_wait: prometheus::HistogramVec,
    max_connections: u32,
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
        let pool_wait = super::metrics::pool_wait_histogram()?;
        tokio::task::spawn_blocking(move || {
            let (pool, backend) = conn::open_pool(&cfg)?;
            let lanes = match backend {
                Backend::Sqlite => 1,
                Backend::Postgres => postgres_lanes(&cfg),
            };
            let db = Self {
                max_connections: pool.max_size(),
                pool: Arc::new(pool),
                backend,
                sqlite_writer: (backend == Backend::Sqlite)
                    .then(|| Arc::new(std::sync::Mutex::new(None))),
                lanes: (0..lanes).map(|_| Lane::default()).collect(),
                next_lane: Arc::new(AtomicUsize::new(0)),
                pool_wait,
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
        Ok(conn::checkout(&self.pool)?)
    }

    /// A write: `f` runs in a savepoint of a group-committed write transaction (see the module
    /// documentation and `storage::write_tx`) and is answered once that transaction committed.
    /// Transient conflicts run `f` again.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let lane = self.next_lane.fetch_add(1, Ordering::Relaxed) % self.lanes.len();
        self.write_in_lane(lane, f).await
    }

    /// A write that appends to the audit chain of organisation `chain`: every such write of one
    /// organisation goes to the same lane, so concurrent ones share a commit and one acquisition
    /// of the chain head instead of taking turns for it from several lanes (on PostgreSQL the
    /// `FOR UPDATE` on the head would otherwise serialise the lanes' transactions one commit at a
    /// time, and two lanes locking two heads in opposite orders could deadlock).
    pub async fn write_for<T, F>(&self, chain: i64, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        self.write_in_lane(lane_of(chain, self.lanes.len()), f)
            .await
    }

    async fn write_in_lane<T, F>(&self, lane: usize, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            run: Box::new(move |c| f(c).map(|t| Box::new(t) as Output)),
            done,
            attempts: 0,
            last_conflict: String::new(),
        };
        let lead = {
            let mut q = lock(&self.lanes[lane]);
            q.jobs.push_back(job);
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            let db = self.clone();
            tokio::task::spawn_blocking(move || db.lead(lane));
        }
        let out = answer.await.map_err(|_| {
            ServiceError::Internal("a group commit ended without an answer".into())
        })??;
        out.downcast::<T>()
            .map(|t| *t)
            .map_err(|_| ServiceError::Internal("a group commit answered the wrong type".into()))
    }

    /// Commits the lane's queued writes, batch after batch, until the queue is empty.
    fn lead(&self, lane: usize) {
        let l = &self.lanes[lane];
        // If a batch panics, whatever is still queued is answered (its senders drop) and the
        // lane is free for the next writer.
        struct Release<'a>(&'a Lane);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut q = lock(self.0);
                    q.jobs.clear();
                    q.leading = false;
                }
            }
        }
        let _release = Release(l);
        loop {
            let batch: Vec<Job> = {
                let mut q = lock(l);
                if q.jobs.is_empty() {
                    q.leading = false;
                    return;
                }
                let n = q.jobs.len().min(MAX_BATCH);
                q.jobs.drain(..n).collect()
            };
            let again = self.commit(batch);
            if !again.is_empty() {
                let mut q = lock(l);
                for j in again.into_iter().rev() {
                    q.jobs.push_front(j);
                }
            }
        }
    }

    /// One transaction for a batch; returns the writes to run again. First every write runs
    /// straight in the transaction (no savepoints: on PostgreSQL two round trips fewer per
    /// write); only if one of them fails is the transaction rolled back and the batch run again
    /// with a savepoint per write ([`Db::commit_with_savepoints`]), so that the failing write is
    /// undone alone. A batch of one needs no second run: its error is its answer.
    fn commit(&self, batch: Vec<Job>) -> Vec<Job> {
        let waiting = std::time::Instant::now();
        let mut turn = self
            .sqlite_writer
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let held = turn.as_deref_mut().and_then(Option::take);
        let mut c = match held.map_or_else(|| self.get(), Ok) {
            Ok(c) => c,
            Err(e) => {
                let m = e.to_string();
                for j in batch {
                    let _ = j.done.send(Err(ServiceError::Unavailable(m.clone())));
                }
                return Vec::new();
            }
        };
        self.waited("write", waiting);
        let again = self.commit_on(&mut c, batch);
        // Keep SQLite's writer connection for the next batch, unless it was the pool's only one
        // (the readers need it) or it broke.
        if let Some(slot) = turn.as_deref_mut()
            && self.max_connections > 1
            && c.reusable()
        {
            *slot = Some(c);
        }
        again
    }

    /// [`Db::commit`] on the connection it got.
    fn commit_on(&self, c: &mut PooledConn, batch: Vec<Job>) -> Vec<Job> {
        let mut outs: Vec<Output> = Vec::with_capacity(batch.len());
        let mut failed: Option<ServiceError> = None;
        let committed = conn::write_tx(c, |c| -> Result<(), ServiceError> {
            for job in &batch {
                match (job.run)(c) {
                    Ok(out) => outs.push(out),
                    Err(e) => {
                        failed = Some(e);
                        return Err(ServiceError::Internal("a write of the batch failed".into()));
                    }
                }
            }
            Ok(())
        });
        match (committed, failed) {
            (Ok(()), _) => {
                for (j, out) in batch.into_iter().zip(outs) {
                    let _ = j.done.send(Ok(out));
                }
                Vec::new()
            }
            (Err(_), Some(e)) if batch.len() == 1 => {
                let Some(mut j) = batch.into_iter().next() else {
                    return Vec::new();
                };
                if let ServiceError::Retry(m) = e {
                    j.attempts += 1;
                    j.last_conflict = m;
                    return self.exhausted(vec![j]);
                }
                let _ = j.done.send(lost_connection(c, Err(e)));
                Vec::new()
            }
            (Err(_), Some(_)) => self.commit_with_savepoints(c, batch),
            (Err(ServiceError::Retry(m)), None) => {
                let again = batch
                    .into_iter()
                    .map(|mut j| {
                        j.attempts += 1;
                        j.last_conflict = m.clone();
                        j
                    })
                    .collect();
                self.exhausted(again)
            }
            (Err(e), None) => {
                let m = lost_connection::<()>(c, Err(e))
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                for j in batch {
                    let _ = j.done.send(Err(ServiceError::Unavailable(format!(
                        "the write was not committed: {m}"
                    ))));
                }
                Vec::new()
            }
        }
    }

    /// Answers the writes that conflicted too often; returns the others, to run again.
    fn exhausted(&self, again: Vec<Job>) -> Vec<Job> {
        let (again, exhausted): (Vec<Job>, Vec<Job>) =
            again.into_iter().partition(|j| j.attempts < MAX_ATTEMPTS);
        for j in exhausted {
            let m = format!("transaction kept conflicting: {}", j.last_conflict);
            let _ = j.done.send(Err(ServiceError::Unavailable(m)));
        }
        again
    }

    /// One transaction for a batch, a savepoint per write; returns the writes to run again.
    fn commit_with_savepoints(&self, c: &mut PooledConn, batch: Vec<Job>) -> Vec<Job> {
        let mut ok: Vec<(Job, Output)> = Vec::with_capacity(batch.len());
        let mut failed: Vec<(Job, ServiceError)> = Vec::new();
        let mut again: Vec<Job> = Vec::new();
        // Jobs stay here until the transaction runs them: if it cannot even begin, they are
        // answered below rather than dropped.
        let mut pending = batch;
        let committed = conn::write_tx(c, |c| -> Result<(), ServiceError> {
            for mut job in pending.drain(..) {
                // Nested: diesel makes it a savepoint of the batch's transaction.
                match c.transaction(|c| (job.run)(c)) {
                    Ok(out) => ok.push((job, out)),
                    Err(ServiceError::Retry(m)) => {
                        job.attempts += 1;
                        job.last_conflict = m;
                        again.push(job);
                    }
                    Err(e) => failed.push((job, e)),
                }
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                for (j, out) in ok {
                    let _ = j.done.send(Ok(out));
                }
            }
            Err(ServiceError::Retry(m)) => {
                let not_run = pending.into_iter().map(|j| (j, Box::new(()) as Output));
                for (mut j, _) in ok.into_iter().chain(not_run) {
                    j.attempts += 1;
                    j.last_conflict = m.clone();
                    again.push(j);
                }
            }
            Err(e) => {
                let m = lost_connection::<()>(c, Err(e))
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                for j in pending {
                    let _ = j.done.send(Err(ServiceError::Unavailable(format!(
                        "the write did not run: {m}"
                    ))));
                }
                for (j, _) in ok {
                    let _ = j.done.send(Err(ServiceError::Unavailable(format!(
                        "the write was not committed: {m}"
                    ))));
                }
            }
        }
        for (j, e) in failed {
            let _ = j.done.send(lost_connection(c, Err(e)));
        }
        self.exhausted(again)
    }

    /// A read-only transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let waiting = std::time::Instant::now();
            let mut c = db.get()?;
            db.waited("read", waiting);
            let r = conn::read_tx(&mut c, f);
            lost_connection(&mut c, r)
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
            let waiting = std::time::Instant::now();
            let mut c = db.get()?;
            db.waited("read", waiting);
            let r = f(&mut c);
            lost_connection(&mut c, r)
        })
        .await
    }

    /// A point read (a few indexed lookups, no transaction, as [`Db::read_one`]). On SQLite it
    /// runs on the calling thread when a connection is idle: reading a few pages of the
    /// memory-mapped file takes microseconds, less than the two thread hand-offs of
    /// `spawn_blocking`, and in WAL mode a reader never waits for the writer. On PostgreSQL (a
    /// network round trip) or with no idle connection, it is [`Db::read_one`].
    pub async fn read_point<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
    {
        if self.backend == Backend::Sqlite
            && let Some(mut c) = conn::try_checkout(&self.pool)
        {
            let r = f(&mut c);
            return lost_connection(&mut c, r);
        }
        self.read_one(f).await
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

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// The histogram of connection waits (registered by `service::metrics`).
    pub(super) fn pool_wait_seconds(&self) -> &prometheus::HistogramVec {
        &self.pool_wait
    }

    fn waited(&self, kind: &str, since: std::time::Instant) {
        self.pool_wait
            .with_label_values(&[kind])
            .observe(since.elapsed().as_secs_f64());
    }
}

/// An internal error on a connection that no longer answers is the database going away (a
/// restart, a failover, an administrator's shutdown), not a fault of the service: callers get
/// UNAVAILABLE and retry, and the connection is closed rather than pooled again. Only errors
/// already classed internal pay for the check.
fn lost_connection<T>(c: &mut PooledConn, r: Result<T, ServiceError>) -> Result<T, ServiceError> {
    match r {
        Err(ServiceError::Internal(m)) if conn::ping(c).is_err() => {
            c.mark_lost();
            Err(ServiceError::Unavailable(format!(
                "the database connection was lost: {m}"
            )))
        }
        other => other,
    }
}

/// PostgreSQL's lanes: as configured, or as many as this machine has cores (each lane's leader
/// is a thread running its batch's use cases), at least two — one lane would wait out every round
/// trip alone — and at most half the pool, leaving connections for reads. Measured with 32
/// organisations inviting at once on two cores: 2 lanes 0.57–0.71 of a bare insert's rate,
/// 4 lanes 0.54, 8 lanes 0.49, 16 lanes 0.38 (docs/PERFORMANCE.md): past the cores, more lanes
/// only split the same writes into smaller batches and more commits.
fn postgres_lanes(cfg: &conn::DbConfig) -> usize {
    let most = (cfg.pool_size / 2).max(1) as usize;
    match cfg.write_lanes {
        Some(n) => (n as usize).clamp(1, most),
        None => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2)
            .min(most),
    }
}

/// The lane of an organisation's writes: a fixed spread of its oid (oids are sequential, so
/// neighbours land in different lanes).
fn lane_of(chain: i64, lanes: usize) -> usize {
    (chain.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % lanes.max(1)
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("database task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use std::sync::atomic::AtomicBool;

    fn exec(c: &mut DbConnection, q: &str) -> Result<(), ServiceError> {
        match c {
            DbConnection::Sqlite(s) => diesel::sql_query(q).execute(s)?,
            DbConnection::Postgresql(p) => diesel::sql_query(q).execute(p)?,
        };
        Ok(())
    }

    /// Many concurrent writes share commits; every third fails after writing its row, one
    /// conflicts once: each caller gets its own answer, a failed write leaves nothing, every
    /// acknowledged write is there, the conflicting one runs again and lands once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_writes_are_undone_alone_and_the_others_commit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let (db, _) = Db::open(DbConfig::new(url))
            .await
            .unwrap_or_else(|e| panic!("open: {e}"));
        db.write(|c| exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            .await
            .unwrap_or_else(|e| panic!("create: {e}"));
        let conflicted = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for i in 0..200_i64 {
            let (db, conflicted) = (db.clone(), conflicted.clone());
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    exec(c, &format!("INSERT INTO t (id) VALUES ({i})"))?;
                    if i == 7 && !conflicted.swap(true, Ordering::SeqCst) {
                        return Err(ServiceError::Retry("a made-up conflict".into()));
                    }
                    if i % 3 == 0 {
                        return Err(ServiceError::NotConfigured(format!("write {i} refused")));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut acknowledged = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let i = i as i64;
            match t.await.unwrap_or_else(|e| panic!("task: {e}")) {
                Ok(v) => {
                    assert_eq!(v, i, "a write got another's answer");
                    assert_ne!(i % 3, 0, "write {i} should have failed");
                    acknowledged.push(i);
                }
                Err(ServiceError::NotConfigured(m)) => {
                    assert_eq!(m, format!("write {i} refused"));
                    assert_eq!(i % 3, 0, "write {i} should have landed");
                }
                Err(e) => panic!("write {i}: unexpected {e}"),
            }
        }
        let stored = db
            .read(|c| {
                #[derive(diesel::QueryableByName)]
                struct Row {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    id: i64,
                }
                let rows: Vec<Row> = match c {
                    DbConnection::Sqlite(s) => {
                        diesel::sql_query("SELECT id FROM t ORDER BY id").load(s)?
                    }
                    DbConnection::Postgresql(p) => {
                        diesel::sql_query("SELECT id FROM t ORDER BY id").load(p)?
                    }
                };
                Ok(rows.into_iter().map(|r| r.id).collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!(stored, acknowledged);
        assert!(conflicted.load(Ordering::SeqCst));
    }

    #[test]
    fn postgres_lanes_follow_setting_cores_and_pool() {
        let mut cfg = conn::DbConfig::new("postgres://unused");
        cfg.pool_size = 16;
        for (set, want) in [(1, 1), (3, 3), (8, 8), (9, 8), (100, 8)] {
            cfg.write_lanes = Some(set);
            assert_eq!(
                postgres_lanes(&cfg),
                want,
                "--db-write-lanes {set}, pool 16"
            );
        }
        cfg.write_lanes = None;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(postgres_lanes(&cfg), cores.clamp(2, 8));
        // A pool too small for two lanes still leaves a connection per lane for reads.
        cfg.pool_size = 2;
        assert_eq!(postgres_lanes(&cfg), 1);
        cfg.write_lanes = Some(4);
        assert_eq!(postgres_lanes(&cfg), 1);
    }

    #[test]
    fn one_organisation_one_lane_and_neighbours_spread() {
        for oid in [1_i64, 42, 1_000_000_007, -5, i64::MIN, i64::MAX] {
            assert_eq!(lane_of(oid, 8), lane_of(oid, 8));
            assert!(lane_of(oid, 8) < 8);
            assert_eq!(lane_of(oid, 1), 0);
        }
        let mut used = [0usize; 8];
        for oid in 1_000_i64..1_064 {
            used[lane_of(oid, 8)] += 1;
        }
        assert!(
            used.iter().all(|&n| n > 0),
            "64 sequential oids over 8 lanes: {used:?}"
        );
    }
}
