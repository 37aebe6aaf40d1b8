//! Vendor information systems: registration and updates by the vendor, the operator's switch
//! for the API-KEY power, grants to consumer organisations, and the employees a consumer adds
//! to a system («Добавить сотрудника»).

use crate::domain::caller::Caller;
use crate::domain::employee::EmployeeState;
use crate::domain::page;
use crate::domain::system::{GrantView, InformationSystem, NewSystem, SystemMember};
pub use crate::storage::systems::SystemFilter;
use crate::storage::{self, DbConnection};

use super::audit_log::{self, EventSpec};
use super::authz::{self, OrgAccess};
use super::employees::access;
use super::error::ServiceError;
use super::{Core, Page, numeric_key, page_of, page_start, parse_etag};

/// How a grant names the consumer organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerRef {
    Oid(i64),
    Ogrn(String),
    Inn(String),
}

#[derive(Debug, Clone)]
pub struct UpdateSystem {
    pub client_id: String,
    pub etag: String,
    pub mask: Vec<String>,
    pub name: String,
    pub description: String,
}

pub(crate) fn system_of(
    c: &mut DbConnection,
    client_id: &str,
) -> Result<InformationSystem, ServiceError> {
    storage::systems::get(c, client_id)?
        .ok_or_else(|| ServiceError::not_found("information system", client_id))
}

/// The system and the caller's access facts in its vendor organisation.
fn vendor_side(
    c: &mut DbConnection,
    caller: &Caller,
    client_id: &str,
) -> Result<(InformationSystem, OrgAccess), ServiceError> {
    let s = system_of(c, client_id)?;
    let (a, _) = access(c, caller, s.vendor_oid, None)?;
    Ok((s, a))
}

/// Whether the acting person holds an active power of attorney with the API-KEY power for the
/// system in the organisation today.
pub(crate) fn holds_key_power(
    c: &mut DbConnection,
    caller: &Caller,
    org: i64,
    client_id: &str,
    today: chrono::NaiveDate,
) -> Result<Option<String>, ServiceError> {
    let Some(p) = caller.acting_person else {
        return Ok(None);
    };
    Ok(storage::poa::granting(
        c,
        org,
        p,
        crate::domain::power::API_KEY_POWER,
        client_id,
        today,
    )?
    .map(|(n, _)| n))
}

fn resolve_consumer(c: &mut DbConnection, r: &ConsumerRef) -> Result<i64, ServiceError> {
    let found = match r {
        ConsumerRef::Oid(o) => storage::organizations::get(c, *o)?.map(|o| (o.oid, o.consumer)),
        ConsumerRef::Ogrn(o) => storage::systems::find_organization(c, Some(o), None)?,
        ConsumerRef::Inn(i) => storage::systems::find_organization(c, None, Some(i))?,
    };
    let (oid, consumer) = found.ok_or_else(|| {
        ServiceError::not_found(
            "organization",
            match r {
                ConsumerRef::Oid(o) => o.to_string(),
                ConsumerRef::Ogrn(o) => format!("ОГРН {o}"),
                ConsumerRef::Inn(i) => format!("ИНН {i}"),
            },
        )
    })?;
    if !consumer {
        return Err(ServiceError::precondition(
            "NOT_A_CONSUMER",
            format!("organization/{oid}"),
            "the organisation is not registered as a consumer of information systems",
        ));
    }
    Ok(oid)
}

impl Core {
    /// A vendor registers an information system; the API-KEY power starts disabled until the
    /// operator enables it.
    pub async fn register_system(
        &self,
        caller: &Caller,
        vendor: i64,
        s: NewSystem,
    ) -> Result<InformationSystem, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (a, _) = access(c, &caller, vendor, None)?;
                let allowed = authz::manage_vendor_systems(&caller, &a)?;
                let org = storage::organizations::get(c, vendor)?
                    .ok_or_else(|| ServiceError::not_found("organization", vendor))?;
                if !org.vendor {
                    return Err(ServiceError::precondition(
                        "NOT_A_VENDOR",
                        format!("organization/{vendor}"),
                        "the organisation is not registered as a vendor of information systems",
                    ));
                }
                let taken = || ServiceError::AlreadyExists {
                    reason: "CLIENT_ID_TAKEN",
                    resource: "information system",
                    field: Some("client_id"),
                    message: format!("an information system {} already exists", s.client_id),
                };
                if let Some(existing) = storage::systems::get(c, &s.client_id)? {
                    // A retry of the same registration returns the system (CLIENT_ID is the
                    // idempotency key); anything else is a clash.
                    if existing.vendor_oid == vendor
                        && existing.name == s.name
                        && existing.description == s.description
                        && existing.version == 1
                    {
                        return Ok(existing);
                    }
                    return Err(taken());
                }
                let sys = match storage::systems::insert(c, vendor, &s, now) {
                    Err(storage::StorageError::UniqueViolation(_)) => return Err(taken()),
                    r => r?,
                };
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: vendor,
                        action: "system.register",
                        target_type: "information_system",
                        target_id: sys.client_id.clone(),
                        details: serde_json::json!({ "name": sys.name }),
                    },
                    now,
                )?;
                Ok(sys)
            })
            .await
    }

    /// Any authenticated caller may read a system's public description.
    pub async fn get_system(
        &self,
        _caller: &Caller,
        client_id: String,
    ) -> Result<InformationSystem, ServiceError> {
        self.db.read(move |c| system_of(c, &client_id)).await
    }

    /// Lists systems: the operator all of them; others those of a vendor they manage or read,
    /// or those granted to a consumer they read.
    pub async fn list_systems(
        &self,
        caller: &Caller,
        f: SystemFilter,
        page_size: i32,
        page_token: String,
    ) -> Result<Page<InformationSystem>, ServiceError> {
        let fp = page::fingerprint(&[
            &f.vendor_oid.map(|v| v.to_string()).unwrap_or_default(),
            &f.consumer_oid.map(|v| v.to_string()).unwrap_or_default(),
        ]);
        let (size, after) = page_start(page_size, &page_token, &fp)?;
        let caller = caller.clone();
        let items = self
            .db
            .read(move |c| {
                match (f.vendor_oid, f.consumer_oid) {
                    (Some(v), _) => {
                        let (a, _) = access(c, &caller, v, None)?;
                        authz::read_vendor_systems(&caller, &a)?;
                    }
                    (None, Some(o)) => {
                        let (a, _) = access(c, &caller, o, None)?;
                        authz::read_consumer_systems(&caller, &a)?;
                    }
                    (None, None) if caller.role == crate::domain::caller::Role::Operator => {}
                    (None, None) => {
                        return Err(ServiceError::invalid(
                            "vendor_oid",
                            "name a vendor_oid or a consumer_oid (only the operator lists every system)",
                        ));
                    }
                }
                Ok(storage::systems::list(c, &f, after.as_deref(), size + 1)?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |s| s.client_id.clone()))
    }

    pub async fn update_system(
        &self,
        caller: &Caller,
        cmd: UpdateSystem,
    ) -> Result<InformationSystem, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        let mask = super::UpdateMask::new(&cmd.mask, crate::domain::system::UPDATABLE_FIELDS)?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (current, a) = vendor_side(c, &caller, &cmd.client_id)?;
                let allowed = authz::manage_vendor_systems(&caller, &a)?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("information system"));
                }
                let has = |n: &str| mask.has(n);
                let mut v = crate::domain::Violations::new();
                let name = if has("name") {
                    crate::domain::error::text(&mut v, "name", &cmd.name, true, 255)
                } else {
                    Some(current.name.clone())
                };
                let description = if has("description") {
                    crate::domain::error::text(&mut v, "description", &cmd.description, false, 2000)
                        .unwrap_or_default()
                } else {
                    current.description.clone()
                };
                v.into_result()?;
                let name = name.unwrap_or_default();
                if !storage::systems::update(c, &current, &name, &description, now)? {
                    return Err(ServiceError::stale_etag("information system"));
                }
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: current.vendor_oid,
                        action: "system.update",
                        target_type: "information_system",
                        target_id: current.client_id.clone(),
                        details: serde_json::json!({ "name": name }),
                    },
                    now,
                )?;
                system_of(c, &current.client_id)
            })
            .await
    }

    /// The operator enables or disables the API-KEY power for a system. Disabling stops every
    /// key formed for it at once.
    pub async fn set_api_key_power(
        &self,
        caller: &Caller,
        client_id: String,
        enabled: bool,
    ) -> Result<InformationSystem, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let allowed = authz::enable_api_key_power(&caller)?;
                let s = system_of(c, &client_id)?;
                if storage::systems::set_api_key_enabled(c, &client_id, enabled, now)? {
                    audit_log::append(
                        c,
                        &allowed,
                        &caller,
                        EventSpec {
                            chain: s.vendor_oid,
                            action: if enabled {
                                "system.api_key_power.enable"
                            } else {
                                "system.api_key_power.disable"
                            },
                            target_type: "information_system",
                            target_id: client_id.clone(),
                            details: serde_json::json!({}),
                        },
                        now,
                    )?;
                }
                system_of(c, &client_id)
            })
            .await
    }

    /// The vendor grants (`grant = true`) or withdraws the API-KEY power for its system to a
    /// consumer. Recorded on both organisations' chains. Withdrawing stops the consumer's keys
    /// for the system at once.
    pub async fn change_grant(
        &self,
        caller: &Caller,
        client_id: String,
        consumer: ConsumerRef,
        grant: bool,
    ) -> Result<GrantView, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (s, a) = vendor_side(c, &caller, &client_id)?;
                let allowed = authz::manage_vendor_systems(&caller, &a)?;
                let consumer = resolve_consumer(c, &consumer)?;
                let changed = if grant {
                    if !s.api_key_enabled {
                        return Err(ServiceError::precondition(
                            "API_KEY_POWER_DISABLED",
                            format!("information_system/{client_id}"),
                            "the operator has not enabled the API-KEY power for this system",
                        ));
                    }
                    storage::systems::grant(c, &client_id, consumer, now)?
                } else {
                    let w = storage::systems::withdraw(c, &client_id, consumer, now)?;
                    if !w {
                        return Err(ServiceError::not_found(
                            "grant",
                            format!("{client_id}/{consumer}"),
                        ));
                    }
                    w
                };
                if changed {
                    let actions = if grant {
                        ["system.grant", "system.grant.received"]
                    } else {
                        ["system.withdraw", "system.withdraw.received"]
                    };
                    for (chain, action) in [(s.vendor_oid, actions[0]), (consumer, actions[1])] {
                        audit_log::append(
                            c,
                            &allowed,
                            &caller,
                            EventSpec {
                                chain,
                                action,
                                target_type: "system_grant",
                                target_id: format!("{client_id}/{consumer}"),
                                details: serde_json::json!({
                                    "client_id": client_id,
                                    "vendor_oid": s.vendor_oid,
                                    "consumer_oid": consumer,
                                }),
                            },
                            now,
                        )?;
                    }
                }
                storage::systems::list_grants(c, &client_id, Some(consumer - 1), 1)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| ServiceError::Internal("the grant just written is gone".into()))
            })
            .await
    }

    /// The grants of a vendor's system, with the key summary of each consumer (never a secret).
    pub async fn list_grants(
        &self,
        caller: &Caller,
        client_id: String,
        page_size: i32,
        page_token: String,
    ) -> Result<Page<GrantView>, ServiceError> {
        let fp = page::fingerprint(&[&client_id]);
        let (size, after) = page_start(page_size, &page_token, &fp)?;
        let after = numeric_key(after)?;
        let caller = caller.clone();
        let items = self
            .db
            .read(move |c| {
                let (_, a) = vendor_side(c, &caller, &client_id)?;
                authz::read_vendor_systems(&caller, &a)?;
                Ok(storage::systems::list_grants(
                    c,
                    &client_id,
                    after,
                    size + 1,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |g| {
            g.grant.consumer_oid.to_string()
        }))
    }

    /// A key issuer adds an active employee to a system their organisation was granted, or
    /// removes one (which stops that employee's keys for the system at once).
    pub async fn change_system_member(
        &self,
        caller: &Caller,
        client_id: String,
        org: i64,
        person: i64,
        add: bool,
    ) -> Result<SystemMember, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (a, _) = access(c, &caller, org, None)?;
                let s = system_of(c, &client_id)?;
                let poa = holds_key_power(c, &caller, org, &client_id, now.date())?;
                let allowed = if add {
                    authz::form_keys(&caller, &a, poa.is_some())?
                } else {
                    authz::stop_access(&caller, &a, poa.is_some(), false)?
                };
                let member = if add {
                    ready_for_keys(c, &s, org)?;
                    let e = storage::employees::get(c, org, person, a.head_oid)?.ok_or_else(
                        || ServiceError::not_found("employee", format!("{org}/{person}")),
                    )?;
                    if e.state != EmployeeState::Active {
                        return Err(ServiceError::precondition(
                            "EMPLOYEE_NOT_ACTIVE",
                            format!("employee/{org}/{person}"),
                            "only active employees can be added to a system",
                        ));
                    }
                    if !storage::systems::add_member(
                        c,
                        &client_id,
                        org,
                        person,
                        caller.acting_person,
                        now,
                    )? {
                        return Err(ServiceError::AlreadyExists {
                            reason: "ALREADY_MEMBER",
                            resource: "system member",
                            field: Some("person_oid"),
                            message: format!(
                                "person {person} is already a member of {client_id} in organisation {org}"
                            ),
                        });
                    }
                    SystemMember {
                        client_id: client_id.clone(),
                        organization_oid: org,
                        person_oid: person,
                        added_by: caller.acting_person,
                        added_at: now,
                    }
                } else {
                    let m = storage::systems::get_member(c, &client_id, org, person)?
                        .ok_or_else(|| {
                            ServiceError::not_found(
                                "system member",
                                format!("{client_id}/{org}/{person}"),
                            )
                        })?;
                    storage::systems::remove_member(c, &client_id, org, person)?;
                    m
                };
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: if add {
                            "system.add_member"
                        } else {
                            "system.remove_member"
                        },
                        target_type: "information_system",
                        target_id: client_id.clone(),
                        details: serde_json::json!({
                            "person_oid": person,
                            "power_of_attorney": poa,
                        }),
                    },
                    now,
                )?;
                Ok(member)
            })
            .await
    }

    pub async fn list_system_members(
        &self,
        caller: &Caller,
        client_id: String,
        org: i64,
        page_size: i32,
        page_token: String,
    ) -> Result<Page<SystemMember>, ServiceError> {
        let fp = page::fingerprint(&[&client_id, &org.to_string()]);
        let (size, after) = page_start(page_size, &page_token, &fp)?;
        let after = numeric_key(after)?;
        let caller = caller.clone();
        let items = self
            .db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_consumer_systems(&caller, &a)?;
                system_of(c, &client_id)?;
                Ok(storage::systems::list_members(
                    c,
                    &client_id,
                    org,
                    after,
                    size + 1,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |m| m.person_oid.to_string()))
    }
}

/// The system's side of forming keys in `org`: the API-KEY power enabled and the vendor's grant
/// standing.
pub(crate) fn ready_for_keys(
    c: &mut DbConnection,
    s: &InformationSystem,
    org: i64,
) -> Result<(), ServiceError> {
    if !s.api_key_enabled {
        return Err(ServiceError::precondition(
            "API_KEY_POWER_DISABLED",
            format!("information_system/{}", s.client_id),
            "the operator has not enabled the API-KEY power for this system",
        ));
    }
    let granted = storage::systems::get_grant(c, &s.client_id, org)?
        .is_some_and(|g| g.state == crate::domain::system::GrantState::Active);
    if !granted {
        return Err(ServiceError::precondition(
            "SYSTEM_NOT_GRANTED",
            format!("information_system/{}", s.client_id),
            "the vendor has not granted this system to the organisation",
        ));
    }
    Ok(())
}
