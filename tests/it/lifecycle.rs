//! The process's life through the real binary: not ready while the database is being opened
//! and migrated, ready once serving, graceful shutdown on
//! SIGTERM (a request in flight finishes, new connections are refused, the process exits 0),
//! and the grace period's end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `orgadm serve` running in a directory, its JSON log collected.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `orgadm <global> --log-format json serve <serve…>` and waits until it serves.
    pub fn start(dir: &Path, global: &[&str]) -> Self {
        Self::start_with(dir, global, &[])
    }

    pub fn start_with(dir: &Path, global: &[&str], serve: &[&str]) -> Self {
        Self::spawn(dir, global, serve, "orgadm is serving gRPC and HTTP")
    }

    /// Starts the server and returns once it logged `until` (with the listening address).
    pub fn spawn(dir: &Path, global: &[&str], serve: &[&str], until: &'static str) -> Self {
        let mut cmd = crate::config::orgadm(dir);
        cmd.env("ORGADM_LOG", "info")
            .args(global)
            .args(["--log-format", "json", "serve"])
            .args(serve)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["fields"]["message"] == until
                    && let Some(a) = v["fields"]["addr"].as_str()
                {
                    let _ = tx.send(a.parse().unwrap());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start:\n{}", log.lock().unwrap());
            }
        };
        Self { child, addr, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn terminate(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits until the log contains `text` (at most 20 s).
    pub fn wait_log(&self, text: &str) {
        let start = Instant::now();
        while !self.log().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "never logged {text:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to end (at most 30 s); its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "still running:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop_and_wait(mut self) {
        self.terminate();
        let status = self.wait();
        assert!(status.success(), "{status:?}\n{}", self.log());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start_with(dir.path(), &[], &["--listen", "127.0.0.1:0"]);
    assert!(http_get(server.addr, "/readyz").ends_with("\r\n\r\nready\n"));

    // A request in flight: its headers sent, half of its body still to come.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(
        b"POST /v1/token/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nConnection: close\r\n\r\n0123456789",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    server.wait_log("shutting down: no new connections");
    // The listener is closed while the request is still being served.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "a new connection was accepted after shutdown began"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited before the request finished"
    );
    slow.write_all(b"abcdefghij").unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 "), "{response:?}");
    assert!(
        response.contains("\r\n\r\n{"),
        "a whole JSON answer: {response:?}"
    );
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    let log = server.log();
    assert!(log.contains("\"message\":\"stopped\""), "{log}");
}

#[test]
fn a_request_outliving_the_grace_period_is_cut_and_the_process_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start_with(
        dir.path(),
        &[],
        &["--listen", "127.0.0.1:0", "--shutdown-grace-secs", "1"],
    );
    let mut stuck = TcpStream::connect(server.addr).unwrap();
    stuck
        .write_all(b"POST /v1/token/introspect HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n01")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let began = Instant::now();
    server.terminate();
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "{:?}",
        began.elapsed()
    );
    assert!(
        server.log().contains("after the shutdown grace period"),
        "{}",
        server.log()
    );
}

/// While the database is locked (another process migrating it, say) the listener already
/// answers: liveness yes, readiness and gRPC health no, other calls UNAVAILABLE; once the
/// migrations ran and the keys are loaded, ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_the_database_is_migrated() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orgadm.db");
    let mut lock = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    lock.batch_execute("BEGIN EXCLUSIVE; CREATE TABLE held (a INTEGER);")
        .unwrap();
    let server = Served::spawn(
        dir.path(),
        &[
            "--database-url",
            "sqlite://orgadm.db",
            "--db-connect-timeout-secs",
            "60",
        ],
        &["--listen", "127.0.0.1:0"],
        "listening; not ready until the database and keys are loaded",
    );
    let addr = server.addr;
    let get = move |path: &'static str| tokio::task::spawn_blocking(move || http_get(addr, path));
    let live = get("/healthz").await.unwrap();
    assert!(
        live.starts_with("HTTP/1.1 200") && live.ends_with("ok\n"),
        "{live}"
    );
    let ready = get("/readyz").await.unwrap();
    assert!(
        ready.starts_with("HTTP/1.1 503") && ready.ends_with("starting\n"),
        "{ready}"
    );
    let ch = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(ch.clone());
    let status = |r: tonic::Response<tonic_health::pb::HealthCheckResponse>| r.into_inner().status;
    let r = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(status(r), ServingStatus::NotServing as i32);
    let mut persons =
        orgadm::transport::grpc::pb::person_service_client::PersonServiceClient::new(ch.clone());
    let err = persons
        .search_persons(orgadm::transport::grpc::pb::SearchPersonsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(!server.log().contains("orgadm is serving"));

    lock.batch_execute("ROLLBACK;").unwrap();
    drop(lock);
    let start = Instant::now();
    while !server.log().contains("orgadm is serving gRPC and HTTP") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The same connection now reaches the service.
    let r = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(status(r), ServingStatus::Serving as i32);
    let err = persons
        .search_persons(orgadm::transport::grpc::pb::SearchPersonsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let ready = get("/readyz").await.unwrap();
    assert!(ready.ends_with("\r\n\r\nready\n"), "{ready}");
    server.stop_and_wait();
}
