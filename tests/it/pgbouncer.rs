//! Two `orgadm serve` processes reach one PostgreSQL through PgBouncer in transaction mode, with
//! fewer server connections than the processes hold: transactions of both processes share server
//! connections, and still the organisation's chain has no gap or fork, every acknowledged write
//! is stored once with its event, and a race for one mnemonic makes one group. The processes run
//! with `--db-statement-cache false` (PgBouncer before 1.21 cannot carry named prepared
//! statements between server connections; see docs/OPERATIONS.md).
//!
//! Needs `pgbouncer` on the PATH (CI installs it) and `ORGADM_TEST_PG_URL`; skipped with a
//! message otherwise.

use std::process::{Command, Stdio};
use std::time::Duration;

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::support::*;

fn pgbouncer_path() -> Option<std::path::PathBuf> {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

/// PgBouncer in transaction mode in front of the test server, with `pool` server connections.
fn start_pgbouncer(
    bin: &std::path::Path,
    dir: &std::path::Path,
    admin_url: &str,
    port: u16,
    pool: u32,
) -> Proc {
    // postgres://user:pass@host:port/db
    let rest = admin_url.strip_prefix("postgres://").unwrap();
    let (cred, hostpart) = rest.split_once('@').unwrap();
    let (user, pass) = cred.split_once(':').unwrap();
    let (hostport, _) = hostpart.split_once('/').unwrap();
    let (host, pgport) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"{pass}\"\n")).unwrap();
    let ini = format!(
        "[databases]\n* = host={host} port={pgport}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
         listen_port = {port}\nunix_socket_dir =\nauth_type = plain\nauth_file = {users}\n\
         pool_mode = transaction\ndefault_pool_size = {pool}\nmax_client_conn = 200\n\
         logfile = {log}\nignore_startup_parameters = extra_float_digits,options\n",
        users = dir.join("users.txt").display(),
        log = dir.join("pgbouncer.log").display(),
    );
    let conf = dir.join("pgbouncer.ini");
    std::fs::write(&conf, ini).unwrap();
    let mut cmd = if is_root() {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .unwrap();
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let child = cmd
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

fn serve(url: &str, port: u16) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_orgadm"))
            .args([
                "--database-url",
                url,
                "--db-statement-cache",
                "false",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("ORGADM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_through_pgbouncer_transaction_mode() {
    let Some(bin) = pgbouncer_path() else {
        println!("skipped: pgbouncer is not installed (apt-get install pgbouncer)");
        return;
    };
    let Some(db) = TestDb::new(Backend::Postgres) else {
        return;
    };
    let admin = std::env::var("ORGADM_TEST_PG_URL").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bport = free_port();
    // Declared after `db`, so PgBouncer stops before the database is dropped.
    let _bouncer = start_pgbouncer(&bin, dir.path(), &admin, bport, 3);
    let name = db.url.rsplit('/').next().unwrap();
    let (cred, _) = admin
        .strip_prefix("postgres://")
        .unwrap()
        .split_once('@')
        .unwrap();
    let url = format!("postgres://{cred}@127.0.0.1:{bport}/{name}");
    // Wait for PgBouncer to listen.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", bport)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let token = cli_token(
        &["--database-url", &url, "--db-statement-cache", "false"],
        "op",
        "operator",
    );
    let ports = [free_port(), free_port()];
    let _procs: Vec<Proc> = ports.iter().map(|p| serve(&url, *p)).collect();
    let mut chans = Vec::new();
    for p in ports {
        chans.push(connect_ready(p).await);
    }
    let mut op = Api::new(chans[0].clone(), Some(token.clone()), None);
    let head = confirmed_person(&mut op, "Петров", 1).await;
    let org = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner()
        .oid;

    // Four writers per process on one chain; every fifth write races for one mnemonic.
    let mut tasks = Vec::new();
    for (r, ch) in chans.iter().enumerate() {
        for t in 0..4 {
            let mut api = Api::new(ch.clone(), Some(token.clone()), None);
            tasks.push(tokio::spawn(async move {
                let (mut made, mut retried) = (0i64, 0u64);
                for i in 0..25 {
                    let m = if i % 5 == 0 {
                        format!("SHARED_{i}")
                    } else {
                        format!("P{r}_T{t}_{i}")
                    };
                    // UNAVAILABLE is the service's answer when conflicts it retries itself
                    // persist (the two processes' transactions can deadlock over a mnemonic
                    // and the chain head): nothing was committed, and the client retries, as
                    // its RetryInfo says. An acknowledged or a refused write is final.
                    let mut tries = 0;
                    loop {
                        match api.groups.create_group(group_req(org, &m)).await {
                            Ok(_) => made += 1,
                            Err(e) if e.code() == Code::Unavailable && tries < 5 => {
                                tries += 1;
                                retried += 1;
                                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
                                continue;
                            }
                            Err(e) => assert_eq!(e.code(), Code::AlreadyExists, "{m}: {e:?}"),
                        }
                        break;
                    }
                }
                (made, retried)
            }));
        }
    }
    let (mut made, mut retried) = (0, 0);
    for t in tasks {
        let (m, r) = t.await.unwrap();
        made += m;
        retried += r;
    }
    assert_eq!(
        count_where(
            &db,
            "access_groups",
            &format!(
                "organization_oid = {org} AND (mnemonic LIKE 'P%' OR mnemonic LIKE 'SHARED%')"
            )
        ),
        made
    );
    assert_eq!(
        count_where(&db, "access_groups", "mnemonic LIKE 'SHARED%'"),
        5
    );
    assert_eq!(
        count_where(
            &db,
            "audit_events",
            &format!("chain = {org} AND action = 'group.create'")
        ),
        made
    );
    let v = op
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: org,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact, "{v:?}");
    println!(
        "through PgBouncer (3 server connections): {made} groups from 8 writers in 2 processes, \
         {retried} writes retried after UNAVAILABLE"
    );
}
