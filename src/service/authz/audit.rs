//! Who may export audit records and sign checkpoints.
//!
//! An organisation's records are exported only by members of «Аудиторы» (`ORG_AUDITORS`) and its
//! head, through a portal, and by `auditor` clients (bound to it, or platform auditors bound to
//! none). The operator runs the platform and may read a chain (`read_audit`) but not take an
//! organisation's records away. The platform chain (0) is exported by the operator and platform
//! auditors.

use crate::domain::audit::PLATFORM_CHAIN;
use crate::domain::caller::{Caller, Role};
use crate::domain::employee::{EmployeeState, ORG_AUDITORS};

use super::{Allowed, OrgAccess, ServiceError, acting_person, allow, bound_to};

fn no_export() -> ServiceError {
    ServiceError::denied(
        "NO_AUDIT_EXPORT",
        "only the organisation's auditors (group «Аудиторы»), its head and auditor clients may export its audit records",
    )
}

/// Exporting a chain. `access` is the acting person's standing in the organisation (portals).
pub fn export_audit(
    caller: &Caller,
    chain: i64,
    access: Option<&OrgAccess>,
) -> Result<Allowed, ServiceError> {
    if chain == PLATFORM_CHAIN {
        return match caller.role {
            Role::Operator => allow("operator"),
            Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
            _ => Err(no_export()),
        };
    }
    match caller.role {
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, chain) => allow("organisation auditor"),
        Role::Portal => {
            let person = acting_person(caller)?;
            match access {
                Some(a) if a.org == chain && a.head_oid == person => allow("head"),
                Some(a)
                    if a.org == chain
                        && a.actor_state == Some(EmployeeState::Active)
                        && a.in_group(ORG_AUDITORS) =>
                {
                    allow("org auditor")
                }
                _ => Err(no_export()),
            }
        }
        _ => Err(no_export()),
    }
}

/// Signing a checkpoint on demand: whoever may export the chain, and the operator (a checkpoint
/// discloses nothing but a hash, and binds the service to it).
pub fn create_checkpoint(
    caller: &Caller,
    chain: i64,
    access: Option<&OrgAccess>,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        _ => export_audit(caller, chain, access),
    }
}
