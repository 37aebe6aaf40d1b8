//! The service's Prometheus metrics (`GET /metrics`), one registry per [`Core`](super::Core) so
//! that servers sharing a process (tests) keep their own counts. Request figures are recorded by
//! `transport::observe`, token exchanges by `service::tokens`; database pool use, the outbox
//! backlog and the audit chain lag are read when scraped. Two figures are measured deep inside a
//! transaction, where no core is at hand, and so are process-wide: slow statements
//! (`storage::query_log::SLOW_QUERIES`) and audit append latency
//! (`service::audit_log::APPEND_SECONDS`). Label values come from closed sets (method names the
//! server knows, status codes, ESIA codes) — never from what a caller sent.

use std::time::Duration;

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use super::error::ServiceError;

/// Latency buckets, in seconds (1 ms … 10 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric of one core.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    token_exchanges: IntCounterVec,
    pool_connections: GaugeVec,
    pool_max: IntGauge,
    outbox_backlog: IntGauge,
    outbox_oldest_seconds: Gauge,
    audit_chain_lag_seconds: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// How one token exchange ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeOutcome {
    Issued,
    /// Refused with ESIA's code (and recorded in `token_refusals`).
    Refused(&'static str),
    RateLimited,
    /// The service could not answer (not configured, database unavailable, internal error).
    Error(&'static str),
}

impl ExchangeOutcome {
    /// The outcome of a failed exchange.
    pub fn of_error(e: &ServiceError) -> Self {
        match e {
            ServiceError::TokenRefused(r) => Self::Refused(r.refusal.esia_code()),
            ServiceError::RateLimited { .. } => Self::RateLimited,
            other => Self::Error(error_kind(other)),
        }
    }

    fn labels(self) -> [&'static str; 2] {
        match self {
            Self::Issued => ["issued", ""],
            Self::Refused(code) => ["refused", code],
            Self::RateLimited => ["rate_limited", "RATE_LIMITED"],
            Self::Error(kind) => ["error", kind],
        }
    }
}

/// A stable name of an error's class, for labels.
pub fn error_kind(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::InvalidArgument(_) => "INVALID_ARGUMENT",
        ServiceError::Unauthenticated(_) => "UNAUTHENTICATED",
        ServiceError::PermissionDenied { .. } => "PERMISSION_DENIED",
        ServiceError::NotFound { .. } => "NOT_FOUND",
        ServiceError::AlreadyExists { .. } => "ALREADY_EXISTS",
        ServiceError::FailedPrecondition { .. } => "FAILED_PRECONDITION",
        ServiceError::Aborted { .. } => "ABORTED",
        ServiceError::Retry(_) | ServiceError::Unavailable(_) => "UNAVAILABLE",
        ServiceError::NotConfigured(_) => "NOT_CONFIGURED",
        ServiceError::TokenRefused(_) => "TOKEN_REFUSED",
        ServiceError::RateLimited { .. } => "RATE_LIMITED",
        ServiceError::Internal(_) => "INTERNAL",
    }
}

/// What is read from the database at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    /// Messages waiting to be sent.
    pub outbox_pending: i64,
    /// Age of the oldest waiting message, in seconds (0 when none waits).
    pub outbox_oldest_seconds: f64,
    /// The audit chain lag, in seconds (see [`Metrics`] and docs/OPERATIONS.md).
    pub audit_chain_lag_seconds: f64,
}

/// The histogram of waits for a pooled connection, owned by `Db`.
pub(super) fn pool_wait_histogram() -> Result<HistogramVec, MetricsError> {
    made(HistogramVec::new(
        HistogramOpts::new(
            "orgadm_db_pool_wait_seconds",
            "Time a database task waited for a pooled connection (and, for SQLite writes, for \
             this process's writer turn), by kind (read, write).",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["kind"],
    ))
}

fn made<T>(r: prometheus::Result<T>) -> Result<T, MetricsError> {
    r.map_err(|e| MetricsError(e.to_string()))
}

/// A metric could not be made or registered (a programming error: names are fixed).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(String);

impl From<MetricsError> for ServiceError {
    fn from(e: MetricsError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl Metrics {
    /// The metrics of a core over `db` (whose pool-wait histogram it exposes).
    pub fn new(db: &super::Db) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let requests = made(IntCounterVec::new(
            Opts::new(
                "orgadm_requests_total",
                "Requests served, by protocol (grpc, http), method and status code.",
            ),
            &["protocol", "method", "code"],
        ))?;
        let request_seconds = made(HistogramVec::new(
            HistogramOpts::new(
                "orgadm_request_duration_seconds",
                "Time from a request's arrival to its last response byte (gRPC) or its \
                 response head (HTTP), by protocol, method and status code.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["protocol", "method", "code"],
        ))?;
        let token_exchanges = made(IntCounterVec::new(
            Opts::new(
                "orgadm_token_exchanges_total",
                "Token exchanges by outcome (issued, refused, rate_limited, error) and code \
                 (ESIA's code of a refusal; the error's class).",
            ),
            &["outcome", "code"],
        ))?;
        let pool_connections = made(GaugeVec::new(
            Opts::new(
                "orgadm_db_pool_connections",
                "Database connections of this process's pool, by state (idle, in_use); on SQLite the write lane's own connection counts as in use.",
            ),
            &["state"],
        ))?;
        let pool_max = made(IntGauge::new(
            "orgadm_db_pool_max_connections",
            "The most connections the pool opens (--db-pool-size).",
        ))?;
        let outbox_backlog = made(IntGauge::new(
            "orgadm_outbox_backlog",
            "E-mail messages in the outbox waiting to be sent (all replicas).",
        ))?;
        let outbox_oldest_seconds = made(Gauge::new(
            "orgadm_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when none waits).",
        ))?;
        let audit_chain_lag_seconds = made(Gauge::new(
            "orgadm_audit_chain_lag_seconds",
            "Audit chain lag: seconds since the newest event was appended to any chain (all \
             replicas); 0 while no chain has an event.",
        ))?;
        let m = Self {
            registry,
            requests,
            request_seconds,
            token_exchanges,
            pool_connections,
            pool_max,
            outbox_backlog,
            outbox_oldest_seconds,
            audit_chain_lag_seconds,
        };
        let r = &m.registry;
        made(r.register(Box::new(m.requests.clone())))?;
        made(r.register(Box::new(m.request_seconds.clone())))?;
        made(r.register(Box::new(m.token_exchanges.clone())))?;
        made(r.register(Box::new(m.pool_connections.clone())))?;
        made(r.register(Box::new(m.pool_max.clone())))?;
        made(r.register(Box::new(db.pool_wait_seconds().clone())))?;
        made(r.register(Box::new(m.outbox_backlog.clone())))?;
        made(r.register(Box::new(m.outbox_oldest_seconds.clone())))?;
        made(r.register(Box::new(m.audit_chain_lag_seconds.clone())))?;
        if let Some(c) = &*crate::storage::query_log::SLOW_QUERIES {
            made(r.register(Box::new(c.clone())))?;
        }
        if let Some(h) = &*super::audit_log::APPEND_SECONDS {
            made(r.register(Box::new(h.clone())))?;
        }
        Ok(m)
    }

    /// Counts one finished request.
    pub fn request(&self, protocol: &str, method: &str, code: &str, took: Duration) {
        let labels = [protocol, method, code];
        self.requests.with_label_values(&labels).inc();
        self.request_seconds
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts one token exchange.
    pub fn token_exchange(&self, outcome: ExchangeOutcome) {
        self.token_exchanges
            .with_label_values(&outcome.labels())
            .inc();
    }

    /// The text exposition, after setting the figures read at scrape time.
    pub fn render(&self, pool: (u32, u32), max_pool: u32, backlog: Option<Backlog>) -> String {
        let (connections, idle) = pool;
        self.pool_connections
            .with_label_values(&["idle"])
            .set(f64::from(idle));
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(f64::from(connections.saturating_sub(idle)));
        self.pool_max.set(i64::from(max_pool));
        if let Some(b) = backlog {
            self.outbox_backlog.set(b.outbox_pending);
            self.outbox_oldest_seconds.set(b.outbox_oldest_seconds);
            self.audit_chain_lag_seconds.set(b.audit_chain_lag_seconds);
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The audit chain lag, in seconds — the one definition to change when signed checkpoints
/// arrive (then: the age of the oldest event not yet covered by a checkpoint). Until then it is
/// the time since the newest event was appended to any chain: it grows while requests keep
/// coming but nothing reaches the audit trail, and stays near zero under steady traffic.
fn audit_chain_lag(
    c: &mut crate::storage::DbConnection,
    now: chrono::NaiveDateTime,
) -> Result<f64, ServiceError> {
    Ok(crate::storage::audit::last_append(c)?
        .map(|t| seconds_between(t, now))
        .unwrap_or(0.0))
}

fn seconds_between(earlier: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> f64 {
    let d = now.signed_duration_since(earlier);
    (d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).max(0.0)
}

impl super::Core {
    /// The text exposition of this core's metrics, with pool use, the outbox backlog and the
    /// audit chain lag read now (one short read; when the database cannot answer, the last
    /// figures are kept and a warning is logged).
    pub async fn render_metrics(&self) -> String {
        let now = self.clock.now();
        let backlog = self
            .db
            .read_one(move |c| {
                let (pending, oldest) = crate::storage::outbox::backlog(c)?;
                Ok(Backlog {
                    outbox_pending: pending,
                    outbox_oldest_seconds: oldest.map(|t| seconds_between(t, now)).unwrap_or(0.0),
                    audit_chain_lag_seconds: audit_chain_lag(c, now)?,
                })
            })
            .await;
        let backlog = match backlog {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the outbox backlog and audit lag");
                None
            }
        };
        self.metrics
            .render(self.db.pool_state(), self.db.max_connections(), backlog)
    }
}
