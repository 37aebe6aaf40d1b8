//! `orgadm.v1.InformationSystemService` and its conversions.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::{org_oid, person_oid, timestamp};
use super::pb::{self, information_system_service_server::InformationSystemService};
use crate::domain::Violations;
use crate::domain::system::{GrantState, GrantView, InformationSystem, NewSystem, SystemMember};
use crate::service::systems::{ConsumerRef, SystemFilter, UpdateSystem};
use crate::service::{Core, ServiceError, etag};

pub struct InformationSystemApi {
    pub core: Core,
}

/// A CLIENT_ID naming an existing system: checked by the same rule as at registration.
pub fn client_id_in(s: &str) -> Result<String, ServiceError> {
    let mut v = Violations::new();
    let c = crate::domain::system::client_id(&mut v, "client_id", s);
    v.into_result()?;
    Ok(c.unwrap_or_default())
}

impl From<InformationSystem> for pb::InformationSystem {
    fn from(s: InformationSystem) -> Self {
        let InformationSystem {
            client_id,
            vendor_oid,
            name,
            description,
            api_key_enabled,
            created_at,
            updated_at,
            version,
        } = s;
        Self {
            client_id,
            vendor_oid,
            name,
            description,
            api_key_enabled,
            create_time: timestamp(&created_at),
            update_time: timestamp(&updated_at),
            etag: etag(version),
        }
    }
}

impl From<GrantView> for pb::SystemGrant {
    fn from(g: GrantView) -> Self {
        let GrantView {
            grant,
            consumer_name,
            consumer_ogrn,
            active_keys,
            last_key_use,
        } = g;
        Self {
            client_id: grant.client_id,
            consumer_oid: grant.consumer_oid,
            consumer_name,
            consumer_ogrn,
            state: match grant.state {
                GrantState::Active => pb::GrantState::Active as i32,
                GrantState::Withdrawn => pb::GrantState::Withdrawn as i32,
            },
            grant_time: timestamp(&grant.granted_at),
            withdraw_time: grant.withdrawn_at.as_ref().and_then(timestamp),
            active_keys,
            last_key_use_time: last_key_use.as_ref().and_then(timestamp),
        }
    }
}

impl From<SystemMember> for pb::SystemMember {
    fn from(m: SystemMember) -> Self {
        let SystemMember {
            client_id,
            organization_oid,
            person_oid,
            added_by,
            added_at,
        } = m;
        Self {
            client_id,
            organization_oid,
            person_oid,
            added_by_oid: added_by.unwrap_or_default(),
            add_time: timestamp(&added_at),
        }
    }
}

fn consumer_in(c: Option<pb::ConsumerRef>) -> Result<ConsumerRef, ServiceError> {
    use crate::domain::ids;
    let by = c.and_then(|c| c.by).ok_or_else(|| {
        ServiceError::invalid("consumer", "name the consumer by oid, ogrn or inn")
    })?;
    Ok(match by {
        pb::consumer_ref::By::Oid(o) if o > 0 => ConsumerRef::Oid(o),
        pb::consumer_ref::By::Oid(_) => {
            return Err(ServiceError::invalid("consumer.oid", "must be positive"));
        }
        pb::consumer_ref::By::Ogrn(o) => {
            let o = o.trim();
            let parsed = if o.len() == 15 {
                ids::parse_ogrnip(o)
            } else {
                ids::parse_ogrn(o)
            };
            ConsumerRef::Ogrn(
                parsed.map_err(|e| ServiceError::invalid("consumer.ogrn", e.to_string()))?,
            )
        }
        pb::consumer_ref::By::Inn(i) => {
            let i = i.trim();
            let parsed = if i.len() == 12 {
                ids::parse_inn12(i)
            } else {
                ids::parse_inn10(i)
            };
            ConsumerRef::Inn(
                parsed.map_err(|e| ServiceError::invalid("consumer.inn", e.to_string()))?,
            )
        }
    })
}

fn member_in(r: pb::SystemMemberRequest) -> Result<(String, i64, i64), ServiceError> {
    let pb::SystemMemberRequest {
        client_id,
        organization_oid,
        person_oid: person,
    } = r;
    Ok((
        client_id_in(&client_id)?,
        org_oid(organization_oid)?,
        person_oid(person)?,
    ))
}

fn positive(v: i64) -> Option<i64> {
    (v > 0).then_some(v)
}

#[tonic::async_trait]
impl InformationSystemService for InformationSystemApi {
    async fn register_system(
        &self,
        req: Request<pb::RegisterSystemRequest>,
    ) -> Result<Response<pb::InformationSystem>, Status> {
        let caller = caller(&req)?;
        let pb::RegisterSystemRequest {
            vendor_oid,
            client_id,
            name,
            description,
        } = req.into_inner();
        let new = NewSystem::validate(&client_id, &name, &description);
        let vendor = if vendor_oid > 0 {
            Some(vendor_oid)
        } else {
            None
        };
        let (new, vendor) = match (new, vendor) {
            (Ok(n), Some(v)) => (n, v),
            (r, v) => {
                let mut viol = r.err().unwrap_or_default();
                if v.is_none() {
                    viol.add("vendor_oid", "is required");
                }
                return Err(ServiceError::from(viol).into());
            }
        };
        Ok(Response::new(
            self.core
                .register_system(&caller, vendor, new)
                .await?
                .into(),
        ))
    }

    async fn get_system(
        &self,
        req: Request<pb::GetSystemRequest>,
    ) -> Result<Response<pb::InformationSystem>, Status> {
        let caller = caller(&req)?;
        let pb::GetSystemRequest { client_id } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        Ok(Response::new(
            self.core.get_system(&caller, client_id).await?.into(),
        ))
    }

    async fn list_systems(
        &self,
        req: Request<pb::ListSystemsRequest>,
    ) -> Result<Response<pb::ListSystemsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListSystemsRequest {
            vendor_oid,
            consumer_oid,
            page_size,
            page_token,
        } = req.into_inner();
        let f = SystemFilter {
            vendor_oid: positive(vendor_oid),
            consumer_oid: positive(consumer_oid),
        };
        let page = self
            .core
            .list_systems(&caller, f, page_size, page_token)
            .await?;
        Ok(Response::new(pb::ListSystemsResponse {
            systems: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_system(
        &self,
        req: Request<pb::UpdateSystemRequest>,
    ) -> Result<Response<pb::InformationSystem>, Status> {
        let caller = caller(&req)?;
        let pb::UpdateSystemRequest {
            client_id,
            etag,
            update_mask,
            name,
            description,
        } = req.into_inner();
        let cmd = UpdateSystem {
            client_id: client_id_in(&client_id)?,
            etag,
            mask: update_mask,
            name,
            description,
        };
        Ok(Response::new(
            self.core.update_system(&caller, cmd).await?.into(),
        ))
    }

    async fn set_api_key_power(
        &self,
        req: Request<pb::SetApiKeyPowerRequest>,
    ) -> Result<Response<pb::InformationSystem>, Status> {
        let caller = caller(&req)?;
        let pb::SetApiKeyPowerRequest { client_id, enabled } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        Ok(Response::new(
            self.core
                .set_api_key_power(&caller, client_id, enabled)
                .await?
                .into(),
        ))
    }

    async fn grant_system(
        &self,
        req: Request<pb::GrantSystemRequest>,
    ) -> Result<Response<pb::SystemGrant>, Status> {
        let caller = caller(&req)?;
        let pb::GrantSystemRequest {
            client_id,
            consumer,
        } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        let consumer = consumer_in(consumer)?;
        Ok(Response::new(
            self.core
                .change_grant(&caller, client_id, consumer, true)
                .await?
                .into(),
        ))
    }

    async fn withdraw_grant(
        &self,
        req: Request<pb::WithdrawGrantRequest>,
    ) -> Result<Response<pb::SystemGrant>, Status> {
        let caller = caller(&req)?;
        let pb::WithdrawGrantRequest {
            client_id,
            consumer,
        } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        let consumer = consumer_in(consumer)?;
        Ok(Response::new(
            self.core
                .change_grant(&caller, client_id, consumer, false)
                .await?
                .into(),
        ))
    }

    async fn list_grants(
        &self,
        req: Request<pb::ListGrantsRequest>,
    ) -> Result<Response<pb::ListGrantsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListGrantsRequest {
            client_id,
            page_size,
            page_token,
        } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        let page = self
            .core
            .list_grants(&caller, client_id, page_size, page_token)
            .await?;
        Ok(Response::new(pb::ListGrantsResponse {
            grants: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn add_system_member(
        &self,
        req: Request<pb::SystemMemberRequest>,
    ) -> Result<Response<pb::SystemMember>, Status> {
        let caller = caller(&req)?;
        let (client_id, org, person) = member_in(req.into_inner())?;
        Ok(Response::new(
            self.core
                .change_system_member(&caller, client_id, org, person, true)
                .await?
                .into(),
        ))
    }

    async fn remove_system_member(
        &self,
        req: Request<pb::SystemMemberRequest>,
    ) -> Result<Response<pb::SystemMember>, Status> {
        let caller = caller(&req)?;
        let (client_id, org, person) = member_in(req.into_inner())?;
        Ok(Response::new(
            self.core
                .change_system_member(&caller, client_id, org, person, false)
                .await?
                .into(),
        ))
    }

    async fn list_system_members(
        &self,
        req: Request<pb::ListSystemMembersRequest>,
    ) -> Result<Response<pb::ListSystemMembersResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListSystemMembersRequest {
            client_id,
            organization_oid,
            page_size,
            page_token,
        } = req.into_inner();
        let client_id = client_id_in(&client_id)?;
        let org = org_oid(organization_oid)?;
        let page = self
            .core
            .list_system_members(&caller, client_id, org, page_size, page_token)
            .await?;
        Ok(Response::new(pb::ListSystemMembersResponse {
            members: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
