//! Test support: a real server per test on `127.0.0.1:0`, its own database (a fresh SQLite
//! file, or a PostgreSQL database created from `ORGADM_TEST_PG_URL` and dropped afterwards),
//! and authenticated gRPC clients.

use std::net::SocketAddr;
use std::sync::Arc;

use diesel::{Connection, RunQueryDsl};
use orgadm::domain::caller::Role;
use orgadm::mail::{MailConfig, Mailer, SmtpConfig, TlsMode};
use orgadm::service::outbox::{OutboxSettings, Worker, WorkerHandle};
use orgadm::service::{Core, ManualClock, SharedClock};
use orgadm::storage::DbConfig;
use orgadm::transport::grpc::pb;
use tokio::sync::oneshot;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of one test's own.
pub struct TestDb {
    pub url: String,
    pg_admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// None (after printing why) when the backend is not available here.
    pub fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("orgadm.db").display());
                Some(Self {
                    url,
                    pg_admin: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("ORGADM_TEST_PG_URL") else {
                    println!(
                        "skipped: ORGADM_TEST_PG_URL is not set (export ORGADM_TEST_PG_URL=$(../shared/tools/pg-test-up))"
                    );
                    return None;
                };
                let name = format!("orgadm_test_{}", uuid::Uuid::new_v4().simple());
                let mut c = diesel::PgConnection::establish(&admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .unwrap();
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("ORGADM_TEST_PG_URL has no database part"),
                };
                Some(Self {
                    url,
                    pg_admin: Some((admin, name)),
                    _dir: None,
                })
            }
        }
    }

    /// A database this test does not own (nothing is dropped afterwards).
    #[allow(dead_code)]
    pub fn external(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            pg_admin: None,
            _dir: None,
        }
    }

    pub fn config(&self) -> DbConfig {
        let mut c = DbConfig::new(self.url.clone());
        c.pool_size = 8;
        c.sqlite_synchronous = "NORMAL".into();
        c
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take()
            && let Ok(mut c) = diesel::PgConnection::establish(&admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

/// A fresh service signing key (TC26 256 A) with a self-signed certificate, for tokens.
pub fn test_signer() -> orgadm::crypto::service_key::ServiceSigner {
    use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
    use orgadm::crypto::service_key;
    let key = PrivateKey::generate(ParamSet::Tc26_256A).unwrap();
    let name = service_key::parse_subject("CN=orgadm test token signer,O=orgadm").unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let cert = service_key::self_signed_certificate(&key, &name, at, 3650).unwrap();
    service_key::ServiceSigner::new(key, cert).unwrap()
}

/// A running server and what tests need to talk to it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub core: Core,
    /// The injected clock; scenarios advance it to move time (expiry, validity).
    #[allow(dead_code)]
    pub clock: ManualClock,
    pub db: TestDb,
    pub operator: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, orgadm::transport::server::ServeOptions::default()).await
    }

    /// Starts a server with `options` (TLS, shutdown grace).
    pub async fn start_with(
        backend: Backend,
        options: orgadm::transport::server::ServeOptions,
    ) -> Option<Self> {
        let db = TestDb::new(backend)?;
        let clock = ManualClock::new(
            chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        );
        let shared: SharedClock = Arc::new(clock.clone());
        let trust = orgadm::crypto::trust::TrustStore::from_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/trust"
        ))
        .unwrap();
        let core = orgadm::app::open(db.config(), Some(shared))
            .await
            .unwrap()
            .with_trust(trust)
            .with_signer(test_signer());
        let (_, operator) = core
            .create_client("operator".into(), Role::Operator, None)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let serve_core = core.clone();
        let handle = tokio::spawn(async move {
            orgadm::app::serve_with(listener, serve_core, options, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Some(Self {
            addr,
            core,
            clock,
            db,
            operator,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A new client of `role` and its token.
    pub async fn client(&self, name: &str, role: Role, org: Option<i64>) -> String {
        self.core
            .create_client(name.into(), role, org)
            .await
            .unwrap()
            .1
    }

    pub async fn as_token(&self, token: &str) -> Api {
        Api::new(self.channel().await, Some(token.to_owned()), None)
    }

    pub async fn as_operator(&self) -> Api {
        self.as_token(&self.operator).await
    }

    /// The operator's verdict on the audit chain of `org` (0: the operator's own chain).
    pub async fn chain_verdict(&self, org: i64) -> pb::VerifyChainResponse {
        self.as_operator()
            .await
            .audit
            .verify_chain(pb::VerifyChainRequest {
                organization_oid: org,
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// A portal client acting for `person`.
    pub async fn as_portal(&self, token: &str, person: i64) -> Api {
        Api::new(self.channel().await, Some(token.to_owned()), Some(person))
    }

    pub async fn anonymous(&self) -> Api {
        Api::new(self.channel().await, None, None)
    }

    /// Starts the mail delivery worker sending to a test SMTP server on 127.0.0.1:`port`.
    #[allow(dead_code)]
    pub fn delivery_smtp(&self, port: u16) -> WorkerHandle {
        self.delivery(MailConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                password: None,
                timeout: std::time::Duration::from_secs(5),
            }),
            sender: "Оргадм <noreply@orgadm.test>".into(),
            outbox_dir: std::path::PathBuf::new(),
        })
    }

    /// Starts the mail delivery worker writing `.eml` files into `dir`.
    #[allow(dead_code)]
    pub fn delivery_files(&self, dir: &std::path::Path) -> WorkerHandle {
        self.delivery(MailConfig {
            smtp: None,
            sender: "Оргадм <noreply@orgadm.test>".into(),
            outbox_dir: dir.to_owned(),
        })
    }

    pub fn delivery(&self, mail: MailConfig) -> WorkerHandle {
        Worker::new(
            self.core.clone(),
            Mailer::new(&mail).unwrap(),
            outbox_settings(),
        )
        .spawn()
    }

    /// A second server on the same database with its own core and pool, as another replica
    /// (process) of the service would be.
    #[allow(dead_code)]
    pub async fn replica(&self) -> Replica {
        let shared: SharedClock = Arc::new(self.clock.clone());
        let core = orgadm::app::open(self.db.config(), Some(shared))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            orgadm::app::serve(listener, core, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Replica {
            addr,
            shutdown: tx,
            handle,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

/// Another server process's stand-in on the same database.
pub struct Replica {
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<()>,
}

impl Replica {
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.handle.await;
    }
}

/// Adds credentials and the acting person to every call.
#[derive(Clone)]
pub struct Auth {
    token: Option<String>,
    person: Option<i64>,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(t) = &self.token {
            let v: MetadataValue<_> = format!("Bearer {t}").parse().unwrap();
            req.metadata_mut().insert("authorization", v);
        }
        if let Some(p) = self.person {
            req.metadata_mut()
                .insert("x-orgadm-person", p.to_string().parse().unwrap());
        }
        Ok(req)
    }
}

type Intercepted = tonic::service::interceptor::InterceptedService<Channel, Auth>;

/// gRPC clients of every service, all with the same credentials.
pub struct Api {
    pub persons: pb::person_service_client::PersonServiceClient<Intercepted>,
    pub orgs: pb::organization_service_client::OrganizationServiceClient<Intercepted>,
    pub audit: pb::audit_service_client::AuditServiceClient<Intercepted>,
    pub powers: pb::power_service_client::PowerServiceClient<Intercepted>,
    pub poa: pb::power_of_attorney_service_client::PowerOfAttorneyServiceClient<Intercepted>,
    pub employees: pb::employee_service_client::EmployeeServiceClient<Intercepted>,
    pub invitations: pb::invitation_service_client::InvitationServiceClient<Intercepted>,
    pub groups: pb::access_group_service_client::AccessGroupServiceClient<Intercepted>,
    pub systems: pb::information_system_service_client::InformationSystemServiceClient<Intercepted>,
    pub keys: pb::api_key_service_client::ApiKeyServiceClient<Intercepted>,
    pub records: pb::records_service_client::RecordsServiceClient<Intercepted>,
}

impl Api {
    pub fn new(ch: Channel, token: Option<String>, person: Option<i64>) -> Self {
        let auth = Auth { token, person };
        Self {
            persons: pb::person_service_client::PersonServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            orgs: pb::organization_service_client::OrganizationServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            audit: pb::audit_service_client::AuditServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            powers: pb::power_service_client::PowerServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            poa:
                pb::power_of_attorney_service_client::PowerOfAttorneyServiceClient::with_interceptor(
                    ch.clone(),
                    auth.clone(),
                ),
            employees: pb::employee_service_client::EmployeeServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            invitations: pb::invitation_service_client::InvitationServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            groups: pb::access_group_service_client::AccessGroupServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            systems:
                pb::information_system_service_client::InformationSystemServiceClient::with_interceptor(
                    ch.clone(),
                    auth.clone(),
                ),
            keys: pb::api_key_service_client::ApiKeyServiceClient::with_interceptor(
                ch.clone(),
                auth.clone(),
            ),
            records: pb::records_service_client::RecordsServiceClient::with_interceptor(ch, auth),
        }
    }
}

/// Runs a scenario on SQLite and on PostgreSQL (skipped with a message when not configured).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(s) = $crate::support::TestServer::start($crate::support::Backend::Sqlite).await {
                        super::$name(&s).await;
                        s.stop().await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(s) = $crate::support::TestServer::start($crate::support::Backend::Postgres).await {
                        super::$name(&s).await;
                        s.stop().await;
                    }
                }
            )*
        }
    };
}

// ---- fixtures: valid people and organisations (identifiers from the test PKI) ----

pub fn person_req(
    surname: &str,
    snils: &str,
    level: pb::AccountLevel,
) -> pb::RegisterPersonRequest {
    pb::RegisterPersonRequest {
        request_id: String::new(),
        surname: surname.into(),
        given_name: "Пётр".into(),
        patronymic: "Петрович".into(),
        snils: snils.into(),
        inn: String::new(),
        email: "p@example.ru".into(),
        phone: String::new(),
        level: level as i32,
        birth_date: "1980-02-03".into(),
    }
}

pub fn org_req(head: i64) -> pb::RegisterOrganizationRequest {
    pb::RegisterOrganizationRequest {
        request_id: String::new(),
        kind: pb::OrganizationKind::LegalEntity as i32,
        full_name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
        short_name: "ООО \"Ромашка\"".into(),
        ogrn: "1037800000017".into(),
        inn: "7810010017".into(),
        kpp: "781001001".into(),
        address: "г. Санкт-Петербург, Невский пр., 1".into(),
        head_oid: head,
        consumer: true,
        vendor: false,
    }
}

/// Valid SNILS numbers (checksums correct), for tests that need many distinct people.
pub fn snils(n: u32) -> String {
    let body = format!("{:09}", 2_000_000 + n);
    let d: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = d.iter().enumerate().map(|(i, v)| v * (9 - i as u32)).sum();
    let check = match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => (s % 101) % 100,
    };
    format!("{body}{check:02}")
}

/// A confirmed person registered by the operator; returns the OID.
pub async fn confirmed_person(api: &mut Api, surname: &str, n: u32) -> i64 {
    api.persons
        .register_person(person_req(surname, &snils(n), pb::AccountLevel::Confirmed))
        .await
        .unwrap()
        .into_inner()
        .oid
}

/// The rich error details of a status.
pub fn details(s: &tonic::Status) -> tonic_types::ErrorDetails {
    use tonic_types::StatusExt;
    s.get_error_details()
}

pub fn reason(s: &tonic::Status) -> String {
    details(s)
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

pub fn violations(s: &tonic::Status) -> Vec<String> {
    details(s)
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// Counts rows of a table through a direct database connection (for "nothing changed").
pub fn count_rows(db: &TestDb, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let q = format!("SELECT COUNT(*) AS n FROM {table}");
    if db.url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(&db.url).unwrap();
        diesel::sql_query(q).get_result::<N>(&mut c).unwrap().n
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query(q).get_result::<N>(&mut c).unwrap().n
    }
}

/// The single text column `v` of every row a query returns, through a direct connection.
pub fn query_texts(db: &TestDb, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let rows: Vec<Row> = if db.url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(&db.url).unwrap();
        diesel::sql_query(sql).load(&mut c).unwrap()
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query(sql).load(&mut c).unwrap()
    };
    rows.into_iter().map(|r| r.v).collect()
}

/// Runs raw SQL against the test database (tampering tests).
pub fn exec_sql(db: &TestDb, sql: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    if db.url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(&db.url).map_err(|e| e.to_string())?;
        c.batch_execute(sql).map_err(|e| e.to_string())
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).map_err(|e| e.to_string())?;
        c.batch_execute(sql).map_err(|e| e.to_string())
    }
}

/// A minimal HTTP/1.1 GET with extra headers over a TCP socket: (status, head, body bytes).
pub async fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut sock = tokio::net::TcpStream::connect(host).await.unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let body = buf[split + 4..].to_vec();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, body)
}

/// The invitation link's base in tests.
pub const LINK_BASE: &str = "https://lk.orgadm.test/invitation?secret=";

/// Delivery settings for tests: quick polls and retries (time moves with the ManualClock).
pub fn outbox_settings() -> OutboxSettings {
    OutboxSettings {
        link_base: LINK_BASE.into(),
        poll_interval: std::time::Duration::from_millis(50),
        lease: chrono::Duration::seconds(60),
        backoff_base: chrono::Duration::seconds(10),
        backoff_max: chrono::Duration::seconds(600),
        max_attempts: 20,
        batch: 16,
    }
}

/// Counts rows matching a WHERE clause.
pub fn count_where(db: &TestDb, table: &str, cond: &str) -> i64 {
    count_rows(db, &format!("{table} WHERE {cond}"))
}

/// Waits until `cond` holds for the rows of `table` (at most 20 s).
#[allow(dead_code)]
pub async fn wait_rows(db: &TestDb, table: &str, cond: &str, at_least: i64) {
    for _ in 0..400 {
        if count_where(db, table, cond) >= at_least {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{table} never had {at_least} rows where {cond}");
}

/// Waits until a server started as a process answers `/readyz` with 200 (at most 60 s): the port
/// opens before the service is ready (migrations, keys).
#[allow(dead_code)]
pub async fn wait_ready(addr: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..600 {
        if let Ok(mut sock) = tokio::net::TcpStream::connect(addr).await {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut buf = Vec::new();
            if sock.write_all(req.as_bytes()).await.is_ok()
                && sock.read_to_end(&mut buf).await.is_ok()
                && buf.starts_with(b"HTTP/1.1 200")
            {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{addr} never became ready");
}

// ---- helpers for tests that run the `orgadm` binary as separate processes ----

/// A child process, killed and reaped when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[allow(dead_code)]
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Waits until the server on `port` is ready, then connects to it.
pub async fn connect_ready(port: u16) -> Channel {
    wait_ready(&format!("127.0.0.1:{port}")).await;
    for _ in 0..300 {
        if let Ok(c) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not start");
}

/// `orgadm <db_args> client create --name NAME --role ROLE` with the real binary; the token.
pub fn cli_token(db_args: &[&str], name: &str, role: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args(db_args)
        .args(["client", "create", "--name", name, "--role", role])
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

#[allow(dead_code)]
pub fn group_req(org: i64, mnemonic: &str) -> pb::CreateGroupRequest {
    pb::CreateGroupRequest {
        request_id: String::new(),
        organization_oid: org,
        mnemonic: mnemonic.into(),
        system: String::new(),
        name: format!("Группа {mnemonic}"),
        description: String::new(),
    }
}
