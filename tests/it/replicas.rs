//! Two `orgadm serve` processes on one PostgreSQL database: both run delivery workers on one
//! outbox (each message is sent once) and take accepts of one invitation (exactly one wins).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::invitations::invite;
use crate::smtp::{parse, secret_after};
use crate::support::*;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(url: &str, port: u16, outbox: &std::path::Path) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_orgadm"))
            .args([
                "--database-url",
                url,
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--outbox-dir",
                &outbox.display().to_string(),
                "--invitation-base-url",
                LINK_BASE,
            ])
            .env("ORGADM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn connect(port: u16) -> tonic::transport::Channel {
    for _ in 0..300 {
        if let Ok(c) = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {port} did not start");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn token(url: &str, name: &str, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args([
            "--database-url",
            url,
            "client",
            "create",
            "--name",
            name,
            "--role",
            role,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_share_outbox_and_accept_once() {
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    let op_token = token(&db.url, "op", "operator");
    let portal = token(&db.url, "portal", "portal");
    let outbox = tempfile::tempdir().unwrap();
    let (p1, p2) = (free_port(), free_port());
    let _a = serve(&db.url, p1, outbox.path());
    let _b = serve(&db.url, p2, outbox.path());
    let (c1, c2) = (connect(p1).await, connect(p2).await);
    let mut op = Api::new(c1.clone(), Some(op_token.clone()), None);
    let head = confirmed_person(&mut op, "Петров", 1).await;
    let org = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let mut head_api = Api::new(c2.clone(), Some(portal.clone()), Some(head));
    // Five invitations through either process: each e-mail is written once.
    for i in 0..5 {
        let mut h = if i % 2 == 0 {
            Api::new(c1.clone(), Some(portal.clone()), Some(head))
        } else {
            Api::new(c2.clone(), Some(portal.clone()), Some(head))
        };
        h.invitations
            .create_invitation(invite(org, &format!("r{i}@example.ru"), "", true))
            .await
            .unwrap();
    }
    wait_rows(&db, "mail_outbox", "state = 'sent'", 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count_where(&db, "mail_attempts", "outcome = 'sent'"), 5);
    assert_eq!(
        count_rows(&db, "mail_attempts"),
        5,
        "no message was attempted twice"
    );
    let files: Vec<_> = std::fs::read_dir(outbox.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 5);
    let raw = files
        .iter()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .find(|r| r.contains("r0@example.ru"))
        .unwrap();
    let secret = secret_after(&parse(&raw).text, LINK_BASE);
    // Eight people accept the same invitation at once, through both processes.
    let mut people = Vec::new();
    for i in 0..8 {
        people.push(confirmed_person(&mut op, "Конкурент", 10 + i).await);
    }
    let mut tasks = Vec::new();
    for (i, p) in people.into_iter().enumerate() {
        let ch = if i % 2 == 0 { c1.clone() } else { c2.clone() };
        let mut api = Api::new(ch, Some(portal.clone()), Some(p));
        let secret = secret.clone();
        tasks.push(tokio::spawn(async move {
            api.invitations
                .accept_invitation(pb::AcceptInvitationRequest { secret })
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(count_rows(&db, "employees"), 2);
    let v = head_api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: org,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact);
}
