//! The request layer around every route, gRPC and HTTP alike: it settles the request id
//! (`x-request-id`, generated when absent, so every later reader sees the same one, and echoed in
//! the response), opens the request's tracing span, counts the request and its latency in the
//! core's metrics, and writes one access log line when the request ends.
//!
//! A gRPC request ends with its `grpc-status`, which arrives in the response trailers unless the
//! answer is trailers-only, so the response body is watched until its trailers. Span fields and
//! metric labels hold only closed sets and ids: the method is a gRPC method the server knows or
//! the route's template (`/esia-rs/…/ext-app/{api_key}/tkn` — never the API-KEY in the path),
//! the caller is the API client's name (filled in by authentication), never a credential.
//!
//! Written here rather than with tower-http's `TraceLayer`: the metric labels need the method
//! and the protocol at the moment the gRPC trailers arrive, which its callbacks do not carry.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use http_body::Frame;
use prost::Message as _;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::credentials;
use crate::domain::caller::Caller;
use crate::service::Core;
use crate::service::metrics::Metrics;

/// The canonical gRPC status names, by code.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The name of a `grpc-status` value ("UNKNOWN" for anything else).
fn grpc_code(v: Option<&HeaderValue>) -> &'static str {
    v.and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<usize>().ok())
        .and_then(|n| GRPC_CODES.get(n).copied())
        .unwrap_or("UNKNOWN")
}

/// Whether a gRPC code marks the server's failure (OpenTelemetry's rule for server spans).
fn grpc_server_error(code: &str) -> bool {
    matches!(
        code,
        "UNKNOWN"
            | "DEADLINE_EXCEEDED"
            | "UNIMPLEMENTED"
            | "INTERNAL"
            | "UNAVAILABLE"
            | "DATA_LOSS"
    )
}

/// Records the authenticated caller on the request's span (its client name, never its token).
pub fn record_caller(caller: &Caller) {
    tracing::Span::current().record("caller", caller.client_name.as_str());
}

/// Every gRPC method path the server serves (`/package.Service/Method`), from the descriptor
/// sets it registers for reflection.
fn grpc_methods() -> HashSet<String> {
    let sets: [&[u8]; 4] = [
        super::grpc::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut out = HashSet::new();
    for bytes in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            tracing::warn!("cannot read a gRPC descriptor set: its methods are labelled unknown");
            continue;
        };
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let service_name = service.name.unwrap_or_default();
                for m in service.method {
                    let full = if package.is_empty() {
                        format!("/{service_name}/{}", m.name.unwrap_or_default())
                    } else {
                        format!("/{package}.{service_name}/{}", m.name.unwrap_or_default())
                    };
                    out.insert(full);
                }
            }
        }
    }
    out
}

struct Shared {
    metrics: Arc<Metrics>,
    grpc_methods: HashSet<String>,
}

/// The layer; apply with `Router::layer` so that routes' templates are known.
#[derive(Clone)]
pub struct ObserveLayer {
    shared: Arc<Shared>,
}

impl ObserveLayer {
    pub fn new(core: &Core) -> Self {
        Self {
            shared: Arc::new(Shared {
                metrics: core.metrics.clone(),
                grpc_methods: grpc_methods(),
            }),
        }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    shared: Arc<Shared>,
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// `METHOD /route/{template}`, or `METHOD unmatched`; unusual methods are `OTHER`.
fn http_label(req: &Request) -> String {
    let m = req.method();
    let method = if [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
    ]
    .contains(m)
    {
        m.as_str()
    } else {
        "OTHER"
    };
    match req.extensions().get::<MatchedPath>() {
        Some(p) if !p.as_str().contains("__private__axum_fallback") => {
            format!("{method} {}", p.as_str())
        }
        _ => format!("{method} unmatched"),
    }
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = credentials::request_id(req.headers());
        let id_header = HeaderValue::from_str(&request_id).ok();
        if let Some(v) = &id_header {
            // The same id for authentication, handlers and audit events.
            req.headers_mut().insert("x-request-id", v.clone());
        }
        let grpc = is_grpc(req.headers());
        let (protocol, method) = if grpc {
            let path = req.uri().path();
            let m = if self.shared.grpc_methods.contains(path) {
                path.trim_start_matches('/').to_owned()
            } else {
                "unknown".to_owned()
            };
            ("grpc", m)
        } else {
            ("http", http_label(&req))
        };
        let span = tracing::info_span!(
            "request",
            otel.name = %method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            protocol,
            method = %method,
            request_id = %request_id,
            caller = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        // A caller's W3C trace context (a no-op unless traces are exported).
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
        // Take the service that was polled ready; leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = {
            let _in = span.enter();
            inner.call(req)
        };
        let finish = Finish {
            shared: self.shared.clone(),
            protocol,
            method,
            started,
            span: span.clone(),
        };
        Box::pin(async move {
            let Ok(mut resp) = fut.instrument(span).await;
            if let Some(v) = id_header {
                resp.headers_mut().insert("x-request-id", v);
            }
            if !grpc {
                finish.done(resp.status().as_str());
                return Ok(resp);
            }
            if resp.headers().contains_key("grpc-status") {
                // Trailers-only: the status is already known.
                finish.done(grpc_code(resp.headers().get("grpc-status")));
                return Ok(resp);
            }
            Ok(resp.map(|b| {
                Body::new(Watched {
                    inner: b,
                    finish: Some(finish),
                })
            }))
        })
    }
}

/// What is recorded when a request ends.
struct Finish {
    shared: Arc<Shared>,
    protocol: &'static str,
    method: String,
    started: Instant,
    span: tracing::Span,
}

impl Finish {
    fn done(self, code: &str) {
        let took = self.started.elapsed();
        self.shared
            .metrics
            .request(self.protocol, &self.method, code, took);
        self.span.record("code", code);
        let failed = if self.protocol == "grpc" {
            grpc_server_error(code)
        } else {
            code.starts_with('5')
        };
        if failed {
            self.span.record("otel.status_code", "ERROR");
        }
        self.span.in_scope(|| {
            tracing::info!(
                target: "orgadm::access",
                duration_ms = took.as_secs_f64() * 1000.0,
                "request finished"
            );
        });
    }
}

/// A gRPC response body, watched for its `grpc-status` trailer.
struct Watched {
    inner: Body,
    finish: Option<Finish>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        let code = match &r {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|t| grpc_code(t.get("grpc-status"))),
            // The stream ended or broke without a status.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => Some("UNKNOWN"),
            Poll::Pending => None,
        };
        if let Some(code) = code
            && let Some(f) = this.finish.take()
        {
            f.done(code);
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // The client went away before the status was sent.
        if let Some(f) = self.finish.take() {
            f.done("CANCELLED");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_grpc_methods_come_from_the_descriptors() {
        let m = grpc_methods();
        assert!(m.contains("/orgadm.v1.PersonService/GetPerson"), "{m:?}");
        assert!(m.contains("/orgadm.v1.TokenService/ExchangeApiKey"));
        assert!(m.contains("/grpc.health.v1.Health/Check"));
        assert!(!m.contains("/orgadm.v1.PersonService/Nope"));
    }

    #[test]
    fn grpc_codes_by_number() {
        assert_eq!(grpc_code(Some(&HeaderValue::from_static("0"))), "OK");
        assert_eq!(
            grpc_code(Some(&HeaderValue::from_static("16"))),
            "UNAUTHENTICATED"
        );
        assert_eq!(grpc_code(Some(&HeaderValue::from_static("99"))), "UNKNOWN");
        assert_eq!(grpc_code(None), "UNKNOWN");
    }
}
