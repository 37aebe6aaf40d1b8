//! The signature half of the token exchange, without the database: the CMS signature over the
//! API-KEY, its signing time, the signer's chain, and what kind of certificate signed. Runs on
//! a blocking thread (one GOST verification per certificate in the path plus the message).

use chrono::{DateTime, Duration, Utc};

use crate::crypto::CryptoError;
use crate::crypto::cert::{Certificate, CertificateKind};
use crate::crypto::cms::{self, SignedData};
use crate::crypto::trust::TrustStore;
use crate::domain::token::{Refusal, TokenRefusal};

/// A signature that verified, signed in time by a trusted, valid, unrevoked certificate naming
/// an organisation.
#[derive(Debug, Clone)]
pub struct VerifiedSigner {
    pub cert: Certificate,
    pub kind: CertificateKind,
    pub signing_time: DateTime<Utc>,
}

impl VerifiedSigner {
    /// Streebog-256 of the certificate's DER, hex.
    pub fn thumbprint(&self) -> String {
        hex::encode(crate::crypto::streebog::streebog256(self.cert.der()))
    }
}

/// Successful chain checks, remembered for a short while: a signer's chain (two more GOST
/// verifications and the CRL look-ups) does not change between its exchanges, and the trust
/// store is fixed for the life of the process. An entry is keyed by the exact DER of the signer
/// and of the certificates embedded in the message, holds the window in which every certificate
/// of its path is valid, and expires after `CHAIN_CACHE_TTL` (so a CRL entry dated in the future
/// takes effect within that time). Failures are never cached.
#[derive(Debug, Default)]
pub struct ChainCache {
    entries: std::sync::Mutex<std::collections::HashMap<Vec<u8>, ChainEntry>>,
}

#[derive(Debug, Clone, Copy)]
struct ChainEntry {
    checked_at: DateTime<Utc>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

/// How long a successful chain check is reused.
pub const CHAIN_CACHE_TTL: Duration = Duration::minutes(5);
const CHAIN_CACHE_MAX: usize = 10_000;

impl ChainCache {
    fn key(signer: &Certificate, embedded: &[Certificate]) -> Vec<u8> {
        let mut k = Vec::with_capacity(4096);
        for c in std::iter::once(signer).chain(embedded) {
            k.extend_from_slice(&(c.der().len() as u32).to_be_bytes());
            k.extend_from_slice(c.der());
        }
        k
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Vec<u8>, ChainEntry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `trust.verify_chain`, or a recent success for the same certificates.
    pub fn verify(
        &self,
        trust: &TrustStore,
        signer: &Certificate,
        embedded: &[Certificate],
        now: DateTime<Utc>,
    ) -> Result<(), CryptoError> {
        let key = Self::key(signer, embedded);
        if let Some(e) = self.lock().get(&key)
            && now >= e.checked_at
            && now < e.checked_at + CHAIN_CACHE_TTL
            && now >= e.not_before
            && now <= e.not_after
        {
            return Ok(());
        }
        let path = trust.verify_chain(signer, embedded, now)?;
        let entry = ChainEntry {
            checked_at: now,
            not_before: path
                .iter()
                .map(Certificate::not_before)
                .max()
                .unwrap_or(now),
            not_after: path.iter().map(Certificate::not_after).min().unwrap_or(now),
        };
        let mut m = self.lock();
        if m.len() >= CHAIN_CACHE_MAX {
            m.clear();
        }
        m.insert(key, entry);
        Ok(())
    }
}

/// The time window a signature must have been made in.
#[derive(Debug, Clone, Copy)]
pub struct SigningWindow {
    pub max_age: Duration,
    pub future_skew: Duration,
}

fn refuse(r: Refusal, detail: impl Into<String>) -> TokenRefusal {
    TokenRefusal::new(r, detail)
}

fn chain_refusal(e: CryptoError) -> TokenRefusal {
    let r = match &e {
        CryptoError::Expired(_) => Refusal::CertificateExpired,
        CryptoError::NotYetValid(_) => Refusal::CertificateNotYetValid,
        CryptoError::Revoked(_) => Refusal::CertificateRevoked,
        CryptoError::KeyUsage(_) => Refusal::CertificateKeyUsage,
        CryptoError::Malformed(_) | CryptoError::BadSignature(_) | CryptoError::Untrusted(_) => {
            Refusal::CertificateUntrusted
        }
    };
    refuse(r, e.to_string())
}

/// Decodes the `signature` parameter (DER; base64 or base64url, padded or not, percent-encoded
/// or not) into DER.
pub fn decode(signature: &[u8]) -> Result<Vec<u8>, TokenRefusal> {
    if signature.is_empty() {
        return Err(refuse(
            Refusal::MalformedSignature,
            "the signature parameter is empty",
        ));
    }
    cms::decode_signature_input(signature)
        .map_err(|e| refuse(Refusal::MalformedSignature, e.to_string()))
}

/// Checks the CMS signature `der` over the API-KEY. `presented` is the key as it came in the
/// request, `canonical` its lower-case form: a detached signature must verify over either's
/// UTF-8 bytes; an attached one must carry one of them as its content.
pub fn verify(
    der: &[u8],
    presented: &str,
    canonical: &str,
    trust: &TrustStore,
    chains: &ChainCache,
    now: DateTime<Utc>,
    window: SigningWindow,
) -> Result<VerifiedSigner, TokenRefusal> {
    let sd = SignedData::from_der(der)
        .map_err(|e| refuse(Refusal::MalformedSignature, e.to_string()))?;
    let crypto_refusal = |e: CryptoError| match e {
        CryptoError::Malformed(m) => refuse(Refusal::MalformedSignature, m),
        CryptoError::Untrusted(m) => refuse(Refusal::CertificateUntrusted, m),
        CryptoError::KeyUsage(m) => refuse(Refusal::CertificateKeyUsage, m),
        other => refuse(Refusal::SignatureInvalid, other.to_string()),
    };
    let v = match &sd.content {
        Some(content) => {
            let c = content.as_slice();
            let trimmed = std::str::from_utf8(c).map(str::trim).ok();
            if trimmed != Some(presented.trim()) && trimmed != Some(canonical) {
                return Err(refuse(
                    Refusal::SignedKeyMismatch,
                    format!(
                        "the attached signature carries {} bytes that are not the API-KEY of the request",
                        c.len()
                    ),
                ));
            }
            cms::verify_attached(der, &[]).map_err(crypto_refusal)?
        }
        None => match cms::verify_detached(der, presented.as_bytes(), &[]) {
            Ok(v) => v,
            Err(first) if presented != canonical => {
                cms::verify_detached(der, canonical.as_bytes(), &[])
                    .map_err(|_| crypto_refusal(first))?
            }
            Err(e) => return Err(crypto_refusal(e)),
        },
    };
    let signing_time = v.signing_time.ok_or_else(|| {
        refuse(
            Refusal::SigningTimeMissing,
            "the signed attributes carry no signingTime",
        )
    })?;
    if signing_time < now - window.max_age {
        return Err(refuse(
            Refusal::SignatureTooOld,
            format!(
                "signed at {}, more than {} s before the request at {}",
                signing_time.to_rfc3339(),
                window.max_age.num_seconds(),
                now.to_rfc3339()
            ),
        ));
    }
    if signing_time > now + window.future_skew {
        return Err(refuse(
            Refusal::SigningTimeInFuture,
            format!(
                "signed at {}, after the request at {} (allowed skew {} s)",
                signing_time.to_rfc3339(),
                now.to_rfc3339(),
                window.future_skew.num_seconds()
            ),
        ));
    }
    chains
        .verify(trust, &v.signer, &v.certificates, now)
        .map_err(chain_refusal)?;
    let kind = v.signer.kind();
    match kind {
        CertificateKind::Organization | CertificateKind::Employee => {}
        other => {
            return Err(refuse(
                Refusal::CertificateNotOrganization,
                format!(
                    "the certificate {} is of a {}, not of an organisation",
                    v.signer.describe(),
                    other.as_str()
                ),
            ));
        }
    }
    Ok(VerifiedSigner {
        cert: v.signer,
        kind,
        signing_time,
    })
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Matches the signer with the key's organisation (OGRN, INN) and holder (SNILS): the
/// organisation's impersonal certificate, or — when `accept_employee` — the holder's own
/// employee certificate of that organisation.
pub fn match_subject(
    signer: &VerifiedSigner,
    ogrn: &str,
    inn: &str,
    holder_snils: Option<&str>,
    accept_employee: bool,
) -> Result<(), TokenRefusal> {
    let q = signer.cert.qualified_attributes();
    let who = signer.cert.describe();
    if signer.kind == CertificateKind::Employee && !accept_employee {
        return Err(refuse(
            Refusal::EmployeeCertificateNotAccepted,
            format!(
                "{who} is an employee's certificate; the policy accepts only the organisation's impersonal certificate"
            ),
        ));
    }
    let ogrn_ok = q.ogrn.as_deref().is_none_or(|o| digits(o) == ogrn);
    let inn_ok = q.innle.as_deref().is_none_or(|i| digits(i) == inn);
    if !ogrn_ok || !inn_ok || (q.ogrn.is_none() && q.innle.is_none()) {
        return Err(refuse(
            Refusal::CertificateOtherOrganization,
            format!(
                "{who} names OGRN {} / INNLE {}, the key's organisation is OGRN {ogrn} / INN {inn}",
                q.ogrn.as_deref().unwrap_or("-"),
                q.innle.as_deref().unwrap_or("-"),
            ),
        ));
    }
    if signer.kind == CertificateKind::Employee {
        let cert_snils = q.snils.as_deref().map(digits);
        let holder = holder_snils.map(digits);
        if cert_snils.is_none() || cert_snils != holder {
            return Err(refuse(
                Refusal::CertificateNotHolder,
                format!("{who} is an employee certificate whose SNILS is not the key holder's"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str) -> VerifiedSigner {
        let pem = std::fs::read_to_string(format!(
            "{}/tests/fixtures/pki/{name}.cert.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let cert = Certificate::from_pem(&pem).unwrap();
        VerifiedSigner {
            kind: cert.kind(),
            cert,
            signing_time: DateTime::<Utc>::default(),
        }
    }

    const OGRN: &str = "1037800000017";
    const INN: &str = "7810010017";

    #[test]
    fn impersonal_or_the_holders_own_certificate() {
        let holder = Some("98765432183");
        assert!(match_subject(&signer("impersonal"), OGRN, INN, holder, true).is_ok());
        assert!(match_subject(&signer("impersonal"), OGRN, INN, None, false).is_ok());
        assert!(match_subject(&signer("employee"), OGRN, INN, holder, true).is_ok());
        let r = |name, snils, accept| {
            match_subject(&signer(name), OGRN, INN, snils, accept)
                .unwrap_err()
                .refusal
        };
        // The policy: only the impersonal certificate.
        assert_eq!(
            r("employee", holder, false),
            Refusal::EmployeeCertificateNotAccepted
        );
        assert_eq!(r("head", holder, true), Refusal::CertificateNotHolder);
        assert_eq!(r("employee", None, true), Refusal::CertificateNotHolder);
        assert_eq!(
            r("vendor_head", holder, true),
            Refusal::CertificateOtherOrganization
        );
        assert_eq!(
            match_subject(
                &signer("impersonal"),
                "1207700000012",
                "7701000019",
                holder,
                true
            )
            .unwrap_err()
            .refusal,
            Refusal::CertificateOtherOrganization
        );
    }
}
