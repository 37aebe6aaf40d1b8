//! Powers of attorney over plain HTTP: the public status check written into every document
//! (`СведСист`: `/poa/check-status?guid=<НомДовер>`, an HTML page, or JSON with
//! `Accept: application/json` or `&format=json`, like the FNS registry's check), and the
//! authenticated download of a document's exact bytes.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::HttpState;
use super::error::http_error;
use crate::domain::poa::PoaState;
use crate::service::ServiceError;
use crate::service::poa::PoaStatus;
use crate::transport::tls::ClientCertificate;

#[derive(Debug, serde::Deserialize)]
pub struct StatusQuery {
    guid: Option<String>,
    format: Option<String>,
}

/// The FNS registry's status names for each state.
fn registry_status(s: PoaState) -> (&'static str, &'static str) {
    match s {
        PoaState::New => ("CREATED", "Новая"),
        PoaState::Active => ("ACTIVE", "Действующая"),
        PoaState::Expired => ("EXPIRED", "Истекла"),
        PoaState::Revoked => ("REVOKED", "Отозвана"),
        // Not public; never shown.
        PoaState::Draft | PoaState::Discarded => ("NOT_FOUND", "Не найдена"),
    }
}

fn status_json(s: &PoaStatus) -> serde_json::Value {
    let (code, name) = registry_status(s.state);
    serde_json::json!({
        "number": s.number,
        "status": code,
        "statusName": name,
        "startDate": s.start_date.to_string(),
        "endDate": s.end_date.to_string(),
        "revokedAt": s.revoked_at.map(|t| t.and_utc().to_rfc3339()),
        "principal": { "name": s.principal_name, "inn": s.principal_inn, "ogrn": s.principal_ogrn },
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn status_html(s: &PoaStatus) -> String {
    let (_, name) = registry_status(s.state);
    let revoked = s
        .revoked_at
        .map(|t| {
            format!(
                "<tr><th>Отозвана</th><td>{}</td></tr>",
                t.format("%Y-%m-%d %H:%M UTC")
            )
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Доверенность {num}</title></head>\n\
         <body><h1>Машиночитаемая доверенность</h1>\n<table>\n\
         <tr><th>Номер (НомДовер)</th><td>{num}</td></tr>\n\
         <tr><th>Статус</th><td><strong>{name}</strong></td></tr>\n\
         <tr><th>Дата выдачи</th><td>{start}</td></tr>\n\
         <tr><th>Действует по</th><td>{end}</td></tr>\n{revoked}\n\
         <tr><th>Доверитель</th><td>{org} (ИНН {inn}, ОГРН {ogrn})</td></tr>\n\
         </table></body></html>\n",
        num = escape(&s.number),
        start = s.start_date,
        end = s.end_date,
        org = escape(&s.principal_name),
        inn = escape(&s.principal_inn),
        ogrn = escape(&s.principal_ogrn),
    )
}

pub async fn check_status(
    State(st): State<HttpState>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let wants_json = q.format.as_deref() == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
    let number = match q
        .guid
        .as_deref()
        .map(str::trim)
        .and_then(|g| uuid::Uuid::parse_str(g).ok())
    {
        Some(u) => u.hyphenated().to_string(),
        None => {
            return http_error(ServiceError::invalid(
                "guid",
                "must be the НомДовер (a UUID) of a power of attorney",
            ));
        }
    };
    match st.core.poa_status(number).await {
        Ok(s) if wants_json => axum::Json(status_json(&s)).into_response(),
        Ok(s) => Html(status_html(&s)).into_response(),
        Err(e) => http_error(e),
    }
}

/// Which stored file a download asks for.
#[derive(Debug, Clone, Copy)]
enum Download {
    Document,
    DocumentSignature,
    Revocation,
    RevocationSignature,
}

async fn download(
    st: HttpState,
    number: String,
    headers: HeaderMap,
    certificate: Option<ClientCertificate>,
    what: Download,
) -> Response {
    let caller = match super::authenticate(&st.core, &headers, certificate.as_ref()).await {
        Ok(c) => c,
        Err(e) => return http_error(e),
    };
    let Ok(number) = uuid::Uuid::parse_str(number.trim()) else {
        return http_error(ServiceError::invalid(
            "number",
            "must be a НомДовер (a UUID)",
        ));
    };
    let number = number.hyphenated().to_string();
    let file = match what {
        Download::Document | Download::DocumentSignature => {
            st.core.get_document(&caller, number.clone()).await
        }
        Download::Revocation | Download::RevocationSignature => {
            st.core.get_revocation(&caller, number.clone()).await
        }
    };
    let d = match file {
        Ok(d) => d,
        Err(e) => return http_error(e),
    };
    let (content_type, name, body) = match what {
        Download::Document | Download::Revocation => ("application/xml", d.file_name, d.content),
        Download::DocumentSignature | Download::RevocationSignature => match d.signature {
            Some(sig) => (
                "application/pkcs7-signature",
                format!("{}.sig", d.file_name),
                sig,
            ),
            None => return http_error(ServiceError::not_found("signature", number)),
        },
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/powers-of-attorney/{number}/document`: the exact bytes, with the same credentials as
/// gRPC (`authorization: Bearer …`, and `x-orgadm-person` for portals).
pub async fn download_document(
    State(st): State<HttpState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    download(
        st,
        number,
        headers,
        certificate.map(|c| c.0),
        Download::Document,
    )
    .await
}

/// `GET /v1/powers-of-attorney/{number}/document.sig`: its stored detached signature (DER).
pub async fn download_document_signature(
    State(st): State<HttpState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    download(
        st,
        number,
        headers,
        certificate.map(|c| c.0),
        Download::DocumentSignature,
    )
    .await
}

/// `GET /v1/powers-of-attorney/{number}/revocation`: the signed revocation statement's bytes.
pub async fn download_revocation(
    State(st): State<HttpState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    download(
        st,
        number,
        headers,
        certificate.map(|c| c.0),
        Download::Revocation,
    )
    .await
}

/// `GET /v1/powers-of-attorney/{number}/revocation.sig`: its detached signature (DER).
pub async fn download_revocation_signature(
    State(st): State<HttpState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    download(
        st,
        number,
        headers,
        certificate.map(|c| c.0),
        Download::RevocationSignature,
    )
    .await
}
