//! Access group use cases: custom groups, members, a person's groups.

use crate::domain::caller::Caller;
use crate::domain::employee::{AccessGroup, EmployeeState, NewGroup};
use crate::domain::error as v;
use crate::domain::page;
use crate::storage::idempotency::Claim;
use crate::storage::{self, StorageError};

use super::audit_log::{self, EventSpec};
use super::authz;
use super::employees::{Claimed, access, claim_and_access};
use super::error::ServiceError;
use super::{Core, Page, idempotency, page_of, page_start, parse_etag};

#[derive(Debug, Clone)]
pub struct CreateGroup {
    pub request_id: Option<String>,
    pub group: NewGroup,
}

#[derive(Debug, Clone)]
pub struct UpdateGroup {
    pub organization_oid: i64,
    pub mnemonic: String,
    pub etag: String,
    pub mask: Vec<String>,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Add,
    Remove,
}

fn group_not_found(m: &str) -> ServiceError {
    ServiceError::not_found("access group", m)
}

impl Core {
    pub async fn create_group(
        &self,
        caller: &Caller,
        cmd: CreateGroup,
    ) -> Result<AccessGroup, ServiceError> {
        let fp = idempotency::fingerprint(&(caller.acting_person, &cmd.group));
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let g = &cmd.group;
                let org = g.organization_oid;
                let key = format!("{org}/{}", g.mnemonic);
                let claim = cmd.request_id.as_deref().map(|rid| Claim {
                    client_id: &caller.client_id,
                    operation: "group.create",
                    request_id: rid,
                    fingerprint: &fp,
                    result_id: &key,
                    now,
                });
                let a = match claim_and_access(c, &caller, org, None, claim)? {
                    Claimed::Replay(_) => {
                        return storage::employees::get_group(c, org, &g.mnemonic)?
                            .ok_or_else(|| group_not_found(&g.mnemonic));
                    }
                    Claimed::New(a, _) => a,
                };
                let allowed = authz::manage_groups(&caller, &a)?;
                let taken = || ServiceError::AlreadyExists {
                    reason: "GROUP_EXISTS",
                    resource: "access group",
                    field: Some("mnemonic"),
                    message: "the organisation already has a group with this mnemonic".into(),
                };
                if storage::employees::get_group(c, org, &g.mnemonic)?.is_some() {
                    return Err(taken());
                }
                let group = storage::employees::insert_group(c, g, now).map_err(|e| match e {
                    StorageError::UniqueViolation(_) => taken(),
                    other => other.into(),
                })?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "group.create",
                        target_type: "access_group",
                        target_id: group.mnemonic.clone(),
                        details: serde_json::json!({ "system": group.system }),
                    },
                    now,
                )?;
                Ok(group)
            })
            .await
    }

    pub async fn get_group(
        &self,
        caller: &Caller,
        org: i64,
        mnemonic: String,
    ) -> Result<AccessGroup, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_groups(&caller, &a)?;
                storage::employees::get_group(c, org, &mnemonic)?
                    .ok_or_else(|| group_not_found(&mnemonic))
            })
            .await
    }

    pub async fn list_groups(
        &self,
        caller: &Caller,
        org: i64,
        page_size: i32,
        page_token: String,
    ) -> Result<Page<AccessGroup>, ServiceError> {
        let fp = page::fingerprint(&[&org.to_string()]);
        let (size, after) = page_start(page_size, &page_token, &fp)?;
        let caller = caller.clone();
        let items = self
            .db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_groups(&caller, &a)?;
                Ok(storage::employees::list_groups(
                    c,
                    org,
                    after.as_deref(),
                    size + 1,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |g| g.mnemonic.clone()))
    }

    pub async fn update_group(
        &self,
        caller: &Caller,
        cmd: UpdateGroup,
    ) -> Result<AccessGroup, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        let mask = super::UpdateMask::new(&cmd.mask, &["name", "description"])?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let org = cmd.organization_oid;
                let (a, _) = access(c, &caller, org, None)?;
                let allowed = authz::manage_groups(&caller, &a)?;
                let current = storage::employees::get_group(c, org, &cmd.mnemonic)?
                    .ok_or_else(|| group_not_found(&cmd.mnemonic))?;
                if current.builtin {
                    return Err(ServiceError::precondition(
                        "GROUP_BUILTIN",
                        format!("access_group/{}", current.mnemonic),
                        "built-in groups cannot be changed",
                    ));
                }
                if current.version != version {
                    return Err(ServiceError::stale_etag("access group"));
                }
                let has = |n: &str| mask.has(n);
                let mut viol = crate::domain::Violations::new();
                let name = if has("name") {
                    v::text(&mut viol, "name", &cmd.name, true, 255)
                } else {
                    Some(current.name.clone())
                };
                let description = if has("description") {
                    v::text(&mut viol, "description", &cmd.description, false, 2000)
                        .unwrap_or_default()
                } else {
                    current.description.clone()
                };
                viol.into_result()?;
                let name = name.unwrap_or_default();
                if !storage::employees::update_group(c, &current, &name, &description, now)? {
                    return Err(ServiceError::stale_etag("access group"));
                }
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "group.update",
                        target_type: "access_group",
                        target_id: current.mnemonic.clone(),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
                storage::employees::get_group(c, org, &current.mnemonic)?
                    .ok_or_else(|| group_not_found(&current.mnemonic))
            })
            .await
    }

    /// Adds an active employee to a group, or removes a member.
    pub async fn change_membership(
        &self,
        caller: &Caller,
        org: i64,
        mnemonic: String,
        person: i64,
        change: Membership,
    ) -> Result<AccessGroup, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (a, _) = access(c, &caller, org, None)?;
                let allowed = authz::manage_groups(&caller, &a)?;
                let group = storage::employees::get_group(c, org, &mnemonic)?
                    .ok_or_else(|| group_not_found(&mnemonic))?;
                let changed = match change {
                    Membership::Add => {
                        let e = storage::employees::get(c, org, person, a.head_oid)?.ok_or_else(
                            || ServiceError::not_found("employee", format!("{org}/{person}")),
                        )?;
                        if e.state != EmployeeState::Active {
                            return Err(ServiceError::precondition(
                                "EMPLOYEE_NOT_ACTIVE",
                                format!("employee/{org}/{person}"),
                                "only active employees can be put into access groups",
                            ));
                        }
                        storage::employees::add_member(c, org, &mnemonic, person, now)?
                    }
                    Membership::Remove => {
                        storage::employees::remove_member(c, org, &mnemonic, person)?
                    }
                };
                if changed {
                    audit_log::append(
                        c,
                        &allowed,
                        &caller,
                        EventSpec {
                            chain: org,
                            action: match change {
                                Membership::Add => "group.add_member",
                                Membership::Remove => "group.remove_member",
                            },
                            target_type: "access_group",
                            target_id: mnemonic.clone(),
                            details: serde_json::json!({ "person_oid": person }),
                        },
                        now,
                    )?;
                } else if change == Membership::Remove {
                    return Err(ServiceError::not_found(
                        "group member",
                        format!("{mnemonic}/{person}"),
                    ));
                }
                Ok(group)
            })
            .await
    }

    pub async fn person_groups(
        &self,
        caller: &Caller,
        org: i64,
        person: i64,
    ) -> Result<Vec<AccessGroup>, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_employee(&caller, &a, person)?;
                Ok(storage::employees::person_groups(c, org, person)?)
            })
            .await
    }
}
