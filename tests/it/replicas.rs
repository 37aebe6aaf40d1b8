//! Three `orgadm serve` processes on one PostgreSQL database under concurrent load: they share
//! one outbox (each message is sent once), take accepts of one invitation (exactly one wins),
//! append to one organisation's chain from all sides (no gap, no fork: it verifies and has one
//! event per change), and race to create the same group mnemonic, the same information system
//! `CLIENT_ID` and the same idempotent request (exactly one of each is made).

use std::process::{Command, Stdio};
use std::time::Duration;

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::invitations::invite;
use crate::smtp::{parse, secret_after};
use crate::support::*;

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

/// Races the same creations through every replica and writes distinct groups from all of them.
async fn contend(op_token: &str, chans: &[tonic::transport::Channel], org: i64) -> usize {
    let mut tasks = Vec::new();
    for (r, ch) in chans.iter().enumerate() {
        for t in 0..2 {
            let mut api = Api::new(ch.clone(), Some(op_token.to_owned()), None);
            tasks.push(tokio::spawn(async move {
                let mut made = 0usize;
                for i in 0..40 {
                    // A distinct group from this writer…
                    let own = format!("R{r}_T{t}_{i}");
                    api.groups.create_group(group_req(org, &own)).await.unwrap();
                    made += 1;
                    // …and, every fourth round, a race for the same mnemonic, CLIENT_ID and
                    // request id with every other writer.
                    if i % 4 == 0 {
                        let k = i / 4;
                        match api
                            .groups
                            .create_group(group_req(org, &format!("SHARED_{k}")))
                            .await
                        {
                            Ok(_) => made += 1,
                            Err(e) => assert_eq!(e.code(), Code::AlreadyExists, "{e:?}"),
                        }
                        let sys = pb::RegisterSystemRequest {
                            vendor_oid: org,
                            client_id: format!("RACE-{k}"),
                            name: format!("Система {r}.{t}"),
                            description: String::new(),
                        };
                        if let Err(e) = api.systems.register_system(sys).await {
                            assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
                        }
                        let req = pb::RegisterPersonRequest {
                            request_id: format!("race-{k}"),
                            ..person_req("Гонщиков", &snils(700 + k), pb::AccountLevel::Confirmed)
                        };
                        api.persons.register_person(req).await.unwrap();
                    }
                }
                made
            }));
        }
    }
    let mut made = 0;
    for t in tasks {
        made += t.await.unwrap();
    }
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_three_processes_share_one_database() {
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    let op_token = cli_token(&["--database-url", &db.url], "op", "operator");
    let portal = cli_token(&["--database-url", &db.url], "portal", "portal");
    let outbox = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let _procs: Vec<Proc> = ports
        .iter()
        .map(|p| serve(&db.url, *p, outbox.path()))
        .collect();
    let mut chans = Vec::new();
    for p in ports {
        chans.push(connect_ready(p).await);
    }
    let mut op = Api::new(chans[0].clone(), Some(op_token.clone()), None);
    let head = confirmed_person(&mut op, "Петров", 1).await;
    let org = op
        .orgs
        .register_organization(pb::RegisterOrganizationRequest {
            vendor: true,
            ..org_req(head)
        })
        .await
        .unwrap()
        .into_inner()
        .oid;
    let mut head_api = Api::new(chans[1].clone(), Some(portal.clone()), Some(head));

    // Concurrent writes to one chain and races for one name, through all three.
    let made = contend(&op_token, &chans, org).await;
    let builtin = count_where(
        &db,
        "access_groups",
        &format!(
            "organization_oid = {org} AND mnemonic NOT LIKE 'R%' AND mnemonic NOT LIKE 'SHARED%'"
        ),
    );
    assert_eq!(
        count_where(&db, "access_groups", &format!("organization_oid = {org}")) - builtin,
        made as i64,
        "every acknowledged group is stored, and only those"
    );
    assert_eq!(
        count_where(&db, "access_groups", "mnemonic LIKE 'SHARED%'"),
        10
    );
    assert_eq!(
        count_where(
            &db,
            "audit_events",
            &format!("chain = {org} AND action = 'group.create'")
        ),
        made as i64
    );
    assert_eq!(
        count_where(&db, "information_systems", "client_id LIKE 'RACE-%'"),
        10
    );
    assert_eq!(count_where(&db, "persons", "surname = 'Гонщиков'"), 10);
    assert_eq!(
        count_where(&db, "audit_events", "action = 'person.register'"),
        count_rows(&db, "persons")
    );

    // Five invitations through the three processes: each e-mail is written once.
    for i in 0..5 {
        let mut h = Api::new(chans[i % 3].clone(), Some(portal.clone()), Some(head));
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
    // Nine people accept the same invitation at once, through all three processes.
    let mut people = Vec::new();
    for i in 0..9 {
        people.push(confirmed_person(&mut op, "Конкурент", 10 + i).await);
    }
    let mut tasks = Vec::new();
    for (i, p) in people.into_iter().enumerate() {
        let mut api = Api::new(chans[i % 3].clone(), Some(portal.clone()), Some(p));
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
    for chain in [org, 0] {
        let v = head_api
            .audit
            .verify_chain(pb::VerifyChainRequest {
                organization_oid: chain,
            })
            .await;
        let v = match v {
            Ok(v) => v.into_inner(),
            // The head may not read the platform chain; the operator may.
            Err(_) => op
                .audit
                .verify_chain(pb::VerifyChainRequest {
                    organization_oid: chain,
                })
                .await
                .unwrap()
                .into_inner(),
        };
        assert!(v.intact, "chain {chain}: {v:?}");
    }
}
