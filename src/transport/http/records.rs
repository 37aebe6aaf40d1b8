//! `GET /v1/organizations/{oid}/records.tar[?start_time=…&end_time=…]`: the signed records
//! archive over plain HTTP, streamed, with the same credentials as gRPC (`authorization: Bearer
//! …`, and `x-orgadm-person` for portals) and the same rule and audit event as
//! `RecordsService.ExportRecords`. Times are RFC 3339.

use axum::Extension;

use crate::transport::tls::ClientCertificate;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use tokio_stream::StreamExt;

use super::HttpState;
use super::error::http_error;
use crate::service::ServiceError;
use crate::service::records::ExportRecords;

#[derive(Debug, serde::Deserialize)]
pub struct PeriodQuery {
    start_time: Option<String>,
    end_time: Option<String>,
}

fn time(field: &str, v: Option<&str>) -> Result<Option<NaiveDateTime>, ServiceError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.naive_utc())
                .map_err(|_| {
                    ServiceError::invalid(
                        field,
                        "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
                    )
                })
        })
        .transpose()
}

pub async fn export(
    State(st): State<HttpState>,
    Path(oid): Path<String>,
    Query(q): Query<PeriodQuery>,
    headers: HeaderMap,
    certificate: Option<Extension<ClientCertificate>>,
) -> Response {
    let caller =
        match super::authenticate(&st.core, &headers, certificate.as_ref().map(|c| &c.0)).await {
            Ok(c) => c,
            Err(e) => return http_error(e),
        };
    let query = (|| {
        Ok::<_, ServiceError>(ExportRecords {
            organization_oid: oid.trim().parse().map_err(|_| {
                ServiceError::invalid("organization_oid", "must be an organisation OID")
            })?,
            from: time("start_time", q.start_time.as_deref())?,
            to: time("end_time", q.end_time.as_deref())?,
        })
    })();
    let export = match query {
        Ok(q) => st.core.export_records(&caller, q).await,
        Err(e) => Err(e),
    };
    let export = match export {
        Ok(e) => e,
        Err(e) => return http_error(e),
    };
    let info = export.info;
    let body = Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(export.chunks)
            .map(|c| c.map_err(|e| std::io::Error::other(e.to_string()))),
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (header::CONTENT_LENGTH, info.size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", info.file_name),
            ),
            (
                header::HeaderName::from_static("x-orgadm-manifest-streebog256"),
                info.manifest_streebog256,
            ),
        ],
        body,
    )
        .into_response()
}
