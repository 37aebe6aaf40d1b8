//! Conversions between wire messages and domain values. Requests become commands with
//! `TryFrom`, destructuring the whole message so that a new proto field fails to compile until
//! it is handled here.

use chrono::NaiveDateTime;
use prost_types::Timestamp;

use super::pb;
use crate::domain::Violations;
use crate::domain::audit::AuditEvent;
use crate::domain::employee::{
    AccessGroup, Employee, EmployeeInput, EmployeeState, GroupInput, Invitation, InvitationInput,
    InvitationState, email_key, parse_mnemonic,
};
use crate::domain::organization::{OrgKind, Organization, OrganizationChanges, OrganizationInput};
use crate::domain::person::{AccountLevel, Person, PersonInput};
use crate::service::employees::EmployeeFilter;
use crate::service::employees::{ChangeEmployeeState, ListEmployees, StateChange, UpdateEmployee};
use crate::service::groups::{CreateGroup, UpdateGroup};
use crate::service::invitations::InvitationFilter;
use crate::service::invitations::{
    ChangeInvitation, CreateInvitation, InvitationChange, ListInvitations,
};
use crate::service::organizations::OrgFilter;
use crate::service::organizations::{
    RegisterOrganization, SearchOrganizations, UpdateOrganization,
};
use crate::service::persons::PersonFilter;
use crate::service::persons::{RegisterPerson, SearchPersons, UpdatePerson};
use crate::service::{ServiceError, etag, idempotency};

pub fn timestamp(t: &NaiveDateTime) -> Option<Timestamp> {
    let u = t.and_utc();
    Some(Timestamp {
        seconds: u.timestamp(),
        nanos: u.timestamp_subsec_nanos() as i32,
    })
}

pub fn from_timestamp(
    field: &str,
    t: Option<Timestamp>,
) -> Result<Option<NaiveDateTime>, ServiceError> {
    t.map(|t| {
        chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
            .map(|d| d.naive_utc())
            .ok_or_else(|| ServiceError::invalid(field, "is not a valid time"))
    })
    .transpose()
}

fn level_in(v: i32) -> Option<AccountLevel> {
    match pb::AccountLevel::try_from(v).ok()? {
        pb::AccountLevel::Simplified => Some(AccountLevel::Simplified),
        pb::AccountLevel::Standard => Some(AccountLevel::Standard),
        pb::AccountLevel::Confirmed => Some(AccountLevel::Confirmed),
        pb::AccountLevel::Unspecified => None,
    }
}

fn level_out(l: AccountLevel) -> i32 {
    match l {
        AccountLevel::Simplified => pb::AccountLevel::Simplified as i32,
        AccountLevel::Standard => pb::AccountLevel::Standard as i32,
        AccountLevel::Confirmed => pb::AccountLevel::Confirmed as i32,
    }
}

fn kind_in(v: i32) -> Option<OrgKind> {
    match pb::OrganizationKind::try_from(v).ok()? {
        pb::OrganizationKind::LegalEntity => Some(OrgKind::LegalEntity),
        pb::OrganizationKind::IndividualEntrepreneur => Some(OrgKind::IndividualEntrepreneur),
        pb::OrganizationKind::Unspecified => None,
    }
}

fn kind_out(k: OrgKind) -> i32 {
    match k {
        OrgKind::LegalEntity => pb::OrganizationKind::LegalEntity as i32,
        OrgKind::IndividualEntrepreneur => pb::OrganizationKind::IndividualEntrepreneur as i32,
    }
}

fn opt(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_owned())
    }
}

impl From<Person> for pb::Person {
    fn from(p: Person) -> Self {
        Self {
            oid: p.oid,
            surname: p.surname,
            given_name: p.given_name,
            patronymic: p.patronymic.unwrap_or_default(),
            snils: p.snils.unwrap_or_default(),
            inn: p.inn.unwrap_or_default(),
            email: p.email.unwrap_or_default(),
            phone: p.phone.unwrap_or_default(),
            level: level_out(p.level),
            birth_date: p
                .birth_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            create_time: timestamp(&p.created_at),
            update_time: timestamp(&p.updated_at),
            etag: etag(p.version),
        }
    }
}

impl TryFrom<pb::RegisterPersonRequest> for RegisterPerson {
    type Error = ServiceError;
    fn try_from(r: pb::RegisterPersonRequest) -> Result<Self, ServiceError> {
        let pb::RegisterPersonRequest {
            request_id,
            surname,
            given_name,
            patronymic,
            snils,
            inn,
            email,
            phone,
            level,
            birth_date,
        } = r;
        let request_id = idempotency::parse_request_id(&request_id)?;
        let fields = PersonInput {
            surname,
            given_name,
            patronymic,
            snils,
            inn,
            email,
            phone,
            level: level_in(level),
            birth_date,
        }
        .validate()?;
        Ok(Self { request_id, fields })
    }
}

impl TryFrom<pb::UpdatePersonRequest> for UpdatePerson {
    type Error = ServiceError;
    fn try_from(r: pb::UpdatePersonRequest) -> Result<Self, ServiceError> {
        let pb::UpdatePersonRequest {
            oid,
            etag,
            update_mask,
            surname,
            given_name,
            patronymic,
            snils,
            inn,
            email,
            phone,
            level,
            birth_date,
        } = r;
        if oid <= 0 {
            return Err(ServiceError::invalid("oid", "is required"));
        }
        Ok(Self {
            oid,
            etag,
            mask: update_mask,
            input: PersonInput {
                surname,
                given_name,
                patronymic,
                snils,
                inn,
                email,
                phone,
                level: level_in(level),
                birth_date,
            },
        })
    }
}

impl TryFrom<pb::SearchPersonsRequest> for SearchPersons {
    type Error = ServiceError;
    fn try_from(r: pb::SearchPersonsRequest) -> Result<Self, ServiceError> {
        let pb::SearchPersonsRequest {
            snils,
            surname_prefix,
            given_name,
            oid,
            page_size,
            page_token,
        } = r;
        let mut v = Violations::new();
        let snils = opt(snils).and_then(|s| v.check("snils", crate::domain::ids::parse_snils(&s)));
        if oid < 0 {
            v.add("oid", "must be positive");
        }
        v.into_result()?;
        Ok(Self {
            filter: PersonFilter {
                snils,
                surname_prefix: opt(surname_prefix),
                given_name: opt(given_name),
                oid: (oid > 0).then_some(oid),
            },
            page_size,
            page_token,
        })
    }
}

impl From<Organization> for pb::Organization {
    fn from(o: Organization) -> Self {
        Self {
            oid: o.oid,
            kind: kind_out(o.kind),
            full_name: o.full_name,
            short_name: o.short_name,
            ogrn: o.ogrn,
            inn: o.inn,
            kpp: o.kpp.unwrap_or_default(),
            address: o.address,
            head_oid: o.head_oid,
            consumer: o.consumer,
            vendor: o.vendor,
            create_time: timestamp(&o.created_at),
            update_time: timestamp(&o.updated_at),
            etag: etag(o.version),
        }
    }
}

impl TryFrom<pb::RegisterOrganizationRequest> for RegisterOrganization {
    type Error = ServiceError;
    fn try_from(r: pb::RegisterOrganizationRequest) -> Result<Self, ServiceError> {
        let pb::RegisterOrganizationRequest {
            request_id,
            kind,
            full_name,
            short_name,
            ogrn,
            inn,
            kpp,
            address,
            head_oid,
            consumer,
            vendor,
        } = r;
        let request_id = idempotency::parse_request_id(&request_id)?;
        let org = OrganizationInput {
            kind: kind_in(kind),
            full_name,
            short_name,
            ogrn,
            inn,
            kpp,
            address,
            head_oid,
            consumer,
            vendor,
        }
        .validate()?;
        Ok(Self { request_id, org })
    }
}

impl TryFrom<pb::UpdateOrganizationRequest> for UpdateOrganization {
    type Error = ServiceError;
    fn try_from(r: pb::UpdateOrganizationRequest) -> Result<Self, ServiceError> {
        let pb::UpdateOrganizationRequest {
            oid,
            etag,
            update_mask,
            full_name,
            short_name,
            address,
            head_oid,
            consumer,
            vendor,
        } = r;
        if oid <= 0 {
            return Err(ServiceError::invalid("oid", "is required"));
        }
        Ok(Self {
            oid,
            etag,
            mask: update_mask,
            changes: OrganizationChanges {
                full_name,
                short_name,
                address,
                head_oid,
                consumer,
                vendor,
            },
        })
    }
}

impl TryFrom<pb::SearchOrganizationsRequest> for SearchOrganizations {
    type Error = ServiceError;
    fn try_from(r: pb::SearchOrganizationsRequest) -> Result<Self, ServiceError> {
        let pb::SearchOrganizationsRequest {
            ogrn,
            inn,
            name_prefix,
            page_size,
            page_token,
        } = r;
        let mut v = Violations::new();
        let ogrn = opt(ogrn).and_then(|s| {
            let r = if s.len() == 15 {
                crate::domain::ids::parse_ogrnip(&s)
            } else {
                crate::domain::ids::parse_ogrn(&s)
            };
            v.check("ogrn", r)
        });
        let inn = opt(inn).and_then(|s| {
            let r = if s.len() == 12 {
                crate::domain::ids::parse_inn12(&s)
            } else {
                crate::domain::ids::parse_inn10(&s)
            };
            v.check("inn", r)
        });
        v.into_result()?;
        Ok(Self {
            filter: OrgFilter {
                ogrn,
                inn,
                name_prefix: opt(name_prefix),
            },
            page_size,
            page_token,
        })
    }
}

impl From<AuditEvent> for pb::AuditEvent {
    fn from(e: AuditEvent) -> Self {
        Self {
            organization_oid: e.chain,
            sequence: e.seq,
            time: timestamp(&e.occurred_at),
            actor_client: e.actor_client,
            actor_person_oid: e.actor_person.unwrap_or(0),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            details_json: e.details,
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

// ---- employees, invitations, access groups ----

fn employee_state_in(v: i32) -> Result<Option<EmployeeState>, ServiceError> {
    match pb::EmployeeState::try_from(v) {
        Ok(pb::EmployeeState::Unspecified) => Ok(None),
        Ok(pb::EmployeeState::Active) => Ok(Some(EmployeeState::Active)),
        Ok(pb::EmployeeState::Blocked) => Ok(Some(EmployeeState::Blocked)),
        Ok(pb::EmployeeState::Dismissed) => Ok(Some(EmployeeState::Dismissed)),
        Err(_) => Err(ServiceError::invalid("state", "is not an employee state")),
    }
}

fn employee_state_out(s: EmployeeState) -> i32 {
    match s {
        EmployeeState::Active => pb::EmployeeState::Active as i32,
        EmployeeState::Blocked => pb::EmployeeState::Blocked as i32,
        EmployeeState::Dismissed => pb::EmployeeState::Dismissed as i32,
    }
}

fn invitation_state_in(v: i32) -> Result<Option<InvitationState>, ServiceError> {
    match pb::InvitationState::try_from(v) {
        Ok(pb::InvitationState::Unspecified) => Ok(None),
        Ok(pb::InvitationState::Pending) => Ok(Some(InvitationState::Pending)),
        Ok(pb::InvitationState::Accepted) => Ok(Some(InvitationState::Accepted)),
        Ok(pb::InvitationState::Declined) => Ok(Some(InvitationState::Declined)),
        Ok(pb::InvitationState::Revoked) => Ok(Some(InvitationState::Revoked)),
        Ok(pb::InvitationState::Expired) => Ok(Some(InvitationState::Expired)),
        Err(_) => Err(ServiceError::invalid("state", "is not an invitation state")),
    }
}

fn invitation_state_out(s: InvitationState) -> i32 {
    match s {
        InvitationState::Pending => pb::InvitationState::Pending as i32,
        InvitationState::Accepted => pb::InvitationState::Accepted as i32,
        InvitationState::Declined => pb::InvitationState::Declined as i32,
        InvitationState::Revoked => pb::InvitationState::Revoked as i32,
        InvitationState::Expired => pb::InvitationState::Expired as i32,
    }
}

/// Checks a required organisation OID.
pub fn org_oid(oid: i64) -> Result<i64, ServiceError> {
    if oid <= 0 {
        return Err(ServiceError::invalid("organization_oid", "is required"));
    }
    Ok(oid)
}

/// Checks a required person OID.
pub fn person_oid(oid: i64) -> Result<i64, ServiceError> {
    if oid <= 0 {
        return Err(ServiceError::invalid("person_oid", "is required"));
    }
    Ok(oid)
}

impl From<Employee> for pb::Employee {
    fn from(e: Employee) -> Self {
        Self {
            organization_oid: e.organization_oid,
            person_oid: e.person_oid,
            surname: e.surname,
            given_name: e.given_name,
            patronymic: e.patronymic.unwrap_or_default(),
            snils: e.snils.unwrap_or_default(),
            position: e.position.unwrap_or_default(),
            work_email: e.work_email.unwrap_or_default(),
            phone: e.phone.unwrap_or_default(),
            state: employee_state_out(e.state),
            chief: e.chief,
            join_time: timestamp(&e.joined_at),
            leave_time: e.left_at.as_ref().and_then(timestamp),
            update_time: timestamp(&e.updated_at),
            etag: etag(e.version),
        }
    }
}

impl TryFrom<pb::ListEmployeesRequest> for ListEmployees {
    type Error = ServiceError;
    fn try_from(r: pb::ListEmployeesRequest) -> Result<Self, ServiceError> {
        let pb::ListEmployeesRequest {
            organization_oid,
            name_prefix,
            snils,
            email,
            state,
            group,
            page_size,
            page_token,
        } = r;
        let mut v = Violations::new();
        if organization_oid <= 0 {
            v.add("organization_oid", "is required");
        }
        let snils = opt(snils).and_then(|s| v.check("snils", crate::domain::ids::parse_snils(&s)));
        let state = v.check(
            "state",
            employee_state_in(state).map_err(|_| "is not an employee state"),
        );
        let group = opt(group).and_then(|g| v.check("group", parse_mnemonic(&g)));
        v.into_result()?;
        Ok(Self {
            organization_oid,
            filter: EmployeeFilter {
                name_prefix: opt(name_prefix),
                snils,
                email: opt(email).map(|e| email_key(&e)),
                state: state.flatten(),
                group,
            },
            page_size,
            page_token,
        })
    }
}

impl TryFrom<pb::UpdateEmployeeRequest> for UpdateEmployee {
    type Error = ServiceError;
    fn try_from(r: pb::UpdateEmployeeRequest) -> Result<Self, ServiceError> {
        let pb::UpdateEmployeeRequest {
            organization_oid,
            person_oid: person,
            etag,
            update_mask,
            position,
            work_email,
            phone,
        } = r;
        Ok(Self {
            organization_oid: org_oid(organization_oid)?,
            person_oid: person_oid(person)?,
            etag,
            mask: update_mask,
            input: EmployeeInput {
                position,
                work_email,
                phone,
            },
        })
    }
}

pub fn change_employee_state(
    r: pb::ChangeEmployeeStateRequest,
    change: StateChange,
) -> Result<ChangeEmployeeState, ServiceError> {
    let pb::ChangeEmployeeStateRequest {
        organization_oid,
        person_oid: person,
        etag,
    } = r;
    Ok(ChangeEmployeeState {
        organization_oid: org_oid(organization_oid)?,
        person_oid: person_oid(person)?,
        etag,
        change,
    })
}

impl Invitation {
    fn into_pb(self, now: NaiveDateTime) -> pb::Invitation {
        let state = invitation_state_out(self.state_at(now));
        pb::Invitation {
            state,
            id: self.id,
            organization_oid: self.organization_oid,
            email: self.email,
            surname: self.surname,
            given_name: self.given_name,
            patronymic: self.patronymic.unwrap_or_default(),
            snils: self.snils.unwrap_or_default(),
            position: self.position.unwrap_or_default(),
            add_to_org_admin: self.add_to_org_admin,
            inviter_oid: self.inviter_oid.unwrap_or(0),
            accepted_person_oid: self.accepted_by.unwrap_or(0),
            create_time: timestamp(&self.created_at),
            expire_time: timestamp(&self.expires_at),
            update_time: timestamp(&self.updated_at),
            etag: etag(self.version),
        }
    }
}

/// An invitation as a reader sees it at `now` (pending past expiry is expired).
pub fn invitation_out(i: Invitation, now: NaiveDateTime) -> pb::Invitation {
    i.into_pb(now)
}

impl TryFrom<pb::CreateInvitationRequest> for CreateInvitation {
    type Error = ServiceError;
    fn try_from(r: pb::CreateInvitationRequest) -> Result<Self, ServiceError> {
        let pb::CreateInvitationRequest {
            request_id,
            organization_oid,
            email,
            surname,
            given_name,
            patronymic,
            snils,
            position,
            add_to_org_admin,
        } = r;
        let request_id = idempotency::parse_request_id(&request_id)?;
        let invitation = InvitationInput {
            organization_oid,
            email,
            surname,
            given_name,
            patronymic,
            snils,
            position,
            add_to_org_admin,
        }
        .validate()?;
        Ok(Self {
            request_id,
            invitation,
        })
    }
}

impl TryFrom<pb::ListInvitationsRequest> for ListInvitations {
    type Error = ServiceError;
    fn try_from(r: pb::ListInvitationsRequest) -> Result<Self, ServiceError> {
        let pb::ListInvitationsRequest {
            organization_oid,
            state,
            email,
            page_size,
            page_token,
        } = r;
        Ok(Self {
            organization_oid: org_oid(organization_oid)?,
            filter: InvitationFilter {
                state: invitation_state_in(state)?,
                email: opt(email).map(|e| email_key(&e)),
            },
            page_size,
            page_token,
        })
    }
}

pub fn change_invitation(
    r: pb::ChangeInvitationRequest,
    change: InvitationChange,
) -> Result<ChangeInvitation, ServiceError> {
    let pb::ChangeInvitationRequest {
        organization_oid,
        id,
        etag,
    } = r;
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("id", "is required"));
    }
    Ok(ChangeInvitation {
        organization_oid: org_oid(organization_oid)?,
        id: id.trim().to_owned(),
        etag,
        change,
    })
}

impl From<AccessGroup> for pb::AccessGroup {
    fn from(g: AccessGroup) -> Self {
        Self {
            organization_oid: g.organization_oid,
            mnemonic: g.mnemonic,
            system: g.system,
            name: g.name,
            description: g.description,
            builtin: g.builtin,
            create_time: timestamp(&g.created_at),
            update_time: timestamp(&g.updated_at),
            etag: etag(g.version),
        }
    }
}

impl TryFrom<pb::CreateGroupRequest> for CreateGroup {
    type Error = ServiceError;
    fn try_from(r: pb::CreateGroupRequest) -> Result<Self, ServiceError> {
        let pb::CreateGroupRequest {
            request_id,
            organization_oid,
            mnemonic,
            system,
            name,
            description,
        } = r;
        let request_id = idempotency::parse_request_id(&request_id)?;
        let group = GroupInput {
            organization_oid,
            mnemonic,
            system,
            name,
            description,
        }
        .validate()?;
        Ok(Self { request_id, group })
    }
}

impl TryFrom<pb::UpdateGroupRequest> for UpdateGroup {
    type Error = ServiceError;
    fn try_from(r: pb::UpdateGroupRequest) -> Result<Self, ServiceError> {
        let pb::UpdateGroupRequest {
            organization_oid,
            mnemonic,
            etag,
            update_mask,
            name,
            description,
        } = r;
        Ok(Self {
            organization_oid: org_oid(organization_oid)?,
            mnemonic: group_name(&mnemonic)?,
            etag,
            mask: update_mask,
            name,
            description,
        })
    }
}

/// Checks a group mnemonic named in a request.
pub fn group_name(m: &str) -> Result<String, ServiceError> {
    parse_mnemonic(m.trim()).map_err(|e| ServiceError::invalid("mnemonic", e))
}
