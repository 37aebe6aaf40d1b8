//! A PostgreSQL outage under load: the database server is stopped (`pg_ctl stop -m immediate`,
//! as a crash) while clients write, and started again. During the outage callers get
//! `UNAVAILABLE` (never INTERNAL or a hang), the service recovers by itself within seconds once
//! the database is back, and a client retrying with the same `request_id` creates nothing twice.
//!
//! The test runs its own PostgreSQL cluster (`initdb` in a temporary folder, on its own port), so
//! stopping it disturbs no other test. It needs the PostgreSQL server binaries and, when run as
//! root, the `postgres` system user; it runs where `ORGADM_TEST_PG_URL` is set (CI) and says why
//! when it skips.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orgadm::transport::grpc::pb;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::*;

/// A PostgreSQL cluster of this test's own.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

impl Cluster {
    fn start() -> Option<Self> {
        if std::env::var("ORGADM_TEST_PG_URL").is_err() {
            println!(
                "skipped: ORGADM_TEST_PG_URL is not set (the outage test runs with PostgreSQL)"
            );
            return None;
        }
        let Some(bin) = pg_bin() else {
            println!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                println!("skipped: running as root and cannot hand a folder to the postgres user");
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Self { bin, dir, port };
        let data = c.data();
        let out = c
            .pg(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.ctl_start();
        Some(c)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A PostgreSQL program, run as the postgres user when we are root.
    fn pg(&self, program: &str, args: &[&str]) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path).args(args);
            c
        } else {
            let mut c = Command::new(path);
            c.args(args);
            c
        }
    }

    fn ctl_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let st = self
            .pg(
                "pg_ctl",
                &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
            )
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctl start failed: see {log}");
    }

    fn ctl_stop(&self) {
        let st = self
            .pg(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            )
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctl stop failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// What one writer saw, by the SNILS (and request id) it chose.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<(String, i64)>,
    codes_during_outage: Vec<Code>,
    unexpected: Vec<String>,
}

async fn register_with_retries(
    persons: &mut pb::person_service_client::PersonServiceClient<
        tonic::service::interceptor::InterceptedService<Channel, Auth>,
    >,
    n: u32,
    outage: &Arc<Mutex<bool>>,
    seen: &Arc<Mutex<Seen>>,
) {
    let s = snils(500_000 + n);
    let req = pb::RegisterPersonRequest {
        request_id: format!("outage-{n}"),
        ..person_req("Терпеливый", &s, pb::AccountLevel::Confirmed)
    };
    loop {
        let r = tokio::time::timeout(
            Duration::from_secs(15),
            persons.register_person(req.clone()),
        )
        .await;
        match r {
            Ok(Ok(p)) => {
                seen.lock()
                    .unwrap()
                    .acknowledged
                    .push((s, p.into_inner().oid));
                return;
            }
            Ok(Err(e)) => {
                let mut g = seen.lock().unwrap();
                if *outage.lock().unwrap() {
                    g.codes_during_outage.push(e.code());
                }
                if !matches!(e.code(), Code::Unavailable) {
                    g.unexpected
                        .push(format!("{n}: {:?} {}", e.code(), e.message()));
                }
            }
            Err(_) => {
                seen.lock()
                    .unwrap()
                    .unexpected
                    .push(format!("{n}: no answer within 15 s"));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_under_load_recovers_and_retries_create_nothing_twice() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let token = cli_token(&["--database-url", &url], "outage", "operator");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_orgadm"))
            .args([
                "--database-url",
                &url,
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("ORGADM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(cluster.dir.path().join("orgadm.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let api = Api::new(connect_ready(port).await, Some(token), None);

    // Four writers, each registering persons one after another, retrying each with its
    // request id until it is acknowledged.
    let outage = Arc::new(Mutex::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4u32 {
        let mut persons = api.persons.clone();
        let (outage, seen, stop) = (outage.clone(), seen.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                register_with_retries(&mut persons, w * 100_000 + i, &outage, &seen).await;
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = seen.lock().unwrap().acknowledged.len();
    assert!(before > 0, "no write before the outage");

    *outage.lock().unwrap() = true;
    tokio::task::block_in_place(|| cluster.ctl_stop());
    // Longer than the pool's 5 s connection timeout, so waiting callers are refused while the
    // database is still down, however busy the machine is.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let during = seen.lock().unwrap().acknowledged.len();
    tokio::task::block_in_place(|| cluster.ctl_start());
    *outage.lock().unwrap() = false;
    let back = Instant::now();
    let recovered = loop {
        if seen.lock().unwrap().acknowledged.len() > during {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "no write succeeded within 20 s of the database's return"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    println!(
        "outage: {before} writes before, {} in all; {} refusals during the outage; first write \
         {:?} after the database returned",
        seen.acknowledged.len(),
        seen.codes_during_outage.len(),
        recovered
    );
    let log = std::fs::read_to_string(cluster.dir.path().join("orgadm.log")).unwrap_or_default();
    assert!(
        seen.unexpected.is_empty(),
        "callers saw something other than UNAVAILABLE: {:?}; the server said:\n{}",
        seen.unexpected,
        log.lines()
            .filter(|l| l.contains("ERROR") || l.contains("internal"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        !seen.codes_during_outage.is_empty(),
        "no call was refused while the database was down"
    );
    assert!(
        recovered < Duration::from_secs(10),
        "recovery took {recovered:?}"
    );

    // Retries created nothing twice: each acknowledged SNILS is one person with the OID the
    // client was given, persons and their events match one to one, and the chain verifies.
    let db = TestDb::external(&url);
    let stored = query_texts(&db, "SELECT snils || ':' || oid AS v FROM persons");
    assert_eq!(
        stored.len(),
        seen.acknowledged.len(),
        "persons stored vs acknowledged (an unacknowledged write would show here too)"
    );
    for (s, oid) in &seen.acknowledged {
        assert!(
            stored.contains(&format!("{s}:{oid}")),
            "acknowledged person {s} (OID {oid}) is not stored as acknowledged"
        );
    }
    assert_eq!(
        count_where(&db, "audit_events", "action = 'person.register'"),
        stored.len() as i64
    );
    let mut api = api;
    let v = api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact, "{v:?}");
}
