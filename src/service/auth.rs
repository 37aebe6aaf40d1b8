//! Authentication of API clients: bearer tokens made by `orgadm client create`, stored only as
//! their Streebog-256 hash. A token is `oa1_` followed by 43 base64url characters (256 random
//! bits from the OS generator), so a plain hash suffices: there is nothing to guess. A client may
//! instead be registered with the SHA-256 fingerprint of its TLS client certificate: over mutual
//! TLS, presenting that certificate authenticates it without a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::streebog::streebog256;
use crate::domain::caller::{ApiClient, Caller, Role};
use crate::storage;

use super::audit_log::{self, EventSpec};
use super::authz;
use super::error::ServiceError;
use super::{Core, random_bytes};

const TOKEN_PREFIX: &str = "oa1_";

pub fn token_hash(token: &str) -> [u8; 32] {
    streebog256(token.as_bytes())
}

fn new_token() -> Result<String, ServiceError> {
    let bytes = random_bytes::<32>()?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

impl Core {
    /// Resolves a bearer token to its client; `acting_person` comes from `x-orgadm-person`.
    pub async fn authenticate(
        &self,
        bearer: Option<&str>,
        acting_person: Option<i64>,
        request_id: String,
    ) -> Result<Caller, ServiceError> {
        self.authenticate_presented(bearer, None, acting_person, request_id)
            .await
    }

    /// Resolves the credentials a request presented: its bearer token when it sent one,
    /// otherwise the SHA-256 fingerprint of its verified TLS client certificate.
    pub async fn authenticate_presented(
        &self,
        bearer: Option<&str>,
        certificate_sha256: Option<[u8; 32]>,
        acting_person: Option<i64>,
        request_id: String,
    ) -> Result<Caller, ServiceError> {
        let token = bearer.map(str::trim).filter(|t| !t.is_empty());
        let client = match (token, certificate_sha256) {
            (Some(token), _) => {
                if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 43 {
                    return Err(ServiceError::Unauthenticated("invalid credentials".into()));
                }
                let hash = token_hash(token);
                self.db
                    .read(move |c| Ok(storage::clients::find_active_by_hash(c, &hash)?))
                    .await?
                    .ok_or_else(|| ServiceError::Unauthenticated("invalid credentials".into()))?
            }
            (None, Some(fp)) => self
                .db
                .read(move |c| Ok(storage::clients::find_active_by_certificate(c, &fp)?))
                .await?
                .ok_or_else(|| {
                    ServiceError::Unauthenticated(
                        "the client certificate belongs to no active client".into(),
                    )
                })?,
            (None, None) => {
                return Err(ServiceError::Unauthenticated(
                    "missing bearer credentials".into(),
                ));
            }
        };
        if acting_person.is_some() && client.role != Role::Portal {
            return Err(ServiceError::denied(
                "ACTING_PERSON_NOT_ALLOWED",
                "only a portal client may act for a person",
            ));
        }
        Ok(Caller {
            client_id: client.id,
            client_name: client.name,
            role: client.role,
            organization_oid: client.organization_oid,
            acting_person,
            request_id,
        })
    }

    /// Creates an API client and returns it with its bearer token (shown once, never stored).
    pub async fn create_client(
        &self,
        name: String,
        role: Role,
        organization_oid: Option<i64>,
    ) -> Result<(ApiClient, String), ServiceError> {
        let token = new_token()?;
        let client = self
            .insert_client(name, role, organization_oid, Some(token_hash(&token)), None)
            .await?;
        Ok((client, token))
    }

    /// Creates an API client that authenticates with the TLS client certificate of this SHA-256
    /// fingerprint (over mutual TLS); it has no bearer token.
    pub async fn create_certificate_client(
        &self,
        name: String,
        role: Role,
        organization_oid: Option<i64>,
        certificate_sha256: [u8; 32],
    ) -> Result<ApiClient, ServiceError> {
        self.insert_client(name, role, organization_oid, None, Some(certificate_sha256))
            .await
    }

    async fn insert_client(
        &self,
        name: String,
        role: Role,
        organization_oid: Option<i64>,
        hash: Option<[u8; 32]>,
        certificate_sha256: Option<[u8; 32]>,
    ) -> Result<ApiClient, ServiceError> {
        let mut v = crate::domain::Violations::new();
        let name = crate::domain::error::text(&mut v, "name", &name, true, 100);
        match (role, organization_oid) {
            (Role::Vendor, None) => v.add(
                "organization",
                "a vendor client must be bound to its vendor organisation",
            ),
            (Role::Operator | Role::Portal, Some(_)) => v.add(
                "organization",
                "only vendor and auditor clients are bound to an organisation",
            ),
            _ => {}
        }
        v.into_result()?;
        let name = name.unwrap_or_default();
        let id = uuid::Uuid::new_v4().to_string();
        let clock = self.clock.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                if storage::clients::find_by_name(c, &name)?.is_some() {
                    return Err(ServiceError::AlreadyExists {
                        reason: "CLIENT_NAME_TAKEN",
                        resource: "client",
                        field: Some("name"),
                        message: format!("a client named {name} already exists"),
                    });
                }
                if let Some(fp) = certificate_sha256
                    && storage::clients::find_active_by_certificate(c, &fp)?.is_some()
                {
                    return Err(ServiceError::AlreadyExists {
                        reason: "CLIENT_CERTIFICATE_TAKEN",
                        resource: "client",
                        field: Some("certificate"),
                        message: "an active client already has this certificate".into(),
                    });
                }
                if let Some(org) = organization_oid {
                    let o = storage::organizations::get(c, org)?.ok_or_else(|| {
                        ServiceError::invalid(
                            "organization",
                            format!("no organisation with OID {org}"),
                        )
                    })?;
                    if role == Role::Vendor && !o.vendor {
                        return Err(ServiceError::precondition(
                            "NOT_A_VENDOR",
                            format!("organization/{org}"),
                            "the organisation is not flagged as a vendor",
                        ));
                    }
                }
                let client = ApiClient {
                    id: id.clone(),
                    name: name.clone(),
                    role,
                    organization_oid,
                    created_at: now,
                    revoked_at: None,
                    certificate_sha256: certificate_sha256.map(|f| f.to_vec()),
                };
                storage::clients::insert(c, &client, hash.as_ref().map(|h| h.as_slice()))?;
                let mut details = serde_json::json!({
                    "name": client.name, "role": role.as_str(), "organization_oid": organization_oid
                });
                if let Some(fp) = certificate_sha256 {
                    details["certificate_sha256"] = hex::encode(fp).into();
                }
                audit_log::append(
                    c,
                    &authz::console(),
                    &console_caller(),
                    EventSpec {
                        chain: crate::domain::audit::PLATFORM_CHAIN,
                        action: "client.create",
                        target_type: "client",
                        target_id: client.id.clone(),
                        details,
                    },
                    now,
                )?;
                Ok(client)
            })
            .await
    }

    pub async fn list_clients(&self) -> Result<Vec<ApiClient>, ServiceError> {
        self.db.read(|c| Ok(storage::clients::list(c)?)).await
    }

    pub async fn count_active_clients(&self) -> Result<i64, ServiceError> {
        self.db
            .read(|c| Ok(storage::clients::count_active(c)?))
            .await
    }

    /// Revokes a client by name or id; its token stops working at once.
    pub async fn revoke_client(&self, name_or_id: String) -> Result<ApiClient, ServiceError> {
        let clock = self.clock.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let client = match storage::clients::find_by_name(c, &name_or_id)? {
                    Some(cl) => cl,
                    None => storage::clients::list(c)?
                        .into_iter()
                        .find(|cl| cl.id == name_or_id)
                        .ok_or_else(|| ServiceError::not_found("client", &name_or_id))?,
                };
                if !storage::clients::revoke(c, &client.id, now)? {
                    return Err(ServiceError::precondition(
                        "ALREADY_REVOKED",
                        format!("client/{}", client.name),
                        "the client is already revoked",
                    ));
                }
                audit_log::append(
                    c,
                    &authz::console(),
                    &console_caller(),
                    EventSpec {
                        chain: crate::domain::audit::PLATFORM_CHAIN,
                        action: "client.revoke",
                        target_type: "client",
                        target_id: client.id.clone(),
                        details: serde_json::json!({ "name": client.name }),
                    },
                    now,
                )?;
                Ok(ApiClient {
                    revoked_at: Some(now),
                    ..client
                })
            })
            .await
    }
}

/// The actor recorded for changes made with the CLI on the server's console.
fn console_caller() -> Caller {
    Caller {
        client_id: "console".into(),
        client_name: "console".into(),
        role: Role::Operator,
        organization_oid: None,
        acting_person: None,
        request_id: String::new(),
    }
}
