//! Conversions between wire messages and domain values. Requests become commands with
//! `TryFrom`, destructuring the whole message so that a new proto field fails to compile until
//! it is handled here.

use chrono::NaiveDateTime;
use prost_types::Timestamp;

use super::pb;
use crate::domain::Violations;
use crate::domain::audit::AuditEvent;
use crate::domain::organization::{OrgKind, Organization, OrganizationChanges, OrganizationInput};
use crate::domain::person::{AccountLevel, Person, PersonInput};
use crate::service::organizations::{
    RegisterOrganization, SearchOrganizations, UpdateOrganization,
};
use crate::service::persons::{RegisterPerson, SearchPersons, UpdatePerson};
use crate::service::{ServiceError, etag, idempotency};
use crate::storage::organizations::OrgFilter;
use crate::storage::persons::PersonFilter;

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
