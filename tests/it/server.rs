//! The listener: health, reflection, HTTP probes, limits.

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(health_reflection_and_probes, hostile_metadata_and_sizes);

async fn health_reflection_and_probes(s: &TestServer) {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let mut health = HealthClient::new(s.channel().await);
    for service in [
        "",
        "orgadm.v1.PersonService",
        "orgadm.v1.OrganizationService",
        "orgadm.v1.AuditService",
    ] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service}");
    }

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut refl = ServerReflectionClient::new(s.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = refl
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("{resp:?}")
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    for expected in [
        "grpc.health.v1.Health",
        "orgadm.v1.AuditService",
        "orgadm.v1.OrganizationService",
        "orgadm.v1.PersonService",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }

    let base = format!("http://{}", s.addr);
    let client = reqwest_like::get(&format!("{base}/healthz")).await;
    assert_eq!(client, (200, "ok\n".to_string()));
    assert_eq!(
        reqwest_like::get(&format!("{base}/readyz")).await,
        (200, "ready\n".to_string())
    );
}

async fn hostile_metadata_and_sizes(s: &TestServer) {
    let mut api = s.as_operator().await;
    let huge = "Я".repeat(2 * 1024 * 1024);
    let err = api
        .persons
        .register_person(person_req(&huge, &snils(1), pb::AccountLevel::Confirmed))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    let mut req = tonic::Request::new(pb::SearchPersonsRequest::default());
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", s.operator).parse().unwrap(),
    );
    req.metadata_mut()
        .insert("x-orgadm-person", "abc".parse().unwrap());
    let mut raw = pb::person_service_client::PersonServiceClient::new(s.channel().await);
    let err = raw.search_persons(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["x-orgadm-person"]);
    assert_eq!(count_rows(&s.db, "persons"), 0);
}

/// A minimal HTTP/1.1 GET over a TCP socket (keeps the test dependencies small).
mod reqwest_like {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub async fn get(url: &str) -> (u16, String) {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut sock = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        sock.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        sock.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf).to_string();
        let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}
