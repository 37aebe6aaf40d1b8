//! `orgadm.v1.PowerService` and its conversions.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::timestamp;
use super::pb::{self, power_service_server::PowerService};
use crate::domain::power::{ContextKind, NewPower, Power, PowerChanges, PowerSource};
use crate::service::powers::PowerFilter;
use crate::service::powers::{CreatePower, ListPowers, UpdatePower};
use crate::service::{Core, ServiceError, etag, idempotency};

pub struct PowerApi {
    pub core: Core,
}

fn context_in(v: i32) -> Option<ContextKind> {
    match pb::PowerContext::try_from(v).ok()? {
        pb::PowerContext::None => Some(ContextKind::None),
        pb::PowerContext::InformationSystem => Some(ContextKind::InformationSystem),
        pb::PowerContext::Unspecified => None,
    }
}

fn source_in(v: i32) -> Result<Option<PowerSource>, ServiceError> {
    match pb::PowerSource::try_from(v) {
        Ok(pb::PowerSource::Unspecified) => Ok(None),
        Ok(pb::PowerSource::Orgadm) => Ok(Some(PowerSource::Orgadm)),
        Ok(pb::PowerSource::Fns) => Ok(Some(PowerSource::Fns)),
        Err(_) => Err(ServiceError::invalid("source", "is not a known source")),
    }
}

impl From<Power> for pb::Power {
    fn from(p: Power) -> Self {
        let Power {
            code,
            name,
            description,
            context,
            source,
            active,
            created_at,
            updated_at,
            version,
        } = p;
        pb::Power {
            code,
            name,
            description,
            context: match context {
                ContextKind::None => pb::PowerContext::None as i32,
                ContextKind::InformationSystem => pb::PowerContext::InformationSystem as i32,
            },
            source: match source {
                PowerSource::Orgadm => pb::PowerSource::Orgadm as i32,
                PowerSource::Fns => pb::PowerSource::Fns as i32,
            },
            active,
            create_time: timestamp(&created_at),
            update_time: timestamp(&updated_at),
            etag: etag(version),
        }
    }
}

impl TryFrom<pb::CreatePowerRequest> for CreatePower {
    type Error = ServiceError;
    fn try_from(r: pb::CreatePowerRequest) -> Result<Self, ServiceError> {
        let pb::CreatePowerRequest {
            request_id,
            code,
            name,
            description,
            context,
            source,
        } = r;
        let request_id = idempotency::parse_request_id(&request_id)?;
        let power = NewPower::validate(
            &code,
            &name,
            &description,
            context_in(context),
            source_in(source)?,
        )?;
        Ok(Self { request_id, power })
    }
}

impl TryFrom<pb::UpdatePowerRequest> for UpdatePower {
    type Error = ServiceError;
    fn try_from(r: pb::UpdatePowerRequest) -> Result<Self, ServiceError> {
        let pb::UpdatePowerRequest {
            code,
            etag,
            update_mask,
            name,
            description,
            context,
            active,
        } = r;
        if code.trim().is_empty() {
            return Err(ServiceError::invalid("code", "is required"));
        }
        let wants_context = update_mask.is_empty() || update_mask.iter().any(|m| m == "context");
        let context = match context_in(context) {
            Some(c) => c,
            None if wants_context => {
                return Err(ServiceError::invalid("context", "is required"));
            }
            // Not changed: the service keeps the stored value.
            None => ContextKind::None,
        };
        Ok(Self {
            code: code.trim().to_owned(),
            etag,
            mask: update_mask,
            changes: PowerChanges {
                name,
                description,
                context,
                active,
            },
        })
    }
}

impl TryFrom<pb::ListPowersRequest> for ListPowers {
    type Error = ServiceError;
    fn try_from(r: pb::ListPowersRequest) -> Result<Self, ServiceError> {
        let pb::ListPowersRequest {
            active_only,
            context,
            page_size,
            page_token,
        } = r;
        let context = match pb::PowerContext::try_from(context) {
            Ok(pb::PowerContext::Unspecified) => None,
            Ok(_) => context_in(context),
            Err(_) => return Err(ServiceError::invalid("context", "is not a known context")),
        };
        Ok(Self {
            filter: PowerFilter {
                active_only,
                context,
            },
            page_size,
            page_token,
        })
    }
}

#[tonic::async_trait]
impl PowerService for PowerApi {
    async fn create_power(
        &self,
        req: Request<pb::CreatePowerRequest>,
    ) -> Result<Response<pb::Power>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.create_power(&caller, cmd).await?.into(),
        ))
    }

    async fn update_power(
        &self,
        req: Request<pb::UpdatePowerRequest>,
    ) -> Result<Response<pb::Power>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.update_power(&caller, cmd).await?.into(),
        ))
    }

    async fn get_power(
        &self,
        req: Request<pb::GetPowerRequest>,
    ) -> Result<Response<pb::Power>, Status> {
        let caller = caller(&req)?;
        let pb::GetPowerRequest { code } = req.into_inner();
        if code.trim().is_empty() {
            return Err(ServiceError::invalid("code", "is required").into());
        }
        let code = code.trim().to_owned();
        Ok(Response::new(
            self.core.get_power(&caller, code).await?.into(),
        ))
    }

    async fn list_powers(
        &self,
        req: Request<pb::ListPowersRequest>,
    ) -> Result<Response<pb::ListPowersResponse>, Status> {
        let caller = caller(&req)?;
        let q = req.into_inner().try_into()?;
        let page = self.core.list_powers(&caller, q).await?;
        Ok(Response::new(pb::ListPowersResponse {
            powers: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
