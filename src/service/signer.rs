//! The one check of a qualified signature used by every signed use case (signing and revoking a
//! power of attorney, importing one, registering an organisation): a detached CMS signature over
//! exact bytes is verified with the `crypto` leaf (signature, chain to the trust anchors with
//! CRLs, validity at the signing time — or now —, key usage), then its qualified certificate is
//! matched field by field with the organisation and the person the document names. Pure CPU
//! work: callers run it on a blocking thread outside write transactions.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use crate::crypto::cert::Certificate;
use crate::crypto::trust::TrustStore;
use crate::crypto::{CryptoError, cms};

/// How far in the future a signing time may be (clocks differ).
pub const SIGNING_TIME_SKEW: Duration = Duration::minutes(5);

/// Who must have signed: an employee certificate naming this organisation and this person.
#[derive(Debug, Clone)]
pub struct ExpectedSigner {
    pub ogrn: String,
    /// The organisation's INN (the certificate's INNLE).
    pub innle: String,
    /// 11 digits (any punctuation is ignored).
    pub snils: String,
    /// The personal INN, compared when both sides have one.
    pub inn: Option<String>,
    pub surname: String,
    /// Given name with the patronymic, as certificates write it (`Пётр Петрович`).
    pub given_name: String,
}

impl ExpectedSigner {
    pub fn new(
        ogrn: &str,
        innle: &str,
        snils: &str,
        inn: Option<&str>,
        surname: &str,
        given_name: &str,
        patronymic: Option<&str>,
    ) -> Self {
        Self {
            ogrn: ogrn.to_owned(),
            innle: innle.to_owned(),
            snils: digits(snils),
            inn: inn.map(str::to_owned),
            surname: surname.to_owned(),
            given_name: match patronymic {
                Some(p) => format!("{given_name} {p}"),
                None => given_name.to_owned(),
            },
        }
    }
}

/// At what time the certificate must be valid.
#[derive(Debug, Clone, Copy)]
pub enum ValidAt {
    /// At the signature's signing time (now, when it has none): signed documents.
    SigningTime,
    /// Now: requests acted upon at once (registration).
    Now,
}

/// Why a signature was not accepted: a stable reason and a message naming the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `SIGNATURE_MALFORMED` (undecodable input), `SIGNATURE_INVALID`, `CERTIFICATE_UNTRUSTED`,
    /// `CERTIFICATE_NOT_VALID`, `CERTIFICATE_REVOKED`, `CERTIFICATE_KEY_USAGE`,
    /// `SIGNING_TIME_IN_FUTURE`, `SIGNER_MISMATCH`.
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }

    /// Undecodable input rather than a failed check.
    pub fn is_malformed(&self) -> bool {
        self.reason == "SIGNATURE_MALFORMED"
    }

    /// The issuer is unknown: the signature cannot be validated here.
    pub fn is_untrusted(&self) -> bool {
        self.reason == "CERTIFICATE_UNTRUSTED"
    }
}

impl From<CryptoError> for Refusal {
    fn from(e: CryptoError) -> Self {
        let reason = match &e {
            CryptoError::Malformed(_) => "SIGNATURE_MALFORMED",
            CryptoError::BadSignature(_) => "SIGNATURE_INVALID",
            CryptoError::Untrusted(_) => "CERTIFICATE_UNTRUSTED",
            CryptoError::Expired(_) | CryptoError::NotYetValid(_) => "CERTIFICATE_NOT_VALID",
            CryptoError::Revoked(_) => "CERTIFICATE_REVOKED",
            CryptoError::KeyUsage(_) => "CERTIFICATE_KEY_USAGE",
        };
        Refusal::new(reason, e.to_string())
    }
}

/// What the verification established.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The signature as DER (base64 input decoded), stored unchanged from here on.
    pub signature: Vec<u8>,
    pub certificate: Vec<u8>,
    pub signing_time: Option<NaiveDateTime>,
    pub describe: String,
    pub serial: String,
    pub has_timestamp: bool,
}

impl Checked {
    /// The audit details every signed use case records.
    pub fn audit_details(&self) -> serde_json::Value {
        serde_json::json!({
            "signer": self.describe, "certificate_serial": self.serial,
            "signing_time": self.signing_time.map(|t| t.to_string()),
            "cades_t": self.has_timestamp,
            "signature_streebog256": hex::encode(
                crate::crypto::streebog::streebog256(&self.signature)),
        })
    }
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

/// The signer must be the expected person of the expected organisation: OGRN and INNLE, SNILS
/// (as digits), personal INN (when both have one), surname and given name (with patronymic;
/// without case, ё = е).
pub fn match_signer(cert: &Certificate, e: &ExpectedSigner) -> Result<(), Refusal> {
    let q = cert.qualified_attributes();
    let mismatch = |what: &str| {
        Refusal::new(
            "SIGNER_MISMATCH",
            format!(
                "the signer's certificate ({}) does not match the document: {what}",
                cert.describe()
            ),
        )
    };
    if q.ogrn.as_deref() != Some(e.ogrn.as_str()) {
        return Err(mismatch("its OGRN is not the principal's"));
    }
    if q.innle.as_deref() != Some(e.innle.as_str()) {
        return Err(mismatch("its INNLE is not the principal's INN"));
    }
    if q.snils.as_deref().map(digits).as_deref() != Some(e.snils.as_str()) || e.snils.is_empty() {
        return Err(mismatch("its SNILS is not the head's"));
    }
    if let (Some(a), Some(b)) = (q.inn.as_deref(), e.inn.as_deref())
        && a != b
    {
        return Err(mismatch("its personal INN is not the head's"));
    }
    if !q
        .surname
        .as_deref()
        .is_some_and(|s| same_name(s, &e.surname))
        || !q
            .given_name
            .as_deref()
            .is_some_and(|g| same_name(g, &e.given_name))
    {
        return Err(mismatch("its surname or given name is not the head's"));
    }
    Ok(())
}

/// Verifies a detached CMS signature (DER, or base64 / base64url of DER) over `content` and
/// matches its signer with `expected`.
pub fn verify(
    trust: &TrustStore,
    now: NaiveDateTime,
    signature: &[u8],
    content: &[u8],
    expected: &ExpectedSigner,
    valid_at: ValidAt,
) -> Result<Checked, Refusal> {
    let der = cms::decode_signature_input(signature)?;
    let v = cms::verify_detached(&der, content, &[])?;
    let now_utc: DateTime<Utc> = now.and_utc();
    let at = match valid_at {
        ValidAt::SigningTime => v.signing_time.unwrap_or(now_utc),
        ValidAt::Now => now_utc,
    };
    if let Some(t) = v.signing_time
        && t > now_utc + SIGNING_TIME_SKEW
    {
        return Err(Refusal::new(
            "SIGNING_TIME_IN_FUTURE",
            format!("the signing time {t} is in the future"),
        ));
    }
    v.signer.check_signing_usage()?;
    trust.verify_chain(&v.signer, &v.certificates, at)?;
    match_signer(&v.signer, expected)?;
    Ok(Checked {
        signature: der,
        certificate: v.signer.der().to_vec(),
        signing_time: v.signing_time.map(|t| t.naive_utc()),
        describe: v.signer.describe(),
        serial: v.signer.serial_hex(),
        has_timestamp: v.has_timestamp,
    })
}
