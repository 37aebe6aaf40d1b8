//! Observability end to end: `/metrics` after real gRPC calls (ok and failing) and token
//! exchanges over a socket; the real binary's JSON log lines (request id, method, caller, no
//! secret) and slow-statement lines (SQL without bind values); spans exported over OTLP/HTTP to a
//! receiver run by the test, and none when no endpoint is configured; the API-KEY of the
//! exchange's URL never in a log line, a span or a label.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orgadm::service::Clock;
use orgadm::transport::grpc::pb;
use prost::Message as _;
use tonic::Code;

use crate::both_backends;
use crate::invitations::invite;
use crate::support::*;
use crate::token::{b64url, http_exchange, keys, sign};

both_backends!(metrics_count_requests_exchanges_and_backlog);

/// One sample of the exposition: its name and labels.
type Key = (String, BTreeMap<String, String>);

/// Parses the Prometheus text format (what this test needs of it: no escapes in values).
fn parse(text: &str) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let inner = rest.strip_suffix('}').unwrap();
                let mut m = BTreeMap::new();
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").unwrap();
                    m.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                }
                (n.to_owned(), m)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        out.insert((name, labels), value.parse::<f64>().unwrap());
    }
    out
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

async fn scrape(s: &TestServer) -> (String, BTreeMap<Key, f64>) {
    let (st, head, body) = http_get(&format!("http://{}/metrics", s.addr), &[]).await;
    assert_eq!(st, 200, "{head}");
    let text = String::from_utf8(body).unwrap();
    let parsed = parse(&text);
    (text, parsed)
}

fn get(m: &BTreeMap<Key, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.get(&key(name, labels)).copied().unwrap_or(0.0)
}

/// The increase of a series between two scrapes.
fn delta(
    a: &BTreeMap<Key, f64>,
    b: &BTreeMap<Key, f64>,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    get(b, name, labels) - get(a, name, labels)
}

/// The sum of every series of `name` whose labels include `with`.
fn sum(m: &BTreeMap<Key, f64>, name: &str, with: &[(&str, &str)]) -> f64 {
    m.iter()
        .filter(|((n, l), _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
        .sum()
}

const GET_PERSON: &str = "orgadm.v1.PersonService/GetPerson";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const EXCHANGE_ROUTE: &str = "GET /esia-rs/api/public/v1/orgs/ext-app/{api_key}/tkn";

async fn metrics_count_requests_exchanges_and_backlog(s: &TestServer) {
    let k = keys(s).await;
    let (_, before) = scrape(s).await;

    // gRPC: two answered, one NOT_FOUND, one UNAUTHENTICATED (trailers-only, before the handler).
    let mut op = s.as_operator().await;
    for _ in 0..2 {
        op.persons
            .get_person(pb::GetPersonRequest { oid: k.holder })
            .await
            .unwrap();
    }
    let e = op
        .persons
        .get_person(pb::GetPersonRequest { oid: 999_999_999 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = s
        .anonymous()
        .await
        .persons
        .get_person(pb::GetPersonRequest { oid: k.holder })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // Token exchanges over HTTP: one issued, one refused (a key that is no UUID).
    let sig = sign(
        "impersonal",
        &k.secret,
        s.clock.now() - chrono::Duration::hours(1),
        false,
    );
    let (st, body, _) = http_exchange(s, &k.secret, &b64url(&sig)).await;
    assert_eq!(st, 200, "{body}");
    let (st, body, _) = http_exchange(s, "not-a-key", &b64url(&sig)).await;
    assert_eq!((st, body["code"].as_str()), (400, Some("ESIA-020000")));
    // An unknown path and an unknown gRPC method stay out of the labels.
    let (st, _, _) = http_get(&format!("http://{}/no/such/{}", s.addr, k.secret), &[]).await;
    assert_eq!(st, 404);
    let mut raw = tonic::client::Grpc::new(s.channel().await);
    raw.ready().await.unwrap();
    let mut req = tonic::Request::new(pb::GetPersonRequest { oid: k.holder });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", s.operator).parse().unwrap(),
    );
    let e = raw
        .unary::<_, pb::Person, _>(
            req,
            "/orgadm.v1.PersonService/NoSuchMethod".parse().unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);

    // A message waits in the outbox (no delivery worker runs now).
    let mut head = s.as_portal(&k.portal, k.head).await;
    head.invitations
        .create_invitation(invite(k.consumer, "metrics@example.ru", "", false))
        .await
        .unwrap();
    // Time passes on the injected clock: the audit chain lag and the message's age grow.
    s.clock.advance(chrono::Duration::seconds(90));

    let (text, after) = scrape(s).await;
    fn g(code: &str) -> [(&'static str, &str); 3] {
        [("protocol", "grpc"), ("method", GET_PERSON), ("code", code)]
    }
    assert_eq!(
        delta(&before, &after, "orgadm_requests_total", &g("OK")),
        2.0,
        "{}",
        text.lines()
            .filter(|l| l.starts_with("orgadm_requests_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        delta(&before, &after, "orgadm_requests_total", &g("NOT_FOUND")),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "orgadm_requests_total",
            &g("UNAUTHENTICATED")
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "orgadm_request_duration_seconds_count",
            &g("OK")
        ),
        2.0
    );
    assert!(get(&after, "orgadm_request_duration_seconds_sum", &g("OK")) > 0.0);
    fn h(code: &str) -> [(&'static str, &str); 3] {
        [
            ("protocol", "http"),
            ("method", EXCHANGE_ROUTE),
            ("code", code),
        ]
    }
    assert_eq!(
        delta(&before, &after, "orgadm_requests_total", &h("200")),
        1.0
    );
    assert_eq!(
        delta(&before, &after, "orgadm_requests_total", &h("400")),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "orgadm_requests_total",
            &[
                ("protocol", "http"),
                ("method", "GET unmatched"),
                ("code", "404")
            ]
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "orgadm_requests_total",
            &[
                ("protocol", "grpc"),
                ("method", "unknown"),
                ("code", "UNIMPLEMENTED")
            ]
        ),
        1.0
    );
    assert!(!text.contains("NoSuchMethod"));
    // Token exchanges by outcome and code: all of this test's, since the server started.
    assert_eq!(
        get(
            &after,
            "orgadm_token_exchanges_total",
            &[("outcome", "issued"), ("code", "")]
        ),
        1.0
    );
    assert_eq!(
        get(
            &after,
            "orgadm_token_exchanges_total",
            &[("outcome", "refused"), ("code", "ESIA-020000")]
        ),
        1.0
    );
    // The pool, the outbox backlog, the audit chain (this test's own database and clock).
    assert_eq!(get(&after, "orgadm_db_pool_max_connections", &[]), 8.0);
    let pool = sum(&after, "orgadm_db_pool_connections", &[]);
    assert!((1.0..=8.0).contains(&pool), "{pool} connections");
    assert!(
        sum(
            &after,
            "orgadm_db_pool_wait_seconds_count",
            &[("kind", "write")]
        ) > 0.0
    );
    assert_eq!(get(&after, "orgadm_outbox_backlog", &[]), 1.0);
    assert_eq!(get(&after, "orgadm_outbox_oldest_age_seconds", &[]), 90.0);
    assert_eq!(get(&after, "orgadm_audit_chain_lag_seconds", &[]), 90.0);
    assert!(get(&after, "orgadm_audit_append_seconds_count", &[]) >= 1.0);
    // No secret in any label.
    assert!(!text.contains(&k.secret), "the API-KEY is in the metrics");
    assert!(!text.contains(&s.operator));
    assert!(!text.contains("not-a-key"));
    // Every request answers with its id; a caller's own id is kept.
    let (_, head, _) = http_get(
        &format!("http://{}/healthz", s.addr),
        &[("x-request-id", "obs-req-1")],
    )
    .await;
    assert!(
        head.to_ascii_lowercase()
            .contains("x-request-id: obs-req-1"),
        "{head}"
    );
}

/// The real binary, serving on a free port, its standard error captured in a file.
struct Served {
    child: Child,
    addr: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
    token: String,
}

fn orgadm(args: &[&str], db: &TestDb) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args(["--database-url", &db.url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

async fn serve(db: &TestDb, extra: &[&str], env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let out = orgadm(
        &[
            "client", "create", "--name", "observer", "--role", "operator",
        ],
        db,
    );
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let (key, cert) = (dir.path().join("sign.key"), dir.path().join("sign.pem"));
    let status = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args(["pki", "init", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(status.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = dir.path().join("stderr.log");
    let trust = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trust");
    let child = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args(["--database-url", &db.url, "--log-format", "json", "serve"])
        .args(["--listen", &addr, "--trust-dir", trust])
        .arg("--signing-key")
        .arg(&key)
        .arg("--signing-cert")
        .arg(&cert)
        .arg("--api-key-hash-key-file")
        .arg(dir.path().join("hash.key"))
        .arg("--outbox-dir")
        .arg(dir.path().join("outbox"))
        .args(extra)
        .env("ORGADM_LOG", "info")
        .env_remove("ORGADM_OTLP_ENDPOINT")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            let (st, _, _) = http_get(&format!("http://{addr}/readyz"), &[]).await;
            if st == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Served {
        child,
        addr,
        log,
        _dir: dir,
        token,
    }
}

impl Served {
    async fn api(&self) -> Api {
        let ch = tonic::transport::Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Api::new(ch, Some(self.token.clone()), None)
    }

    /// SIGTERM, then waits for the graceful exit (which exports the last spans).
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// A tiny OTLP/HTTP receiver: every `POST /v1/traces` body it was sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

/// An exported span: its name, attributes as text, trace id and parent span id (hex).
#[derive(Debug)]
struct Exported {
    name: String,
    attrs: BTreeMap<String, String>,
    trace_id: String,
    parent: String,
}

/// Every exported span.
fn spans(bodies: &[Vec<u8>]) -> Vec<Exported> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let mut out = Vec::new();
    for b in bodies {
        let req = ExportTraceServiceRequest::decode(b.as_slice()).unwrap();
        for rs in req.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value);
            assert!(
                matches!(&service, Some(Value::StringValue(s)) if s == "orgadm-it"),
                "{service:?}"
            );
            for ss in rs.scope_spans {
                for sp in ss.spans {
                    let attrs = sp
                        .attributes
                        .iter()
                        .map(|a| {
                            let v = match a.value.as_ref().and_then(|v| v.value.clone()) {
                                Some(Value::StringValue(s)) => s,
                                other => format!("{other:?}"),
                            };
                            (a.key.clone(), v)
                        })
                        .collect();
                    out.push(Exported {
                        name: sp.name.clone(),
                        attrs,
                        trace_id: hex::encode(&sp.trace_id),
                        parent: hex::encode(&sp.parent_span_id),
                    });
                }
            }
        }
    }
    out
}

/// A signed exchange with an API-KEY that exists nowhere: it goes through the signature check
/// and is refused.
async fn exchange_unknown_key(addr: &str, api_key: &str) -> u16 {
    let now = orgadm::service::SystemClock.now();
    let sig = sign(
        "impersonal",
        api_key,
        now - chrono::Duration::minutes(5),
        false,
    );
    let url = format!(
        "http://{addr}/esia-rs/api/public/v1/orgs/ext-app/{api_key}/tkn?signature={}",
        b64url(&sig)
    );
    http_get(&url, &[]).await.0
}

fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect()
}

async fn binary_logs_and_traces(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    orgadm(&["migrate"], &db);
    let (otlp, got) = receiver().await;
    let api_key = uuid::Uuid::new_v4().to_string();
    let s = serve(
        &db,
        &[
            "--otlp-endpoint",
            &otlp,
            "--otlp-service-name",
            "orgadm-it",
            "--slow-query-ms",
            "0",
        ],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await;
    let mut api = s.api().await;
    let surname = "Следова";
    let mut req = tonic::Request::new(person_req(
        surname,
        &snils(501),
        pb::AccountLevel::Confirmed,
    ));
    req.metadata_mut()
        .insert("x-request-id", "obs-register-1".parse().unwrap());
    req.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_SPAN}-01").parse().unwrap(),
    );
    let person = api.persons.register_person(req).await.unwrap().into_inner();
    let mut req = tonic::Request::new(pb::GetPersonRequest { oid: 999_999_999 });
    req.metadata_mut()
        .insert("x-request-id", "obs-get-2".parse().unwrap());
    let e = api.persons.get_person(req).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let st = exchange_unknown_key(&s.addr, &api_key).await;
    assert!((400..500).contains(&st), "exchange answered {st}");
    // Spans arrive while the server runs (batches every 100 ms), and the rest at shutdown.
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bearer = s.token.clone();
    let log = s.stop();

    // The access line of each request: request id, method, caller, code; no secret anywhere.
    let lines = json_lines(&log);
    assert!(!lines.is_empty(), "no JSON log lines: {log}");
    let access = |rid: &str| {
        lines
            .iter()
            .find(|l| {
                l["target"] == "orgadm::access" && l["span"]["request_id"].as_str() == Some(rid)
            })
            .unwrap_or_else(|| panic!("no access line for {rid}: {log}"))
            .clone()
    };
    let reg = access("obs-register-1");
    assert_eq!(
        reg["span"]["method"],
        "orgadm.v1.PersonService/RegisterPerson"
    );
    assert_eq!(reg["span"]["caller"], "observer");
    assert_eq!(reg["span"]["code"], "OK");
    assert_eq!(reg["level"], "INFO");
    let get = access("obs-get-2");
    assert_eq!(get["span"]["method"], GET_PERSON);
    assert_eq!(get["span"]["code"], "NOT_FOUND");
    let exchange = lines
        .iter()
        .find(|l| l["target"] == "orgadm::access" && l["span"]["method"] == EXCHANGE_ROUTE)
        .unwrap_or_else(|| panic!("no access line for the exchange: {log}"));
    assert!(
        exchange["span"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(!log.contains(&api_key), "the API-KEY is in the log");
    assert!(!log.contains(&bearer), "the bearer token is in the log");
    // Slow statements (threshold 0: all) with their SQL and never their bind values.
    let slow: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "orgadm::slow_query")
        .collect();
    assert!(!slow.is_empty(), "no slow-statement lines: {log}");
    assert!(slow.iter().all(|l| l["level"] == "WARN"));
    let insert = slow
        .iter()
        .find(|l| {
            l["fields"]["sql"]
                .as_str()
                .is_some_and(|q| q.contains("INSERT INTO") && q.contains("persons"))
        })
        .unwrap_or_else(|| panic!("no INSERT INTO persons: {slow:?}"));
    assert!(insert["fields"]["duration_ms"].as_f64().is_some());
    assert!(
        !log.contains(surname),
        "a bind value (the surname) is in the log"
    );
    assert!(!log.contains("binds"), "{log}");

    // The spans reached the collector: the requests' methods and ids, and not the API-KEY.
    let bodies = got.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "no spans exported: {log}");
    assert!(
        bodies
            .iter()
            .all(|b| !b.windows(api_key.len()).any(|w| w == api_key.as_bytes())),
        "the API-KEY was exported"
    );
    let spans = spans(&bodies);
    let find = |rid: &str| {
        spans
            .iter()
            .find(|sp| sp.attrs.get("request_id").map(String::as_str) == Some(rid))
            .unwrap_or_else(|| panic!("no span for {rid}: {spans:?}"))
    };
    let reg = find("obs-register-1");
    assert_eq!(reg.name, "orgadm.v1.PersonService/RegisterPerson");
    assert_eq!(reg.attrs["caller"], "observer");
    assert_eq!(reg.attrs["code"], "OK");
    // The caller's W3C trace context was followed.
    assert_eq!(reg.trace_id, TRACE_ID);
    assert_eq!(reg.parent, PARENT_SPAN);
    let get = find("obs-get-2");
    assert_eq!(get.attrs["code"], "NOT_FOUND");
    assert_ne!(get.trace_id, TRACE_ID);
    assert!(
        spans.iter().any(|sp| sp.name == EXCHANGE_ROUTE),
        "{spans:?}"
    );
    drop(person);
}

async fn no_endpoint_no_export(backend: Backend) {
    let Some(db) = TestDb::new(backend) else {
        return;
    };
    let (otlp, got) = receiver().await;
    // Neither the SDK's standard variables nor an empty ORGADM_OTLP_ENDPOINT turn exporting on.
    let s = serve(
        &db,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp.as_str()),
            ("ORGADM_OTLP_ENDPOINT", ""),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let mut api = s.api().await;
    api.persons
        .get_person(pb::GetPersonRequest { oid: 1 })
        .await
        .unwrap_err();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = s.stop();
    assert!(
        json_lines(&log)
            .iter()
            .any(|l| l["target"] == "orgadm::access" && l["span"]["method"] == GET_PERSON),
        "{log}"
    );
    assert!(got.lock().unwrap().is_empty(), "spans were sent");
}

mod sqlite_binary {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn binary_logs_and_traces() {
        super::binary_logs_and_traces(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_endpoint_no_export() {
        super::no_endpoint_no_export(crate::support::Backend::Sqlite).await;
    }
}

mod postgres_binary {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn binary_logs_and_traces() {
        super::binary_logs_and_traces(crate::support::Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_endpoint_no_export() {
        super::no_endpoint_no_export(crate::support::Backend::Postgres).await;
    }
}
