//! The token exchange over plain HTTP, in ESIA's public shape:
//! `GET /esia-rs/api/public/v1/orgs/ext-app/{API_KEY}/tkn?signature=…` → `{"accessTkn": "…"}`,
//! errors as `{"code": "ESIA-…", "message": "…"}`; and, for resource servers, the published
//! signing certificates (`GET /v1/token/certificates`, PEM) and introspection
//! (`GET /v1/token/introspect?token=…` or `POST` with the token as the body or `token=…`).
//! No credentials are needed for any of them.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::domain::token::RefusalClass;
use crate::service::ServiceError;
use crate::service::tokens::{ExchangeRequest, TokenVerdict};
use crate::transport::credentials;

/// Largest `signature` parameter accepted (a CMS message with a certificate chain is a few KiB).
pub const MAX_SIGNATURE_PARAM: usize = 32 * 1024;
/// Largest introspection body.
pub const MAX_INTROSPECT_BODY: usize = 64 * 1024;

pub fn refusal_status(c: RefusalClass) -> StatusCode {
    match c {
        RefusalClass::Malformed => StatusCode::BAD_REQUEST,
        RefusalClass::BadSignature => StatusCode::UNAUTHORIZED,
        RefusalClass::KeyNotUsable => StatusCode::FORBIDDEN,
        RefusalClass::NotFound => StatusCode::NOT_FOUND,
    }
}

fn esia_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": code, "message": message})),
    )
        .into_response()
}

/// Every error of the public endpoint in ESIA's body shape.
pub fn token_error(e: ServiceError) -> Response {
    match e {
        ServiceError::TokenRefused(r) => esia_error(
            refusal_status(r.refusal.class()),
            r.refusal.esia_code(),
            r.refusal.message(),
        ),
        ServiceError::RateLimited {
            message,
            retry_after,
        } => {
            let mut resp = esia_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", &message);
            if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        ServiceError::NotConfigured(m) => {
            esia_error(StatusCode::SERVICE_UNAVAILABLE, "NOT_CONFIGURED", &m)
        }
        ServiceError::Retry(m) | ServiceError::Unavailable(m) => {
            tracing::warn!(error = %m, "token exchange: unavailable");
            let mut resp = esia_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the service is unavailable; retry later",
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        ServiceError::InvalidArgument(v) => {
            let m =
                v.0.iter()
                    .map(|f| format!("{}: {}", f.field, f.description))
                    .collect::<Vec<_>>()
                    .join("; ");
            esia_error(StatusCode::BAD_REQUEST, "ESIA-020000", &m)
        }
        other => {
            tracing::error!(error = %other, "token exchange failed");
            esia_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

/// The raw (still percent-encoded) value of `name` in a query string: a standard-base64
/// signature sent without encoding keeps its `+` (form decoding would make it a space).
fn raw_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub async fn exchange(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(api_key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let Some(signature) = raw_param(&query, "signature") else {
        return esia_error(
            StatusCode::BAD_REQUEST,
            "ESIA-020000",
            "the signature parameter is required",
        );
    };
    if signature.len() > MAX_SIGNATURE_PARAM {
        return esia_error(
            StatusCode::BAD_REQUEST,
            "ESIA-020000",
            "the signature parameter is too long",
        );
    }
    let req = ExchangeRequest {
        api_key,
        signature: signature.as_bytes().to_vec(),
        client_addr: peer.ip().to_string(),
        request_id: credentials::request_id(&headers),
    };
    match s.core.exchange_api_key(req).await {
        Ok(t) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({"accessTkn": t.token})),
        )
            .into_response(),
        Err(e) => token_error(e),
    }
}

/// The service's token signing certificates, PEM, the current one first.
pub async fn certificates(State(s): State<HttpState>) -> Response {
    let certs = s.core.token_certificates();
    if certs.is_empty() {
        return esia_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "NOT_CONFIGURED",
            "the service has no signing certificate",
        );
    }
    let pem: String = certs.iter().map(|c| c.to_pem()).collect();
    ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
}

pub fn verdict_json(v: &TokenVerdict) -> serde_json::Value {
    let mut j = serde_json::json!({ "active": v.invalid.is_none() });
    if let Some((reason, message)) = &v.invalid {
        j["reason"] = (*reason).into();
        j["message"] = message.clone().into();
    }
    if let Some(c) = v.esia_code {
        j["code"] = c.into();
    }
    if let Some(h) = &v.header {
        j["header"] = h.clone();
    }
    if let Some(c) = &v.claims {
        j["claims"] = c.clone();
    }
    j
}

async fn introspect_token(s: &HttpState, token: &str) -> Response {
    match s.core.verify_token(token.trim()).await {
        Ok(v) => Json(verdict_json(&v)).into_response(),
        Err(e) => token_error(e),
    }
}

/// `GET /v1/token/introspect?token=…`
pub async fn introspect_get(State(s): State<HttpState>, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    match raw_param(&q, "token") {
        Some(t) if t.len() <= MAX_INTROSPECT_BODY => introspect_token(&s, t).await,
        _ => esia_error(
            StatusCode::BAD_REQUEST,
            "ESIA-020000",
            "the token parameter is required",
        ),
    }
}

/// `POST /v1/token/introspect` with the token as the body, or `token=…` (form).
pub async fn introspect_post(State(s): State<HttpState>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return esia_error(
            StatusCode::BAD_REQUEST,
            "ESIA-020000",
            "the body is not text",
        );
    };
    let token = raw_param(text.trim(), "token").unwrap_or(text);
    introspect_token(&s, token).await
}
