//! `orgadm.v1.ApiKeyService` and its conversions. The secret crosses this boundary once, in
//! `CreateApiKeyResponse`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::{from_timestamp, org_oid, timestamp};
use super::pb::{self, api_key_service_server::ApiKeyService};
use super::systems::client_id_in;
use crate::domain::api_key::{ApiKey, KeyState};
use crate::service::api_keys::{CreateKey, KeyChange, ListKeys};
use crate::service::{Core, ServiceError, etag, idempotency};

pub struct ApiKeyApi {
    pub core: Core,
}

impl From<ApiKey> for pb::ApiKey {
    fn from(k: ApiKey) -> Self {
        let ApiKey {
            id,
            prefix,
            client_id,
            organization_oid,
            holder_oid,
            issuer_oid,
            poa_number,
            state,
            valid_from,
            valid_until,
            last_used_at,
            created_at,
            updated_at,
            version,
        } = k;
        Self {
            id,
            prefix,
            client_id,
            organization_oid,
            holder_oid,
            issuer_oid,
            power_of_attorney_number: poa_number,
            state: match state {
                KeyState::Active => pb::ApiKeyState::Active,
                KeyState::Blocked => pb::ApiKeyState::Blocked,
                KeyState::Deleted => pb::ApiKeyState::Deleted,
            } as i32,
            valid_from: timestamp(&valid_from),
            valid_until: timestamp(&valid_until),
            last_use_time: last_used_at.as_ref().and_then(timestamp),
            create_time: timestamp(&created_at),
            update_time: timestamp(&updated_at),
            etag: etag(version),
        }
    }
}

fn key_id_in(id: &str) -> Result<String, ServiceError> {
    uuid::Uuid::try_parse(id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ServiceError::invalid("id", "must be an API-KEY id (a UUID)"))
}

fn state_in(v: i32) -> Result<Option<KeyState>, ServiceError> {
    Ok(match pb::ApiKeyState::try_from(v) {
        Ok(pb::ApiKeyState::Unspecified) => None,
        Ok(pb::ApiKeyState::Active) => Some(KeyState::Active),
        Ok(pb::ApiKeyState::Blocked) => Some(KeyState::Blocked),
        Ok(pb::ApiKeyState::Deleted) => Some(KeyState::Deleted),
        Err(_) => return Err(ServiceError::invalid("state", "is not a known state")),
    })
}

impl ApiKeyApi {
    async fn change(
        &self,
        req: Request<pb::ChangeApiKeyRequest>,
        change: KeyChange,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let caller = caller(&req)?;
        let pb::ChangeApiKeyRequest { id, etag } = req.into_inner();
        let id = key_id_in(&id)?;
        Ok(Response::new(
            self.core
                .change_api_key(&caller, id, etag, change)
                .await?
                .into(),
        ))
    }
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeyApi {
    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let caller = caller(&req)?;
        let pb::CreateApiKeyRequest {
            request_id,
            client_id,
            organization_oid,
            holder_oid,
            validity,
        } = req.into_inner();
        let request_id = idempotency::parse_request_id(&request_id)?;
        let client_id = client_id_in(&client_id)?;
        let org = org_oid(organization_oid)?;
        if holder_oid <= 0 {
            return Err(ServiceError::invalid("holder_oid", "is required").into());
        }
        let validity = validity
            .map(|d| {
                if d.nanos != 0 || d.seconds <= 0 {
                    Err(ServiceError::invalid(
                        "validity",
                        "must be a positive whole number of seconds",
                    ))
                } else {
                    Ok(chrono::Duration::seconds(d.seconds))
                }
            })
            .transpose()?;
        let created = self
            .core
            .create_api_key(
                &caller,
                CreateKey {
                    request_id,
                    client_id,
                    organization_oid: org,
                    holder_oid,
                    validity,
                },
            )
            .await?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            key: Some(created.key.into()),
            secret: created.secret.to_string(),
        }))
    }

    async fn get_api_key(
        &self,
        req: Request<pb::GetApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let caller = caller(&req)?;
        let pb::GetApiKeyRequest { id } = req.into_inner();
        let id = key_id_in(&id)?;
        Ok(Response::new(
            self.core.get_api_key(&caller, id).await?.into(),
        ))
    }

    async fn list_api_keys(
        &self,
        req: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListApiKeysRequest {
            organization_oid,
            vendor_oid,
            client_id,
            holder_oid,
            state,
            expiring_before,
            page_size,
            page_token,
        } = req.into_inner();
        let q = ListKeys {
            organization_oid: (organization_oid > 0).then_some(organization_oid),
            vendor_oid: (vendor_oid > 0).then_some(vendor_oid),
            client_id: if client_id.trim().is_empty() {
                None
            } else {
                Some(client_id_in(&client_id)?)
            },
            holder_oid: (holder_oid > 0).then_some(holder_oid),
            state: state_in(state)?,
            expiring_before: from_timestamp("expiring_before", expiring_before)?,
            page_size,
            page_token,
        };
        let page = self.core.list_api_keys(&caller, q).await?;
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn block_api_key(
        &self,
        req: Request<pb::ChangeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        self.change(req, KeyChange::Block).await
    }

    async fn unblock_api_key(
        &self,
        req: Request<pb::ChangeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        self.change(req, KeyChange::Unblock).await
    }

    async fn delete_api_key(
        &self,
        req: Request<pb::ChangeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        self.change(req, KeyChange::Delete).await
    }
}
