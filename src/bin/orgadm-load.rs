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

#[path = "orgadm-load/keys.rs"]
mod keys;

#[path = "orgadm-load/audit.rs"]
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
    /// PostgreSQL write lanes, as `serve --db-write-lanes` (0: the service's default).
    #[arg(long, default_value_t = 0)]
    write_lanes: u32,
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
    /// Dropped after the server is killed (fields drop after `Drop::drop`).
    _db: inproc::Fresh,
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

/// Creates an operator client with `orgadm client create` on database `url`; returns its token.
fn create_operator_client(bin: &std::path::Path, url: &str) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args([
            "--database-url",
            url,
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
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .last()
        .context("no token")?
        .to_owned())
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
        let db = inproc::fresh(c, "load")?;
        let url = db.url.clone();
        let token = create_operator_client(&bin, &url)?;
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
            _db: db,
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
#[path = "orgadm-load/inproc.rs"]
mod inproc;
