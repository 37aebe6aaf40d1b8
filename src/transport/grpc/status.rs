//! The one mapping from service errors to gRPC statuses with `google.rpc` details. Internal
//! causes are logged here, once, and never sent.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::service::ServiceError;

pub const DOMAIN: &str = "orgadm";

fn info(reason: &str) -> ErrorDetails {
    let mut d = ErrorDetails::new();
    d.set_error_info(reason, DOMAIN, HashMap::<String, String>::new());
    d
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument(v) => {
                let mut d = info("INVALID_ARGUMENT");
                for f in &v.0 {
                    d.add_bad_request_violation(f.field.clone(), f.description.clone());
                }
                let summary =
                    v.0.iter()
                        .map(|f| format!("{}: {}", f.field, f.description))
                        .collect::<Vec<_>>()
                        .join("; ");
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid request: {summary}"),
                    d,
                )
            }
            ServiceError::Unauthenticated(m) => {
                Status::with_error_details(Code::Unauthenticated, m, info("UNAUTHENTICATED"))
            }
            ServiceError::PermissionDenied { reason, message } => {
                Status::with_error_details(Code::PermissionDenied, message, info(reason))
            }
            ServiceError::NotFound { resource, name } => {
                let mut d = info("NOT_FOUND");
                d.set_resource_info(resource, name.clone(), "", "not found");
                Status::with_error_details(
                    Code::NotFound,
                    format!("{resource} {name} not found"),
                    d,
                )
            }
            ServiceError::AlreadyExists {
                reason,
                resource,
                field,
                message,
            } => {
                let mut d = info(reason);
                d.set_resource_info(resource, "", "", message.clone());
                if let Some(f) = field {
                    d.add_bad_request_violation(f, message.clone());
                }
                Status::with_error_details(Code::AlreadyExists, message, d)
            }
            ServiceError::FailedPrecondition {
                reason,
                subject,
                message,
            } => {
                let mut d = info(reason);
                d.add_precondition_failure_violation(reason, subject, message.clone());
                Status::with_error_details(Code::FailedPrecondition, message, d)
            }
            ServiceError::Aborted { reason, message } => {
                let mut d = info(reason);
                d.add_precondition_failure_violation(reason, "etag", message.clone());
                Status::with_error_details(Code::Aborted, message, d)
            }
            ServiceError::Retry(m) | ServiceError::Unavailable(m) => {
                tracing::warn!(cause = %m, "database unavailable");
                let mut d = info("UNAVAILABLE");
                d.set_retry_info(Some(std::time::Duration::from_secs(1)));
                Status::with_error_details(
                    Code::Unavailable,
                    "the service is temporarily unavailable; retry",
                    d,
                )
            }
            ServiceError::NotConfigured(m) => {
                Status::with_error_details(Code::Unavailable, m, info("NOT_CONFIGURED"))
            }
            ServiceError::TokenRefused(r) => {
                use crate::domain::token::RefusalClass;
                let code = match r.refusal.class() {
                    RefusalClass::Malformed => Code::InvalidArgument,
                    RefusalClass::BadSignature => Code::Unauthenticated,
                    RefusalClass::KeyNotUsable => Code::PermissionDenied,
                    RefusalClass::NotFound => Code::NotFound,
                };
                let mut d = ErrorDetails::new();
                d.set_error_info(
                    r.refusal.esia_code(),
                    DOMAIN,
                    HashMap::from([("reason".to_owned(), r.refusal.reason().to_owned())]),
                );
                Status::with_error_details(code, r.refusal.message(), d)
            }
            ServiceError::RateLimited {
                message,
                retry_after,
            } => {
                let mut d = info("RATE_LIMITED");
                d.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, d)
            }
            ServiceError::Internal(m) => {
                tracing::error!(cause = %m, "internal error");
                Status::with_error_details(Code::Internal, "internal error", info("INTERNAL"))
            }
        }
    }
}
