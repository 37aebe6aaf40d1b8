//! Who may do what: every authorisation rule of the service, in one place.
//!
//! A check returns an [`Allowed`] capability; only this module can make one, and the audit
//! writer demands it, so no state change can be recorded (and therefore committed) without
//! having passed a check. Rules that depend on stored facts (is the acting person the
//! organisation's head?) read them inside the use case's transaction.

use crate::domain::caller::{Caller, Role};
use crate::domain::employee::{EmployeeState, ORG_ADMIN, ORG_AUDITORS};
use crate::domain::organization::Organization;

use super::error::ServiceError;

mod audit;
mod systems;
pub use audit::*;
pub use systems::*;

/// Proof that an access check passed, naming the rule that allowed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    rule: &'static str,
}

impl Allowed {
    pub fn rule(&self) -> &'static str {
        self.rule
    }
}

const fn allow(rule: &'static str) -> Result<Allowed, ServiceError> {
    Ok(Allowed { rule })
}

fn deny<T>(caller: &Caller, what: &str) -> Result<T, ServiceError> {
    Err(ServiceError::denied(
        "ROLE_NOT_ALLOWED",
        format!("a {} client may not {what}", caller.role.as_str()),
    ))
}

/// The person a portal acts for; portals must name one for person-scoped actions.
pub fn acting_person(caller: &Caller) -> Result<i64, ServiceError> {
    caller.acting_person.ok_or_else(|| {
        ServiceError::denied(
            "ACTING_PERSON_REQUIRED",
            "a portal must name the person it acts for in the x-orgadm-person metadata",
        )
    })
}

/// The CLI on the server's console (client administration): trusted like the operator.
pub fn console() -> Allowed {
    Allowed { rule: "console" }
}

/// The public token exchange: a qualified signature over a working API-KEY is the authority.
pub fn signed_api_key() -> Allowed {
    Allowed {
        rule: "signed API-KEY",
    }
}

pub fn register_person(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Portal => allow("portal self-registration"),
        _ => deny(caller, "register persons"),
    }
}

/// Returns the capability and whether the caller may change the account level.
pub fn update_person(caller: &Caller, oid: i64) -> Result<(Allowed, bool), ServiceError> {
    match caller.role {
        Role::Operator => Ok((Allowed { rule: "operator" }, true)),
        Role::Portal if acting_person(caller)? == oid => Ok((Allowed { rule: "self" }, false)),
        Role::Portal => Err(ServiceError::denied(
            "NOT_SELF",
            "a portal may update only the person it acts for",
        )),
        _ => deny(caller, "update persons"),
    }
}

pub fn get_person(caller: &Caller, oid: i64) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Portal if acting_person(caller)? == oid => allow("self"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_SELF",
            "a portal may read only the person it acts for",
        )),
        _ => deny(caller, "read persons"),
    }
}

pub fn search_persons(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        _ => deny(caller, "search persons"),
    }
}

pub fn register_organization(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        _ => deny(
            caller,
            "register organisations (the operator does, or the head with a КЭП)",
        ),
    }
}

/// Registration of an organisation by its head with a КЭП: a portal acting for that person
/// (whether the certificate names them is the signature check's business). Returns the person.
pub fn register_organization_signed(caller: &Caller) -> Result<(Allowed, i64), ServiceError> {
    match caller.role {
        Role::Portal => Ok((
            Allowed {
                rule: "head with КЭП",
            },
            acting_person(caller)?,
        )),
        _ => deny(
            caller,
            "register an organisation with a КЭП (a portal acting for its head does)",
        ),
    }
}

fn bound_to(caller: &Caller, org: i64) -> bool {
    caller.organization_oid == Some(org)
}

pub fn get_organization(caller: &Caller, org: &Organization) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Vendor | Role::Auditor if bound_to(caller, org.oid) => allow("bound client"),
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        _ => Err(ServiceError::denied(
            "NOT_OWN_ORGANIZATION",
            "the caller has no access to this organisation",
        )),
    }
}

/// Vendors may look organisations up only by an exact OGRN or INN.
pub fn search_organizations(caller: &Caller, exact: bool) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Vendor if exact => allow("vendor lookup"),
        Role::Vendor => Err(ServiceError::denied(
            "EXACT_LOOKUP_REQUIRED",
            "a vendor may look organisations up only by an exact OGRN or INN",
        )),
        _ => deny(caller, "search organisations"),
    }
}

/// `fields` are the fields the update changes.
pub fn update_organization(
    caller: &Caller,
    org: &Organization,
    fields: &[&str],
) -> Result<Allowed, ServiceError> {
    use crate::domain::organization::HEAD_UPDATABLE_FIELDS;
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Portal if acting_person(caller)? == org.head_oid => {
            if let Some(f) = fields.iter().find(|f| !HEAD_UPDATABLE_FIELDS.contains(f)) {
                return Err(ServiceError::denied(
                    "FIELD_NOT_ALLOWED",
                    format!("the head may change names and address, not {f}"),
                ));
            }
            allow("head")
        }
        Role::Portal => Err(ServiceError::denied(
            "NOT_HEAD",
            "only the organisation's head may update it",
        )),
        _ => deny(caller, "update organisations"),
    }
}

/// Reading a chain; `org` is None for the platform chain.
/// `access` holds the acting person's facts in that organisation (portals only).
pub fn read_audit(
    caller: &Caller,
    chain: i64,
    org: Option<&Organization>,
    access: Option<&OrgAccess>,
) -> Result<Allowed, ServiceError> {
    let org_auditor = access
        .is_some_and(|a| a.actor_state == Some(EmployeeState::Active) && a.in_group(ORG_AUDITORS));
    match (caller.role, org) {
        (Role::Operator, _) => allow("operator"),
        (Role::Auditor, _) if caller.organization_oid.is_none() => allow("platform auditor"),
        (Role::Auditor, Some(_)) if bound_to(caller, chain) => allow("organisation auditor"),
        (Role::Portal, Some(o)) if acting_person(caller)? == o.head_oid => allow("head"),
        (Role::Portal, Some(_)) if org_auditor => allow("org auditor"),
        _ => Err(ServiceError::denied(
            "NO_AUDIT_ACCESS",
            "the caller may not read this audit chain",
        )),
    }
}

/// Reading and exporting an organisation's records (its powers of attorney with their
/// signatures, the API-KEY register, the token issuance log): its auditor clients (and
/// platform auditors), its head, and active members of its ORG_AUDITORS group. Not the
/// operator, not other employees. `access` holds the acting person's facts (portals only).
pub fn export_records(
    caller: &Caller,
    org: &Organization,
    access: Option<&OrgAccess>,
) -> Result<Allowed, ServiceError> {
    let org_auditor = access
        .is_some_and(|a| a.actor_state == Some(EmployeeState::Active) && a.in_group(ORG_AUDITORS));
    match caller.role {
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, org.oid) => allow("organisation auditor"),
        Role::Auditor => Err(ServiceError::denied(
            "NOT_OWN_ORGANIZATION",
            "this auditor client is bound to another organisation",
        )),
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        Role::Portal if org_auditor => allow("org auditor"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_ORG_AUDITOR",
            "only the head, active members of ORG_AUDITORS and auditor clients may export an organisation's records",
        )),
        Role::Operator | Role::Vendor => deny(
            caller,
            "export an organisation's records (its auditors and head do)",
        ),
    }
}

/// Adding to and changing the powers catalogue.
pub fn manage_powers(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        _ => deny(caller, "manage the powers catalogue"),
    }
}

/// The catalogue is public to every authenticated caller: portals show it while drafting,
/// vendors and auditors read the codes found in documents.
pub fn read_powers(caller: &Caller) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator | Role::Portal | Role::Vendor | Role::Auditor => allow("any client"),
    }
}

/// Drafting, editing and discarding an organisation's powers of attorney: its head, through a
/// portal. (Re-delegation by a representative whose power of attorney allows it comes later.)
pub fn draft_power_of_attorney(
    caller: &Caller,
    org: &Organization,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_HEAD",
            "only the organisation's head may issue its powers of attorney",
        )),
        _ => deny(caller, "draft powers of attorney"),
    }
}

/// Revoking a signed power of attorney: the principal organisation's head, through a portal.
/// (The issuer of a re-delegated one would too; orgadm neither issues nor imports those.)
pub fn revoke_power_of_attorney(
    caller: &Caller,
    org: &Organization,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_HEAD",
            "only the organisation's head may revoke its powers of attorney",
        )),
        _ => deny(caller, "revoke powers of attorney"),
    }
}

/// Importing a power of attorney issued elsewhere: the operator, or the principal's head.
pub fn import_power_of_attorney(
    caller: &Caller,
    org: &Organization,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_HEAD",
            "only the principal organisation's head may import its powers of attorney",
        )),
        _ => deny(caller, "import powers of attorney"),
    }
}

/// Reading one power of attorney and its document: the head, the representative, the
/// operator, the organisation's auditors.
pub fn read_power_of_attorney(
    caller: &Caller,
    org: &Organization,
    representative: Option<i64>,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, org.oid) => allow("organisation auditor"),
        Role::Portal => {
            let me = acting_person(caller)?;
            if me == org.head_oid {
                allow("head")
            } else if Some(me) == representative {
                allow("representative")
            } else {
                Err(ServiceError::denied(
                    "NOT_PARTY",
                    "only the head, the representative and auditors may read a power of attorney",
                ))
            }
        }
        _ => deny(caller, "read powers of attorney"),
    }
}

/// Listing an organisation's powers of attorney: the head, the operator, its auditors.
pub fn list_powers_of_attorney(
    caller: &Caller,
    org: &Organization,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, org.oid) => allow("organisation auditor"),
        Role::Portal if acting_person(caller)? == org.head_oid => allow("head"),
        Role::Portal => Err(ServiceError::denied(
            "NOT_HEAD",
            "only the organisation's head may list its powers of attorney",
        )),
        _ => deny(caller, "list powers of attorney"),
    }
}

/// Asking whether a person holds a power: the operator, the organisation's auditors, and a
/// portal acting for that person or for the organisation's head.
pub fn check_authorisation(
    caller: &Caller,
    org: &Organization,
    person: i64,
) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, org.oid) => allow("organisation auditor"),
        Role::Portal => {
            let me = acting_person(caller)?;
            if me == person {
                allow("self")
            } else if me == org.head_oid {
                allow("head")
            } else {
                Err(ServiceError::denied(
                    "NOT_PARTY",
                    "only the person, the head and auditors may ask this",
                ))
            }
        }
        _ => deny(caller, "check powers of attorney"),
    }
}

// ---- employees, invitations, access groups ----

/// What the rules below need about an organisation and the acting person, read inside the use
/// case's transaction (`storage::employees::facts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccess {
    pub org: i64,
    pub head_oid: i64,
    /// The acting person's employee state in this organisation.
    pub actor_state: Option<EmployeeState>,
    /// The acting person's groups in this organisation.
    pub actor_groups: Vec<String>,
}

impl OrgAccess {
    fn in_group(&self, g: &str) -> bool {
        self.actor_groups.iter().any(|m| m == g)
    }
}

/// A person acts in an organisation only as its active employee.
fn active_member(caller: &Caller, f: &OrgAccess) -> Result<i64, ServiceError> {
    let p = acting_person(caller)?;
    if f.actor_state != Some(EmployeeState::Active) {
        return Err(ServiceError::denied(
            "NOT_ACTIVE_EMPLOYEE",
            "the person acts in an organisation only as its active employee",
        ));
    }
    Ok(p)
}

/// The head and members of ORG_ADMIN administer employees, invitations and groups.
fn org_admin(caller: &Caller, f: &OrgAccess, what: &str) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Portal => {
            let p = active_member(caller, f)?;
            if p == f.head_oid {
                allow("head")
            } else if f.in_group(ORG_ADMIN) {
                allow("org admin")
            } else {
                Err(ServiceError::denied(
                    "NOT_ORG_ADMIN",
                    format!("only the head and members of ORG_ADMIN may {what}"),
                ))
            }
        }
        _ => deny(caller, what),
    }
}

/// Readers: admins, ORG_AUDITORS members, auditor clients of the organisation or platform.
fn org_reader(caller: &Caller, f: &OrgAccess, what: &str) -> Result<Allowed, ServiceError> {
    match caller.role {
        Role::Operator => allow("operator"),
        Role::Auditor if caller.organization_oid.is_none() => allow("platform auditor"),
        Role::Auditor if bound_to(caller, f.org) => allow("organisation auditor"),
        Role::Portal => {
            let p = active_member(caller, f)?;
            if p == f.head_oid {
                allow("head")
            } else if f.in_group(ORG_ADMIN) {
                allow("org admin")
            } else if f.in_group(ORG_AUDITORS) {
                allow("org auditor")
            } else {
                Err(ServiceError::denied(
                    "NOT_ORG_READER",
                    format!("only the head and members of ORG_ADMIN or ORG_AUDITORS may {what}"),
                ))
            }
        }
        _ => Err(ServiceError::denied(
            "NOT_OWN_ORGANIZATION",
            "the caller has no access to this organisation",
        )),
    }
}

pub fn invite(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_admin(caller, f, "invite employees")
}

pub fn manage_invitations(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_admin(caller, f, "resend or revoke invitations")
}

pub fn read_invitations(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_reader(caller, f, "read invitations")
}

pub fn manage_groups(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_admin(caller, f, "manage access groups")
}

pub fn read_groups(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_reader(caller, f, "read access groups")
}

pub fn read_employees(caller: &Caller, f: &OrgAccess) -> Result<Allowed, ServiceError> {
    org_reader(caller, f, "read employees")
}

/// One employee (or their groups): readers, and the person themselves.
pub fn read_employee(caller: &Caller, f: &OrgAccess, person: i64) -> Result<Allowed, ServiceError> {
    if caller.role == Role::Portal && caller.acting_person == Some(person) {
        return allow("self");
    }
    org_reader(caller, f, "read employees")
}

/// Updating an employee's fields or state. The head can be neither blocked nor dismissed.
pub fn manage_employee(
    caller: &Caller,
    f: &OrgAccess,
    person: i64,
    to: Option<EmployeeState>,
) -> Result<Allowed, ServiceError> {
    let allowed = org_admin(caller, f, "manage employees")?;
    if person == f.head_oid && matches!(to, Some(EmployeeState::Blocked | EmployeeState::Dismissed))
    {
        return Err(ServiceError::precondition(
            "HEAD_PROTECTED",
            format!("person/{person}"),
            "the organisation's head can be neither blocked nor dismissed",
        ));
    }
    Ok(allowed)
}

/// A person leaves an organisation themselves (not while head).
pub fn leave(caller: &Caller, f: &OrgAccess) -> Result<(Allowed, i64), ServiceError> {
    if caller.role != Role::Portal {
        return deny(caller, "leave organisations (a portal acts for the person)");
    }
    let p = acting_person(caller)?;
    if p == f.head_oid {
        return Err(ServiceError::precondition(
            "HEAD_PROTECTED",
            format!("person/{p}"),
            "the head cannot leave the organisation while head",
        ));
    }
    Ok((Allowed { rule: "self" }, p))
}

/// Accepting or declining an invitation: the invited person, through a portal. Who the person
/// must be (confirmed, the invitation's SNILS) is checked by the use case.
pub fn answer_invitation(caller: &Caller) -> Result<(Allowed, i64), ServiceError> {
    match caller.role {
        Role::Portal => Ok((Allowed { rule: "invitee" }, acting_person(caller)?)),
        _ => deny(
            caller,
            "answer invitations (a portal acts for the invited person)",
        ),
    }
}
