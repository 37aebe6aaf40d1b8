//! `kill -9` of the server under concurrent write load, 20 times in a row on one database, on
//! both backends: every write a client saw acknowledged is present, both audit chains written to
//! (the platform's and an organisation's) verify from their first event to their head, and no
//! change exists without its audit event.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orgadm::transport::grpc::pb;

use crate::support::*;

/// Kills per backend (the proof asks for 20).
const ROUNDS: u32 = 20;
/// How long writes flow before each kill.
const WRITE_WINDOW: Duration = Duration::from_millis(400);

fn start_server(url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args([
            "--database-url",
            url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ORGADM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Writes that the server acknowledged, by the identity the client chose.
#[derive(Default)]
struct Acked {
    snils: BTreeSet<String>,
    groups: BTreeSet<String>,
}

/// Two writers register persons (platform chain), two create access groups (the
/// organisation's chain), each until the connection breaks.
fn write_until_killed(
    api: &Api,
    org: i64,
    round: u32,
    acked: &Arc<Mutex<Acked>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for t in 0..2u32 {
        let mut persons = api.persons.clone();
        let seen = acked.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_000u32 {
                let s = snils(100_000 + round * 20_000 + t * 10_000 + i);
                let req = person_req("Устойчивый", &s, pb::AccountLevel::Confirmed);
                if persons.register_person(req).await.is_err() {
                    break;
                }
                seen.lock().unwrap().snils.insert(s);
            }
        }));
        let mut groups = api.groups.clone();
        let seen = acked.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_000u32 {
                let mnemonic = format!("CRASH_R{round}_T{t}_{i}");
                let req = pb::CreateGroupRequest {
                    request_id: String::new(),
                    organization_oid: org,
                    mnemonic: mnemonic.clone(),
                    system: String::new(),
                    name: format!("Группа {mnemonic}"),
                    description: String::new(),
                };
                if groups.create_group(req).await.is_err() {
                    break;
                }
                seen.lock().unwrap().groups.insert(mnemonic);
            }
        }));
    }
    tasks
}

fn column_values(db: &TestDb, sql: &str) -> BTreeSet<String> {
    query_texts(db, sql).into_iter().collect()
}

async fn verify(api: &mut Api, chain: i64) -> pb::VerifyChainResponse {
    api.audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: chain,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let token = cli_token(&["--database-url", &db.url], "crash", "operator");

    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut org = 0;
    for round in 0..ROUNDS {
        let port = free_port();
        let mut child = start_server(&db.url, port);
        let api = Api::new(connect_ready(port).await, Some(token.clone()), None);
        if round == 0 {
            let mut a = Api::new(connect_ready(port).await, Some(token.clone()), None);
            let head = confirmed_person(&mut a, "Руководитель", 1).await;
            org = a
                .orgs
                .register_organization(org_req(head))
                .await
                .unwrap()
                .into_inner()
                .oid;
        }
        let tasks = write_until_killed(&api, org, round, &acked);
        tokio::time::sleep(WRITE_WINDOW).await;
        child.kill().unwrap();
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    }

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.snils.len() >= ROUNDS as usize && acked.groups.len() >= ROUNDS as usize,
        "too few writes were acknowledged to prove anything: {} persons, {} groups",
        acked.snils.len(),
        acked.groups.len()
    );
    println!(
        "{backend:?}: {} persons and {} groups acknowledged across {ROUNDS} kills",
        acked.snils.len(),
        acked.groups.len()
    );
    let stored_snils = column_values(&db, "SELECT snils AS v FROM persons");
    let lost: Vec<_> = acked.snils.difference(&stored_snils).collect();
    assert!(lost.is_empty(), "acknowledged persons lost: {lost:?}");
    let stored_groups = column_values(
        &db,
        &format!("SELECT mnemonic AS v FROM access_groups WHERE organization_oid = {org}"),
    );
    let lost: Vec<_> = acked.groups.difference(&stored_groups).collect();
    assert!(lost.is_empty(), "acknowledged groups lost: {lost:?}");

    // No change without its event: one `person.register` per person, one `group.create` per
    // group (the built-in ones included), nothing else.
    let persons = count_rows(&db, "persons");
    let person_events = count_where(&db, "audit_events", "action = 'person.register'");
    assert_eq!(persons, person_events, "persons vs person.register events");
    let groups = count_where(&db, "access_groups", &format!("organization_oid = {org}"));
    let group_events = count_where(
        &db,
        "audit_events",
        &format!("chain = {org} AND action = 'group.create'"),
    );
    let builtin = count_where(
        &db,
        "access_groups",
        &format!("organization_oid = {org} AND mnemonic NOT LIKE 'CRASH_%'"),
    );
    assert_eq!(
        groups - builtin,
        group_events,
        "created groups vs group.create events"
    );

    // Both chains verify end to end after twenty kills.
    let port = free_port();
    let mut child = start_server(&db.url, port);
    let mut api = Api::new(connect_ready(port).await, Some(token), None);
    for chain in [0, org] {
        let v = verify(&mut api, chain).await;
        assert!(v.intact, "chain {chain} broken after kills: {v:?}");
        assert!(v.events_checked > 0);
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_20_kills() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_20_kills() {
    acknowledged_writes_survive_kill_9(Backend::Postgres).await;
}
