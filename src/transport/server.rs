//! One listener for gRPC and HTTP: tonic services become axum routes (gRPC over HTTP/2,
//! HTTP/1.1 and HTTP/2 for plain HTTP), served by axum over plain TCP or TLS ([`super::tls`])
//! with graceful shutdown: on the signal the listener stops accepting, readiness and health turn
//! to not-serving, and requests in flight get `grace` to finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::{IncomingStream, Listener};
use tokio::net::TcpListener;
use tonic_health::ServingStatus;

use super::grpc::MAX_MESSAGE_BYTES;
use super::grpc::api_keys::ApiKeyApi;
use super::grpc::audit::AuditApi;
use super::grpc::auth::Authenticated;
use super::grpc::employees::{AccessGroupApi, EmployeeApi, InvitationApi};
use super::grpc::organizations::OrganizationApi;
use super::grpc::pb::{
    self, access_group_service_server::AccessGroupServiceServer,
    api_key_service_server::ApiKeyServiceServer, audit_service_server::AuditServiceServer,
    employee_service_server::EmployeeServiceServer,
    information_system_service_server::InformationSystemServiceServer,
    invitation_service_server::InvitationServiceServer,
    organization_service_server::OrganizationServiceServer,
    person_service_server::PersonServiceServer,
    power_of_attorney_service_server::PowerOfAttorneyServiceServer,
    power_service_server::PowerServiceServer, records_service_server::RecordsServiceServer,
    token_service_server::TokenServiceServer,
};
use super::grpc::persons::PersonApi;
use super::grpc::poa::PoaApi;
use super::grpc::powers::PowerApi;
use super::grpc::records::RecordsApi;
use super::grpc::systems::InformationSystemApi;
use super::grpc::tokens::{MAX_TOKEN_MESSAGE_BYTES, TokenApi};
use super::http::{self, Readiness};
use super::tls::{Peer, PlainListener, TlsListener};
use crate::service::Core;

/// The names of the orgadm.v1 services, as health reports them.
pub const SERVICE_NAMES: &[&str] = &[
    "orgadm.v1.PersonService",
    "orgadm.v1.OrganizationService",
    "orgadm.v1.AuditService",
    "orgadm.v1.PowerService",
    "orgadm.v1.PowerOfAttorneyService",
    "orgadm.v1.EmployeeService",
    "orgadm.v1.InvitationService",
    "orgadm.v1.AccessGroupService",
    "orgadm.v1.InformationSystemService",
    "orgadm.v1.ApiKeyService",
    "orgadm.v1.TokenService",
    "orgadm.v1.RecordsService",
];

/// How the listener serves.
#[derive(Clone)]
pub struct ServeOptions {
    /// TLS (and mutual TLS) when set; plain TCP otherwise.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long requests in flight may take to finish once shutdown begins.
    pub grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            tls: None,
            grace: Duration::from_secs(30),
        }
    }
}

/// Serves until `shutdown` resolves; readiness and health flip to serving once accepting and
/// back to not-serving when shutdown begins.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let serving = Serving::start(listener, options, shutdown).await?;
    serving.ready(core).await?;
    serving.wait().await
}

/// The routers a connection's requests go to: `main` once the service is ready, `starting`
/// before (probes say not ready; everything else is unavailable).
struct Apps {
    starting: axum::Router,
    main: OnceLock<axum::Router>,
}

/// A listener already serving: probes and health answer (not ready) while the database and
/// keys load; [`Serving::ready`] installs the service.
pub struct Serving {
    apps: Arc<Apps>,
    health: tonic_health::server::HealthReporter,
    health_routes: tonic::service::Routes,
    ready: Readiness,
    addr: std::net::SocketAddr,
    tls: bool,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    /// Starts serving on `listener` at once, not ready, until `shutdown` resolves.
    pub async fn start(
        listener: TcpListener,
        options: ServeOptions,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in SERVICE_NAMES {
            health
                .set_service_status(*name, ServingStatus::NotServing)
                .await;
        }
        let ready = Readiness::default();
        let health_routes = tonic::service::Routes::new(health_service);
        let starting = health_routes
            .clone()
            .into_axum_router()
            .merge(http::starting_router())
            .fallback(http::fallback_starting);
        let apps = Arc::new(Apps {
            starting,
            main: OnceLock::new(),
        });
        let addr = listener.local_addr()?;
        let tls = options.tls.is_some();
        tracing::info!(%addr, tls, "listening; not ready until the database and keys are loaded");

        let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
        let health_on_stop = health.clone();
        let ready_on_stop = ready.clone();
        let graceful = async move {
            shutdown.await;
            ready_on_stop.set(false);
            for name in SERVICE_NAMES {
                health_on_stop
                    .set_service_status(*name, ServingStatus::NotServing)
                    .await;
            }
            health_on_stop
                .set_service_status("", ServingStatus::NotServing)
                .await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
            let _ = stopping_tx.send(());
        };
        let served = apps.clone();
        let task = match options.tls {
            None => tokio::spawn(run(
                PlainListener(listener),
                served,
                graceful,
                stopping,
                options.grace,
            )),
            Some(config) => {
                let listener = TlsListener::new(listener, config)?;
                tokio::spawn(run(listener, served, graceful, stopping, options.grace))
            }
        };
        Ok(Self {
            apps,
            health,
            health_routes,
            ready,
            addr,
            tls,
            task,
        })
    }

    /// Installs the service for `core`; readiness and health turn to serving.
    pub async fn ready(&self, core: Core) -> anyhow::Result<()> {
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let persons = PersonServiceServer::new(PersonApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let orgs = OrganizationServiceServer::new(OrganizationApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let audit = AuditServiceServer::new(AuditApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let powers = PowerServiceServer::new(PowerApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let poas = PowerOfAttorneyServiceServer::new(PoaApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let employees = EmployeeServiceServer::new(EmployeeApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let invitations = InvitationServiceServer::new(InvitationApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let groups = AccessGroupServiceServer::new(AccessGroupApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let systems =
            InformationSystemServiceServer::new(InformationSystemApi { core: core.clone() })
                .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let api_keys = ApiKeyServiceServer::new(ApiKeyApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let records = RecordsServiceServer::new(RecordsApi { core: core.clone() })
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        // Public: no client credentials (like health and reflection).
        let tokens = TokenServiceServer::new(TokenApi { core: core.clone() })
            .max_decoding_message_size(MAX_TOKEN_MESSAGE_BYTES);

        let grpc = self
            .health_routes
            .clone()
            .add_service(reflection)
            .add_service(reflection_alpha)
            .add_service(Authenticated::new(core.clone(), persons))
            .add_service(Authenticated::new(core.clone(), orgs))
            .add_service(Authenticated::new(core.clone(), audit))
            .add_service(Authenticated::new(core.clone(), powers))
            .add_service(Authenticated::new(core.clone(), poas))
            .add_service(Authenticated::new(core.clone(), employees))
            .add_service(Authenticated::new(core.clone(), invitations))
            .add_service(Authenticated::new(core.clone(), groups))
            .add_service(Authenticated::new(core.clone(), systems))
            .add_service(Authenticated::new(core.clone(), api_keys))
            .add_service(Authenticated::new(core.clone(), records))
            .add_service(tokens)
            .into_axum_router();
        let app = grpc
            .merge(http::router(core.clone(), self.ready.clone()))
            .fallback(http::fallback)
            .layer(super::observe::ObserveLayer::new(&core));
        if self.apps.main.set(app).is_err() {
            anyhow::bail!("the service is already installed");
        }
        for name in SERVICE_NAMES {
            self.health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        self.health
            .set_service_status("", ServingStatus::Serving)
            .await;
        self.ready.set(true);
        tracing::info!(
            addr = %self.addr,
            tls = self.tls,
            backend = core.db.backend().as_str(),
            "orgadm is serving gRPC and HTTP"
        );
        Ok(())
    }

    /// Whether the server already stopped (shutdown before it was ready, or an error).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits until the server has shut down.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task
            .await
            .map_err(|e| anyhow::anyhow!("the server task failed: {e}"))?
    }
}

/// Serves `app` on `listener` until `graceful` resolves and the connections end, or `grace`
/// after it resolved.
async fn run<L: Listener<Addr = Peer>>(
    listener: L,
    apps: Arc<Apps>,
    graceful: impl Future<Output = ()> + Send + 'static,
    stopping: tokio::sync::oneshot::Receiver<()>,
    grace: Duration,
) -> anyhow::Result<()> {
    let served = axum::serve(listener, WithPeers { apps }).with_graceful_shutdown(graceful);
    let deadline = async move {
        if stopping.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = std::future::IntoFuture::into_future(served) => r?,
        () = deadline => tracing::warn!(
            grace_secs = grace.as_secs(),
            "requests still in flight after the shutdown grace period: closing their connections"
        ),
    }
    Ok(())
}

/// Makes, per connection, the router with the connection's [`Peer`] put into every request (as
/// `ConnectInfo<SocketAddr>` and, over mutual TLS, its [`super::tls::ClientCertificate`]).
#[derive(Clone)]
struct WithPeers {
    apps: Arc<Apps>,
}

impl<L: Listener<Addr = Peer>> tower::Service<IncomingStream<'_, L>> for WithPeers {
    type Response = WithPeer;
    type Error = Infallible;
    type Future = std::future::Ready<Result<WithPeer, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(WithPeer {
            apps: self.apps.clone(),
            peer: stream.remote_addr().clone(),
        }))
    }
}

#[derive(Clone)]
struct WithPeer {
    apps: Arc<Apps>,
    peer: Peer,
}

impl tower::Service<axum::extract::Request> for WithPeer {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Routers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: axum::extract::Request) -> Self::Future {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer.addr));
        if let Some(c) = &self.peer.certificate {
            req.extensions_mut().insert(c.clone());
        }
        // Each request goes to the service once it is installed, even on a connection opened
        // while starting.
        let mut app = match self.apps.main.get() {
            Some(main) => main.clone(),
            None => self.apps.starting.clone(),
        };
        app.call(req)
    }
}
