//! Settings of API-KEYs and of the token exchange.

use clap::Args;

/// The token exchange.
#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// The `iss` claim of issued tokens (default: the public base URL with a trailing slash).
    #[arg(long, env = "ORGADM_TOKEN_ISSUER")]
    pub token_issuer: Option<String>,
    /// API scopes every token carries before `http://esia.gosuslugi.ru/org_inf?org_oid=<OID>`
    /// (repeatable, or space-separated), e.g. `http://lk.gosuslugi.ru/api-order`.
    #[arg(long, env = "ORGADM_TOKEN_SCOPES", value_delimiter = ' ')]
    pub token_scopes: Vec<String>,
    /// Token lifetime in seconds (ESIA's tokens: 86400).
    #[arg(long, env = "ORGADM_TOKEN_LIFETIME_SECS", default_value_t = 86_400)]
    pub token_lifetime_secs: u32,
    /// Accept an employee's certificate of the key's organisation whose SNILS is the key
    /// holder's, besides the organisation's impersonal certificate. ESIA accepts only the
    /// impersonal certificate since 2024-09-01: pass `false` to do the same.
    #[arg(long, env = "ORGADM_TOKEN_ACCEPT_EMPLOYEE_CERTIFICATES", default_value_t = true, action = clap::ArgAction::Set)]
    pub token_accept_employee_certificates: bool,
    /// How long before the request the key may have been signed (signingTime), in seconds.
    #[arg(
        long,
        env = "ORGADM_TOKEN_MAX_SIGNATURE_AGE_SECS",
        default_value_t = 86_400
    )]
    pub token_max_signature_age_secs: u32,
    /// How far in the future a signingTime may lie (clock skew), in seconds.
    #[arg(
        long,
        env = "ORGADM_TOKEN_SIGNING_TIME_SKEW_SECS",
        default_value_t = 300
    )]
    pub token_signing_time_skew_secs: u32,
    /// An earlier signing certificate still published and accepted by VerifyToken during a
    /// key rotation (repeatable).
    #[arg(long, env = "ORGADM_TOKEN_PREVIOUS_CERT")]
    pub token_previous_cert: Vec<std::path::PathBuf>,
    /// Exchanges per second per API-KEY (0: no limit). Limits are per replica.
    #[arg(long, env = "ORGADM_TOKEN_RATE_PER_KEY", default_value_t = 1.0)]
    pub token_rate_per_key: f64,
    /// Burst per API-KEY.
    #[arg(long, env = "ORGADM_TOKEN_BURST_PER_KEY", default_value_t = 10.0)]
    pub token_burst_per_key: f64,
    /// Exchanges per second per client address (0: no limit). Limits are per replica.
    #[arg(long, env = "ORGADM_TOKEN_RATE_PER_ADDRESS", default_value_t = 20.0)]
    pub token_rate_per_address: f64,
    /// Burst per client address.
    #[arg(long, env = "ORGADM_TOKEN_BURST_PER_ADDRESS", default_value_t = 50.0)]
    pub token_burst_per_address: f64,
}

impl TokenArgs {
    /// Checks the values and reads the previous certificates, as `apply` would.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.limits()?;
        self.scopes()?;
        self.previous_certificates()?;
        if self.token_lifetime_secs == 0 {
            anyhow::bail!("token_lifetime_secs must be at least 1");
        }
        Ok(())
    }

    fn scopes(&self) -> anyhow::Result<Vec<String>> {
        let scopes: Vec<String> = self
            .token_scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = scopes.iter().find(|s| !s.is_ascii() || s.contains('"')) {
            anyhow::bail!("token_scopes: {bad:?} is not a scope (an ASCII URL)");
        }
        Ok(scopes)
    }

    fn previous_certificates(&self) -> anyhow::Result<Vec<crate::crypto::cert::Certificate>> {
        self.token_previous_cert
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| {
                    anyhow::anyhow!("token_previous_cert: cannot read {}: {e}", p.display())
                })?;
                crate::crypto::cert::Certificate::from_bytes(&bytes)
                    .map_err(|e| anyhow::anyhow!("token_previous_cert {}: {e}", p.display()))
            })
            .collect()
    }

    fn limits(&self) -> anyhow::Result<crate::service::token_limit::Limits> {
        use crate::service::token_limit::{Limits, Rate};
        let rate = |per_second: f64, burst: f64| -> anyhow::Result<Rate> {
            if !(per_second >= 0.0 && burst >= 0.0 && per_second.is_finite() && burst.is_finite()) {
                anyhow::bail!("token rates and bursts must be non-negative numbers");
            }
            Ok(Rate {
                per_second,
                burst: burst.max(1.0),
            })
        };
        Ok(Limits {
            per_key: rate(self.token_rate_per_key, self.token_burst_per_key)?,
            per_address: rate(self.token_rate_per_address, self.token_burst_per_address)?,
        })
    }

    pub fn apply(
        &self,
        mut core: crate::service::Core,
        public_base_url: &str,
    ) -> anyhow::Result<crate::service::Core> {
        self.validate()?;
        let t = &mut core.tokens;
        t.issuer = self
            .token_issuer
            .clone()
            .unwrap_or_else(|| format!("{}/", public_base_url.trim_end_matches('/')));
        t.scopes = self.scopes()?;
        t.lifetime = chrono::Duration::seconds(self.token_lifetime_secs.into());
        t.accept_employee_certificates = self.token_accept_employee_certificates;
        t.max_signature_age = chrono::Duration::seconds(self.token_max_signature_age_secs.into());
        t.future_skew = chrono::Duration::seconds(self.token_signing_time_skew_secs.into());
        t.previous_certificates
            .extend(self.previous_certificates()?);
        core.token_limits.configure(self.limits()?);
        tracing::info!(
            issuer = %core.tokens.issuer,
            accept_employee_certificates = core.tokens.accept_employee_certificates,
            "token exchange configured"
        );
        Ok(core)
    }
}

/// API-KEYs.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// The file holding the key API-KEYs are hashed under (64 hex digits); created with a fresh
    /// random key (mode 0600) when it does not exist. Every replica must use the same file:
    /// losing it makes every stored API-KEY unusable.
    #[arg(
        long,
        env = "ORGADM_API_KEY_HASH_KEY_FILE",
        default_value = "data/api-key-hash.key"
    )]
    pub api_key_hash_key_file: std::path::PathBuf,
    /// A previous hash key still accepted during a rotation (repeatable).
    #[arg(long, env = "ORGADM_API_KEY_PREVIOUS_HASH_KEY_FILE")]
    pub api_key_previous_hash_key_file: Vec<std::path::PathBuf>,
    /// Validity of a new API-KEY when the request names none, in days.
    #[arg(
        long,
        env = "ORGADM_API_KEY_DEFAULT_VALIDITY_DAYS",
        default_value_t = 182
    )]
    pub api_key_default_validity_days: u32,
    /// The longest validity an API-KEY may be given, in days.
    #[arg(long, env = "ORGADM_API_KEY_MAX_VALIDITY_DAYS", default_value_t = 366)]
    pub api_key_max_validity_days: u32,
    /// How often the last use of API-KEYs is written to the database, in seconds.
    #[arg(long, env = "ORGADM_KEY_USE_FLUSH_SECS", default_value_t = 10)]
    pub key_use_flush_secs: u64,
}

impl KeyArgs {
    fn validity(&self) -> anyhow::Result<(u32, u32)> {
        let (d, m) = (
            self.api_key_default_validity_days,
            self.api_key_max_validity_days,
        );
        if d == 0 || m == 0 || d > m {
            anyhow::bail!(
                "api_key_default_validity_days ({d}) must be between 1 and api_key_max_validity_days ({m})"
            );
        }
        Ok((d, m))
    }

    /// Checks the values and reads the key files without creating any; `Ok(false)` when the
    /// hash key file does not exist yet (`serve` creates it).
    pub fn validate(&self) -> anyhow::Result<bool> {
        use crate::crypto::keyed_hash::ApiKeyHasher;
        self.validity()?;
        let exists = self.api_key_hash_key_file.exists();
        let mut h = if exists {
            ApiKeyHasher::from_file(&self.api_key_hash_key_file).map_err(|e| {
                anyhow::anyhow!(
                    "api_key_hash_key_file {}: {e}",
                    self.api_key_hash_key_file.display()
                )
            })?
        } else {
            ApiKeyHasher::random()?
        };
        for p in &self.api_key_previous_hash_key_file {
            h = h.with_previous(p).map_err(|e| {
                anyhow::anyhow!("api_key_previous_hash_key_file {}: {e}", p.display())
            })?;
        }
        Ok(exists)
    }

    pub fn apply(&self, core: crate::service::Core) -> anyhow::Result<crate::service::Core> {
        use crate::crypto::keyed_hash::ApiKeyHasher;
        let (d, m) = self.validity()?;
        let (mut h, created) =
            ApiKeyHasher::open_or_create(&self.api_key_hash_key_file).map_err(|e| {
                anyhow::anyhow!(
                    "api_key_hash_key_file {}: {e}",
                    self.api_key_hash_key_file.display()
                )
            })?;
        for p in &self.api_key_previous_hash_key_file {
            h = h.with_previous(p).map_err(|e| {
                anyhow::anyhow!("api_key_previous_hash_key_file {}: {e}", p.display())
            })?;
        }
        if created {
            tracing::warn!(
                file = %self.api_key_hash_key_file.display(),
                "created a new API-KEY hash key; back it up, and give every replica the same file"
            );
        }
        tracing::info!(key_id = h.key_id(), "API-KEY hash key loaded");
        let mut core = core.with_key_hasher(h);
        core.api_keys.default_validity = chrono::Duration::days(d.into());
        core.api_keys.max_validity = chrono::Duration::days(m.into());
        core.key_use_flush = std::time::Duration::from_secs(self.key_use_flush_secs.max(1));
        Ok(core)
    }
}
