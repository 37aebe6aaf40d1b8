//! `orgadm.v1.RecordsService`: the signed records archive, streamed.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::{from_timestamp, timestamp};
use super::pb::{self, records_service_server::RecordsService};
use crate::service::Core;
use crate::service::records::{ArchiveInfo, ExportRecords};

pub struct RecordsApi {
    pub core: Core,
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::ExportRecordsResponse, Status>> + Send>>;

fn info(i: &ArchiveInfo) -> pb::RecordsArchiveInfo {
    pb::RecordsArchiveInfo {
        file_name: i.file_name.clone(),
        size: i.size,
        manifest_streebog256: i.manifest_streebog256.clone(),
        powers_of_attorney: i.counts.powers_of_attorney,
        revocations: i.counts.revocations,
        imports: i.counts.imports,
        api_keys: i.counts.api_keys,
        token_issuances: i.counts.token_issuances,
        start_time: i.period.from.as_ref().and_then(timestamp),
        end_time: i.period.to.as_ref().and_then(timestamp),
        audit_sequence: i.audit_sequence,
    }
}

#[tonic::async_trait]
impl RecordsService for RecordsApi {
    type ExportRecordsStream = ChunkStream;

    async fn export_records(
        &self,
        req: Request<pb::ExportRecordsRequest>,
    ) -> Result<Response<Self::ExportRecordsStream>, Status> {
        let caller = caller(&req)?;
        let pb::ExportRecordsRequest {
            organization_oid,
            start_time,
            end_time,
        } = req.into_inner();
        let q = ExportRecords {
            organization_oid,
            from: from_timestamp("start_time", start_time)?,
            to: from_timestamp("end_time", end_time)?,
        };
        let export = self.core.export_records(&caller, q).await?;
        let first = pb::ExportRecordsResponse {
            info: Some(info(&export.info)),
            chunk: Vec::new(),
        };
        let chunks = tokio_stream::wrappers::ReceiverStream::new(export.chunks).map(|c| {
            c.map(|chunk| pb::ExportRecordsResponse { info: None, chunk })
                .map_err(Status::from)
        });
        let stream = tokio_stream::once(Ok(first)).chain(chunks);
        Ok(Response::new(Box::pin(stream)))
    }
}
