//! The audit export as an HTTP download: `GET /v1/audit/{oid}/export?format=jsonl|xml&…`, with
//! the same bearer credentials (and `x-orgadm-person` for portals) as gRPC. The body streams the
//! same bytes as `AuditService.ExportEvents`; a failure midway cuts the body short, so the file
//! lacks its signed manifest and does not verify. `GET /v1/audit/{oid}/checkpoints/{seq}` gives
//! a checkpoint as the JSON file `orgadm audit verify --checkpoint` reads.

use axum::Extension;

use crate::transport::tls::ClientCertificate;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::HttpState;
use super::error::http_error;
use crate::domain::audit_export::ExportFormat;
use crate::service::ServiceError;
use crate::service::audit::EventFilter;
use crate::service::audit_export::ExportRequest;

#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    from_sequence: Option<i64>,
    to_sequence: Option<i64>,
    actor_client: Option<String>,
    actor_person_oid: Option<i64>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

fn time(field: &str, v: Option<String>) -> Result<Option<chrono::NaiveDateTime>, ServiceError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.naive_utc())
                .map_err(|_| ServiceError::invalid(field, "is not an RFC 3339 time"))
        })
        .transpose()
}

fn request(oid: i64, q: ExportQuery) -> Result<ExportRequest, ServiceError> {
    let format = match q.format.as_deref() {
        None | Some("") => ExportFormat::JsonLines,
        Some(f) => ExportFormat::parse(f)
            .ok_or_else(|| ServiceError::invalid("format", "must be jsonl or xml"))?,
    };
    let some = |s: Option<String>| s.filter(|s| !s.is_empty());
    Ok(ExportRequest {
        chain: oid,
        format,
        from_seq: q.from_sequence.unwrap_or(0),
        to_seq: q.to_sequence.unwrap_or(0),
        filter: EventFilter {
            actor_client: some(q.actor_client),
            actor_person: q.actor_person_oid.filter(|p| *p > 0),
            action: some(q.action),
            target_type: some(q.target_type),
            target_id: some(q.target_id),
            start: time("start_time", q.start_time)?,
            end: time("end_time", q.end_time)?,
        },
    })
}

pub async fn export(
    State(s): State<HttpState>,
    Path(oid): Path<i64>,
    Query(q): Query<ExportQuery>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    let r = async {
        let caller =
            super::authenticate(&s.core, &headers, certificate.as_ref().map(|c| &c.0)).await?;
        s.core.export_events(&caller, request(oid, q)?).await
    };
    match r.await {
        Err(e) => http_error(e),
        Ok(export) => {
            let name = format!(
                "audit-{}-{}-{}.{}",
                export.chain,
                export.from_seq,
                export.to_seq,
                export.format.as_str()
            );
            let body =
                Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(export.chunks));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        export.format.content_type().to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
    }
}

pub async fn checkpoint(
    State(s): State<HttpState>,
    Path((oid, seq)): Path<(i64, i64)>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    let r = async {
        let caller =
            super::authenticate(&s.core, &headers, certificate.as_ref().map(|c| &c.0)).await?;
        s.core.get_checkpoint(&caller, oid, seq).await
    };
    match r.await {
        Err(e) => http_error(e),
        Ok(cp) => (
            [(header::CONTENT_TYPE, "application/json")],
            cp.to_file().to_json(),
        )
            .into_response(),
    }
}
