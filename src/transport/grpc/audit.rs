//! `orgadm.v1.AuditService`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::from_timestamp;
use super::pb::{self, audit_service_server::AuditService};
use crate::service::Core;
use crate::service::audit::ListEvents;
use crate::storage::audit::EventFilter;

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
}
