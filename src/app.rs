//! Wiring: opens the database, builds the service core, and serves it. Used by the binary and
//! by the integration tests (which serve on a pre-bound `127.0.0.1:0` listener).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::mail::{MailConfig, Mailer};
use crate::service::outbox::{OutboxSettings, Worker};
use crate::service::{Core, Db, SharedClock, SystemClock};
use crate::storage::DbConfig;

/// The default embedded database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/orgadm.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Opens the database (applying pending migrations) and returns the core.
pub async fn open(db: DbConfig, clock: Option<SharedClock>) -> anyhow::Result<Core> {
    let (db, applied) = Db::open(db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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
    let flusher = spawn_key_use_flusher(core.clone());
    let r = crate::transport::server::serve(listener, core.clone(), shutdown).await;
    flusher.abort();
    if let Err(e) = core.flush_key_uses().await {
        tracing::warn!(error = %e, "could not write the last API-KEY uses at shutdown");
    }
    r
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

/// Serves like [`serve`], with the mail delivery worker running beside it until shutdown.
pub async fn serve_with_delivery(
    listener: TcpListener,
    core: Core,
    mail: MailConfig,
    outbox: OutboxSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mailer = Mailer::new(&mail).map_err(|e| anyhow::anyhow!("mail: {e}"))?;
    if mail.smtp.is_none() {
        tracing::info!(
            folder = %mailer.describe(),
            "no SMTP server configured: invitation e-mails are written as .eml files"
        );
    }
    let worker = Worker::new(core.clone(), mailer, outbox).spawn();
    let r = serve(listener, core, shutdown).await;
    worker.stop().await;
    r
}
