//! Signing a power of attorney: the head's detached CMS signature over the exact stored document
//! bytes is verified with the `crypto` leaf (signature, chain to the trust anchors with CRLs,
//! validity at signing time, key usage) and its qualified certificate matched field by field with
//! the document's principal and head. Verification runs on a blocking thread outside the write
//! transaction; the write re-checks the draft's version, so a draft edited meanwhile is refused.

use crate::domain::caller::Caller;
use crate::domain::person::Person;
use crate::domain::poa::StoredState;
use crate::storage;

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::poa::{PoaView, org_of};
use super::signer::{self, ExpectedSigner, Refusal, ValidAt};
use super::{Core, authz, parse_etag};

pub(super) fn refused(
    reason: &'static str,
    number: &str,
    message: impl Into<String>,
) -> ServiceError {
    ServiceError::precondition(reason, format!("power_of_attorney/{number}"), message)
}

/// A refused signature as a service error: undecodable input is a bad argument on `field`, the
/// rest are refusals that name the check.
pub(super) fn signature_refused(field: &str, number: &str, r: Refusal) -> ServiceError {
    if r.is_malformed() {
        return ServiceError::invalid(field, format!("is not a CMS signature: {}", r.message));
    }
    refused(r.reason, number, r.message)
}

/// The head as a power of attorney's signer must be: of the principal, named as stored.
pub(super) fn expected_head(ogrn: &str, inn: &str, head: &Person) -> ExpectedSigner {
    ExpectedSigner::new(
        ogrn,
        inn,
        head.snils.as_deref().unwrap_or(""),
        head.inn.as_deref(),
        &head.surname,
        &head.given_name,
        head.patronymic.as_deref(),
    )
}

impl Core {
    pub async fn submit_signature(
        &self,
        caller: &Caller,
        number: String,
        etag: String,
        signature: Vec<u8>,
    ) -> Result<PoaView, ServiceError> {
        let version = parse_etag(&etag)?;
        if signature.is_empty() {
            return Err(ServiceError::invalid("signature", "is required"));
        }
        let trust = self.trust.clone().ok_or_else(|| {
            refused(
                "NO_TRUST_ANCHORS",
                &number,
                "this service has no trust anchors configured (serve --trust-dir), so it accepts no signature",
            )
        })?;
        let now = self.clock.now();
        // Read and verify outside the write transaction (verification is CPU work).
        let c2 = caller.clone();
        let n2 = number.clone();
        let (checked, read) = self
            .db
            .read(move |c| {
                let p = storage::poa::get(c, &n2)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &n2))?;
                let org = org_of(c, p.organization_oid)?;
                authz::draft_power_of_attorney(&c2, &org)?;
                if p.stored_state != StoredState::Draft {
                    return Err(refused(
                        "NOT_A_DRAFT",
                        &n2,
                        format!(
                            "only a draft can be signed; this one is {}",
                            p.stored_state.as_str()
                        ),
                    ));
                }
                if p.version != version {
                    return Err(ServiceError::stale_etag("power of attorney"));
                }
                let head = storage::persons::get(c, org.head_oid)?
                    .ok_or_else(|| ServiceError::not_found("person", org.head_oid))?;
                let document = storage::poa::document(c, &n2)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &n2))?;
                let checked = signer::verify(
                    &trust,
                    now,
                    &signature,
                    &document,
                    &expected_head(&org.ogrn, &org.inn, &head),
                    ValidAt::SigningTime,
                )
                .map_err(|r| signature_refused("signature", &n2, r))?;
                Ok((checked, p))
            })
            .await?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        // The write transaction is short (SQLite serialises writers; PostgreSQL the chain
        // head): the organisation for the access check, the conditional update that re-checks
        // version and state, the signature row, the audit event. The draft read above is the
        // value returned, moved to its new state.
        let chain = read.organization_oid;
        let (poa, now) = self
            .db
            .write_for(chain, move |c| {
                let now = clock.now();
                let org = org_of(c, read.organization_oid)?;
                let allowed = authz::draft_power_of_attorney(&caller, &org)?;
                let signed = storage::poa::sign(
                    c,
                    &number,
                    version,
                    &checked.signature,
                    &checked.certificate,
                    checked.signing_time,
                    now,
                )?;
                if !signed {
                    // Changed meanwhile: say how.
                    return Err(match storage::poa::get(c, &number)? {
                        Some(p) if p.stored_state != StoredState::Draft => refused(
                            "NOT_A_DRAFT",
                            &number,
                            format!(
                                "only a draft can be signed; this one is {}",
                                p.stored_state.as_str()
                            ),
                        ),
                        Some(_) => ServiceError::stale_etag("power of attorney"),
                        None => ServiceError::not_found("power_of_attorney", &number),
                    });
                }
                let mut p = read.clone();
                p.stored_state = StoredState::Signed;
                p.version = version + 1;
                p.updated_at = now;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.sign",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details: checked.audit_details(),
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }
}
