//! One listener for gRPC and HTTP: tonic services become axum routes (gRPC over HTTP/2,
//! HTTP/1.1 and HTTP/2 for plain HTTP), served by axum with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

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
    power_service_server::PowerServiceServer, token_service_server::TokenServiceServer,
};
use super::grpc::persons::PersonApi;
use super::grpc::poa::PoaApi;
use super::grpc::powers::PowerApi;
use super::grpc::systems::InformationSystemApi;
use super::grpc::tokens::{MAX_TOKEN_MESSAGE_BYTES, TokenApi};
use super::http::{self, Readiness};
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
];

/// Serves until `shutdown` resolves; readiness and health flip to serving once accepting and
/// back to not-serving when shutdown begins.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
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
    let systems = InformationSystemServiceServer::new(InformationSystemApi { core: core.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let api_keys = ApiKeyServiceServer::new(ApiKeyApi { core: core.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    // Public: no client credentials (like health and reflection).
    let tokens = TokenServiceServer::new(TokenApi { core: core.clone() })
        .max_decoding_message_size(MAX_TOKEN_MESSAGE_BYTES);

    let grpc = tonic::service::Routes::new(health_service)
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
        .add_service(tokens)
        .into_axum_router();
    let ready = Readiness::default();
    let app = grpc
        .merge(http::router(core.clone(), ready.clone()))
        .fallback(http::fallback);

    let addr = listener.local_addr()?;
    for name in SERVICE_NAMES {
        health
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    health.set_service_status("", ServingStatus::Serving).await;
    ready.set(true);
    tracing::info!(%addr, backend = core.db.backend().as_str(), "orgadm is serving gRPC and HTTP");

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
        tracing::info!("shutting down: finishing requests in flight");
    };
    // Small gRPC responses must not wait for delayed ACKs (Nagle): no TCP_NODELAY cost 40 ms
    // per multi-segment response.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(graceful)
    .await?;
    Ok(())
}
