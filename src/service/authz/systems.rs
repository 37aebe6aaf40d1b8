//! Who may do what with information systems, grants, system members and API-KEYs.
//!
//! Vendor side: the vendor organisation's head, members of its «Технологический портал»
//! (`TECH_PORTAL`) and its `vendor` client manage its systems and grants; the operator enables
//! the API-KEY power. Consumer side: keys are formed by an employee who belongs to both
//! `TECH_PORTAL` and `ORG_ADMIN` and holds an active power of attorney with the API-KEY power for
//! the system (the service reads that fact in the transaction and passes it in).

use crate::domain::caller::{Caller, Role};
use crate::domain::employee::{ORG_ADMIN, ORG_AUDITORS, TECH_PORTAL};

use super::{Allowed, OrgAccess, ServiceError, active_member, allow, bound_to, deny, org_reader};

/// Registering and managing a vendor's systems and their grants.
pub fn manage_vendor_systems(caller: &Caller, vendor: &OrgAccess) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Vendor if bound_to(caller, vendor.org) => allow("vendor client"),
        Role::Portal => {
            let p = active_member(caller, vendor)?;
            if p == vendor.head_oid {
                allow("vendor head")
            } else if vendor.in_group(TECH_PORTAL) {
                allow("vendor technology portal")
            } else {
                Err(ServiceError::denied(
                    "NOT_VENDOR_MANAGER",
                    "only the vendor's head and members of its TECH_PORTAL group may manage its information systems",
                ))
            }
        }
        _ => Err(ServiceError::denied(
            "NOT_OWN_ORGANIZATION",
            "the caller has no access to this vendor's information systems",
        )),
    }
}

/// Reading a vendor's systems, grants and the metadata of keys formed for them: the managers,
/// and the vendor's auditors.
pub fn read_vendor_systems(caller: &Caller, vendor: &OrgAccess) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Auditor if caller.organization_oid.is_none() || bound_to(caller, vendor.org) => {
            allow("auditor")
        }
        Role::Portal
            if caller.acting_person.is_some()
                && vendor.actor_state == Some(crate::domain::employee::EmployeeState::Active)
                && vendor.in_group(ORG_AUDITORS) =>
        {
            allow("vendor org auditor")
        }
        _ => manage_vendor_systems(caller, vendor),
    }
}

/// Enabling or disabling the API-KEY power for a system.
pub fn enable_api_key_power(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        _ => deny(caller, "enable or disable the API-KEY power"),
    }
}

/// The systems granted to a consumer («Мои системы»), their members and keys: its readers
/// (head, ORG_ADMIN, ORG_AUDITORS, auditors) and its TECH_PORTAL members.
pub fn read_consumer_systems(
    caller: &Caller,
    consumer: &OrgAccess,
) -> Result<Allowed, ServiceError> {
    if caller.role == Role::Portal
        && active_member(caller, consumer).is_ok()
        && consumer.in_group(TECH_PORTAL)
    {
        return allow("technology portal");
    }
    org_reader(
        caller,
        consumer,
        "read the organisation's information systems and keys",
    )
}

/// A person reads their own keys.
pub fn read_own_keys(caller: &Caller, consumer: &OrgAccess) -> Result<Allowed, ServiceError> {
    active_member(caller, consumer)?;
    allow("holder")
}

/// Forming keys and adding employees to a system: an active employee in both TECH_PORTAL and
/// ORG_ADMIN with an active power of attorney granting the API-KEY power for the system.
pub fn form_keys(
    caller: &Caller,
    consumer: &OrgAccess,
    has_power_of_attorney: bool,
) -> Result<Allowed, ServiceError> {
    if caller.role != Role::Portal {
        return deny(caller, "form API-KEYs (an employee does, through a portal)");
    }
    active_member(caller, consumer)?;
    let missing: Vec<&str> = [TECH_PORTAL, ORG_ADMIN]
        .into_iter()
        .filter(|g| !consumer.in_group(g))
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::denied(
            "NOT_IN_REQUIRED_GROUPS",
            format!(
                "forming API-KEYs needs membership of TECH_PORTAL and ORG_ADMIN; missing {}",
                missing.join(", ")
            ),
        ));
    }
    if !has_power_of_attorney {
        return Err(ServiceError::denied(
            "NO_ACTIVE_POWER_OF_ATTORNEY",
            "forming API-KEYs for this system needs an active power of attorney granting the API-KEY power for it",
        ));
    }
    allow("key issuer")
}

/// Stopping access (blocking or deleting a key, removing a member from a system) is always
/// safe: key issuers, the head and ORG_ADMIN members may; `own` says the caller is the key's
/// holder, who may stop their own key.
pub fn stop_access(
    caller: &Caller,
    consumer: &OrgAccess,
    has_power_of_attorney: bool,
    own: bool,
) -> Result<Allowed, ServiceError> {
    if caller.role == Role::Portal {
        let p = active_member(caller, consumer)?;
        if p == consumer.head_oid {
            return allow("head");
        }
        if consumer.in_group(ORG_ADMIN) {
            return allow("org admin");
        }
        if own {
            return allow("holder");
        }
        return form_keys(caller, consumer, has_power_of_attorney);
    }
    deny(caller, "block or delete API-KEYs")
}
