//! Wiring: loads what the settings name, opens the database, builds the service core, and
//! serves it. Used by the binary and by the integration tests (which serve on a pre-bound
//! `127.0.0.1:0` listener).
//!
//! Start order: settings checked, files loaded (TLS, signing key, trust anchors, key files),
//! database opened and migrated, listener bound, and only then readiness and health say
//! serving. Every failure stops the start with one line naming the setting or file.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Settings;
use crate::crypto::service_key::ServiceSigner;
use crate::crypto::trust::TrustStore;
use crate::mail::Mailer;
use crate::service::outbox::{OutboxSettings, Worker};
use crate::service::{Core, Db, SharedClock, SystemClock};
use crate::storage::DbConfig;
use crate::transport::server::{ServeOptions, Serving};

/// The default embedded database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/orgadm.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Opens the database (applying pending migrations) and returns the core.
pub async fn open(db: DbConfig, clock: Option<SharedClock>) -> anyhow::Result<Core> {
    let shown = crate::config::mask_url(&db.url);
    let (db, applied) = Db::open(db)
        .await
        .map_err(|e| anyhow::anyhow!("database {shown}: {e}"))?;
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    Ok(Core::new(
        db,
        clock.unwrap_or_else(|| Arc::new(SystemClock)),
    )?)
}

/// Loads the service signing key and certificate (`serve --signing-key --signing-cert`), refusing
/// a key that does not match the certificate. The key never reaches a log line.
pub fn load_signer(
    key: &std::path::Path,
    cert: &std::path::Path,
) -> anyhow::Result<crate::crypto::service_key::ServiceSigner> {
    let signer = crate::crypto::service_key::ServiceSigner::load(key, cert)
        .map_err(|e| anyhow::anyhow!("cannot use the signing key: {e}"))?;
    tracing::info!(
        certificate = %signer.certificate().describe(),
        not_after = %signer.certificate().not_after().to_rfc3339(),
        "service signing key loaded"
    );
    Ok(signer)
}

/// Serves gRPC and HTTP on `listener` until `shutdown` resolves, writing API-KEY uses every
/// `core.key_use_flush` and once more at the end.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, core, ServeOptions::default(), shutdown).await
}

/// Serves like [`serve`] with TLS and the shutdown grace of `options`.
pub async fn serve_with(
    listener: TcpListener,
    core: Core,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let flusher = spawn_key_use_flusher(core.clone());
    let checkpointer = spawn_checkpointer(core.clone());
    let r = crate::transport::server::serve(listener, core.clone(), options, shutdown).await;
    if let Some(c) = checkpointer {
        c.abort();
    }
    flush_at_end(&core, flusher).await;
    r
}

/// Stops the periodic writer of API-KEY uses and writes the uses still buffered.
async fn flush_at_end(core: &Core, flusher: tokio::task::JoinHandle<()>) {
    flusher.abort();
    if let Err(e) = core.flush_key_uses().await {
        tracing::warn!(error = %e, "could not write the last API-KEY uses at shutdown");
    }
}

/// Signs checkpoints of the audit chains that moved, every `core.checkpoint_interval` (none when
/// zero or when the service has no signing key).
fn spawn_checkpointer(core: Core) -> Option<tokio::task::JoinHandle<()>> {
    if core.checkpoint_interval.is_zero() {
        return None;
    }
    if core.signer.is_none() {
        tracing::warn!("no --signing-key: audit checkpoints are not signed");
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(core.checkpoint_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match core.checkpoint_stale_chains().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(chains = n, "audit checkpoints signed"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not sign audit checkpoints; will retry")
                }
            }
        }
    }))
}

fn spawn_key_use_flusher(core: Core) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(core.key_use_flush);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = core.flush_key_uses().await {
                tracing::warn!(error = %e, "could not write API-KEY uses; will retry");
            }
        }
    })
}

/// What the settings name, loaded and checked; nothing touches the database yet.
pub struct Prepared {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub signer: Option<ServiceSigner>,
    pub trust: Option<TrustStore>,
    pub mailer: Mailer,
    pub outbox: OutboxSettings,
    pub invitation_validity_days: i64,
    /// False when the API-KEY hash key file does not exist yet (`serve` creates it).
    pub hash_key_exists: bool,
}

/// Loads and checks every file and value the settings name, without the database: what
/// `config check` does, and the first step of [`run`].
pub fn prepare(s: &Settings) -> anyhow::Result<Prepared> {
    let tls = s
        .tls
        .as_ref()
        .map(crate::transport::tls::server_config)
        .transpose()?;
    let signer = s.serve.signing.signer()?;
    let trust = s.serve.signing.trust()?;
    s.serve.tokens.validate()?;
    let hash_key_exists = s.serve.keys.validate()?;
    let (mail, outbox, invitation_validity_days) = s.serve.mail.config()?;
    let mailer = Mailer::new(&mail).map_err(|e| anyhow::anyhow!("mail: {e}"))?;
    if mail.smtp.is_none() {
        tracing::info!(
            folder = %mailer.describe(),
            "no SMTP server configured: invitation e-mails are written as .eml files"
        );
    }
    Ok(Prepared {
        tls,
        signer,
        trust,
        mailer,
        outbox,
        invitation_validity_days,
        hash_key_exists,
    })
}

/// `orgadm serve`: prepares, binds the listener (probes answer "not ready" from then on), opens
/// and migrates the database, installs the service (ready), and serves until `shutdown`
/// resolves; then finishes requests in flight, the delivery in hand and the buffered API-KEY
/// uses.
pub async fn run(
    s: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let p = prepare(&s)?;
    let server = &s.serve.server;
    let listener = TcpListener::bind(&server.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", server.listen))?;
    let options = ServeOptions {
        tls: p.tls.clone(),
        grace: std::time::Duration::from_secs(server.shutdown_grace_secs),
    };
    let serving = Serving::start(listener, options, shutdown).await?;

    let mut core = open(s.db.clone(), None)
        .await?
        .with_public_base_url(&server.public_base_url);
    core = s.serve.keys.apply(core)?;
    match p.signer {
        Some(signer) => core = core.with_signer(signer),
        None => tracing::warn!("no signing_key: the token exchange answers UNAVAILABLE"),
    }
    core = s.serve.tokens.apply(core, &server.public_base_url)?;
    match p.trust {
        Some(trust) => {
            tracing::info!(anchors = trust.anchors().len(), "trust anchors loaded");
            core = core.with_trust(trust);
        }
        None => {
            tracing::warn!("no trust_dir: signatures of powers of attorney will be refused")
        }
    }
    core.invitations.validity = chrono::Duration::days(p.invitation_validity_days);
    core.checkpoint_interval =
        std::time::Duration::from_secs(s.serve.signing.checkpoint_interval_secs);
    if core.count_active_clients().await? == 0 {
        tracing::warn!(
            "this database has no API clients yet. Create the first operator credential with the \
             same settings, e.g.: orgadm --database-url '{}' client create --name admin --role operator",
            crate::config::mask_url(&s.db.url)
        );
    }

    let worker = Worker::new(core.clone(), p.mailer, p.outbox).spawn();
    let flusher = spawn_key_use_flusher(core.clone());
    let checkpointer = spawn_checkpointer(core.clone());
    serving.ready(core.clone()).await?;
    let r = serving.wait().await;
    if let Some(c) = checkpointer {
        c.abort();
    }
    flush_at_end(&core, flusher).await;
    worker.stop().await;
    tracing::info!("stopped");
    r
}
