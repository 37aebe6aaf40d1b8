//! The token exchange's vocabulary: why an exchange is refused (each refusal with ESIA's error
//! code, orgadm's finer reason and the HTTP class it answers with), the record of an issued
//! token, and the claims of an ESIA-shaped access token.

use chrono::NaiveDateTime;

use super::api_key::KeyRefusal;

/// How a refusal is answered (HTTP status, gRPC code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    /// 400 / INVALID_ARGUMENT: the request's parameters cannot be read.
    Malformed,
    /// 401 / UNAUTHENTICATED: the signature or its certificate is not acceptable.
    BadSignature,
    /// 403 / PERMISSION_DENIED: the key exists but may not be used now.
    KeyNotUsable,
    /// 404 / NOT_FOUND: no such key (or its organisation / holder).
    NotFound,
}

/// Why an exchange was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The API-KEY in the request is not a UUID.
    MalformedKey,
    /// The signature parameter is missing, not base64 or not a CMS message.
    MalformedSignature,
    /// The CMS signature does not verify over the key (tampered, or over other content).
    SignatureInvalid,
    /// An attached signature whose content is not the key in the request.
    SignedKeyMismatch,
    /// No signingTime in the signed attributes.
    SigningTimeMissing,
    /// Signed more than the allowed age (24 h) before the call.
    SignatureTooOld,
    /// signingTime in the future beyond the allowed skew.
    SigningTimeInFuture,
    CertificateUntrusted,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    CertificateKeyUsage,
    /// A certificate naming no organisation (private person, individual entrepreneur, none).
    CertificateNotOrganization,
    /// An employee certificate while the policy accepts only impersonal ones.
    EmployeeCertificateNotAccepted,
    /// The certificate's OGRN / INNLE is not the key's organisation's.
    CertificateOtherOrganization,
    /// An employee certificate whose SNILS is not the key holder's.
    CertificateNotHolder,
    OrganizationNotFound,
    HolderNotFound,
    Key(KeyRefusal),
}

impl Refusal {
    /// ESIA's code (DESIGN.md §1).
    pub fn esia_code(self) -> &'static str {
        match self {
            Self::MalformedKey | Self::MalformedSignature => "ESIA-020000",
            Self::OrganizationNotFound => "ESIA-038000",
            Self::HolderNotFound => "ESIA-037219",
            Self::Key(k) => k.esia_code(),
            _ => "ESIA-005002",
        }
    }

    /// orgadm's own reason, finer than ESIA's code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MalformedKey => "API_KEY_MALFORMED",
            Self::MalformedSignature => "SIGNATURE_MALFORMED",
            Self::SignatureInvalid => "SIGNATURE_INVALID",
            Self::SignedKeyMismatch => "SIGNED_KEY_MISMATCH",
            Self::SigningTimeMissing => "SIGNING_TIME_MISSING",
            Self::SignatureTooOld => "SIGNATURE_TOO_OLD",
            Self::SigningTimeInFuture => "SIGNING_TIME_IN_FUTURE",
            Self::CertificateUntrusted => "CERTIFICATE_UNTRUSTED",
            Self::CertificateExpired => "CERTIFICATE_EXPIRED",
            Self::CertificateNotYetValid => "CERTIFICATE_NOT_YET_VALID",
            Self::CertificateRevoked => "CERTIFICATE_REVOKED",
            Self::CertificateKeyUsage => "CERTIFICATE_KEY_USAGE",
            Self::CertificateNotOrganization => "CERTIFICATE_NOT_ORGANIZATION",
            Self::EmployeeCertificateNotAccepted => "EMPLOYEE_CERTIFICATE_NOT_ACCEPTED",
            Self::CertificateOtherOrganization => "CERTIFICATE_OTHER_ORGANIZATION",
            Self::CertificateNotHolder => "CERTIFICATE_NOT_HOLDER",
            Self::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            Self::HolderNotFound => "HOLDER_NOT_FOUND",
            Self::Key(k) => k.reason(),
        }
    }

    pub fn class(self) -> RefusalClass {
        match self {
            Self::MalformedKey | Self::MalformedSignature => RefusalClass::Malformed,
            Self::OrganizationNotFound | Self::HolderNotFound => RefusalClass::NotFound,
            Self::Key(KeyRefusal::NotFound | KeyRefusal::Deleted) => RefusalClass::NotFound,
            Self::Key(_) => RefusalClass::KeyNotUsable,
            _ => RefusalClass::BadSignature,
        }
    }

    /// The message sent to the caller (the recorded detail may say more).
    pub fn message(self) -> &'static str {
        match self {
            Self::MalformedKey => "the API-KEY in the request is not a UUID",
            Self::MalformedSignature => {
                "the signature parameter is not a CMS (PKCS#7) message in base64 or base64url"
            }
            Self::SignatureInvalid => "the signature does not verify over the API-KEY",
            Self::SignedKeyMismatch => "the signed API-KEY is not the API-KEY in the request",
            Self::SigningTimeMissing => "the signature has no signing time (signingTime)",
            Self::SignatureTooOld => "the signature was made too long before the request",
            Self::SigningTimeInFuture => "the signature's signing time is in the future",
            Self::CertificateUntrusted => {
                "the signer's certificate does not chain to a trusted certification authority"
            }
            Self::CertificateExpired => "the signer's certificate has expired",
            Self::CertificateNotYetValid => "the signer's certificate is not valid yet",
            Self::CertificateRevoked => "the signer's certificate is revoked",
            Self::CertificateKeyUsage => "the signer's certificate may not be used for signing",
            Self::CertificateNotOrganization => {
                "the signer's certificate names no organisation (OGRN, INNLE)"
            }
            Self::EmployeeCertificateNotAccepted => {
                "only the organisation's impersonal certificate is accepted"
            }
            Self::CertificateOtherOrganization => {
                "the signer's certificate is not of the API-KEY's organisation"
            }
            Self::CertificateNotHolder => {
                "the signer's certificate is not the API-KEY holder's (SNILS differs)"
            }
            Self::OrganizationNotFound => "the API-KEY's organisation was not found",
            Self::HolderNotFound => "the API-KEY's holder was not found",
            Self::Key(k) => k.message(),
        }
    }
}

/// A refused exchange: what, and the full reason for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefusal {
    pub refusal: Refusal,
    /// The full reason (never the key itself).
    pub detail: String,
}

impl TokenRefusal {
    pub fn new(refusal: Refusal, detail: impl Into<String>) -> Self {
        Self {
            refusal,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.refusal.esia_code(),
            self.refusal.reason(),
            self.detail
        )
    }
}

/// The record of an issued token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    pub sid: String,
    pub key_id: String,
    pub client_id: String,
    pub organization_oid: i64,
    pub holder_oid: i64,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub client_addr: String,
    pub signer_serial: String,
    pub signer_thumbprint: String,
    pub signer_kind: String,
    pub signing_time: NaiveDateTime,
}

/// A refusal as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub key_id: Option<String>,
    pub organization_oid: Option<i64>,
    pub esia_code: String,
    pub reason: String,
    pub detail: String,
    pub client_addr: String,
    pub signer_serial: Option<String>,
}

/// ESIA's access-token header members besides `alg` (which follows the key).
pub fn esia_header() -> serde_json::Value {
    serde_json::json!({"ver": 1, "typ": "JWT", "sbt": "access"})
}

/// The organisation scope ESIA appends to a token's scopes.
pub fn org_scope(org_oid: i64) -> String {
    format!("http://esia.gosuslugi.ru/org_inf?org_oid={org_oid}")
}

/// Checks an ESIA-shaped access token's header and claims after its signature verified:
/// `typ` JWT, `sbt` access, `ver` 1, `iss` (when one is expected), `iat` not after `now`
/// (60 s of skew), `exp` after `now`, and `client_id`, `urn:esia:sid`, `urn:esia:sbj_id`
/// present. Returns a stable reason and a message otherwise.
pub fn check_esia_token(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    now: i64,
    issuer: Option<&str>,
) -> Result<(), (&'static str, String)> {
    use serde_json::Value;
    let h = |k: &str| header.get(k);
    if h("typ").and_then(Value::as_str) != Some("JWT") {
        return Err(("WRONG_TYPE", "the header's typ is not JWT".into()));
    }
    if h("sbt").and_then(Value::as_str) != Some("access") {
        return Err(("WRONG_TYPE", "the header's sbt is not access".into()));
    }
    if h("ver").and_then(Value::as_i64) != Some(1) {
        return Err(("WRONG_TYPE", "the header's ver is not 1".into()));
    }
    if let Some(want) = issuer {
        let got = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if got != want {
            return Err((
                "WRONG_ISSUER",
                format!("the token was issued by {got:?}, not {want:?}"),
            ));
        }
    }
    for c in ["client_id", "urn:esia:sid"] {
        if claims
            .get(c)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(("MISSING_CLAIM", format!("the token has no {c}")));
        }
    }
    if claims
        .get("urn:esia:sbj_id")
        .and_then(Value::as_i64)
        .is_none()
    {
        return Err((
            "MISSING_CLAIM",
            "the token has no numeric urn:esia:sbj_id".into(),
        ));
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err((
            "MISSING_CLAIM",
            "the token has no numeric iat and exp".into(),
        ));
    };
    if iat > now + 60 {
        return Err((
            "NOT_YET_VALID",
            format!("issued at {iat}, after now ({now})"),
        ));
    }
    if now >= exp {
        return Err(("EXPIRED", format!("expired at {exp}, now is {now}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_classes() {
        assert_eq!(Refusal::MalformedSignature.esia_code(), "ESIA-020000");
        assert_eq!(Refusal::MalformedSignature.class(), RefusalClass::Malformed);
        assert_eq!(Refusal::CertificateRevoked.esia_code(), "ESIA-005002");
        assert_eq!(
            Refusal::CertificateRevoked.class(),
            RefusalClass::BadSignature
        );
        assert_eq!(Refusal::Key(KeyRefusal::Blocked).esia_code(), "ESIA-037214");
        assert_eq!(
            Refusal::Key(KeyRefusal::Blocked).class(),
            RefusalClass::KeyNotUsable
        );
        assert_eq!(
            Refusal::Key(KeyRefusal::NotFound).class(),
            RefusalClass::NotFound
        );
        assert_eq!(Refusal::OrganizationNotFound.esia_code(), "ESIA-038000");
        assert_eq!(org_scope(7), "http://esia.gosuslugi.ru/org_inf?org_oid=7");
    }
}
