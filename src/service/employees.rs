//! Employee use cases: list, get, update, block, unblock, dismiss, leave.

use crate::domain::caller::Caller;
use crate::domain::employee::{EMPLOYEE_UPDATABLE_FIELDS, Employee, EmployeeInput, EmployeeState};
use crate::domain::page;
pub use crate::storage::employees::EmployeeFilter;
use crate::storage::employees::OrgFacts;
use crate::storage::idempotency::Claim;
use crate::storage::{self, DbConnection};

use super::audit_log::{self, EventSpec};
use super::authz::{self, OrgAccess};
use super::error::ServiceError;
use super::idempotency;
use super::{Core, Page, numeric_key, page_of, page_start, parse_etag};

#[derive(Debug, Clone, Default)]
pub struct ListEmployees {
    pub organization_oid: i64,
    pub filter: EmployeeFilter,
    pub page_size: i32,
    pub page_token: String,
}

#[derive(Debug, Clone)]
pub struct UpdateEmployee {
    pub organization_oid: i64,
    pub person_oid: i64,
    pub etag: String,
    pub mask: Vec<String>,
    pub input: EmployeeInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    Block,
    Unblock,
    Dismiss,
}

#[derive(Debug, Clone)]
pub struct ChangeEmployeeState {
    pub organization_oid: i64,
    pub person_oid: i64,
    /// Optional: when set, it must be the current etag.
    pub etag: String,
    pub change: StateChange,
}

/// Reads the access facts of the caller in `org` inside the transaction; NOT_FOUND when the
/// organisation does not exist. `probe` is an invitee's (e-mail key, SNILS).
pub(crate) fn access(
    c: &mut DbConnection,
    caller: &Caller,
    org: i64,
    probe: Option<(&str, Option<&str>)>,
) -> Result<(OrgAccess, OrgFacts), ServiceError> {
    let f = storage::employees::facts(c, org, caller.acting_person, probe)?;
    org_access(org, f)
}

/// What [`claim_and_access`] found.
pub(crate) enum Claimed {
    /// The request id came before with this same request: the id of what that created.
    Replay(String),
    /// A new request (or one without a request id), and the caller's access facts.
    New(OrgAccess, OrgFacts),
}

/// [`access`] for an idempotent create: first claims the request id (`claim`, when the request
/// has one) for what the create will make, in the same statement as the facts on PostgreSQL. A
/// repeat of the same request answers [`Claimed::Replay`]; another request under a used id
/// ALREADY_EXISTS (`REQUEST_ID_REUSED`).
pub(crate) fn claim_and_access(
    c: &mut DbConnection,
    caller: &Caller,
    org: i64,
    probe: Option<(&str, Option<&str>)>,
    claim: Option<Claim>,
) -> Result<Claimed, ServiceError> {
    let Some(claim) = claim else {
        let (a, f) = access(c, caller, org, probe)?;
        return Ok(Claimed::New(a, f));
    };
    let (f, claimed) =
        storage::employees::facts_claiming(c, org, caller.acting_person, probe, &claim)?;
    if !claimed {
        return idempotency::replayed(
            c,
            caller,
            claim.operation,
            Some(claim.request_id),
            claim.fingerprint,
        )?
        .map(Claimed::Replay)
        .ok_or_else(|| ServiceError::Retry("idempotency record vanished".into()));
    }
    let (a, f) = org_access(org, f)?;
    Ok(Claimed::New(a, f))
}

/// The access facts as [`access`] answers them; NOT_FOUND when the organisation does not exist.
fn org_access(org: i64, f: Option<OrgFacts>) -> Result<(OrgAccess, OrgFacts), ServiceError> {
    let f = f.ok_or_else(|| ServiceError::not_found("organization", org))?;
    Ok((
        OrgAccess {
            org,
            head_oid: f.head_oid,
            actor_state: f.actor_state,
            actor_groups: f.actor_groups.clone(),
        },
        f,
    ))
}

fn optional_etag(etag: &str) -> Result<Option<i64>, ServiceError> {
    if etag.is_empty() {
        Ok(None)
    } else {
        parse_etag(etag).map(Some)
    }
}

fn employee_not_found(org: i64, person: i64) -> ServiceError {
    ServiceError::not_found("employee", format!("{org}/{person}"))
}

/// Dismisses (or lets leave) an employee inside the caller's transaction: state, groups.
pub(crate) fn dismiss_in_tx(
    c: &mut DbConnection,
    current: &Employee,
    now: chrono::NaiveDateTime,
) -> Result<Vec<String>, ServiceError> {
    if !storage::employees::set_state(c, current, EmployeeState::Dismissed, now)? {
        return Err(ServiceError::stale_etag("employee"));
    }
    // Their membership of information systems goes too (their API-KEYs already stopped with
    // the state: a key works only while its holder and issuer are active).
    storage::systems::leave_all_systems(c, current.organization_oid, current.person_oid)?;
    Ok(storage::employees::leave_all_groups(
        c,
        current.organization_oid,
        current.person_oid,
    )?)
}

impl Core {
    pub async fn list_employees(
        &self,
        caller: &Caller,
        q: ListEmployees,
    ) -> Result<Page<Employee>, ServiceError> {
        let f = q.filter;
        let org = q.organization_oid;
        let fp = page::fingerprint(&[
            &org.to_string(),
            f.name_prefix.as_deref().unwrap_or(""),
            f.snils.as_deref().unwrap_or(""),
            f.email.as_deref().unwrap_or(""),
            f.state.map(|s| s.as_str()).unwrap_or(""),
            f.group.as_deref().unwrap_or(""),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = numeric_key(after)?;
        let caller = caller.clone();
        let items = self
            .db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_employees(&caller, &a)?;
                if let Some(g) = &f.group
                    && storage::employees::get_group(c, org, g)?.is_none()
                {
                    return Err(ServiceError::not_found("access group", g));
                }
                Ok(storage::employees::list(
                    c,
                    org,
                    a.head_oid,
                    &f,
                    after,
                    size + 1,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |e| e.person_oid.to_string()))
    }

    pub async fn get_employee(
        &self,
        caller: &Caller,
        org: i64,
        person: i64,
    ) -> Result<Employee, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_employee(&caller, &a, person)?;
                storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))
            })
            .await
    }

    pub async fn update_employee(
        &self,
        caller: &Caller,
        cmd: UpdateEmployee,
    ) -> Result<Employee, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        for f in &cmd.mask {
            if !EMPLOYEE_UPDATABLE_FIELDS.contains(&f.as_str()) {
                return Err(ServiceError::invalid(
                    "update_mask",
                    format!("{f} is not a field that can be updated"),
                ));
            }
        }
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (org, person) = (cmd.organization_oid, cmd.person_oid);
                let (a, _) = access(c, &caller, org, None)?;
                let allowed = authz::manage_employee(&caller, &a, person, None)?;
                let current = storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("employee"));
                }
                let all = cmd.mask.is_empty();
                let has = |n: &str| all || cmd.mask.iter().any(|m| m == n);
                let i = &cmd.input;
                let merged = EmployeeInput {
                    position: if has("position") {
                        i.position.clone()
                    } else {
                        current.position.clone().unwrap_or_default()
                    },
                    work_email: if has("work_email") {
                        i.work_email.clone()
                    } else {
                        current.work_email.clone().unwrap_or_default()
                    },
                    phone: if has("phone") {
                        i.phone.clone()
                    } else {
                        current.phone.clone().unwrap_or_default()
                    },
                }
                .validate()?;
                let mut changed = Vec::new();
                if merged.position != current.position {
                    changed.push("position");
                }
                if merged.work_email != current.work_email {
                    changed.push("work_email");
                }
                if merged.phone != current.phone {
                    changed.push("phone");
                }
                if !storage::employees::update_fields(c, &current, &merged, now)? {
                    return Err(ServiceError::stale_etag("employee"));
                }
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "employee.update",
                        target_type: "employee",
                        target_id: person.to_string(),
                        details: serde_json::json!({ "changed": changed }),
                    },
                    now,
                )?;
                storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))
            })
            .await
    }

    pub async fn change_employee_state(
        &self,
        caller: &Caller,
        cmd: ChangeEmployeeState,
    ) -> Result<Employee, ServiceError> {
        let version = optional_etag(&cmd.etag)?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (org, person) = (cmd.organization_oid, cmd.person_oid);
                let (a, _) = access(c, &caller, org, None)?;
                let to = match cmd.change {
                    StateChange::Block => EmployeeState::Blocked,
                    StateChange::Unblock => EmployeeState::Active,
                    StateChange::Dismiss => EmployeeState::Dismissed,
                };
                let allowed = authz::manage_employee(&caller, &a, person, Some(to))?;
                let current = storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))?;
                if version.is_some_and(|v| v != current.version) {
                    return Err(ServiceError::stale_etag("employee"));
                }
                let subject = format!("employee/{org}/{person}");
                let (action, groups) = match (cmd.change, current.state) {
                    (StateChange::Block, EmployeeState::Active) => {
                        if !storage::employees::set_state(c, &current, to, now)? {
                            return Err(ServiceError::stale_etag("employee"));
                        }
                        ("employee.block", Vec::new())
                    }
                    (StateChange::Unblock, EmployeeState::Blocked) => {
                        if !storage::employees::set_state(c, &current, to, now)? {
                            return Err(ServiceError::stale_etag("employee"));
                        }
                        ("employee.unblock", Vec::new())
                    }
                    (StateChange::Dismiss, EmployeeState::Active | EmployeeState::Blocked) => {
                        ("employee.dismiss", dismiss_in_tx(c, &current, now)?)
                    }
                    (StateChange::Block, _) => {
                        return Err(ServiceError::precondition(
                            "EMPLOYEE_NOT_ACTIVE",
                            subject,
                            "only an active employee can be blocked",
                        ));
                    }
                    (StateChange::Unblock, _) => {
                        return Err(ServiceError::precondition(
                            "EMPLOYEE_NOT_BLOCKED",
                            subject,
                            "only a blocked employee can be unblocked",
                        ));
                    }
                    (StateChange::Dismiss, _) => {
                        return Err(ServiceError::precondition(
                            "EMPLOYEE_DISMISSED",
                            subject,
                            "the employee is already dismissed",
                        ));
                    }
                };
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action,
                        target_type: "employee",
                        target_id: person.to_string(),
                        details: serde_json::json!({ "groups_left": groups }),
                    },
                    now,
                )?;
                storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))
            })
            .await
    }

    pub async fn leave_organization(
        &self,
        caller: &Caller,
        org: i64,
    ) -> Result<Employee, ServiceError> {
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let (a, _) = access(c, &caller, org, None)?;
                let (allowed, person) = authz::leave(&caller, &a)?;
                let current = storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))?;
                if current.state == EmployeeState::Dismissed {
                    return Err(ServiceError::precondition(
                        "EMPLOYEE_DISMISSED",
                        format!("employee/{org}/{person}"),
                        "the person has already left the organisation",
                    ));
                }
                let groups = dismiss_in_tx(c, &current, now)?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "employee.leave",
                        target_type: "employee",
                        target_id: person.to_string(),
                        details: serde_json::json!({ "groups_left": groups }),
                    },
                    now,
                )?;
                storage::employees::get(c, org, person, a.head_oid)?
                    .ok_or_else(|| employee_not_found(org, person))
            })
            .await
    }
}
