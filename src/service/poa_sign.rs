//! Signing a power of attorney: the head's detached CMS signature over the exact stored document
//! bytes is verified with the `crypto` leaf (signature, chain to the trust anchors with CRLs,
//! validity at signing time, key usage) and its qualified certificate matched field by field with
//! the document's principal and head. Verification runs on a blocking thread outside the write
//! transaction, without holding a connection; the write re-checks the draft's version (a draft
//! edited meanwhile is refused) and the organisation's, on which the access check and the signer
//! match were decided.

use crate::domain::caller::Caller;
use crate::domain::person::Person;
use crate::domain::poa::StoredState;
use crate::storage::{self, DbConnection};

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

fn not_a_draft(number: &str, state: StoredState) -> ServiceError {
    refused(
        "NOT_A_DRAFT",
        number,
        format!("only a draft can be signed; this one is {}", state.as_str()),
    )
}

/// Why a draft the write found no longer signable is refused: signed or discarded meanwhile,
/// edited meanwhile, or gone.
fn draft_changed(c: &mut DbConnection, number: &str) -> Result<ServiceError, ServiceError> {
    Ok(match storage::poa::get(c, number)? {
        Some(p) if p.stored_state != StoredState::Draft => not_a_draft(number, p.stored_state),
        Some(_) => ServiceError::stale_etag("power of attorney"),
        None => ServiceError::not_found("power_of_attorney", number),
    })
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
        // The facts in one statement (and the powers in a second), outside an explicit
        // transaction: the write below re-checks the draft's version (which covers its powers)
        // and the organisation's; the head's own row is not re-checked. The verification (CPU
        // work) runs after it on a blocking thread, without holding a connection.
        let n2 = number.clone();
        let storage::poa::SigningFacts {
            poa: read,
            document,
            organization: org,
            head,
        } = self
            .db
            .read_one(move |c| {
                storage::poa::get_for_signing(c, &n2)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &n2))
            })
            .await?;
        let allowed = authz::draft_power_of_attorney(caller, &org)?;
        if read.stored_state != StoredState::Draft {
            return Err(not_a_draft(&number, read.stored_state));
        }
        if read.version != version {
            return Err(ServiceError::stale_etag("power of attorney"));
        }
        let expected = expected_head(&org.ogrn, &org.inn, &head);
        let checked = tokio::task::spawn_blocking(move || {
            signer::verify(
                &trust,
                now,
                &signature,
                &document,
                &expected,
                ValidAt::SigningTime,
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("signature check failed: {e}")))?
        .map_err(|r| signature_refused("signature", &number, r))?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        // The write transaction is short (SQLite serialises writers; PostgreSQL the chain
        // head): the conditional update, which re-checks the draft's version and state and that
        // the organisation is the version the access check and the signer match were decided
        // on, with the signature row (and, on PostgreSQL, the audit event: one statement). The
        // draft read above is the value returned, moved to its new state.
        let chain = read.organization_oid;
        let (poa, now) = self
            .db
            .write_for(chain, move |c| {
                let now = clock.now();
                let event = audit_log::event(
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.sign",
                        target_type: "power_of_attorney",
                        target_id: number.clone(),
                        details: checked.audit_details(),
                    },
                );
                let mut signing = storage::poa_signed::Signing {
                    number: &number,
                    version,
                    organization_oid: org.oid,
                    organization_version: org.version,
                    signature: &checked.signature,
                    signer_certificate: &checked.certificate,
                    signing_time: checked.signing_time,
                };
                let mut signed = storage::poa_signed::sign(c, &signing, &event, now)?;
                if !signed.signed {
                    // Nothing written: the draft or the organisation changed meanwhile. An
                    // organisation changed in nothing the decision rests on (its head and
                    // identifiers) is signed for at its new version; otherwise say what changed.
                    let now_org = org_of(c, org.oid)?;
                    authz::draft_power_of_attorney(&caller, &now_org)?;
                    if (&now_org.ogrn, &now_org.inn) != (&org.ogrn, &org.inn) {
                        return Err(refused(
                            "ORGANIZATION_CHANGED",
                            &number,
                            "the organisation's OGRN or INN changed while the signature was checked; submit it again",
                        ));
                    }
                    if now_org.version != org.version {
                        signing.organization_version = now_org.version;
                        signed = storage::poa_signed::sign(c, &signing, &event, now)?;
                    }
                    if !signed.signed {
                        return Err(draft_changed(c, &number)?);
                    }
                }
                if signed.event.is_none() {
                    audit_log::append_event(c, &event, now)?;
                }
                let mut p = read.clone();
                p.stored_state = StoredState::Signed;
                p.version = version + 1;
                p.updated_at = now;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }
}
