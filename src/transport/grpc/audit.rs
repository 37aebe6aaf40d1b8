//! `orgadm.v1.AuditService`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::from_timestamp;
use super::pb::{self, audit_service_server::AuditService};
use crate::domain::audit_checkpoint::Checkpoint;
use crate::domain::audit_export::ExportFormat;
use crate::service::Core;
use crate::service::audit::EventFilter;
use crate::service::audit::ListEvents;
use crate::service::audit_export::ExportRequest;

pub struct AuditApi {
    pub core: Core,
}

fn opt(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_events(
        &self,
        req: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListEventsRequest {
            organization_oid,
            actor_client,
            actor_person_oid,
            action,
            target_type,
            target_id,
            start_time,
            end_time,
            page_size,
            page_token,
        } = req.into_inner();
        let q = ListEvents {
            chain: organization_oid,
            filter: EventFilter {
                actor_client: opt(actor_client),
                actor_person: (actor_person_oid > 0).then_some(actor_person_oid),
                action: opt(action),
                target_type: opt(target_type),
                target_id: opt(target_id),
                start: from_timestamp("start_time", start_time)?,
                end: from_timestamp("end_time", end_time)?,
            },
            page_size,
            page_token,
        };
        let page = self.core.list_events(&caller, q).await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn verify_chain(
        &self,
        req: Request<pb::VerifyChainRequest>,
    ) -> Result<Response<pb::VerifyChainResponse>, Status> {
        let caller = caller(&req)?;
        let pb::VerifyChainRequest { organization_oid } = req.into_inner();
        let v = self.core.verify_chain(&caller, organization_oid).await?;
        let (first_broken_sequence, problem) = v.broken.clone().unwrap_or((0, String::new()));
        Ok(Response::new(pb::VerifyChainResponse {
            intact: v.broken.is_none(),
            events_checked: v.checked,
            head_sequence: v.head_seq,
            head_hash: hex::encode(&v.head_hash),
            first_broken_sequence,
            problem,
        }))
    }

    type ExportEventsStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::ExportEventsChunk, Status>>;

    async fn export_events(
        &self,
        req: Request<pb::ExportEventsRequest>,
    ) -> Result<Response<Self::ExportEventsStream>, Status> {
        let caller = caller(&req)?;
        let pb::ExportEventsRequest {
            organization_oid,
            format,
            from_sequence,
            to_sequence,
            actor_client,
            actor_person_oid,
            action,
            target_type,
            target_id,
            start_time,
            end_time,
        } = req.into_inner();
        let format = match pb::ExportFormat::try_from(format) {
            Ok(pb::ExportFormat::Unspecified | pb::ExportFormat::JsonLines) => {
                ExportFormat::JsonLines
            }
            Ok(pb::ExportFormat::Xml) => ExportFormat::Xml,
            Err(_) => {
                return Err(crate::service::ServiceError::invalid(
                    "format",
                    "must be EXPORT_FORMAT_JSON_LINES or EXPORT_FORMAT_XML",
                )
                .into());
            }
        };
        let q = ExportRequest {
            chain: organization_oid,
            format,
            from_seq: from_sequence,
            to_seq: to_sequence,
            filter: EventFilter {
                actor_client: opt(actor_client),
                actor_person: (actor_person_oid > 0).then_some(actor_person_oid),
                action: opt(action),
                target_type: opt(target_type),
                target_id: opt(target_id),
                start: from_timestamp("start_time", start_time)?,
                end: from_timestamp("end_time", end_time)?,
            },
        };
        let mut export = self.core.export_events(&caller, q).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            while let Some(chunk) = export.chunks.recv().await {
                let msg = chunk
                    .map(|data| pb::ExportEventsChunk { data })
                    .map_err(Status::from);
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn create_checkpoint(
        &self,
        req: Request<pb::CreateCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        let caller = caller(&req)?;
        let pb::CreateCheckpointRequest { organization_oid } = req.into_inner();
        let cp = self
            .core
            .create_checkpoint(&caller, organization_oid)
            .await?;
        Ok(Response::new(checkpoint(cp)))
    }

    async fn list_checkpoints(
        &self,
        req: Request<pb::ListCheckpointsRequest>,
    ) -> Result<Response<pb::ListCheckpointsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListCheckpointsRequest {
            organization_oid,
            page_size,
            page_token,
        } = req.into_inner();
        let page = self
            .core
            .list_checkpoints(&caller, organization_oid, page_size, &page_token)
            .await?;
        Ok(Response::new(pb::ListCheckpointsResponse {
            checkpoints: page.items.into_iter().map(checkpoint).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_checkpoint(
        &self,
        req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        let caller = caller(&req)?;
        let pb::GetCheckpointRequest {
            organization_oid,
            sequence,
        } = req.into_inner();
        let cp = self
            .core
            .get_checkpoint(&caller, organization_oid, sequence)
            .await?;
        Ok(Response::new(checkpoint(cp)))
    }
}

fn checkpoint(cp: Checkpoint) -> pb::Checkpoint {
    pb::Checkpoint {
        organization_oid: cp.chain,
        sequence: cp.seq,
        hash: hex::encode(&cp.hash),
        time: super::convert::timestamp(&cp.signed_at),
        certificate_fingerprint: hex::encode(&cp.cert_fingerprint),
        file_json: cp.to_file().to_json(),
        signature: cp.signature,
    }
}
