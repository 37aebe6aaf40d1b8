//! Importing a power of attorney issued elsewhere (EMCHD_1 XML + detached CMS signature). The
//! document goes through the `xml` leaf's guarded parser (no DTD, size/depth/value limits, the
//! official XSD through libxml2, the model, the field rules); the signature through the same
//! check as signing (`service::signer`), its signer matched with the principal and head the
//! document names. The answer is a verdict — valid (stored), invalid with its problems, or
//! cannot be validated (the issuer is unknown here) — and only a valid document is stored, with
//! its signature, unchanged, in one write transaction with its audit event.

use crate::domain::caller::Caller;
use crate::domain::poa::{PowerGrant, Redelegation};
use crate::storage::{self, DbConnection, StorageError};
use crate::xml;

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::poa::PoaView;
use super::signer::{self, ExpectedSigner, Refusal, ValidAt};
use super::{Core, authz};

/// One problem of an imported document or its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// `XML_MALFORMED`, `XML_UNSAFE`, `XML_SCHEMA_VIOLATION`, `XML_UNSUPPORTED`,
    /// `FIELD_INVALID`, or a signature check's reason ([`Refusal`]).
    pub reason: String,
    pub field: String,
    pub line: Option<u32>,
    pub message: String,
}

/// The verdict of an import.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    /// Valid and stored.
    Valid(Box<PoaView>),
    /// Not valid; nothing stored.
    Invalid(Vec<ImportProblem>),
    /// The signer's certificate chains to no trust anchor here; nothing stored.
    CannotValidate(Vec<ImportProblem>),
}

fn problem(reason: &str, message: impl Into<String>) -> ImportProblem {
    ImportProblem {
        reason: reason.to_owned(),
        field: String::new(),
        line: None,
        message: message.into(),
    }
}

/// The problems an `XmlError` reports, one per violation.
pub fn xml_problems(e: &xml::XmlError) -> Vec<ImportProblem> {
    match e {
        xml::XmlError::Malformed(m) => vec![problem("XML_MALFORMED", m.clone())],
        xml::XmlError::Unsafe(m) => vec![problem("XML_UNSAFE", m.clone())],
        xml::XmlError::Unsupported(m) => vec![problem("XML_UNSUPPORTED", m.clone())],
        xml::XmlError::SchemaViolation(v) => v
            .iter()
            .map(|s| ImportProblem {
                reason: "XML_SCHEMA_VIOLATION".into(),
                field: String::new(),
                line: s.line,
                message: s.message.clone(),
            })
            .collect(),
        xml::XmlError::Invalid(v) => v
            .iter()
            .map(|f| ImportProblem {
                reason: "FIELD_INVALID".into(),
                field: f.field.clone(),
                line: None,
                message: f.description.clone(),
            })
            .collect(),
    }
}

fn refusal_outcome(r: Refusal) -> ImportOutcome {
    let untrusted = r.is_untrusted();
    let p = problem(r.reason, r.message);
    if untrusted {
        ImportOutcome::CannotValidate(vec![p])
    } else {
        ImportOutcome::Invalid(vec![p])
    }
}

fn poa_exists(number: &str) -> ServiceError {
    ServiceError::AlreadyExists {
        reason: "POA_EXISTS",
        resource: "power_of_attorney",
        field: Some("document"),
        message: format!("a power of attorney with НомДовер {number} is already stored"),
    }
}

/// What the write needs, established by the read.
struct Verified {
    doc: xml::PowerOfAttorney,
    checked: signer::Checked,
    organization_oid: i64,
    principal_person_oid: i64,
    representative_person_oid: Option<i64>,
    powers: Vec<PowerGrant>,
}

/// The catalogue codes and information systems the document grants; every code must be in the
/// catalogue (the stored grants refer to it).
fn grants(
    conn: &mut DbConnection,
    doc: &xml::PowerOfAttorney,
) -> Result<Vec<PowerGrant>, ServiceError> {
    let mut out = Vec::with_capacity(doc.powers.len());
    for p in &doc.powers {
        if storage::powers::get(conn, &p.code)?.is_none() {
            return Err(ServiceError::precondition(
                "POWER_UNKNOWN",
                format!("power/{}", p.code),
                format!(
                    "the document grants the power {}, which is not in the catalogue; the operator adds it first",
                    p.code
                ),
            ));
        }
        let system = p.restrictions.iter().find_map(|r| match &r.value {
            xml::RestrictionValue::Code(v) if r.code == "INFORMATION_SYSTEM" => Some(v.clone()),
            _ => None,
        });
        let g = PowerGrant {
            code: p.code.clone(),
            information_system: system,
        };
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

impl Core {
    pub async fn import_document(
        &self,
        caller: &Caller,
        document: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<ImportOutcome, ServiceError> {
        let mut v = crate::domain::Violations::new();
        if document.is_empty() {
            v.add("document", "is required: the EMCHD_1 file");
        }
        if signature.is_empty() {
            v.add(
                "signature",
                "is required: the detached CMS signature (.sig)",
            );
        }
        v.into_result()?;
        let trust = self.trust.clone().ok_or_else(|| {
            ServiceError::precondition(
                "NO_TRUST_ANCHORS",
                "service",
                "this service has no trust anchors configured (serve --trust-dir), so it validates no signature",
            )
        })?;
        let now = self.clock.now();
        let c2 = caller.clone();
        let bytes = document.clone();
        // Parse, read and verify outside the write transaction (CPU work).
        let verified = self
            .db
            .read(move |c| {
                let doc = match xml::parse(&bytes) {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(ImportOutcome::Invalid(xml_problems(&e)))),
                };
                let org = storage::organizations::find_by_ogrn(c, &doc.principal.ogrn)?
                    .ok_or_else(|| {
                        ServiceError::precondition(
                            "PRINCIPAL_UNKNOWN",
                            format!("ogrn/{}", doc.principal.ogrn),
                            "the principal is not an organisation registered here; register it first",
                        )
                    })?;
                if org.inn != doc.principal.inn {
                    return Err(ServiceError::precondition(
                        "PRINCIPAL_MISMATCH",
                        format!("organization/{}", org.oid),
                        "the document's ИННЮЛ is not the INN registered for its OGRN",
                    ));
                }
                authz::import_power_of_attorney(&c2, &org)?;
                let number = doc.number.hyphenated().to_string();
                if storage::poa_signed::exists(c, &number)? {
                    return Err(poa_exists(&number));
                }
                let h = &doc.head;
                let expected = ExpectedSigner::new(
                    &doc.principal.ogrn,
                    &doc.principal.inn,
                    &h.snils,
                    h.inn.as_deref(),
                    &h.name.surname,
                    &h.name.given_name,
                    h.name.patronymic.as_deref(),
                );
                let checked = match signer::verify(
                    &trust,
                    now,
                    &signature,
                    &bytes,
                    &expected,
                    ValidAt::SigningTime,
                ) {
                    Ok(c) => c,
                    Err(r) => return Ok(Err(refusal_outcome(r))),
                };
                let principal_person_oid = storage::persons::checked_snils_holder(c, &h.snils, None)?
                    .ok_or_else(|| {
                        ServiceError::precondition(
                            "HEAD_UNKNOWN",
                            format!("organization/{}", org.oid),
                            "the head the document names (ЛицоБезДов, by SNILS) has no account here",
                        )
                    })?;
                let representative_person_oid =
                    storage::persons::checked_snils_holder(c, &doc.representative.snils, None)?;
                let powers = grants(c, &doc)?;
                Ok(Ok(Verified {
                    doc,
                    checked,
                    organization_oid: org.oid,
                    principal_person_oid,
                    representative_person_oid,
                    powers,
                }))
            })
            .await?;
        let v = match verified {
            Ok(v) => v,
            Err(outcome) => return Ok(outcome),
        };
        let clock = self.clock.clone();
        let caller = caller.clone();
        let (poa, now) = self
            .db
            .write(move |c| {
                let now = clock.now();
                let org = super::poa::org_of(c, v.organization_oid)?;
                let allowed = authz::import_power_of_attorney(&caller, &org)?;
                let number = v.doc.number.hyphenated().to_string();
                let imported = storage::poa_signed::Imported {
                    number: &number,
                    organization_oid: org.oid,
                    internal_number: &v.doc.internal_number,
                    principal_person_oid: v.principal_person_oid,
                    representative_person_oid: v.representative_person_oid,
                    start_date: v.doc.issue_date,
                    end_date: v.doc.end_date,
                    redelegation: match v.doc.redelegation {
                        xml::Redelegation::None => Redelegation::None,
                        xml::Redelegation::Once => Redelegation::Once,
                        xml::Redelegation::Onward => Redelegation::Onward,
                    },
                    revocable: matches!(v.doc.revocability, xml::Revocability::Revocable),
                    powers: &v.powers,
                    document: &document,
                    signature: &v.checked.signature,
                    signer_certificate: &v.checked.certificate,
                    signing_time: v.checked.signing_time,
                };
                let p = storage::poa_signed::insert_imported(c, &imported, now).map_err(
                    |e| match e {
                        StorageError::UniqueViolation(_) => poa_exists(&number),
                        other => other.into(),
                    },
                )?;
                let mut details = v.checked.audit_details();
                details["document_streebog256"] =
                    hex::encode(crate::crypto::streebog::streebog256(&document)).into();
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.import",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details,
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(ImportOutcome::Valid(Box::new(
            self.poa_view(poa, now.date()),
        )))
    }
}
