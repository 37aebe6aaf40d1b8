//! The token exchange (ESIA «Методические рекомендации» А.12): a signed API-KEY for an
//! ESIA-shaped access token, and the verification of such tokens for resource servers.
//!
//! One exchange: rate limits (in memory) → the signature checked on a blocking thread
//! (`token_check`: CMS over the key, signing time, chain, certificate kind) → the key's
//! validity (`Core::check_api_key`, one query) and its organisation and holder → the signer
//! matched with them → the JWT signed with the service key → the issuance row and its
//! `token.issue` audit event written in one transaction → the token returned. Every refusal is
//! written to `token_refusals` with its ESIA code and full reason (rate-limited requests are
//! only counted, so a flood cannot make the service write).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::crypto::cert::{Certificate, CertificateKind};
use crate::domain::api_key::{self, KeyFacts, KeyRefusal};
use crate::domain::caller::{Caller, Role};
use crate::domain::token::{
    Issuance, Refusal, RefusalRecord, TokenRefusal, esia_header, org_scope,
};
use crate::storage;

use super::audit_log::{self, EventSpec};
use super::authz;
use super::error::ServiceError;
use super::metrics::ExchangeOutcome;
use super::token_check::{self, SigningWindow, VerifiedSigner};
use super::{Core, random_bytes};

/// Token settings (`serve --token-…`).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The `iss` claim.
    pub issuer: String,
    /// API scopes every token carries, before the organisation scope.
    pub scopes: Vec<String>,
    pub lifetime: Duration,
    /// Whether an employee certificate of the key's organisation (with the holder's SNILS) may
    /// sign the key, besides the organisation's impersonal certificate. ESIA accepts only the
    /// impersonal one since 2024-09-01; orgadm accepts both unless told otherwise.
    pub accept_employee_certificates: bool,
    /// How long before the request the key may have been signed (24 h).
    pub max_signature_age: Duration,
    /// How far in the future a signing time may be (clock skew).
    pub future_skew: Duration,
    /// Earlier signing certificates still published and accepted by VerifyToken (rotation).
    pub previous_certificates: Vec<Certificate>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: format!("{}/", super::DEFAULT_PUBLIC_BASE_URL),
            scopes: Vec::new(),
            lifetime: Duration::seconds(86_400),
            accept_employee_certificates: true,
            max_signature_age: Duration::hours(24),
            future_skew: Duration::minutes(5),
            previous_certificates: Vec::new(),
        }
    }
}

/// Counters of the exchange, for metrics.
#[derive(Debug, Default)]
pub struct TokenStats {
    pub issued: AtomicU64,
    pub refused: AtomicU64,
    pub rate_limited: AtomicU64,
}

impl TokenStats {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.issued.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.rate_limited.load(Ordering::Relaxed),
        )
    }
}

/// One exchange request as the transports see it.
#[derive(Debug, Clone)]
pub struct ExchangeRequest {
    /// The API-KEY as presented (the secret: never logged nor stored).
    pub api_key: String,
    /// The `signature` parameter as received (raw, possibly percent-encoded) or DER.
    pub signature: Vec<u8>,
    /// The client's IP address.
    pub client_addr: String,
    pub request_id: String,
}

/// An issued token and its record.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub issuance: Issuance,
}

/// What VerifyToken found.
#[derive(Debug, Clone)]
pub struct TokenVerdict {
    /// None: valid. Otherwise a stable reason and a message.
    pub invalid: Option<(&'static str, String)>,
    /// ESIA's code when the key behind the token no longer works.
    pub esia_code: Option<&'static str>,
    pub header: Option<Value>,
    pub claims: Option<Value>,
    pub issuance: Option<Issuance>,
}

/// A refusal with what is known for the record.
struct Refused {
    refusal: TokenRefusal,
    key_id: Option<String>,
    organization_oid: Option<i64>,
    signer_serial: Option<String>,
}

impl From<TokenRefusal> for Refused {
    fn from(refusal: TokenRefusal) -> Self {
        Self {
            refusal,
            key_id: None,
            organization_oid: None,
            signer_serial: None,
        }
    }
}

enum Failure {
    Refused(Box<Refused>),
    Service(ServiceError),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

impl From<TokenRefusal> for Failure {
    fn from(r: TokenRefusal) -> Self {
        Self::Refused(Box::new(r.into()))
    }
}

/// The actor of token events: the public exchange, acting for no authenticated client.
fn exchange_caller(request_id: &str) -> Caller {
    Caller {
        client_id: "token-exchange".into(),
        client_name: "token-exchange".into(),
        // Not used by the audit writer; the exchange has no client role.
        role: Role::Portal,
        organization_oid: None,
        acting_person: None,
        request_id: request_id.to_owned(),
    }
}

fn new_uuid() -> Result<String, ServiceError> {
    Ok(uuid::Builder::from_random_bytes(random_bytes::<16>()?)
        .into_uuid()
        .hyphenated()
        .to_string())
}

fn kind_name(k: CertificateKind) -> &'static str {
    match k {
        CertificateKind::Organization => "organization",
        CertificateKind::Employee => "employee",
        _ => "other",
    }
}

impl Core {
    /// The service's signing certificates: the current one first, then earlier ones kept
    /// published during a rotation.
    pub fn token_certificates(&self) -> Vec<Certificate> {
        let mut v: Vec<Certificate> = self
            .signer
            .iter()
            .map(|s| s.certificate().clone())
            .collect();
        v.extend(self.tokens.previous_certificates.iter().cloned());
        v
    }

    /// Exchanges a signed API-KEY for an access token. Refusals are `ServiceError::TokenRefused`
    /// carrying ESIA's code, recorded before they are returned; rate limits are
    /// `ServiceError::RateLimited`.
    pub async fn exchange_api_key(
        &self,
        req: ExchangeRequest,
    ) -> Result<IssuedToken, ServiceError> {
        let r = self.exchange_uncounted(req).await;
        self.metrics.token_exchange(match &r {
            Ok(_) => ExchangeOutcome::Issued,
            Err(e) => ExchangeOutcome::of_error(e),
        });
        r
    }

    async fn exchange_uncounted(&self, req: ExchangeRequest) -> Result<IssuedToken, ServiceError> {
        let Some(signer) = self.signer.clone() else {
            return Err(ServiceError::NotConfigured(
                "token issuance is not configured: the service has no signing key (serve --signing-key --signing-cert)".into(),
            ));
        };
        let Some(trust) = self.trust.clone() else {
            return Err(ServiceError::NotConfigured(
                "token issuance is not configured: the service has no trust anchors (serve --trust-dir)".into(),
            ));
        };
        let now = self.clock.now();
        if let Err(l) = self.token_limits.check(&req.api_key, &req.client_addr, now) {
            self.token_stats
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            return Err(ServiceError::RateLimited {
                message: format!("too many token requests for this {}", l.what),
                retry_after: l.retry_after,
            });
        }
        match self.exchange_checked(&req, signer, trust, now).await {
            Ok(t) => {
                self.token_stats.issued.fetch_add(1, Ordering::Relaxed);
                Ok(t)
            }
            Err(Failure::Service(e)) => Err(e),
            Err(Failure::Refused(r)) => {
                self.token_stats.refused.fetch_add(1, Ordering::Relaxed);
                let record = RefusalRecord {
                    id: new_uuid()?,
                    occurred_at: now,
                    key_id: r.key_id.clone(),
                    organization_oid: r.organization_oid,
                    esia_code: r.refusal.refusal.esia_code().into(),
                    reason: r.refusal.refusal.reason().into(),
                    detail: r.refusal.detail.clone(),
                    client_addr: req.client_addr.clone(),
                    signer_serial: r.signer_serial.clone(),
                };
                tracing::info!(
                    esia_code = %record.esia_code,
                    reason = %record.reason,
                    key_id = ?record.key_id,
                    client = %record.client_addr,
                    "token exchange refused"
                );
                self.db
                    .write(move |c| Ok(storage::tokens::insert_refusal(c, &record)?))
                    .await?;
                Err(ServiceError::TokenRefused(r.refusal))
            }
        }
    }

    async fn exchange_checked(
        &self,
        req: &ExchangeRequest,
        signer: Arc<crate::crypto::service_key::ServiceSigner>,
        trust: Arc<crate::crypto::trust::TrustStore>,
        now: NaiveDateTime,
    ) -> Result<IssuedToken, Failure> {
        let Some(canonical) = api_key::parse_key(&req.api_key) else {
            return Err(TokenRefusal::new(
                Refusal::MalformedKey,
                format!(
                    "the API-KEY of {} characters is not a UUID",
                    req.api_key.chars().count()
                ),
            )
            .into());
        };
        let der = token_check::decode(&req.signature)?;
        let window = SigningWindow {
            max_age: self.tokens.max_signature_age,
            future_skew: self.tokens.future_skew,
        };
        let presented = req.api_key.clone();
        let canon = canonical.clone();
        let now_utc = now.and_utc();
        let chains = self.token_chains.clone();
        let verified: VerifiedSigner = tokio::task::spawn_blocking(move || {
            token_check::verify(&der, &presented, &canon, &trust, &chains, now_utc, window)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("signature check failed: {e}")))??;
        let serial = verified.cert.serial_hex();
        let with_signer = |r: TokenRefusal, facts: Option<&KeyFacts>| {
            Failure::Refused(Box::new(Refused {
                refusal: r,
                key_id: facts.map(|f| f.key.id.clone()),
                organization_oid: facts.map(|f| f.key.organization_oid),
                signer_serial: Some(serial.clone()),
            }))
        };
        // The key, its facts and its subject (organisation identifiers, holder's SNILS): one
        // statement and the power-of-attorney check, without a transaction.
        let (check, subject) = self.check_api_key_with_subject(&canonical).await?;
        let (facts, key_refusal) = match check {
            Ok(f) => (f, None),
            Err((r, Some(f))) => (f, Some(r)),
            Err((r, None)) => {
                return Err(with_signer(
                    TokenRefusal::new(Refusal::Key(r), "no API-KEY has this value"),
                    None,
                ));
            }
        };
        let (org, holder) = (facts.key.organization_oid, facts.key.holder_oid);
        let (org_ids, snils) = subject.unwrap_or_default();
        let Some((ogrn, inn)) = org_ids else {
            return Err(with_signer(
                TokenRefusal::new(
                    Refusal::OrganizationNotFound,
                    format!("organisation {org} not found"),
                ),
                Some(&facts),
            ));
        };
        let Some(snils) = snils else {
            return Err(with_signer(
                TokenRefusal::new(
                    Refusal::HolderNotFound,
                    format!("person {holder} not found"),
                ),
                Some(&facts),
            ));
        };
        token_check::match_subject(
            &verified,
            &ogrn,
            &inn,
            snils.as_deref(),
            self.tokens.accept_employee_certificates,
        )
        .map_err(|r| with_signer(r, Some(&facts)))?;
        if let Some(r) = key_refusal {
            return Err(with_signer(
                TokenRefusal::new(
                    Refusal::Key(r),
                    format!(
                        "API-KEY {} (prefix {}): {}",
                        facts.key.id,
                        facts.key.prefix,
                        r.message()
                    ),
                ),
                Some(&facts),
            ));
        }
        self.issue(req, &signer, &verified, &facts, now).await
    }

    async fn issue(
        &self,
        req: &ExchangeRequest,
        signer: &crate::crypto::service_key::ServiceSigner,
        verified: &VerifiedSigner,
        facts: &KeyFacts,
        now: NaiveDateTime,
    ) -> Result<IssuedToken, Failure> {
        let k = &facts.key;
        let sid = new_uuid()?;
        let expires = now + self.tokens.lifetime;
        let mut scopes = self.tokens.scopes.clone();
        scopes.push(org_scope(k.organization_oid));
        let claims = json!({
            "iss": self.tokens.issuer,
            "urn:esia:sid": sid,
            "urn:esia:sbj_id": k.holder_oid,
            "client_id": k.client_id,
            "scope": scopes.join(" "),
            "iat": now.and_utc().timestamp(),
            "exp": expires.and_utc().timestamp(),
        });
        let token = signer
            .sign_jwt(&esia_header(), &claims)
            .map_err(|e| ServiceError::Internal(format!("token signing failed: {e}")))?;
        let issuance = Issuance {
            sid,
            key_id: k.id.clone(),
            client_id: k.client_id.clone(),
            organization_oid: k.organization_oid,
            holder_oid: k.holder_oid,
            issued_at: now,
            expires_at: expires,
            client_addr: req.client_addr.clone(),
            signer_serial: verified.cert.serial_hex(),
            signer_thumbprint: verified.thumbprint(),
            signer_kind: kind_name(verified.kind).into(),
            signing_time: verified.signing_time.naive_utc(),
        };
        let rec = issuance.clone();
        let event = audit_log::event(
            &authz::signed_api_key(),
            &exchange_caller(&req.request_id),
            EventSpec {
                chain: rec.organization_oid,
                action: "token.issue",
                target_type: "api_key",
                target_id: rec.key_id.clone(),
                details: json!({
                    "sid": rec.sid,
                    "client_id": rec.client_id,
                    "holder_oid": rec.holder_oid,
                    "prefix": k.prefix,
                    "expires_at": rec.expires_at.and_utc().to_rfc3339(),
                    "client_addr": rec.client_addr,
                    "signer_serial": rec.signer_serial,
                    "signer_kind": rec.signer_kind,
                }),
            },
        );
        self.db
            .write_for(rec.organization_oid, move |c| {
                if storage::tokens::insert_issuance(c, &rec, &event, now)?.is_none() {
                    audit_log::append_event(c, &event, now)?;
                }
                Ok(())
            })
            .await?;
        self.record_key_use(&issuance.key_id);
        Ok(IssuedToken { token, issuance })
    }

    /// Verifies a token for a resource server: its signature with one of the service's signing
    /// certificates, its shape and times, and — by its sid, through the issuance log — whether
    /// the key it was issued for still works.
    pub async fn verify_token(&self, token: &str) -> Result<TokenVerdict, ServiceError> {
        let certs = self.token_certificates();
        if certs.is_empty() {
            return Err(ServiceError::NotConfigured(
                "tokens cannot be verified: the service has no signing certificate".into(),
            ));
        }
        let now = self.clock.now();
        let mut v = TokenVerdict {
            invalid: None,
            esia_code: None,
            header: None,
            claims: None,
            issuance: None,
        };
        let (header, claims) = match verify_with_any(token, &certs) {
            Ok(hc) => hc,
            Err(e) => {
                v.invalid = Some(e);
                return Ok(v);
            }
        };
        v.header = Some(header.clone());
        v.claims = Some(claims.clone());
        if let Err(e) = crate::domain::token::check_esia_token(
            &header,
            &claims,
            now.and_utc().timestamp(),
            Some(&self.tokens.issuer),
        ) {
            v.invalid = Some(e);
            return Ok(v);
        }
        let sid = claims
            .get("urn:esia:sid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let today = now.date();
        let found = self
            .db
            .read(move |c| {
                let Some(i) = storage::tokens::get_issuance(c, &sid)? else {
                    return Ok(None);
                };
                let f = storage::api_keys::facts_by_id(c, &i.key_id, today)?;
                Ok(Some((i, f)))
            })
            .await?;
        let Some((issuance, facts)) = found else {
            v.invalid = Some((
                "NOT_ISSUED_HERE",
                "no token with this sid was issued by this service".into(),
            ));
            return Ok(v);
        };
        v.issuance = Some(issuance);
        let verdict = match facts {
            None => Err(KeyRefusal::NotFound),
            Some(f) => f.verdict(now),
        };
        if let Err(r) = verdict {
            v.esia_code = Some(r.esia_code());
            v.invalid = Some((
                "KEY_NOT_USABLE",
                format!(
                    "the token's API-KEY no longer works: {} ({})",
                    r.message(),
                    r.reason()
                ),
            ));
        }
        Ok(v)
    }
}

/// Checks the token's signature with each certificate in turn.
pub fn verify_with_any(
    token: &str,
    certs: &[Certificate],
) -> Result<(Value, Value), (&'static str, String)> {
    let mut last = ("SIGNATURE_INVALID", "no signing certificate".to_owned());
    for c in certs {
        let key = c
            .public_key()
            .map_err(|e| ("INTERNAL", format!("signing certificate: {e}")))?;
        match crate::crypto::jwt::verify_jwt_signature(token, &key) {
            Ok(hc) => return Ok(hc),
            Err(crate::crypto::CryptoError::Malformed(m)) => return Err(("MALFORMED", m)),
            Err(e) => {
                last = (
                    "SIGNATURE_INVALID",
                    format!("the signature does not verify with {}: {e}", c.describe()),
                )
            }
        }
    }
    Err(last)
}
