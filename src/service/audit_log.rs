//! Appending audit events inside a use case's transaction. Demands an [`Allowed`] capability.

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

pub fn append(
    conn: &mut DbConnection,
    allowed: &Allowed,
    caller: &Caller,
    spec: EventSpec,
    now: NaiveDateTime,
) -> Result<AuditEvent, ServiceError> {
    let mut details = spec.details;
    if let serde_json::Value::Object(m) = &mut details {
        m.insert("rule".into(), allowed.rule().into());
    }
    let e = NewEvent {
        chain: spec.chain,
        actor_client: caller.client_name.clone(),
        actor_person: caller.acting_person,
        action: spec.action,
        target_type: spec.target_type,
        target_id: spec.target_id,
        request_id: caller.request_id.clone(),
        details,
    };
    Ok(storage::audit::append(conn, &e, now)?)
}
