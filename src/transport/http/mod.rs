//! Plain HTTP beside gRPC: liveness and readiness, the public status check of powers of
//! attorney and document downloads, the public token exchange and its companions (`tokens`).
pub mod error;
pub mod poa;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::service::Core;

/// Readiness: false until migrations ran and the server is accepting, false again on shutdown.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
pub struct HttpState {
    core: Core,
    ready: Readiness,
}

pub fn router(core: Core, ready: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/poa/check-status", get(poa::check_status))
        .route(
            "/v1/powers-of-attorney/{number}/document",
            get(poa::download_document),
        )
        .route(
            "/v1/powers-of-attorney/{number}/document.sig",
            get(poa::download_document_signature),
        )
        .route(
            "/v1/powers-of-attorney/{number}/revocation",
            get(poa::download_revocation),
        )
        .route(
            "/v1/powers-of-attorney/{number}/revocation.sig",
            get(poa::download_revocation_signature),
        )
        .route(
            "/esia-rs/api/public/v1/orgs/ext-app/{api_key}/tkn",
            get(tokens::exchange),
        )
        .route("/v1/token/certificates", get(tokens::certificates))
        .route("/metrics", get(metrics))
        .route(
            "/v1/token/introspect",
            get(tokens::introspect_get)
                .post(tokens::introspect_post)
                .layer(axum::extract::DefaultBodyLimit::max(
                    tokens::MAX_INTROSPECT_BODY,
                )),
        )
        .with_state(HttpState { core, ready })
}

/// Unknown paths: UNIMPLEMENTED for gRPC callers, 404 for everyone else.
pub async fn fallback(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        tonic::Status::unimplemented("no such method").into_http()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

/// Counters in the Prometheus text format (this replica's, since its start).
async fn metrics(State(s): State<HttpState>) -> impl axum::response::IntoResponse {
    let (issued, refused, limited) = s.core.token_stats.snapshot();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        format!(
            "# HELP orgadm_token_issued_total Access tokens issued.\n\
             # TYPE orgadm_token_issued_total counter\n\
             orgadm_token_issued_total {issued}\n\
             # HELP orgadm_token_refused_total Token exchanges refused (recorded in token_refusals).\n\
             # TYPE orgadm_token_refused_total counter\n\
             orgadm_token_refused_total {refused}\n\
             # HELP orgadm_token_rate_limited_total Token exchanges refused by a rate limit (not recorded).\n\
             # TYPE orgadm_token_rate_limited_total counter\n\
             orgadm_token_rate_limited_total {limited}\n"
        ),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<HttpState>) -> (StatusCode, &'static str) {
    if !s.ready.get() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n");
    }
    match s.core.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}

/// The caller of an HTTP request, from the same headers gRPC uses.
pub async fn authenticate(
    core: &Core,
    headers: &axum::http::HeaderMap,
) -> Result<crate::domain::caller::Caller, crate::service::ServiceError> {
    use crate::transport::credentials;
    let person = credentials::acting_person(headers)?;
    let request_id = credentials::request_id(headers);
    core.authenticate(credentials::bearer(headers), person, request_id)
        .await
}
