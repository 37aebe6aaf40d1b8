//! The `orgadm` command line: serve, migrate, and manage API clients.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use orgadm::app;
use orgadm::domain::caller::Role;
use orgadm::service::outbox::OutboxSettings;
use orgadm::storage::DbConfig;

#[derive(Parser)]
#[command(
    name = "orgadm",
    version,
    about = "Organisation administration for an ESIA-style identity ecosystem"
)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "ORGADM_LOG_FORMAT", default_value = "text", global = true)]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DbArgs {
    /// Database URL: `postgres://user:pass@host/db` for PostgreSQL, `sqlite://path/to/file.db`
    /// (or a plain path) for the embedded SQLite store.
    #[arg(long, env = "ORGADM_DATABASE_URL", default_value = app::DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    /// Largest number of database connections this process holds.
    #[arg(long, env = "ORGADM_DB_POOL_SIZE", default_value_t = 8, global = true)]
    db_pool_size: u32,
    /// SQLite durability: FULL survives power loss (default); NORMAL survives a process crash.
    #[arg(
        long,
        env = "ORGADM_SQLITE_SYNCHRONOUS",
        default_value = "FULL",
        global = true
    )]
    sqlite_synchronous: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC and HTTP on one address (applies pending migrations first).
    Serve {
        /// Address to listen on, for gRPC and HTTP alike.
        #[arg(long, env = "ORGADM_LISTEN", default_value = app::DEFAULT_LISTEN)]
        listen: String,
        /// The service's public base URL: powers of attorney name their status page under it
        /// (`<URL>/poa/check-status?guid=…`).
        #[arg(long, env = "ORGADM_PUBLIC_BASE_URL", default_value = orgadm::service::DEFAULT_PUBLIC_BASE_URL)]
        public_base_url: String,
        /// The service's GOST signing key (PKCS#8 PEM, made by `orgadm pki init`); with
        /// --signing-cert. Refused at start when it does not match the certificate.
        #[arg(long, env = "ORGADM_SIGNING_KEY", requires = "signing_cert")]
        signing_key: Option<std::path::PathBuf>,
        /// The certificate of the signing key (PEM or DER).
        #[arg(long, env = "ORGADM_SIGNING_CERT", requires = "signing_key")]
        signing_cert: Option<std::path::PathBuf>,
        /// Directory of trust anchors (root and intermediate CA certificates, PEM or DER) and
        /// their CRLs (`*.crl`) for the qualified signatures of powers of attorney.
        #[arg(long, env = "ORGADM_TRUST_DIR")]
        trust_dir: Option<std::path::PathBuf>,
        #[command(flatten)]
        mail: Box<MailArgs>,
        #[command(flatten)]
        keys: Box<KeyArgs>,
        #[command(flatten)]
        tokens: Box<TokenArgs>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API clients (the credentials portals, vendor systems and auditors call with).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The service signing key, and signature tools for compliance officers (no database needed).
    #[command(subcommand)]
    Pki(orgadm::cli::pki::PkiCommand),
    /// Access tokens: check an ESIA-shaped GOST token offline (no database needed).
    #[command(subcommand)]
    Token(orgadm::cli::token::TokenCommand),
}

/// The token exchange.
#[derive(Args)]
struct TokenArgs {
    /// The `iss` claim of issued tokens (default: the public base URL with a trailing slash).
    #[arg(long, env = "ORGADM_TOKEN_ISSUER")]
    token_issuer: Option<String>,
    /// API scopes every token carries before `http://esia.gosuslugi.ru/org_inf?org_oid=<OID>`
    /// (repeatable, or space-separated), e.g. `http://lk.gosuslugi.ru/api-order`.
    #[arg(long, env = "ORGADM_TOKEN_SCOPES", value_delimiter = ' ')]
    token_scopes: Vec<String>,
    /// Token lifetime in seconds (ESIA's tokens: 86400).
    #[arg(long, env = "ORGADM_TOKEN_LIFETIME_SECS", default_value_t = 86_400)]
    token_lifetime_secs: u32,
    /// Accept an employee's certificate of the key's organisation whose SNILS is the key
    /// holder's, besides the organisation's impersonal certificate. ESIA accepts only the
    /// impersonal certificate since 2024-09-01: pass `false` to do the same.
    #[arg(long, env = "ORGADM_TOKEN_ACCEPT_EMPLOYEE_CERTIFICATES", default_value_t = true, action = clap::ArgAction::Set)]
    token_accept_employee_certificates: bool,
    /// How long before the request the key may have been signed (signingTime), in seconds.
    #[arg(
        long,
        env = "ORGADM_TOKEN_MAX_SIGNATURE_AGE_SECS",
        default_value_t = 86_400
    )]
    token_max_signature_age_secs: u32,
    /// How far in the future a signingTime may lie (clock skew), in seconds.
    #[arg(
        long,
        env = "ORGADM_TOKEN_SIGNING_TIME_SKEW_SECS",
        default_value_t = 300
    )]
    token_signing_time_skew_secs: u32,
    /// An earlier signing certificate still published and accepted by VerifyToken during a
    /// key rotation (repeatable).
    #[arg(long, env = "ORGADM_TOKEN_PREVIOUS_CERT")]
    token_previous_cert: Vec<std::path::PathBuf>,
    /// Exchanges per second per API-KEY (0: no limit). Limits are per replica.
    #[arg(long, env = "ORGADM_TOKEN_RATE_PER_KEY", default_value_t = 1.0)]
    token_rate_per_key: f64,
    /// Burst per API-KEY.
    #[arg(long, env = "ORGADM_TOKEN_BURST_PER_KEY", default_value_t = 10.0)]
    token_burst_per_key: f64,
    /// Exchanges per second per client address (0: no limit). Limits are per replica.
    #[arg(long, env = "ORGADM_TOKEN_RATE_PER_ADDRESS", default_value_t = 20.0)]
    token_rate_per_address: f64,
    /// Burst per client address.
    #[arg(long, env = "ORGADM_TOKEN_BURST_PER_ADDRESS", default_value_t = 50.0)]
    token_burst_per_address: f64,
}

impl TokenArgs {
    fn apply(
        &self,
        mut core: orgadm::service::Core,
        public_base_url: &str,
    ) -> anyhow::Result<orgadm::service::Core> {
        use orgadm::service::token_limit::{Limits, Rate};
        if self.token_lifetime_secs == 0 {
            anyhow::bail!("--token-lifetime-secs must be at least 1");
        }
        let t = &mut core.tokens;
        t.issuer = self
            .token_issuer
            .clone()
            .unwrap_or_else(|| format!("{}/", public_base_url.trim_end_matches('/')));
        t.scopes = self
            .token_scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = t.scopes.iter().find(|s| !s.is_ascii() || s.contains('"')) {
            anyhow::bail!("--token-scopes: {bad:?} is not a scope (an ASCII URL)");
        }
        t.lifetime = chrono::Duration::seconds(self.token_lifetime_secs.into());
        t.accept_employee_certificates = self.token_accept_employee_certificates;
        t.max_signature_age = chrono::Duration::seconds(self.token_max_signature_age_secs.into());
        t.future_skew = chrono::Duration::seconds(self.token_signing_time_skew_secs.into());
        for p in &self.token_previous_cert {
            let bytes = std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
            let c = orgadm::crypto::cert::Certificate::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            t.previous_certificates.push(c);
        }
        let rate = |per_second: f64, burst: f64| -> anyhow::Result<Rate> {
            if !(per_second >= 0.0 && burst >= 0.0 && per_second.is_finite() && burst.is_finite()) {
                anyhow::bail!("token rates and bursts must be non-negative numbers");
            }
            Ok(Rate {
                per_second,
                burst: burst.max(1.0),
            })
        };
        core.token_limits.configure(Limits {
            per_key: rate(self.token_rate_per_key, self.token_burst_per_key)?,
            per_address: rate(self.token_rate_per_address, self.token_burst_per_address)?,
        });
        tracing::info!(
            issuer = %core.tokens.issuer,
            accept_employee_certificates = core.tokens.accept_employee_certificates,
            "token exchange configured"
        );
        Ok(core)
    }
}

/// API-KEYs.
#[derive(Args)]
struct KeyArgs {
    /// The file holding the key API-KEYs are hashed under (64 hex digits); created with a fresh
    /// random key (mode 0600) when it does not exist. Every replica must use the same file:
    /// losing it makes every stored API-KEY unusable.
    #[arg(
        long,
        env = "ORGADM_API_KEY_HASH_KEY_FILE",
        default_value = "data/api-key-hash.key"
    )]
    api_key_hash_key_file: std::path::PathBuf,
    /// A previous hash key still accepted during a rotation (repeatable).
    #[arg(long, env = "ORGADM_API_KEY_PREVIOUS_HASH_KEY_FILE")]
    api_key_previous_hash_key_file: Vec<std::path::PathBuf>,
    /// Validity of a new API-KEY when the request names none, in days.
    #[arg(
        long,
        env = "ORGADM_API_KEY_DEFAULT_VALIDITY_DAYS",
        default_value_t = 182
    )]
    api_key_default_validity_days: u32,
    /// The longest validity an API-KEY may be given, in days.
    #[arg(long, env = "ORGADM_API_KEY_MAX_VALIDITY_DAYS", default_value_t = 366)]
    api_key_max_validity_days: u32,
    /// How often the last use of API-KEYs is written to the database, in seconds.
    #[arg(long, env = "ORGADM_KEY_USE_FLUSH_SECS", default_value_t = 10)]
    key_use_flush_secs: u64,
}

impl KeyArgs {
    fn apply(&self, core: orgadm::service::Core) -> anyhow::Result<orgadm::service::Core> {
        use orgadm::crypto::keyed_hash::ApiKeyHasher;
        let (d, m) = (
            self.api_key_default_validity_days,
            self.api_key_max_validity_days,
        );
        if d == 0 || m == 0 || d > m {
            anyhow::bail!(
                "--api-key-default-validity-days ({d}) must be between 1 and --api-key-max-validity-days ({m})"
            );
        }
        let (mut h, created) = ApiKeyHasher::open_or_create(&self.api_key_hash_key_file)?;
        for p in &self.api_key_previous_hash_key_file {
            h = h.with_previous(p)?;
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

/// Invitations and their e-mail delivery.
#[derive(Args)]
struct MailArgs {
    /// The invitation link's base: the secret is appended (or replaces `{secret}`).
    #[arg(
        long,
        env = "ORGADM_INVITATION_BASE_URL",
        default_value = "http://localhost:8080/invitation?secret="
    )]
    invitation_base_url: String,
    /// How many days an invitation can be accepted.
    #[arg(long, env = "ORGADM_INVITATION_VALIDITY_DAYS", default_value_t = 60)]
    invitation_validity_days: u32,
    /// SMTP server; without it messages are written as .eml files into --outbox-dir.
    #[arg(long, env = "ORGADM_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default: 25 for none, 587 for starttls, 465 for tls).
    #[arg(long, env = "ORGADM_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// SMTP connection protection: none, starttls or tls.
    #[arg(long, env = "ORGADM_SMTP_TLS", default_value = "starttls")]
    smtp_tls: String,
    #[arg(long, env = "ORGADM_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// The SMTP password (prefer --smtp-password-file: arguments are visible to other users).
    #[arg(long, env = "ORGADM_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// A file holding the SMTP password (trailing newline ignored).
    #[arg(long, env = "ORGADM_SMTP_PASSWORD_FILE")]
    smtp_password_file: Option<std::path::PathBuf>,
    /// The From mailbox of outgoing messages.
    #[arg(
        long,
        env = "ORGADM_MAIL_SENDER",
        default_value = "orgadm <noreply@localhost.localdomain>"
    )]
    mail_sender: String,
    /// Where messages are written as .eml files when no SMTP server is configured.
    #[arg(long, env = "ORGADM_OUTBOX_DIR", default_value = "data/outbox")]
    outbox_dir: std::path::PathBuf,
}

impl MailArgs {
    fn config(&self) -> anyhow::Result<(orgadm::mail::MailConfig, OutboxSettings, i64)> {
        use orgadm::mail::{MailConfig, SmtpConfig, TlsMode};
        if self.invitation_validity_days == 0 {
            anyhow::bail!("--invitation-validity-days must be at least 1");
        }
        let smtp = match &self.smtp_host {
            None => None,
            Some(host) => {
                let tls = TlsMode::parse(&self.smtp_tls)
                    .ok_or_else(|| anyhow::anyhow!("--smtp-tls must be none, starttls or tls"))?;
                let port = self.smtp_port.unwrap_or(match tls {
                    TlsMode::None => 25,
                    TlsMode::Starttls => 587,
                    TlsMode::Tls => 465,
                });
                let password = match (&self.smtp_password, &self.smtp_password_file) {
                    (_, Some(f)) => Some(
                        std::fs::read_to_string(f)
                            .map_err(|e| {
                                anyhow::anyhow!("--smtp-password-file {}: {e}", f.display())
                            })?
                            .trim_end_matches(['\r', '\n'])
                            .to_owned(),
                    ),
                    (Some(p), None) => Some(p.clone()),
                    (None, None) => None,
                };
                Some(SmtpConfig {
                    host: host.clone(),
                    port,
                    tls,
                    username: self.smtp_username.clone(),
                    password,
                    timeout: std::time::Duration::from_secs(30),
                })
            }
        };
        let outbox = OutboxSettings {
            link_base: self.invitation_base_url.clone(),
            ..OutboxSettings::default()
        };
        Ok((
            MailConfig {
                smtp,
                sender: self.mail_sender.clone(),
                outbox_dir: self.outbox_dir.clone(),
            },
            outbox,
            i64::from(self.invitation_validity_days),
        ))
    }
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client; prints its bearer token once, alone on the last line of standard output.
    Create {
        /// A unique name for the client, shown in audit events.
        #[arg(long)]
        name: String,
        /// operator (the platform), portal (acts for a person it names), vendor (bound to a
        /// vendor organisation), auditor (reads records and audit trails).
        #[arg(long)]
        role: String,
        /// The organisation OID a vendor (required) or auditor (optional) client is bound to.
        #[arg(long)]
        organization: Option<i64>,
    },
    /// List clients (never their tokens).
    List,
    /// Revoke a client by name or id; its token stops working at once.
    Revoke {
        /// The client's name or id.
        name: String,
    },
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORGADM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    if let Command::Pki(cmd) = cli.command {
        return match orgadm::cli::pki::run(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("orgadm: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Token(cmd) = cli.command {
        return match orgadm::cli::token::run(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("orgadm: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orgadm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut db = DbConfig::new(cli.db.database_url.clone());
    db.pool_size = cli.db.db_pool_size;
    db.sqlite_synchronous = cli.db.sqlite_synchronous.clone();
    match cli.command {
        Command::Serve {
            listen,
            public_base_url,
            signing_key,
            signing_cert,
            trust_dir,
            mail,
            keys,
            tokens,
        } => {
            if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://"))
            {
                anyhow::bail!(
                    "--public-base-url must be an http:// or https:// URL, not {public_base_url:?}"
                );
            }
            // Load the signing key before touching the database: a wrong key stops the start.
            let signer = match (signing_key, signing_cert) {
                (Some(k), Some(c)) => Some(app::load_signer(&k, &c)?),
                _ => None,
            };
            let mut core = keys.apply(
                app::open(db, None)
                    .await?
                    .with_public_base_url(&public_base_url),
            )?;
            if let Some(s) = signer {
                core = core.with_signer(s);
            } else {
                tracing::warn!("no --signing-key: the token exchange answers UNAVAILABLE");
            }
            core = tokens.apply(core, &public_base_url)?;
            if let Some(dir) = trust_dir {
                let trust = orgadm::crypto::trust::TrustStore::from_dir(&dir).map_err(|e| {
                    anyhow::anyhow!("cannot use the trust directory {}: {e}", dir.display())
                })?;
                tracing::info!(dir = %dir.display(), anchors = trust.anchors().len(), "trust anchors loaded");
                core = core.with_trust(trust);
            } else {
                tracing::warn!("no --trust-dir: signatures of powers of attorney will be refused");
            }
            let (mail, outbox, validity_days) = mail.config()?;
            core.invitations.validity = chrono::Duration::days(validity_days);
            if core.count_active_clients().await? == 0 {
                eprintln!(
                    "orgadm: this database has no API clients yet. Create the first operator credential with:\n  \
                     orgadm --database-url '{}' client create --name admin --role operator",
                    cli.db.database_url
                );
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            app::serve_with_delivery(listener, core, mail, outbox, shutdown_signal()).await
        }
        Command::Migrate => {
            app::open(db, None).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(c) => client(db, c).await,
        Command::Pki(_) | Command::Token(_) => Ok(()),
    }
}

async fn client(db: DbConfig, c: ClientCommand) -> anyhow::Result<()> {
    let core = app::open(db, None).await?;
    match c {
        ClientCommand::Create {
            name,
            role,
            organization,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role must be operator, portal, vendor or auditor")
            })?;
            let (client, token) = core
                .create_client(name, role, organization)
                .await
                .map_err(describe)?;
            println!(
                "created client {} (id {}, role {})",
                client.name,
                client.id,
                client.role.as_str()
            );
            println!("bearer token (shown once; store it now):");
            println!("{token}");
        }
        ClientCommand::List => {
            for c in core.list_clients().await.map_err(describe)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.id,
                    c.name,
                    c.role.as_str(),
                    c.organization_oid
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "-".into()),
                    if c.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        ClientCommand::Revoke { name } => {
            let c = core.revoke_client(name).await.map_err(describe)?;
            println!("revoked client {} (id {})", c.name, c.id);
        }
    }
    Ok(())
}

fn describe(e: orgadm::service::ServiceError) -> anyhow::Error {
    use orgadm::service::ServiceError as E;
    match e {
        E::InvalidArgument(v) => anyhow::anyhow!(
            "{}",
            v.0.iter()
                .map(|f| format!("--{}: {}", f.field, f.description))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
