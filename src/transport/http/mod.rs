//! Plain HTTP beside gRPC: liveness and readiness, the public status check of powers of
//! attorney and document downloads, the public token exchange and its companions (`tokens`),
//! and the audit export download (`audit`).
pub mod audit;
pub mod error;
pub mod poa;
pub mod records;
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
        .route("/v1/organizations/{oid}/records.tar", get(records::export))
        .route(
            "/esia-rs/api/public/v1/orgs/ext-app/{api_key}/tkn",
            get(tokens::exchange),
        )
        .route("/v1/token/certificates", get(tokens::certificates))
        .route("/v1/audit/{oid}/export", get(audit::export))
        .route("/v1/audit/{oid}/checkpoints/{seq}", get(audit::checkpoint))
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

/// The probes while the service starts: alive, not ready.
pub fn starting_router() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(starting))
}

async fn starting() -> (StatusCode, &'static str) {
    (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
}

/// Anything but the probes while the service starts: UNAVAILABLE for gRPC callers, 503 for
/// everyone else.
pub async fn fallback_starting(req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        tonic::Status::unavailable("the service is starting").into_http()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
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

/// The metrics in the Prometheus text format (this replica's, since its start; see
/// `service::metrics`).
async fn metrics(State(s): State<HttpState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.core.render_metrics().await,
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

/// The caller of an HTTP request, from the same headers gRPC uses (or its connection's client
/// certificate).
pub async fn authenticate(
    core: &Core,
    headers: &axum::http::HeaderMap,
    certificate: Option<&crate::transport::tls::ClientCertificate>,
) -> Result<crate::domain::caller::Caller, crate::service::ServiceError> {
    use crate::transport::credentials;
    let person = credentials::acting_person(headers)?;
    let request_id = credentials::request_id(headers);
    let caller = core
        .authenticate_presented(
            credentials::bearer(headers),
            certificate.map(|c| c.sha256),
            person,
            request_id,
        )
        .await?;
    crate::transport::observe::record_caller(&caller);
    Ok(caller)
}
