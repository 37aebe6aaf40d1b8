//! Acknowledged writes survive `kill -9` of the server process, on both backends.

use std::process::{Command, Stdio};
use std::time::Duration;

use orgadm::transport::grpc::pb;

use crate::support::*;

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_orgadm");
    let out = Command::new(bin)
        .args([
            "--database-url",
            &db.url,
            "client",
            "create",
            "--name",
            "crash",
            "--role",
            "operator",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args([
            "--database-url",
            &db.url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ORGADM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(c) = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            channel = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let channel = channel.expect("server did not start");
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let mut tasks = Vec::new();
    for t in 0..4u32 {
        let acked = acked.clone();
        let mut persons = pb::person_service_client::PersonServiceClient::new(channel.clone());
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1000u32 {
                let mut r = tonic::Request::new(person_req(
                    "Устойчивый",
                    &snils(t * 1000 + i),
                    pb::AccountLevel::Confirmed,
                ));
                r.metadata_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
                if persons.register_person(r).await.is_err() {
                    break;
                }
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    // Let writes flow, then kill the server without warning.
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.load(std::sync::atomic::Ordering::SeqCst);
    assert!(acked > 0, "no write was acknowledged before the kill");
    let stored = count_rows(&db, "persons");
    assert!(
        stored >= acked,
        "acknowledged {acked} persons but only {stored} survived"
    );
    // Every stored change has its audit event.
    let events = count_rows(&db, "audit_events");
    assert_eq!(
        events,
        stored + 1,
        "one event per person plus the client's creation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_kill_9() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_kill_9() {
    acknowledged_writes_survive_kill_9(Backend::Postgres).await;
}
