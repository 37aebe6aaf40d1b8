//! Registration of a legal entity by its head with a КЭП (`RegisterWithSignature`): the head,
//! a confirmed person acting through a portal, signs orgadm's registration statement
//! (`domain::organization::parse_registration`) with a detached CMS signature. The certificate
//! must chain to the trust anchors and be valid now, allow signing, and name the statement's
//! OGRN and INNLE and the caller (SNILS, personal INN, names) — the same check as every signed
//! use case (`service::signer`). Then the organisation is created exactly as the operator's path
//! creates it (`organizations::create_organization`), the caller its head, the statement and
//! signature kept unchanged, in one write transaction with the audit event.

use crate::domain::caller::Caller;
use crate::domain::organization::{Organization, parse_registration};

use super::error::ServiceError;
use super::organizations::{Creation, SignedRegistration, check_head, create_organization};
use super::signer::{self, ExpectedSigner, ValidAt};
use super::{Core, authz};

#[derive(Debug, Clone)]
pub struct RegisterWithSignature {
    pub request_id: Option<String>,
    pub statement: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Core {
    pub async fn register_with_signature(
        &self,
        caller: &Caller,
        cmd: RegisterWithSignature,
    ) -> Result<Organization, ServiceError> {
        let (allowed, person) = authz::register_organization_signed(caller)?;
        let st = parse_registration(&cmd.statement, person)?;
        if cmd.signature.is_empty() {
            return Err(ServiceError::invalid("signature", "is required"));
        }
        let trust = self.trust.clone().ok_or_else(|| {
            ServiceError::precondition(
                "NO_TRUST_ANCHORS",
                "service",
                "this service has no trust anchors configured (serve --trust-dir), so it accepts no signature",
            )
        })?;
        let now = self.clock.now();
        let subject = format!("person/{person}");
        // The statement's bytes identify the request (a retry sends the same bytes).
        let fp = crate::crypto::streebog::streebog256(&cmd.statement).to_vec();
        let statement = cmd.statement.clone();
        let request_id = cmd.request_id.clone();
        // Verify outside the write transaction (CPU work).
        let (st, checked) = self
            .db
            .read(move |c| {
                let head = check_head(c, person)?;
                let caller_snils: Option<String> = head
                    .snils
                    .as_deref()
                    .map(|s| s.chars().filter(char::is_ascii_digit).collect());
                if caller_snils.as_deref() != Some(st.head_snils.as_str()) {
                    return Err(ServiceError::precondition(
                        "HEAD_NOT_CALLER",
                        subject,
                        "the statement's head_snils is not the SNILS of the person registering",
                    ));
                }
                let expected = ExpectedSigner::new(
                    &st.org.ogrn,
                    &st.org.inn,
                    &st.head_snils,
                    head.inn.as_deref(),
                    &head.surname,
                    &head.given_name,
                    head.patronymic.as_deref(),
                );
                let checked = signer::verify(
                    &trust,
                    now,
                    &cmd.signature,
                    &cmd.statement,
                    &expected,
                    ValidAt::Now,
                )
                .map_err(|r| {
                    if r.is_malformed() {
                        ServiceError::invalid(
                            "signature",
                            format!("is not a CMS signature: {}", r.message),
                        )
                    } else {
                        ServiceError::precondition(r.reason, subject.clone(), r.message)
                    }
                })?;
                Ok((st, checked))
            })
            .await?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                create_organization(
                    c,
                    &allowed,
                    &caller,
                    Creation {
                        op: "organization.register_signed",
                        request_id: request_id.as_deref(),
                        fingerprint: &fp,
                        org: &st.org,
                        signed: Some(SignedRegistration {
                            statement: &statement,
                            checked: &checked,
                        }),
                    },
                    now,
                )
            })
            .await
    }
}
