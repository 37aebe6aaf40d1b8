//! Wiring: opens the database, builds the service core, and serves it. Used by the binary and
//! by the integration tests (which serve on a pre-bound `127.0.0.1:0` listener).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

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
    ))
}

/// Serves gRPC and HTTP on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::transport::server::serve(listener, core, shutdown).await
}
