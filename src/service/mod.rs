//! Use cases: authorisation, transactions, audit. One use case = one async function = one
//! database transaction: read the injected clock once, resolve the caller's access inside the
//! transaction, write, append the audit event, commit.
pub mod api_keys;
pub mod audit;
pub mod audit_checkpoints;
pub mod audit_export;
pub mod audit_log;
pub mod auth;
pub mod authz;
pub mod clock;
pub mod db;
pub mod employees;
pub mod error;
pub mod groups;
pub mod idempotency;
pub mod invitations;
pub mod key_use;
pub mod metrics;
pub mod organizations;
pub mod organizations_signed;
pub mod outbox;
pub mod persons;
pub mod poa;
pub mod poa_drafts;
pub mod poa_import;
pub mod poa_revoke;
pub mod poa_sign;
pub mod powers;
pub mod records;
pub mod records_archive;
pub mod records_verify;
pub mod signer;
pub mod systems;
pub mod token_check;
pub mod token_limit;
pub mod tokens;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use db::Db;
pub use error::ServiceError;

/// Everything a use case needs, shared by the transports.
#[derive(Debug, Clone)]
pub struct Core {
    pub db: Db,
    pub clock: SharedClock,
    /// The service's public base URL: the status pages of powers of attorney (`СведСист`)
    /// live under it.
    pub public_base_url: std::sync::Arc<str>,
    /// The service's GOST signing key and certificate (`serve --signing-key --signing-cert`), used
    /// to sign exports and tokens; `None` when not configured.
    pub signer: Option<std::sync::Arc<crate::crypto::service_key::ServiceSigner>>,
    /// Trust anchors and CRLs for qualified signatures (`serve --trust-dir`); `None` when not
    /// configured, and then no signature is accepted.
    pub trust: Option<std::sync::Arc<crate::crypto::trust::TrustStore>>,
    pub invitations: InvitationSettings,
    /// Woken after a transaction queued mail, so the delivery worker need not wait for its poll.
    pub outbox_wakeup: std::sync::Arc<tokio::sync::Notify>,
    /// The keyed hash API-KEYs are stored under (`serve --api-key-hash-key`).
    pub key_hasher: std::sync::Arc<crate::crypto::keyed_hash::ApiKeyHasher>,
    pub api_keys: api_keys::ApiKeySettings,
    /// API-KEY uses not yet written (see `key_use`), and how often they are written.
    pub key_uses: std::sync::Arc<key_use::KeyUses>,
    pub key_use_flush: std::time::Duration,
    /// The token exchange's settings, rate limits (per replica) and counters.
    pub tokens: tokens::TokenSettings,
    pub token_limits: std::sync::Arc<token_limit::TokenLimiter>,
    pub token_stats: std::sync::Arc<tokens::TokenStats>,
    /// Recent successful chain checks of token signers (see `token_check::ChainCache`).
    pub token_chains: std::sync::Arc<token_check::ChainCache>,
    /// This core's Prometheus metrics (`GET /metrics`).
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// How often the server signs checkpoints of the audit chains that moved (zero: never).
    pub checkpoint_interval: std::time::Duration,
}

/// Invitation settings.
#[derive(Debug, Clone)]
pub struct InvitationSettings {
    /// How long an invitation can be accepted (60 days by default).
    pub validity: chrono::Duration,
}

impl Default for InvitationSettings {
    fn default() -> Self {
        Self {
            validity: chrono::Duration::days(60),
        }
    }
}

/// The public base URL when none is configured.
pub const DEFAULT_PUBLIC_BASE_URL: &str = "http://localhost:8080";

impl Core {
    /// Fails only when the OS random generator does (for the interim API-KEY hash key).
    pub fn new(db: Db, clock: SharedClock) -> Result<Self, ServiceError> {
        let metrics = std::sync::Arc::new(metrics::Metrics::new(&db)?);
        let key_hasher = crate::crypto::keyed_hash::ApiKeyHasher::random()
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(Self {
            db,
            clock,
            public_base_url: DEFAULT_PUBLIC_BASE_URL.into(),
            signer: None,
            trust: None,
            invitations: InvitationSettings::default(),
            outbox_wakeup: std::sync::Arc::new(tokio::sync::Notify::new()),
            // A random key until `with_key_hasher` sets the configured one: keys formed under
            // it do not survive a restart, which suits tests and nothing else.
            key_hasher: std::sync::Arc::new(key_hasher),
            api_keys: api_keys::ApiKeySettings::default(),
            key_uses: std::sync::Arc::default(),
            key_use_flush: std::time::Duration::from_secs(10),
            tokens: tokens::TokenSettings::default(),
            token_limits: std::sync::Arc::default(),
            token_stats: std::sync::Arc::default(),
            token_chains: std::sync::Arc::default(),
            metrics,
            checkpoint_interval: std::time::Duration::ZERO,
        })
    }

    /// The same core with the configured API-KEY hash key.
    pub fn with_key_hasher(mut self, h: crate::crypto::keyed_hash::ApiKeyHasher) -> Self {
        self.key_hasher = std::sync::Arc::new(h);
        self
    }

    /// Sets the public base URL (no trailing slash needed).
    pub fn with_public_base_url(mut self, url: &str) -> Self {
        self.public_base_url = url.trim_end_matches('/').into();
        self
    }

    /// The same core with trust anchors for qualified signatures.
    pub fn with_trust(mut self, trust: crate::crypto::trust::TrustStore) -> Self {
        self.trust = Some(std::sync::Arc::new(trust));
        self
    }

    /// The same core with the service signing key.
    pub fn with_signer(mut self, signer: crate::crypto::service_key::ServiceSigner) -> Self {
        self.signer = Some(std::sync::Arc::new(signer));
        self
    }
}

/// Random bytes from the OS generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| ServiceError::Internal(format!("OS random generator failed: {e}")))?;
    Ok(b)
}

/// An update's field mask, checked against the fields that can change; empty means all of them.
#[derive(Debug, Clone)]
pub struct UpdateMask(Vec<String>);

impl UpdateMask {
    pub fn new(mask: &[String], updatable: &[&str]) -> Result<Self, ServiceError> {
        if let Some(f) = mask.iter().find(|f| !updatable.contains(&f.as_str())) {
            return Err(ServiceError::invalid(
                "update_mask",
                format!("{f} is not a field that can be updated"),
            ));
        }
        Ok(Self(mask.to_vec()))
    }

    /// Whether the update changes `field`.
    pub fn has(&self, field: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|m| m == field)
    }
}

/// Parses an etag made by [`etag`].
pub fn parse_etag(etag: &str) -> Result<i64, ServiceError> {
    etag.strip_prefix("v")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            ServiceError::invalid("etag", "is required: pass the etag from the last read")
        })
}

/// The etag of a resource version.
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// One page of a list and the token for the next (empty on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

/// Checks `page_size`/`page_token` for a list whose filters have fingerprint `fp`; returns the
/// page size and the key to start after.
pub fn page_start(
    page_size: i32,
    page_token: &str,
    fp: &str,
) -> Result<(i64, Option<String>), ServiceError> {
    let r = crate::domain::page::page_request(page_size, page_token, fp)
        .map_err(|e| ServiceError::invalid(e.0, e.1))?;
    Ok((r.size, r.after))
}

/// Parses a numeric cursor key.
pub fn numeric_key(after: Option<String>) -> Result<Option<i64>, ServiceError> {
    after
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                ServiceError::invalid("page_token", "is not a token this list returned")
            })
        })
        .transpose()
}

/// Turns `size + 1` loaded rows into a page and its next token.
pub fn page_of<T>(mut items: Vec<T>, size: i64, fp: &str, key: impl Fn(&T) -> String) -> Page<T> {
    let next_page_token = if items.len() as i64 > size {
        items.truncate(size.max(0) as usize);
        items
            .last()
            .map(|t| crate::domain::page::next_token(fp, &key(t)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Page {
        items,
        next_page_token,
    }
}
