//! `orgadm.v1.PersonService`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::pb::{self, person_service_server::PersonService};
use crate::service::Core;

pub struct PersonApi {
    pub core: Core,
}

#[tonic::async_trait]
impl PersonService for PersonApi {
    async fn register_person(
        &self,
        req: Request<pb::RegisterPersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.register_person(&caller, cmd).await?.into(),
        ))
    }

    async fn update_person(
        &self,
        req: Request<pb::UpdatePersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.update_person(&caller, cmd).await?.into(),
        ))
    }

    async fn get_person(
        &self,
        req: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let caller = caller(&req)?;
        let pb::GetPersonRequest { oid } = req.into_inner();
        if oid <= 0 {
            return Err(crate::service::ServiceError::invalid("oid", "is required").into());
        }
        Ok(Response::new(
            self.core.get_person(&caller, oid).await?.into(),
        ))
    }

    async fn search_persons(
        &self,
        req: Request<pb::SearchPersonsRequest>,
    ) -> Result<Response<pb::SearchPersonsResponse>, Status> {
        let caller = caller(&req)?;
        let q = req.into_inner().try_into()?;
        let page = self.core.search_persons(&caller, q).await?;
        Ok(Response::new(pb::SearchPersonsResponse {
            persons: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
