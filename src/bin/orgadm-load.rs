//! `orgadm-load`: drives a real `orgadm serve` process over gRPC on loopback and prints
//! throughput, latency percentiles and the server's peak resident memory.
//!
//! By default it starts the server itself (the release binary next to this one) on a fresh
//! database — a temporary SQLite file, or a new PostgreSQL database from `--pg-url` — creates the
//! operator credential with `orgadm client create`, runs the scenario, reads the server's
//! `VmHWM`/`VmRSS` from `/proc`, and stops it. Requests are bounded by `--count`.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use orgadm::domain::ids;
use orgadm::transport::grpc::pb;
use tonic::transport::Channel;

#[derive(Parser)]
#[command(
    name = "orgadm-load",
    about = "Load generator for orgadm (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Database the spawned server uses.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL admin URL (a fresh database is created and dropped); default $ORGADM_TEST_PG_URL.
    #[arg(long, env = "ORGADM_TEST_PG_URL")]
    pg_url: Option<String>,
    /// Concurrent client tasks.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Total requests of the measured phase.
    #[arg(long, default_value_t = 5000)]
    count: usize,
    /// SQLite `synchronous` for the server (FULL is the service default).
    #[arg(long, default_value = "FULL")]
    sqlite_synchronous: String,
}

#[derive(Subcommand)]
enum Scenario {
    /// RegisterOrganization with its audit event (one transaction each).
    Orgs(Common),
    /// In-process: CreateInvitation (idempotency claim, access facts, invitation, outbox
    /// message, audit event: one transaction) against a bare single-row insert transaction on
    /// the same database, pool, spawn_blocking path and concurrency, in the same run.
    Invitations(InvArgs),
    /// In-process gRPC: ListEmployees page latency for an organisation of many employees.
    Employees(EmpArgs),
    /// In-process: API-KEY creations (with audit) and the token exchange's validity check with
    /// a million keys stored.
    Keys(keys::KeyArgs),
    /// In-process: powers of attorney — drafts created (EMCHD_1 rendered, stored, audited) and
    /// bare renders per second; then, in the same run and at the same concurrency, the bare CMS
    /// verification (signature + chain to the trust anchors with CRLs) against SubmitSignature
    /// (read, the same verification and signer match, write, audit event).
    Signatures(SigArgs),
    /// In-process server on loopback: the token exchange over HTTP and gRPC with concurrent
    /// clients, against the bare cryptographic ceiling (one CMS verification + one token
    /// signature) measured in the same run on the same cores.
    Token(token::TokenArgs),
    /// A real server process: seed a chain of `--events` real events, stream the signed export
    /// over gRPC (events/s, MB/s, server memory growth), then the offline verifier against raw
    /// Streebog-256 over the same bytes.
    Audit(audit::AuditArgs),
}

#[derive(clap::Args, Clone)]
struct SigArgs {
    #[command(flatten)]
    common: Common,
    /// The test PKI (its `head` key and certificate sign the documents).
    #[arg(long, default_value = "tests/fixtures/pki")]
    pki_dir: PathBuf,
    /// Trust anchors and CRLs, as `serve --trust-dir`.
    #[arg(long, default_value = "tests/fixtures/trust")]
    trust_dir: PathBuf,
    /// Database connections (the pool the service would use).
    #[arg(long, default_value_t = 16)]
    pool_size: u32,
}

#[path = "load/keys.rs"]
mod keys;

#[path = "load/audit.rs"]
mod audit;

#[derive(clap::Args, Clone)]
struct InvArgs {
    #[command(flatten)]
    common: Common,
    /// Organisations the invitations are spread over (each has its own audit chain).
    #[arg(long, default_value_t = 32)]
    orgs: usize,
    /// Database connections (the pool the service would use).
    #[arg(long, default_value_t = 16)]
    pool_size: u32,
}

#[derive(clap::Args, Clone)]
struct EmpArgs {
    #[command(flatten)]
    common: Common,
    /// Employees of the one organisation.
    #[arg(long, default_value_t = 100_000)]
    employees: usize,
    /// Employees per page.
    #[arg(long, default_value_t = 50)]
    page_size: i32,
}

/// A spawned server and its database.
struct Server {
    child: Child,
    addr: String,
    token: String,
    _dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

fn orgadm_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no parent directory")?;
    let bin = dir.join("orgadm");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release)",
            bin.display()
        );
    }
    Ok(bin)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let st = Command::new("psql")
        .arg(admin)
        .arg("-qAtc")
        .arg(sql)
        .status()?;
    if !st.success() {
        bail!("psql failed: {sql}");
    }
    Ok(())
}

impl Server {
    fn start(c: &Common) -> anyhow::Result<Self> {
        let bin = orgadm_binary()?;
        let dir = tempfile::tempdir()?;
        let (url, pg_drop) = match c.backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("load.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = c
                    .pg_url
                    .clone()
                    .context("--pg-url or ORGADM_TEST_PG_URL is needed for postgres")?;
                let name = format!("orgadm_load_{}", std::process::id());
                psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"))?;
                psql(&admin, &format!("CREATE DATABASE {name}"))?;
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .context("bad PG URL")?;
                (format!("{base}/{name}"), Some((admin, name)))
            }
        };
        let out = Command::new(&bin)
            .args([
                "--database-url",
                &url,
                "client",
                "create",
                "--name",
                "load",
                "--role",
                "operator",
            ])
            .output()?;
        if !out.status.success() {
            bail!(
                "client create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let token = String::from_utf8(out.stdout)?
            .lines()
            .last()
            .context("no token")?
            .to_owned();
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "--database-url",
                &url,
                "--sqlite-synchronous",
                &c.sqlite_synchronous,
            ])
            .args(["--db-pool-size", "16", "serve", "--listen", &addr])
            .env("ORGADM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Self {
            child,
            addr,
            token,
            _dir: dir,
            pg_drop,
        })
    }

    /// Peak and current resident memory of the server, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, name)) = self.pg_drop.take() {
            let _ = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await
        {
            Ok(c) => return Ok(c),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn authed<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

/// A valid OGRN and INN-10 for organisation number `n`.
fn org_ids(n: usize) -> (String, String) {
    let body = format!("10277{:07}", n % 10_000_000);
    let ogrn_check = body.parse::<u64>().unwrap_or(0) % 11 % 10;
    let inn9 = format!("77{:07}", n % 10_000_000);
    let w = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let sum: u32 = inn9
        .chars()
        .zip(w)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    (
        format!("{body}{ogrn_check}"),
        format!("{inn9}{}", sum % 11 % 10),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run_orgs(c: Common) -> anyhow::Result<()> {
    let server = Server::start(&c)?;
    let channel = connect(&server.addr).await?;
    let mut persons = pb::person_service_client::PersonServiceClient::new(channel.clone());
    let head = persons
        .register_person(authed(
            &server.token,
            pb::RegisterPersonRequest {
                surname: "Петров".into(),
                given_name: "Пётр".into(),
                snils: "12345678964".into(),
                level: pb::AccountLevel::Confirmed as i32,
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .oid;
    let (o, i) = org_ids(0);
    ids::parse_ogrn(&o).map_err(|e| anyhow::anyhow!("generator: {e}"))?;
    ids::parse_inn10(&i).map_err(|e| anyhow::anyhow!("generator: {e}"))?;

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c.concurrency {
        let mut orgs =
            pb::organization_service_client::OrganizationServiceClient::new(channel.clone());
        let token = server.token.clone();
        let next = next.clone();
        let count = c.count;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n > count {
                    break;
                }
                let (ogrn, inn) = org_ids(n);
                let req = pb::RegisterOrganizationRequest {
                    request_id: format!("load-{n}"),
                    kind: pb::OrganizationKind::LegalEntity as i32,
                    full_name: format!("Общество с ограниченной ответственностью \"Нагрузка {n}\""),
                    short_name: format!("ООО \"Нагрузка {n}\""),
                    ogrn,
                    inn,
                    kpp: "770101001".into(),
                    address: "г. Москва".into(),
                    head_oid: head,
                    consumer: true,
                    vendor: false,
                };
                let t = Instant::now();
                match orgs.register_organization(authed(&token, req)).await {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    lat.sort();
    let (peak, rss) = server.memory();
    let mut audit = pb::audit_service_client::AuditServiceClient::new(channel);
    let last = count_verify(&mut audit, &server.token).await?;
    println!(
        "scenario=orgs backend={} concurrency={} ok={} errors={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p99={:.2}ms p999={:.2}ms server_peak_rss={:.1}MiB server_rss={:.1}MiB {}",
        match c.backend {
            Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
            Backend::Postgres => "postgres".into(),
        },
        c.concurrency,
        lat.len(),
        errors,
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        percentile(&lat, 0.999).as_secs_f64() * 1e3,
        peak,
        rss,
        last,
    );
    drop(server);
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// Verifies one organisation's chain, to show the load left intact chains.
async fn count_verify(
    audit: &mut pb::audit_service_client::AuditServiceClient<Channel>,
    token: &str,
) -> anyhow::Result<String> {
    let v = audit
        .verify_chain(authed(
            token,
            pb::VerifyChainRequest {
                organization_oid: 0,
            },
        ))
        .await?
        .into_inner();
    Ok(format!(
        "platform_chain_intact={} events={}",
        v.intact, v.events_checked
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Orgs(c) => run_orgs(c).await,
        Scenario::Invitations(a) => inproc::run_invitations(a).await,
        Scenario::Employees(a) => inproc::run_employees(a).await,
        Scenario::Keys(a) => keys::run(a).await,
        Scenario::Signatures(a) => inproc::run_signatures(a).await,
        Scenario::Token(a) => token::run(a).await,
        Scenario::Audit(a) => audit::run(a).await,
    }
}

#[path = "orgadm-load/token.rs"]
mod token;

/// Scenarios that open the database in this process, through the service's own `Core`.
mod inproc {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use anyhow::Context;
    use diesel::RunQueryDsl;
    use orgadm::domain::caller::{Caller, Role};
    use orgadm::domain::employee::InvitationInput;
    use orgadm::domain::organization::{OrgKind, OrganizationInput};
    use orgadm::domain::person::{AccountLevel, PersonInput};
    use orgadm::service::invitations::CreateInvitation;
    use orgadm::service::organizations::RegisterOrganization;
    use orgadm::service::persons::RegisterPerson;
    use orgadm::service::{Core, ServiceError};
    use orgadm::storage::{DbConfig, DbConnection};
    use orgadm::transport::grpc::pb;

    use super::{Backend, Common, EmpArgs, InvArgs, SigArgs, authed, org_ids, percentile, psql};

    /// A fresh database for this run: a temporary SQLite file or a new PostgreSQL database.
    pub struct Fresh {
        pub url: String,
        _dir: tempfile::TempDir,
        pg_drop: Option<(String, String)>,
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if let Some((admin, name)) = self.pg_drop.take() {
                let _ = psql(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }

    pub fn fresh(c: &Common, tag: &str) -> anyhow::Result<Fresh> {
        let dir = tempfile::tempdir()?;
        match c.backend {
            Backend::Sqlite => Ok(Fresh {
                url: format!("sqlite://{}", dir.path().join("load.db").display()),
                _dir: dir,
                pg_drop: None,
            }),
            Backend::Postgres => {
                let admin = c
                    .pg_url
                    .clone()
                    .context("--pg-url or ORGADM_TEST_PG_URL is needed for postgres")?;
                let name = format!("orgadm_{tag}_{}", std::process::id());
                psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"))?;
                psql(&admin, &format!("CREATE DATABASE {name}"))?;
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .context("bad PG URL")?;
                Ok(Fresh {
                    url: format!("{base}/{name}"),
                    _dir: dir,
                    pg_drop: Some((admin, name)),
                })
            }
        }
    }

    pub fn e(e: ServiceError) -> anyhow::Error {
        anyhow::anyhow!("{e:?}")
    }

    pub async fn caller(
        core: &Core,
        role: Role,
        name: &str,
        person: Option<i64>,
    ) -> anyhow::Result<Caller> {
        let (_, token) = core
            .create_client(name.into(), role, None)
            .await
            .map_err(e)?;
        core.authenticate(Some(&token), person, "load".into())
            .await
            .map_err(e)
    }

    fn snils(n: usize) -> String {
        let body = format!("{:09}", 2_000_000 + n);
        let d: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d.iter().enumerate().map(|(i, v)| v * (9 - i as u32)).sum();
        let check = match sum {
            s if s < 100 => s,
            100 | 101 => 0,
            s => (s % 101) % 100,
        };
        format!("{body}{check:02}")
    }

    pub async fn person(core: &Core, op: &Caller, n: usize) -> anyhow::Result<i64> {
        let fields = PersonInput {
            surname: "Петров".into(),
            given_name: "Пётр".into(),
            snils: snils(n),
            level: Some(AccountLevel::Confirmed),
            ..Default::default()
        }
        .validate()
        .map_err(|v| anyhow::anyhow!("{v:?}"))?;
        Ok(core
            .register_person(
                op,
                RegisterPerson {
                    request_id: None,
                    fields,
                },
            )
            .await
            .map_err(e)?
            .oid)
    }

    /// Organisations with their heads; returns (org, head) pairs.
    pub async fn orgs(core: &Core, op: &Caller, n: usize) -> anyhow::Result<Vec<(i64, i64)>> {
        let mut out = Vec::new();
        for i in 0..n {
            let head = person(core, op, i).await?;
            let (ogrn, inn) = org_ids(i + 1);
            let org = OrganizationInput {
                kind: Some(OrgKind::LegalEntity),
                full_name: format!("ООО \"Нагрузка {i}\""),
                short_name: format!("ООО \"Нагрузка {i}\""),
                ogrn,
                inn,
                kpp: "770101001".into(),
                address: "г. Москва".into(),
                head_oid: head,
                consumer: true,
                vendor: false,
            }
            .validate()
            .map_err(|v| anyhow::anyhow!("{v:?}"))?;
            let o = core
                .register_organization(
                    op,
                    RegisterOrganization {
                        request_id: None,
                        org,
                    },
                )
                .await
                .map_err(e)?;
            out.push((o.oid, head));
        }
        Ok(out)
    }

    pub struct Run {
        pub ok: usize,
        pub errors: usize,
        pub elapsed: Duration,
        pub lat: Vec<Duration>,
    }

    impl Run {
        pub fn rate(&self) -> f64 {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
        pub fn line(&self, what: &str) -> String {
            format!(
                "{what}: ok={} errors={} elapsed={:.2}s rate={:.0}/s p50={:.2}ms p99={:.2}ms",
                self.ok,
                self.errors,
                self.elapsed.as_secs_f64(),
                self.rate(),
                percentile(&self.lat, 0.50).as_secs_f64() * 1e3,
                percentile(&self.lat, 0.99).as_secs_f64() * 1e3,
            )
        }
    }

    /// Runs `count` operations from `concurrency` tasks; `op(i)` does operation i.
    pub async fn drive<F, Fut>(count: usize, concurrency: usize, op: F) -> Run
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ServiceError>> + Send,
    {
        let op = Arc::new(op);
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (op, next) = (op.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let t = Instant::now();
                    match op(i).await {
                        Ok(()) => lat.push(t.elapsed()),
                        Err(err) => {
                            if errors == 0 {
                                eprintln!("error: {err:?}");
                            }
                            errors += 1;
                        }
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        for t in tasks {
            if let Ok((l, e)) = t.await {
                lat.extend(l);
                errors += e;
            }
        }
        let elapsed = started.elapsed();
        lat.sort();
        Run {
            ok: lat.len(),
            errors,
            elapsed,
            lat,
        }
    }

    /// The bare comparison the issue names: one single-row INSERT in its own write transaction
    /// (BEGIN, INSERT, COMMIT: its own commit and fsync), straight on a pooled connection of
    /// the same database, `concurrency` at a time; on SQLite the writers take turns on a mutex
    /// as the service's do (rather than sleeping on the file lock).
    async fn bare(db: &BareDb, count: usize, concurrency: usize, offset: usize) -> Run {
        let db = db.clone();
        let now = db.now;
        drive(count, concurrency, move |i| {
            let db = db.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let _turn = db.writer.as_ref().map(|m| m.lock());
                    let mut c = db
                        .pool
                        .get()
                        .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
                    orgadm::storage::conn::write_tx(&mut c, |c| bare_insert(c, offset + i, now))
                })
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?
            }
        })
        .await
    }

    /// The same single-row INSERT through the service's group-committed `Db::write` (for
    /// information: what batching alone gives).
    async fn bare_grouped(core: &Core, count: usize, concurrency: usize, offset: usize) -> Run {
        let c2 = core.clone();
        drive(count, concurrency, move |i| {
            let core = c2.clone();
            let now = core.clock.now();
            async move {
                core.db
                    .write(move |c| bare_insert(c, offset + i, now))
                    .await
            }
        })
        .await
    }

    #[derive(Clone)]
    struct BareDb {
        pool: Arc<orgadm::storage::conn::DbPool>,
        writer: Option<Arc<std::sync::Mutex<()>>>,
        /// The rows' timestamp (one for the run).
        now: chrono::NaiveDateTime,
    }

    fn bare_insert(
        c: &mut DbConnection,
        i: usize,
        now: chrono::NaiveDateTime,
    ) -> Result<(), ServiceError> {
        let q = "INSERT INTO bench_bare (id, org, payload, created_at) VALUES ($1, $2, $3, $4)";
        let id = format!("bare-{i}");
        let payload = "Иванов Иван Иванович <ivanov@example.ru>";
        match c {
            DbConnection::Postgresql(pg) => diesel::sql_query(q)
                .bind::<diesel::sql_types::Text, _>(&id)
                .bind::<diesel::sql_types::BigInt, _>(i as i64)
                .bind::<diesel::sql_types::Text, _>(payload)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(pg)?,
            DbConnection::Sqlite(sq) => diesel::sql_query(q.replace('$', "?"))
                .bind::<diesel::sql_types::Text, _>(&id)
                .bind::<diesel::sql_types::BigInt, _>(i as i64)
                .bind::<diesel::sql_types::Text, _>(payload)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(sq)?,
        };
        Ok(())
    }

    pub async fn run_invitations(a: InvArgs) -> anyhow::Result<()> {
        let c = &a.common;
        let db = fresh(c, "inv")?;
        let mut cfg = DbConfig::new(db.url.clone());
        cfg.pool_size = a.pool_size;
        cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
        let bare_cfg = cfg.clone();
        let core = orgadm::app::open(cfg, None).await?;
        core.db
            .write(|c| {
                let ddl = "CREATE TABLE IF NOT EXISTS bench_bare (id TEXT PRIMARY KEY, org BIGINT NOT NULL, payload TEXT NOT NULL, created_at TIMESTAMP NOT NULL)";
                match c {
                    DbConnection::Postgresql(pg) => diesel::sql_query(ddl).execute(pg)?,
                    DbConnection::Sqlite(sq) => diesel::sql_query(ddl).execute(sq)?,
                };
                Ok(())
            })
            .await
            .map_err(e)?;
        let op = caller(&core, Role::Operator, "load-operator", None).await?;
        let orgs = orgs(&core, &op, a.orgs.max(1)).await?;
        let (_, portal_token) = core
            .create_client("load-portal".into(), Role::Portal, None)
            .await
            .map_err(e)?;
        let mut heads = Vec::new();
        for (org, head) in &orgs {
            let caller = core
                .authenticate(Some(&portal_token), Some(*head), "load".into())
                .await
                .map_err(e)?;
            heads.push((*org, caller));
        }
        let heads = Arc::new(heads);
        let (pool, backend) =
            orgadm::storage::conn::open_pool(&bare_cfg).context("the bare insert's pool")?;
        let bare_db = BareDb {
            pool: Arc::new(pool),
            writer: (backend == orgadm::storage::Backend::Sqlite)
                .then(|| Arc::new(std::sync::Mutex::new(()))),
            now: core.clock.now(),
        };
        // Warm up both paths (connections, caches), then measure: bare, invitations, bare.
        let _ = bare(&bare_db, 200, c.concurrency, 10_000_000).await;
        let bare1 = bare(&bare_db, c.count, c.concurrency, 0).await;
        let core2 = core.clone();
        let h2 = heads.clone();
        let inv = drive(c.count, c.concurrency, move |i| {
            let core = core2.clone();
            let heads = h2.clone();
            async move {
                let (org, caller) = &heads[i % heads.len()];
                let invitation = InvitationInput {
                    organization_oid: *org,
                    email: format!("employee{i}@example.ru"),
                    surname: "Иванов".into(),
                    given_name: "Иван".into(),
                    patronymic: "Иванович".into(),
                    snils: String::new(),
                    position: "Инженер".into(),
                    add_to_org_admin: i % 10 == 0,
                }
                .validate()
                .map_err(ServiceError::InvalidArgument)?;
                core.create_invitation(
                    caller,
                    CreateInvitation {
                        request_id: Some(format!("load-{i}")),
                        invitation,
                    },
                )
                .await
                .map(|_| ())
            }
        })
        .await;
        let bare2 = bare(&bare_db, c.count, c.concurrency, 20_000_000).await;
        let grouped = bare_grouped(&core, c.count, c.concurrency, 30_000_000).await;
        let bare_rate = (bare1.rate() + bare2.rate()) / 2.0;
        let backend = match c.backend {
            Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
            Backend::Postgres => "postgres".into(),
        };
        println!(
            "scenario=invitations backend={backend} concurrency={} pool={} orgs={}",
            c.concurrency, a.pool_size, a.orgs
        );
        println!("  {}", bare1.line("bare insert (before)"));
        println!("  {}", inv.line("invitation       "));
        println!("  {}", bare2.line("bare insert (after) "));
        println!(
            "  {}",
            grouped.line("insert via group commit (information)")
        );
        println!(
            "  ratio invitations/bare = {:.2} (bare mean {:.0}/s)",
            inv.rate() / bare_rate,
            bare_rate
        );
        if inv.errors > 0 || bare1.errors > 0 || bare2.errors > 0 {
            anyhow::bail!("some operations failed");
        }
        Ok(())
    }

    pub async fn run_employees(a: EmpArgs) -> anyhow::Result<()> {
        let c = &a.common;
        let db = fresh(c, "emp")?;
        let mut cfg = DbConfig::new(db.url.clone());
        cfg.pool_size = 16;
        cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
        let core = orgadm::app::open(cfg, None).await?;
        let op = caller(&core, Role::Operator, "load-operator", None).await?;
        let orgs = orgs(&core, &op, 1).await?;
        let (org, head) = orgs[0];
        // Seed persons and employees in batches straight into the tables (every 7th blocked,
        // every 13th in ORG_AUDITORS).
        let t = Instant::now();
        let batch = 1000;
        let mut start = 0;
        while start < a.employees {
            let end = (start + batch).min(a.employees);
            let mut persons = String::from(
                "INSERT INTO persons (oid, surname, given_name, snils, level, created_at, updated_at, version) VALUES ",
            );
            let mut emps = String::from(
                "INSERT INTO employees (organization_oid, person_oid, position, work_email, email_lower, state, joined_at, updated_at, version) VALUES ",
            );
            let mut members = String::new();
            for i in start..end {
                let oid = 3_000_000_000_i64 + i as i64;
                let sep = if i == start { "" } else { "," };
                persons.push_str(&format!(
                    "{sep}({oid}, 'Сотрудников{}', 'Иван', '{}', 'confirmed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)",
                    i % 1000,
                    snils(1000 + i)
                ));
                emps.push_str(&format!(
                    "{sep}({org}, {oid}, 'Инженер', 'e{i}@example.ru', 'e{i}@example.ru', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)",
                    if i % 7 == 0 { "blocked" } else { "active" }
                ));
                if i % 13 == 0 {
                    members.push_str(&format!(
                        "{}({org}, 'ORG_AUDITORS', {oid}, '2026-01-01 00:00:00')",
                        if members.is_empty() { "" } else { "," }
                    ));
                }
            }
            let sqls = [
                persons,
                emps,
                if members.is_empty() {
                    String::new()
                } else {
                    format!(
                        "INSERT INTO group_members (organization_oid, mnemonic, person_oid, added_at) VALUES {members}"
                    )
                },
            ];
            core.db
                .write(move |c| {
                    for s in sqls.iter().filter(|s| !s.is_empty()) {
                        match c {
                            DbConnection::Postgresql(pg) => {
                                diesel::sql_query(s.as_str()).execute(pg)?
                            }
                            DbConnection::Sqlite(sq) => {
                                diesel::sql_query(s.as_str()).execute(sq)?
                            }
                        };
                    }
                    Ok(())
                })
                .await
                .map_err(e)?;
            start = end;
        }
        if c.backend == Backend::Postgres {
            core.db
                .write(|c| {
                    if let DbConnection::Postgresql(pg) = c {
                        diesel::sql_query("ANALYZE").execute(pg)?;
                    }
                    Ok(())
                })
                .await
                .map_err(e)?;
        } else {
            core.db
                .write(|c| {
                    if let DbConnection::Sqlite(sq) = c {
                        diesel::sql_query("ANALYZE").execute(sq)?;
                    }
                    Ok(())
                })
                .await
                .map_err(e)?;
        }
        eprintln!(
            "seeded {} employees in {:.1}s",
            a.employees,
            t.elapsed().as_secs_f64()
        );
        // Serve gRPC in this process and list as the head's portal would.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_core = core.clone();
        let server = tokio::spawn(async move {
            orgadm::app::serve(listener, serve_core, async {
                let _ = rx.await;
            })
            .await
        });
        let channel = super::connect(&addr.to_string()).await?;
        let (_, portal) = core
            .create_client("load-portal".into(), Role::Portal, None)
            .await
            .map_err(e)?;
        let mut client = pb::employee_service_client::EmployeeServiceClient::new(channel);
        let filters: [(&str, pb::ListEmployeesRequest); 3] = [
            (
                "all",
                pb::ListEmployeesRequest {
                    organization_oid: org,
                    page_size: a.page_size,
                    ..Default::default()
                },
            ),
            (
                "state=active",
                pb::ListEmployeesRequest {
                    organization_oid: org,
                    page_size: a.page_size,
                    state: pb::EmployeeState::Active as i32,
                    ..Default::default()
                },
            ),
            (
                "group=ORG_AUDITORS",
                pb::ListEmployeesRequest {
                    organization_oid: org,
                    page_size: a.page_size,
                    group: "ORG_AUDITORS".into(),
                    ..Default::default()
                },
            ),
        ];
        println!(
            "scenario=employees backend={} employees={} page_size={}",
            match c.backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            a.employees,
            a.page_size
        );
        for (name, req) in filters {
            let mut lat = Vec::new();
            let mut token = String::new();
            let mut rows = 0;
            let started = Instant::now();
            loop {
                let mut r = authed(
                    &portal,
                    pb::ListEmployeesRequest {
                        page_token: token.clone(),
                        ..req.clone()
                    },
                );
                if let Ok(v) = head.to_string().parse() {
                    r.metadata_mut().insert("x-orgadm-person", v);
                }
                let t = Instant::now();
                let page = client.list_employees(r).await?.into_inner();
                lat.push(t.elapsed());
                rows += page.employees.len();
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            let elapsed = started.elapsed();
            lat.sort();
            println!(
                "  {name}: pages={} rows={rows} elapsed={:.2}s p50={:.2}ms p99={:.2}ms max={:.2}ms",
                lat.len(),
                elapsed.as_secs_f64(),
                percentile(&lat, 0.50).as_secs_f64() * 1e3,
                percentile(&lat, 0.99).as_secs_f64() * 1e3,
                lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            );
        }
        let _ = tx.send(());
        let _ = server.await;
        Ok(())
    }

    /// Powers of attorney: rendering, bare verification and signature submission, one run.
    pub async fn run_signatures(a: SigArgs) -> anyhow::Result<()> {
        use orgadm::crypto::{cert::Certificate, cms, keys, trust::TrustStore};
        use orgadm::domain::poa::{DraftFields, PowerGrant, Redelegation};
        use orgadm::service::poa_drafts::CreateDraft;

        let c = &a.common;
        let db = fresh(c, "sig")?;
        let mut cfg = DbConfig::new(db.url.clone());
        cfg.pool_size = a.pool_size;
        cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
        let trust = TrustStore::from_dir(&a.trust_dir)
            .map_err(|e| anyhow::anyhow!("trust dir {}: {e}", a.trust_dir.display()))?;
        let core = orgadm::app::open(cfg, None)
            .await?
            .with_trust(trust.clone());
        let trust = Arc::new(trust);
        let key =
            keys::private_key_from_pem(&std::fs::read_to_string(a.pki_dir.join("head.key.pem"))?)
                .map_err(|e| anyhow::anyhow!("head key: {e}"))?;
        let cert =
            Certificate::from_pem(&std::fs::read_to_string(a.pki_dir.join("head.cert.pem"))?)
                .map_err(|e| anyhow::anyhow!("head certificate: {e}"))?;

        // The head and organisation the test PKI's head certificate names.
        let op = caller(&core, Role::Operator, "load-operator", None).await?;
        let head = core
            .register_person(
                &op,
                RegisterPerson {
                    request_id: None,
                    fields: PersonInput {
                        surname: "Петров".into(),
                        given_name: "Пётр".into(),
                        patronymic: "Петрович".into(),
                        snils: "12345678964".into(),
                        inn: "771234567859".into(),
                        level: Some(AccountLevel::Confirmed),
                        ..Default::default()
                    }
                    .validate()
                    .map_err(|v| anyhow::anyhow!("{v:?}"))?,
                },
            )
            .await
            .map_err(e)?
            .oid;
        let rep = person(&core, &op, 1).await?;
        let org = core
            .register_organization(
                &op,
                RegisterOrganization {
                    request_id: None,
                    org: OrganizationInput {
                        kind: Some(OrgKind::LegalEntity),
                        full_name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
                        short_name: "ООО \"Ромашка\"".into(),
                        ogrn: "1037800000017".into(),
                        inn: "7810010017".into(),
                        kpp: "781001001".into(),
                        address: "г. Санкт-Петербург".into(),
                        head_oid: head,
                        consumer: true,
                        vendor: false,
                    }
                    .validate()
                    .map_err(|v| anyhow::anyhow!("{v:?}"))?,
                },
            )
            .await
            .map_err(e)?
            .oid;
        let (_, portal_token) = core
            .create_client("load-portal".into(), Role::Portal, None)
            .await
            .map_err(e)?;
        let head_caller = Arc::new(
            core.authenticate(Some(&portal_token), Some(head), "load".into())
                .await
                .map_err(e)?,
        );
        let today = core.clock.now().date();
        let contents = DraftFields {
            internal_number: "LOAD/1".into(),
            representative_person_oid: rep,
            representative_document: None,
            head_position: Some("Генеральный директор".into()),
            start_date: today,
            end_date: today + chrono::Duration::days(180),
            redelegation: Redelegation::None,
            revocable: true,
            powers: vec![PowerGrant {
                code: "ORGADM_API_KEY_ISSUE".into(),
                information_system: Some("ROMASHKA_CRM".into()),
            }],
        };

        // 1. Drafts: each renders the EMCHD_1 document, stores it and its audit event.
        let core2 = core.clone();
        let hc = head_caller.clone();
        let cn = contents.clone();
        let drafts_run = drive(c.count, c.concurrency, move |_| {
            let (core, hc, contents) = (core2.clone(), hc.clone(), cn.clone());
            async move {
                core.create_draft(
                    &hc,
                    CreateDraft {
                        request_id: None,
                        organization_oid: org,
                        contents,
                    },
                )
                .await
                .map(|_| ())
            }
        })
        .await;
        // Bare rendering (one thread, no database): the document of the first draft, parsed back
        // into the model and rendered again and again.
        let list = core
            .list_powers_of_attorney(
                &head_caller,
                orgadm::service::poa::ListPoas {
                    organization_oid: org,
                    page_size: 500,
                    ..Default::default()
                },
            )
            .await
            .map_err(e)?;
        let first = list.items.first().context("no drafts")?;
        let doc = core
            .get_document(&head_caller, first.poa.number.clone())
            .await
            .map_err(e)?;
        let model = orgadm::xml::parse(&doc.content).map_err(|e| anyhow::anyhow!("{e}"))?;
        let renders = 2000;
        let t = Instant::now();
        for _ in 0..renders {
            let out = model.render().map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(out);
        }
        let render_rate = renders as f64 / t.elapsed().as_secs_f64();

        // 2. The head signs every draft (not measured).
        let mut numbers = Vec::new();
        let mut token = String::new();
        loop {
            let page = core
                .list_powers_of_attorney(
                    &head_caller,
                    orgadm::service::poa::ListPoas {
                        organization_oid: org,
                        page_size: 500,
                        page_token: token.clone(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(e)?;
            numbers.extend(
                page.items
                    .into_iter()
                    .map(|v| (v.poa.number, v.poa.version)),
            );
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let at = core.clock.now().and_utc();
        let mut signed = Vec::with_capacity(numbers.len());
        for (number, version) in numbers {
            let d = core
                .get_document(&head_caller, number.clone())
                .await
                .map_err(e)?;
            let sig = cms::sign_detached(&key, &cert, &d.content, at)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            signed.push((number, version, d.content, sig));
        }
        let signed = Arc::new(signed);
        let n = signed.len();

        // 3. Bare verification: CMS signature + chain with CRLs, on the blocking pool at the
        // same concurrency (what SubmitSignature's verification costs, without the database).
        let s2 = signed.clone();
        let t2 = trust.clone();
        let verify_op = move |i: usize| {
            let (signed, trust) = (s2.clone(), t2.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let (_, _, content, sig) = &signed[i % signed.len()];
                    let v = cms::verify_detached(sig, content, &[])
                        .map_err(|e| ServiceError::Internal(e.to_string()))?;
                    trust
                        .verify_chain(&v.signer, &v.certificates, at)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?;
                    Ok(())
                })
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?
            }
        };
        let verify1 = drive(n, c.concurrency, verify_op.clone()).await;

        // 4. Submissions: verified and stored.
        let core3 = core.clone();
        let s3 = signed.clone();
        let hc = head_caller.clone();
        let submit = drive(n, c.concurrency, move |i| {
            let (core, signed, hc) = (core3.clone(), s3.clone(), hc.clone());
            async move {
                let (number, version, _, sig) = &signed[i];
                core.submit_signature(&hc, number.clone(), format!("v{version}"), sig.clone())
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let verify2 = drive(n, c.concurrency, verify_op).await;
        let verify_rate = (verify1.rate() + verify2.rate()) / 2.0;
        let backend = match c.backend {
            Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
            Backend::Postgres => "postgres".into(),
        };
        println!(
            "scenario=signatures backend={backend} concurrency={} pool={} documents={n}",
            c.concurrency, a.pool_size
        );
        println!("  {}", drafts_run.line("drafts created (render+store)"));
        println!("  bare render (1 thread): {render_rate:.0}/s");
        println!("  {}", verify1.line("bare CMS verify (before)     "));
        println!("  {}", submit.line("SubmitSignature              "));
        println!("  {}", verify2.line("bare CMS verify (after)      "));
        println!(
            "  ratio submissions/bare verify = {:.2} (bare mean {:.0}/s)",
            submit.rate() / verify_rate,
            verify_rate
        );
        if drafts_run.errors > 0 || submit.errors > 0 || verify1.errors > 0 || verify2.errors > 0 {
            anyhow::bail!("some operations failed");
        }
        Ok(())
    }
}
