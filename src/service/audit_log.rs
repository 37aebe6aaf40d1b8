//! Appending audit events inside a use case's transaction. Demands an [`Allowed`] capability.

use std::sync::LazyLock;

use chrono::NaiveDateTime;

use crate::domain::audit::{AuditEvent, NewEvent};
use crate::domain::caller::Caller;
use crate::storage::{self, DbConnection};

use super::authz::Allowed;
use super::error::ServiceError;

/// What happened, to whom; the actor comes from the caller.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub chain: i64,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    /// A JSON object; never a secret.
    pub details: serde_json::Value,
}

/// How long appends take in the database — locking the chain head (where, on PostgreSQL, appends
/// to one chain wait for each other), hashing, writing the event and the head — for all pools of
/// this process (`orgadm_audit_append_seconds`). An event written by a use case's own statement
/// together with its rows (on PostgreSQL an invitation's and a token issuance's,
/// `storage::audit::guarded_after`) has no time of its own and is not counted. None only if the
/// metric could not be made.
pub static APPEND_SECONDS: LazyLock<Option<prometheus::Histogram>> = LazyLock::new(|| {
    prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new(
            "orgadm_audit_append_seconds",
            "Time an audit append spends locking the chain head and writing (this process).",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]),
    )
    .ok()
});

pub fn append(
    conn: &mut DbConnection,
    allowed: &Allowed,
    caller: &Caller,
    spec: EventSpec,
    now: NaiveDateTime,
) -> Result<AuditEvent, ServiceError> {
    append_event(conn, &event(allowed, caller, spec), now)
}

/// The event of `spec` by `caller` under `allowed`'s rule, to append with [`append_event`] (or
/// with a use case's own statement first, `storage::audit::hinted`).
pub fn event(allowed: &Allowed, caller: &Caller, spec: EventSpec) -> NewEvent {
    let mut details = spec.details;
    if let serde_json::Value::Object(m) = &mut details {
        m.insert("rule".into(), allowed.rule().into());
    }
    NewEvent {
        chain: spec.chain,
        actor_client: caller.client_name.clone(),
        actor_person: caller.acting_person,
        action: spec.action,
        target_type: spec.target_type,
        target_id: spec.target_id,
        request_id: caller.request_id.clone(),
        details,
    }
}

pub fn append_event(
    conn: &mut DbConnection,
    e: &NewEvent,
    now: NaiveDateTime,
) -> Result<AuditEvent, ServiceError> {
    let started = std::time::Instant::now();
    let event = storage::audit::append(conn, e, now)?;
    if let Some(h) = &*APPEND_SECONDS {
        h.observe(started.elapsed().as_secs_f64());
    }
    Ok(event)
}
