//! `orgadm.v1.OrganizationService`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::pb::{self, organization_service_server::OrganizationService};
use crate::service::organizations_signed::RegisterWithSignature;
use crate::service::{Core, ServiceError, idempotency};

pub struct OrganizationApi {
    pub core: Core,
}

#[tonic::async_trait]
impl OrganizationService for OrganizationApi {
    async fn register_organization(
        &self,
        req: Request<pb::RegisterOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.register_organization(&caller, cmd).await?.into(),
        ))
    }

    async fn register_with_signature(
        &self,
        req: Request<pb::RegisterWithSignatureRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let caller = caller(&req)?;
        let pb::RegisterWithSignatureRequest {
            request_id,
            statement,
            signature,
        } = req.into_inner();
        let cmd = RegisterWithSignature {
            request_id: idempotency::parse_request_id(&request_id)?,
            statement,
            signature,
        };
        Ok(Response::new(
            self.core
                .register_with_signature(&caller, cmd)
                .await?
                .into(),
        ))
    }

    async fn get_organization(
        &self,
        req: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let caller = caller(&req)?;
        let pb::GetOrganizationRequest { oid } = req.into_inner();
        if oid <= 0 {
            return Err(ServiceError::invalid("oid", "is required").into());
        }
        Ok(Response::new(
            self.core.get_organization(&caller, oid).await?.into(),
        ))
    }

    async fn search_organizations(
        &self,
        req: Request<pb::SearchOrganizationsRequest>,
    ) -> Result<Response<pb::SearchOrganizationsResponse>, Status> {
        let caller = caller(&req)?;
        let q = req.into_inner().try_into()?;
        let page = self.core.search_organizations(&caller, q).await?;
        Ok(Response::new(pb::SearchOrganizationsResponse {
            organizations: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_organization(
        &self,
        req: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.update_organization(&caller, cmd).await?.into(),
        ))
    }
}
