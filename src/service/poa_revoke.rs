//! Revoking a power of attorney with the head's КЭП: `PrepareRevocation` renders orgadm's
//! revocation statement (`xml::RevocationStatement`, XSD `orgadm_revocation_1.xsd`) naming the
//! power of attorney, its principal and the head; `SubmitRevocation` reads the statement back
//! through the guarded parser, checks it names what it must, verifies the head's signature over
//! its exact bytes with the same check as signing (`service::signer`), then stores statement and
//! signature unchanged and marks the power of attorney revoked, in one write transaction with
//! its audit event. From then on it is «Отозвана»: it grants nothing.

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::domain::caller::Caller;
use crate::domain::poa::{PoaState, PowerOfAttorney};
use crate::storage;
use crate::xml;

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::poa::{DocumentFile, PoaView, org_of};
use super::poa_sign::{expected_head, refused, signature_refused};
use super::signer::{self, SIGNING_TIME_SKEW, ValidAt};
use super::{Core, authz};

/// How long a prepared statement may wait for its signature.
const STATEMENT_VALIDITY: Duration = Duration::hours(24);

/// At most this many bytes of a submitted statement.
const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// The file name of a revocation statement: `ORGADM_REVOCATION_<YYYYMMDD>_<НомДовер>.xml`
/// (the date is the revocation's).
pub fn revocation_file_name(number: &str, at: NaiveDateTime) -> String {
    format!("ORGADM_REVOCATION_{}_{number}.xml", at.format("%Y%m%d"))
}

/// Only a signed power of attorney that is «Новая» or «Действующая» and revocable can be
/// revoked.
fn check_revocable(p: &PowerOfAttorney, today: NaiveDate) -> Result<(), ServiceError> {
    let (reason, why) = match p.state_on(today) {
        PoaState::New | PoaState::Active if p.revocable => return Ok(()),
        PoaState::New | PoaState::Active => (
            "IRREVOCABLE",
            "this power of attorney is irrevocable (ВидДовер 2)",
        ),
        PoaState::Revoked => (
            "ALREADY_REVOKED",
            "this power of attorney is already revoked",
        ),
        PoaState::Expired => ("POA_EXPIRED", "this power of attorney has expired"),
        PoaState::Draft | PoaState::Discarded => (
            "NOT_SIGNED",
            "only a signed power of attorney can be revoked; this one never was",
        ),
    };
    Err(refused(reason, &p.number, why))
}

fn statement_mismatch(number: &str, what: &str) -> ServiceError {
    refused(
        "STATEMENT_MISMATCH",
        number,
        format!("the revocation statement does not fit: {what}; prepare it again"),
    )
}

impl Core {
    /// The revocation statement the head must sign, rendered now; nothing is stored.
    pub async fn prepare_revocation(
        &self,
        caller: &Caller,
        number: String,
        reason: Option<String>,
    ) -> Result<DocumentFile, ServiceError> {
        let now = self.clock.now();
        let at = now.with_nanosecond(0).unwrap_or(now);
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let p = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, p.organization_oid)?;
                authz::revoke_power_of_attorney(&caller, &org)?;
                check_revocable(&p, at.date())?;
                let head = storage::persons::get(c, org.head_oid)?
                    .ok_or_else(|| ServiceError::not_found("person", org.head_oid))?;
                let snils = head
                    .snils
                    .as_deref()
                    .map(|s| s.chars().filter(char::is_ascii_digit).collect())
                    .ok_or_else(|| {
                        ServiceError::precondition(
                            "SNILS_MISSING",
                            format!("person/{}", head.oid),
                            "the head has no SNILS, which the statement requires",
                        )
                    })?;
                let id = uuid::Uuid::new_v4();
                let statement = xml::RevocationStatement {
                    id,
                    revoked_at: at.and_utc(),
                    power_of_attorney: uuid::Uuid::parse_str(&p.number).map_err(|e| {
                        ServiceError::Internal(format!("stored number is not a UUID: {e}"))
                    })?,
                    principal_inn: org.inn.clone(),
                    principal_ogrn: org.ogrn.clone(),
                    revoker: xml::Revoker {
                        name: xml::FullName {
                            surname: head.surname.clone(),
                            given_name: head.given_name.clone(),
                            patronymic: head.patronymic.clone(),
                        },
                        snils,
                        inn: head.inn.clone(),
                        position: None,
                    },
                    reason,
                };
                let content = statement.render().map_err(|e| match e {
                    xml::XmlError::Invalid(fields) => {
                        let mut v = crate::domain::Violations::new();
                        for f in fields {
                            v.add(&f.field, f.description);
                        }
                        ServiceError::InvalidArgument(v)
                    }
                    other => ServiceError::Internal(format!("rendering a statement: {other}")),
                })?;
                Ok(DocumentFile {
                    file_name: revocation_file_name(&p.number, at),
                    content,
                    signature: None,
                })
            })
            .await
    }

    pub async fn submit_revocation(
        &self,
        caller: &Caller,
        number: String,
        statement: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<PoaView, ServiceError> {
        let mut v = crate::domain::Violations::new();
        if statement.is_empty() {
            v.add(
                "statement",
                "is required: the bytes PrepareRevocation returned",
            );
        } else if statement.len() > MAX_STATEMENT_BYTES {
            v.add(
                "statement",
                format!("must be at most {MAX_STATEMENT_BYTES} bytes"),
            );
        }
        if signature.is_empty() {
            v.add("signature", "is required");
        }
        v.into_result()?;
        let trust = self.trust.clone().ok_or_else(|| {
            refused(
                "NO_TRUST_ANCHORS",
                &number,
                "this service has no trust anchors configured (serve --trust-dir), so it accepts no signature",
            )
        })?;
        let now = self.clock.now();
        let c2 = caller.clone();
        let n2 = number.clone();
        let st_bytes = statement.clone();
        // Read, parse and verify outside the write transaction (CPU work).
        let (version, checked, parsed) = self
            .db
            .read(move |c| {
                let p = storage::poa::get(c, &n2)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &n2))?;
                let org = org_of(c, p.organization_oid)?;
                authz::revoke_power_of_attorney(&c2, &org)?;
                check_revocable(&p, now.date())?;
                let st = xml::parse_revocation(&st_bytes).map_err(|e| {
                    ServiceError::invalid(
                        "statement",
                        format!("is not a revocation statement ({}): {e}", e.kind()),
                    )
                })?;
                if st.power_of_attorney.hyphenated().to_string() != p.number {
                    return Err(statement_mismatch(
                        &n2,
                        "it names another power of attorney",
                    ));
                }
                if st.principal_inn != org.inn || st.principal_ogrn != org.ogrn {
                    return Err(statement_mismatch(&n2, "it names another principal"));
                }
                let head = storage::persons::get(c, org.head_oid)?
                    .ok_or_else(|| ServiceError::not_found("person", org.head_oid))?;
                let head_snils: Option<String> = head
                    .snils
                    .as_deref()
                    .map(|s| s.chars().filter(char::is_ascii_digit).collect());
                if head_snils.as_deref() != Some(st.revoker.snils.as_str()) {
                    return Err(statement_mismatch(
                        &n2,
                        "its revoker is not the organisation's head",
                    ));
                }
                let at = st.revoked_at.naive_utc();
                if at > now + SIGNING_TIME_SKEW || at < now - STATEMENT_VALIDITY {
                    return Err(statement_mismatch(
                        &n2,
                        "its time (ДатаВремОтмены) is not within the last 24 hours",
                    ));
                }
                let checked = signer::verify(
                    &trust,
                    now,
                    &signature,
                    &st_bytes,
                    &expected_head(&org.ogrn, &org.inn, &head),
                    ValidAt::SigningTime,
                )
                .map_err(|r| signature_refused("signature", &n2, r))?;
                Ok((p.version, checked, st))
            })
            .await?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        let (poa, now) = self
            .db
            .write(move |c| {
                let now = clock.now();
                let current = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, current.organization_oid)?;
                let allowed = authz::revoke_power_of_attorney(&caller, &org)?;
                check_revocable(&current, now.date())?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("power of attorney"));
                }
                let revoked_at = parsed.revoked_at.naive_utc();
                let p = storage::poa_signed::revoke(
                    c,
                    &current,
                    &statement,
                    &checked.signature,
                    revoked_at,
                    now,
                )?
                .ok_or_else(|| ServiceError::stale_etag("power of attorney"))?;
                let mut details = checked.audit_details();
                details["statement_id"] = parsed.id.to_string().into();
                details["revoked_at"] = revoked_at.to_string().into();
                details["statement_streebog256"] =
                    hex::encode(crate::crypto::streebog::streebog256(&statement)).into();
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.revoke",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details,
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }

    /// The stored revocation statement and its signature.
    pub async fn get_revocation(
        &self,
        caller: &Caller,
        number: String,
    ) -> Result<DocumentFile, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let p = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, p.organization_oid)?;
                authz::read_power_of_attorney(&caller, &org, p.representative_person_oid)?;
                let r = storage::poa_signed::revocation(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("revocation", &number))?;
                Ok(DocumentFile {
                    file_name: revocation_file_name(&number, r.revoked_at),
                    content: r.statement,
                    signature: Some(r.signature),
                })
            })
            .await
    }
}
