//! Signing a power of attorney: the head's detached CMS signature over the exact stored document
//! bytes is verified with the `crypto` leaf (signature, chain to the trust anchors with CRLs,
//! validity at signing time, key usage) and its qualified certificate matched field by field with
//! the document's principal and head. Verification runs on a blocking thread outside the write
//! transaction; the write re-checks the draft's version, so a draft edited meanwhile is refused.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use crate::crypto::cert::Certificate;
use crate::crypto::{CryptoError, cms};
use crate::domain::caller::Caller;
use crate::domain::person::Person;
use crate::domain::poa::StoredState;
use crate::storage;

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::poa::{PoaView, org_of};
use super::{Core, authz, parse_etag};

/// How far in the future a signing time may be (clocks differ).
const SIGNING_TIME_SKEW: Duration = Duration::minutes(5);

fn refused(reason: &'static str, number: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::precondition(reason, format!("power_of_attorney/{number}"), message)
}

/// Crypto outcomes as service errors: undecodable input is a bad argument, the rest are refusals
/// that name the check.
fn crypto_refusal(number: &str, e: CryptoError) -> ServiceError {
    let reason = match &e {
        CryptoError::Malformed(_) => {
            return ServiceError::invalid("signature", format!("is not a CMS signature: {e}"));
        }
        CryptoError::BadSignature(_) => "SIGNATURE_INVALID",
        CryptoError::Untrusted(_) => "CERTIFICATE_UNTRUSTED",
        CryptoError::Expired(_) | CryptoError::NotYetValid(_) => "CERTIFICATE_NOT_VALID",
        CryptoError::Revoked(_) => "CERTIFICATE_REVOKED",
        CryptoError::KeyUsage(_) => "CERTIFICATE_KEY_USAGE",
    };
    refused(reason, number, e.to_string())
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
            .replace('ё', "е")
    };
    norm(a) == norm(b)
}

/// The signer must be the organisation's head, as the document names them: OGRN and INNLE of the
/// principal, SNILS, personal INN (when both have one), surname and given name (with patronymic).
fn match_signer(
    number: &str,
    cert: &Certificate,
    org_ogrn: &str,
    org_inn: &str,
    head: &Person,
) -> Result<(), ServiceError> {
    let q = cert.qualified_attributes();
    let mismatch = |what: &str| {
        refused(
            "SIGNER_MISMATCH",
            number,
            format!(
                "the signer's certificate ({}) does not match the document: {what}",
                cert.describe()
            ),
        )
    };
    if q.ogrn.as_deref() != Some(org_ogrn) {
        return Err(mismatch("its OGRN is not the principal's"));
    }
    if q.innle.as_deref() != Some(org_inn) {
        return Err(mismatch("its INNLE is not the principal's INN"));
    }
    let head_snils = head.snils.as_deref().map(digits);
    if q.snils.as_deref().map(digits).is_none() || q.snils.as_deref().map(digits) != head_snils {
        return Err(mismatch("its SNILS is not the head's"));
    }
    if let (Some(a), Some(b)) = (q.inn.as_deref(), head.inn.as_deref()) {
        if a != b {
            return Err(mismatch("its personal INN is not the head's"));
        }
    }
    let given = match &head.patronymic {
        Some(p) => format!("{} {p}", head.given_name),
        None => head.given_name.clone(),
    };
    if !q
        .surname
        .as_deref()
        .is_some_and(|s| same_name(s, &head.surname))
        || !q
            .given_name
            .as_deref()
            .is_some_and(|g| same_name(g, &given))
    {
        return Err(mismatch("its surname or given name is not the head's"));
    }
    Ok(())
}

/// What the verification established.
struct Checked {
    signature: Vec<u8>,
    certificate: Vec<u8>,
    signing_time: Option<NaiveDateTime>,
    describe: String,
    serial: String,
    has_timestamp: bool,
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
        let checked = self
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
                let der =
                    cms::decode_signature_input(&signature).map_err(|e| crypto_refusal(&n2, e))?;
                let v = cms::verify_detached(&der, &document, &[])
                    .map_err(|e| crypto_refusal(&n2, e))?;
                let now_utc: DateTime<Utc> = now.and_utc();
                let at = v.signing_time.unwrap_or(now_utc);
                if at > now_utc + SIGNING_TIME_SKEW {
                    return Err(refused(
                        "SIGNING_TIME_IN_FUTURE",
                        &n2,
                        format!("the signing time {at} is in the future"),
                    ));
                }
                v.signer
                    .check_signing_usage()
                    .map_err(|e| crypto_refusal(&n2, e))?;
                trust
                    .verify_chain(&v.signer, &v.certificates, at)
                    .map_err(|e| crypto_refusal(&n2, e))?;
                match_signer(&n2, &v.signer, &org.ogrn, &org.inn, &head)?;
                Ok(Checked {
                    signature: der,
                    certificate: v.signer.der().to_vec(),
                    signing_time: v.signing_time.map(|t| t.naive_utc()),
                    describe: v.signer.describe(),
                    serial: v.signer.serial_hex(),
                    has_timestamp: v.has_timestamp,
                })
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
                let allowed = authz::draft_power_of_attorney(&caller, &org)?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("power of attorney"));
                }
                let p = storage::poa::sign(
                    c,
                    &current,
                    &checked.signature,
                    &checked.certificate,
                    checked.signing_time,
                    now,
                )?
                .ok_or_else(|| ServiceError::stale_etag("power of attorney"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "poa.sign",
                        target_type: "power_of_attorney",
                        target_id: p.number.clone(),
                        details: serde_json::json!({
                            "signer": checked.describe, "certificate_serial": checked.serial,
                            "signing_time": checked.signing_time.map(|t| t.to_string()),
                            "cades_t": checked.has_timestamp,
                            "signature_streebog256": hex::encode(
                                crate::crypto::streebog::streebog256(&checked.signature)),
                        }),
                    },
                    now,
                )?;
                Ok((p, now))
            })
            .await?;
        Ok(self.poa_view(poa, now.date()))
    }
}
