//! Drafting powers of attorney (МЧД). A draft's document is rendered by the `xml` leaf on every
//! create and edit and stored, so `GetDocument` returns exactly the bytes the head will sign; the
//! signature is later checked over those stored bytes.

use chrono::NaiveDateTime;

use crate::domain::caller::Caller;
use crate::domain::organization::{OrgKind, Organization};
use crate::domain::person::{AccountLevel, Person};
use crate::domain::poa::{DraftFields, PowerOfAttorney, Redelegation, StoredState};
use crate::domain::power::ContextKind;
use crate::storage::{self, DbConnection};
use crate::xml;

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::poa::{PoaView, org_of, status_url};
use super::{Core, authz, idempotency, parse_etag};

#[derive(Debug, Clone)]
pub struct CreateDraft {
    pub request_id: Option<String>,
    pub organization_oid: i64,
    pub contents: DraftFields,
}

#[derive(Debug, Clone)]
pub struct UpdateDraft {
    pub number: String,
    pub etag: String,
    pub contents: DraftFields,
}

fn confirmed(
    conn: &mut DbConnection,
    oid: i64,
    field: &'static str,
    who: &str,
) -> Result<Person, ServiceError> {
    let p = storage::persons::get(conn, oid)?
        .ok_or_else(|| ServiceError::invalid(field, format!("no person with OID {oid}")))?;
    if p.level != AccountLevel::Confirmed {
        return Err(ServiceError::precondition(
            "PERSON_NOT_CONFIRMED",
            format!("person/{oid}"),
            format!("the {who} of a power of attorney must have a confirmed account"),
        ));
    }
    Ok(p)
}

fn full_name(p: &Person) -> xml::FullName {
    xml::FullName {
        surname: p.surname.clone(),
        given_name: p.given_name.clone(),
        patronymic: p.patronymic.clone(),
    }
}

/// The person's SNILS as 11 digits (the document writes `NNN-NNN-NNN NN`).
fn snils_digits(p: &Person) -> Result<String, ServiceError> {
    p.snils
        .as_ref()
        .map(|s| s.chars().filter(char::is_ascii_digit).collect())
        .ok_or_else(|| {
            ServiceError::precondition(
                "SNILS_MISSING",
                format!("person/{}", p.oid),
                "the person has no SNILS, which the document requires",
            )
        })
}

/// Builds the EMCHD_1 model from the stored facts and renders it. Checks what the document
/// needs: a legal entity with KPP, confirmed head and representative, catalogue powers that are
/// active and carry an information system exactly when their entry asks for one.
fn render(
    conn: &mut DbConnection,
    base_url: &str,
    number: &str,
    org: &Organization,
    d: &DraftFields,
) -> Result<Vec<u8>, ServiceError> {
    let (OrgKind::LegalEntity, Some(kpp)) = (org.kind, &org.kpp) else {
        return Err(ServiceError::precondition(
            "PRINCIPAL_NOT_SUPPORTED",
            format!("organization/{}", org.oid),
            "orgadm issues powers of attorney for legal entities (with KPP) only",
        ));
    };
    let head = confirmed(conn, org.head_oid, "organization_oid", "head")?;
    let rep = confirmed(
        conn,
        d.representative_person_oid,
        "contents.representative_person_oid",
        "representative",
    )?;
    let mut powers = Vec::with_capacity(d.powers.len());
    let mut v = crate::domain::Violations::new();
    for (i, g) in d.powers.iter().enumerate() {
        let field = format!("contents.powers[{i}]");
        let Some(p) = storage::powers::get(conn, &g.code)? else {
            v.add(&format!("{field}.code"), "is not in the powers catalogue");
            continue;
        };
        if !p.active {
            v.add(
                &format!("{field}.code"),
                "is deactivated in the catalogue and cannot go into new documents",
            );
        }
        let mut restrictions = Vec::new();
        match (p.context, &g.information_system) {
            (ContextKind::InformationSystem, None) => v.add(
                &format!("{field}.information_system"),
                "is required: this power concerns one information system (its CLIENT_ID)",
            ),
            (ContextKind::None, Some(_)) => v.add(
                &format!("{field}.information_system"),
                "must be empty: this power does not concern an information system",
            ),
            (ContextKind::InformationSystem, Some(system)) => {
                restrictions.push(xml::PowerRestriction {
                    id: 1,
                    code: "INFORMATION_SYSTEM".into(),
                    name: "Информационная система".into(),
                    value: xml::RestrictionValue::Code(system.clone()),
                    value_name: None,
                })
            }
            (ContextKind::None, None) => {}
        }
        powers.push(xml::MachinePower {
            code: p.code,
            name: p.name,
            mnemonic: None,
            restrictions,
        });
    }
    v.into_result()?;
    let number_uuid = uuid::Uuid::parse_str(number)
        .map_err(|e| ServiceError::Internal(format!("stored number is not a UUID: {e}")))?;
    let doc = xml::PowerOfAttorney {
        number: number_uuid,
        internal_number: d.internal_number.clone(),
        issue_date: d.start_date,
        end_date: d.end_date,
        revocability: if d.revocable {
            xml::Revocability::Revocable
        } else {
            xml::Revocability::Irrevocable(None)
        },
        redelegation: match d.redelegation {
            Redelegation::None => xml::Redelegation::None,
            Redelegation::Once => xml::Redelegation::Once,
            Redelegation::Onward => xml::Redelegation::Onward,
        },
        status_url: status_url(base_url, number),
        principal: xml::Principal {
            name: org.full_name.clone(),
            inn: org.inn.clone(),
            kpp: kpp.clone(),
            ogrn: org.ogrn.clone(),
            address: None,
        },
        head: xml::Individual {
            name: full_name(&head),
            inn: head.inn.clone(),
            snils: snils_digits(&head)?,
            position: d.head_position.clone(),
            birth_date: None,
            identity_document: None,
        },
        representative: xml::Individual {
            name: full_name(&rep),
            inn: rep.inn.clone(),
            snils: snils_digits(&rep)?,
            position: None,
            birth_date: rep.birth_date,
            identity_document: d
                .representative_document
                .as_ref()
                .map(|i| xml::IdentityDocument {
                    kind_code: i.kind_code.clone(),
                    series_number: i.series_number.clone(),
                    issue_date: i.issue_date,
                    issuer: i.issuer.clone(),
                    issuer_code: i.issuer_code.clone(),
                    expiry_date: None,
                }),
        },
        powers,
    };
    doc.render().map_err(|e| match e {
        xml::XmlError::Invalid(fields) => {
            let mut v = crate::domain::Violations::new();
            for f in fields {
                v.add(&format!("document.{}", f.field), f.description);
            }
            ServiceError::InvalidArgument(v)
        }
        other => ServiceError::Internal(format!("rendering the document failed: {other}")),
    })
}

fn draft_details(p: &PowerOfAttorney, document: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "representative_person_oid": p.representative_person_oid,
        "start_date": p.start_date.to_string(), "end_date": p.end_date.to_string(),
        "redelegation": p.redelegation.as_str(), "revocable": p.revocable,
        "powers": p.powers,
        "document_streebog256": hex::encode(crate::crypto::streebog::streebog256(document)),
    })
}

fn not_a_draft(p: &PowerOfAttorney) -> ServiceError {
    ServiceError::precondition(
        "NOT_A_DRAFT",
        format!("power_of_attorney/{}", p.number),
        format!(
            "only drafts can change; this one is {}",
            p.stored_state.as_str()
        ),
    )
}

impl Core {
    pub async fn create_draft(
        &self,
        caller: &Caller,
        cmd: CreateDraft,
    ) -> Result<PoaView, ServiceError> {
        let fp = idempotency::fingerprint(&(cmd.organization_oid, &cmd.contents));
        let clock = self.clock.clone();
        let caller = caller.clone();
        let base = self.public_base_url.clone();
        let chain = cmd.organization_oid;
        let (poa, now) = self
            .db
            .write_for(chain, move |c| {
                let now: NaiveDateTime = clock.now();
                let org = org_of(c, cmd.organization_oid)?;
                let allowed = authz::draft_power_of_attorney(&caller, &org)?;
                let rid = cmd.request_id.as_deref();
                if let Some(n) = idempotency::replayed(c, &caller, "poa.draft.create", rid, &fp)? {
                    let p = storage::poa::get(c, &n)?
                        .ok_or_else(|| ServiceError::not_found("power_of_attorney", n))?;
                    return Ok((p, now));
                }
                idempotency::claim(c, &caller, "poa.draft.create", rid, &fp, now)?;
                let number = uuid::Builder::from_random_bytes(super::random_bytes::<16>()?)
                    .into_uuid()
                    .hyphenated()
                    .to_string();
                let document = render(c, &base, &number, &org, &cmd.contents)?;
                let p = storage::poa::insert_draft(
                    c,
                    &number,
                    org.oid,
                    org.head_oid,
                    &cmd.contents,
                    &document,
                    now,
                )?;
                idempotency::complete(c, &caller, "poa.draft.create", rid, &number)?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.draft.create",
                        target_type: "power_of_attorney",
                        target_id: number,
                        details: draft_details(&p, &document),
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }

    pub async fn update_draft(
        &self,
        caller: &Caller,
        cmd: UpdateDraft,
    ) -> Result<PoaView, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        let base = self.public_base_url.clone();
        let (poa, now) = self
            .db
            .write(move |c| {
                let now: NaiveDateTime = clock.now();
                let current = storage::poa::get(c, &cmd.number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &cmd.number))?;
                let org = org_of(c, current.organization_oid)?;
                let allowed = authz::draft_power_of_attorney(&caller, &org)?;
                if current.stored_state != StoredState::Draft {
                    return Err(not_a_draft(&current));
                }
                if current.version != version {
                    return Err(ServiceError::stale_etag("power of attorney"));
                }
                let document = render(c, &base, &current.number, &org, &cmd.contents)?;
                let p = storage::poa::update_draft(
                    c,
                    &current,
                    org.head_oid,
                    &cmd.contents,
                    &document,
                    now,
                )?
                .ok_or_else(|| ServiceError::stale_etag("power of attorney"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.draft.update",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details: draft_details(&p, &document),
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }

    pub async fn discard_draft(
        &self,
        caller: &Caller,
        number: String,
        etag: String,
    ) -> Result<PoaView, ServiceError> {
        let version = parse_etag(&etag)?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        let (poa, now) = self
            .db
            .write(move |c| {
                let now: NaiveDateTime = clock.now();
                let current = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, current.organization_oid)?;
                let allowed = authz::draft_power_of_attorney(&caller, &org)?;
                if current.stored_state != StoredState::Draft {
                    return Err(not_a_draft(&current));
                }
                if current.version != version {
                    return Err(ServiceError::stale_etag("power of attorney"));
                }
                let p = storage::poa::set_draft_state(c, &current, StoredState::Discarded, now)?
                    .ok_or_else(|| ServiceError::stale_etag("power of attorney"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.draft.discard",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }
}
