//! The service layer's one error type. Each variant carries a stable reason code; transports
//! map it once (gRPC: `transport::grpc::status`, HTTP: `transport::http`). Internal causes are
//! logged at that boundary and never sent.

use crate::domain::Violations;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid argument")]
    InvalidArgument(Violations),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("permission denied: {message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{resource} {name} not found")]
    NotFound {
        resource: &'static str,
        name: String,
    },
    #[error("already exists: {message}")]
    AlreadyExists {
        reason: &'static str,
        resource: &'static str,
        /// The request field at fault, if one is.
        field: Option<&'static str>,
        message: String,
    },
    #[error("failed precondition: {message}")]
    FailedPrecondition {
        reason: &'static str,
        subject: String,
        message: String,
    },
    /// Optimistic concurrency: the etag is stale.
    #[error("aborted: {message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    /// A transient conflict; the runner retries the transaction, then reports Unavailable.
    #[error("retryable conflict: {0}")]
    Retry(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A feature the deployment has not configured (e.g. no signing key): the message is sent.
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// The token exchange refused: ESIA's code, orgadm's reason, the recorded detail.
    #[error("token refused: {0}")]
    TokenRefused(crate::domain::token::TokenRefusal),
    /// Too many requests; retry after the hint.
    #[error("rate limited: {message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let mut v = Violations::new();
        v.add(field, description);
        Self::InvalidArgument(v)
    }

    pub fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    pub fn not_found(resource: &'static str, name: impl ToString) -> Self {
        Self::NotFound {
            resource,
            name: name.to_string(),
        }
    }

    pub fn precondition(
        reason: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::FailedPrecondition {
            reason,
            subject: subject.into(),
            message: message.into(),
        }
    }

    pub fn stale_etag(resource: &'static str) -> Self {
        Self::Aborted {
            reason: "STALE_ETAG",
            message: format!(
                "the {resource} was changed since it was read; read it again and retry with the new etag"
            ),
        }
    }
}

impl From<Violations> for ServiceError {
    fn from(v: Violations) -> Self {
        Self::InvalidArgument(v)
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::Internal("row not found".into()),
            StorageError::Conflict(m) => Self::Retry(m),
            StorageError::Unavailable(m) => Self::Unavailable(m),
            StorageError::UniqueViolation(m) => Self::Internal(format!("unique violation: {m}")),
            StorageError::ForeignKeyViolation(m) => {
                Self::Internal(format!("foreign key violation: {m}"))
            }
            StorageError::Other(m) => Self::Internal(m),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        StorageError::from(e).into()
    }
}
