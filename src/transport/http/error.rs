//! Service errors as HTTP answers: a status code and a JSON body `{code, reason, message}`
//! (field violations listed). Internal causes are logged here and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::service::ServiceError;

pub fn http_error(e: ServiceError) -> Response {
    let (status, reason, message, fields) = match e {
        ServiceError::InvalidArgument(v) => {
            let fields: Vec<_> =
                v.0.iter()
                    .map(|f| serde_json::json!({"field": f.field, "description": f.description}))
                    .collect();
            (
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "invalid request".to_owned(),
                fields,
            )
        }
        ServiceError::Unauthenticated(m) => {
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", m, vec![])
        }
        ServiceError::PermissionDenied { reason, message } => {
            (StatusCode::FORBIDDEN, reason, message, vec![])
        }
        ServiceError::NotFound { resource, name } => (
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{resource} {name} not found"),
            vec![],
        ),
        ServiceError::AlreadyExists {
            reason, message, ..
        } => (StatusCode::CONFLICT, reason, message, vec![]),
        ServiceError::FailedPrecondition {
            reason, message, ..
        } => (StatusCode::UNPROCESSABLE_ENTITY, reason, message, vec![]),
        ServiceError::Aborted { reason, message } => {
            (StatusCode::CONFLICT, reason, message, vec![])
        }
        ServiceError::Retry(m) | ServiceError::Unavailable(m) => {
            tracing::warn!(error = %m, "unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the service is unavailable; retry later".to_owned(),
                vec![],
            )
        }
        ServiceError::NotConfigured(m) => {
            (StatusCode::SERVICE_UNAVAILABLE, "NOT_CONFIGURED", m, vec![])
        }
        ServiceError::TokenRefused(r) => (
            super::tokens::refusal_status(r.refusal.class()),
            r.refusal.esia_code(),
            r.refusal.message().to_owned(),
            vec![],
        ),
        ServiceError::RateLimited { message, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            message,
            vec![],
        ),
        ServiceError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".to_owned(),
                vec![],
            )
        }
    };
    let mut body = serde_json::json!({
        "code": status.as_u16(), "reason": reason, "message": message,
    });
    if !fields.is_empty() {
        body["fields"] = fields.into();
    }
    (status, Json(body)).into_response()
}
