//! `orgadm-load token`: the token exchange under load. The server runs in this process on a
//! loopback listener (the service's own `app::serve`), with the test PKI's trust anchors and a
//! fresh signing key; one organisation (the test PKI's OGRN/INN) with `--keys` working API-KEYs
//! seeded directly in the database (the seed flow itself is not what is measured). Each key is
//! signed once by the organisation's impersonal certificate (detached, base64url); every
//! request re-verifies it. Rate limits are off.
//!
//! Measured in one run on the same cores: the cryptographic ceiling (threads = cores, each
//! doing one CMS verification with the chain check + one token signature per iteration), then
//! HTTP and gRPC at `--concurrency` closed-loop clients, then both again paced at half the rate
//! each reached. Clients and server share the process (and the 2 cores), as a loopback client
//! would share the machine; memory is the process's peak (VmHWM), clients included.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use diesel::prelude::*;
use orgadm::crypto::cert::Certificate;
use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
use orgadm::crypto::service_key::{self, ServiceSigner};
use orgadm::crypto::trust::TrustStore;
use orgadm::domain::api_key::{ApiKey, KeyState};
use orgadm::domain::caller::Role;
use orgadm::domain::organization::{OrgKind, OrganizationInput};
use orgadm::service::organizations::RegisterOrganization;
use orgadm::service::{Clock, Core};
use orgadm::storage::DbConfig;
use orgadm::storage::schema::{
    information_systems, poa_powers, powers_of_attorney, system_grants, system_members,
};
use orgadm::transport::grpc::pb;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::inproc::{self, Run, caller, e, person};
use super::{Backend, Common, percentile};

#[derive(clap::Args, Clone)]
pub struct TokenArgs {
    #[command(flatten)]
    pub common: Common,
    /// Working API-KEYs the requests cycle over.
    #[arg(long, default_value_t = 200)]
    pub keys: usize,
    /// Database connections.
    #[arg(long, default_value_t = 16)]
    pub pool_size: u32,
    /// Iterations of the bare cryptographic work.
    #[arg(long, default_value_t = 2000)]
    pub crypto_count: usize,
}

const CLIENT_ID: &str = "LOAD_APP";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

struct Key {
    secret: String,
    der: Vec<u8>,
    sig64: String,
}

fn line(what: &str, r: &Run, ceiling: Option<f64>) -> String {
    let ms = |p| percentile(&r.lat, p).as_secs_f64() * 1e3;
    format!(
        "{what}: ok={} errors={} elapsed={:.2}s rate={:.0}/s p50={:.2}ms p99={:.2}ms p999={:.2}ms{}",
        r.ok,
        r.errors,
        r.elapsed.as_secs_f64(),
        r.rate(),
        ms(0.50),
        ms(0.99),
        ms(0.999),
        ceiling
            .map(|c| format!(" ({:.0}% of the crypto ceiling)", 100.0 * r.rate() / c))
            .unwrap_or_default()
    )
}

async fn seed(core: &Core, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let op = caller(core, Role::Operator, "load-operator", None).await?;
    let head = person(core, &op, 1).await?;
    let org = OrganizationInput {
        kind: Some(OrgKind::LegalEntity),
        full_name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
        short_name: "ООО \"Ромашка\"".into(),
        ogrn: "1037800000017".into(),
        inn: "7810010017".into(),
        kpp: "781001001".into(),
        address: "г. Санкт-Петербург".into(),
        head_oid: head,
        consumer: true,
        vendor: true,
    }
    .validate()
    .map_err(|v| anyhow::anyhow!("{v:?}"))?;
    let org = core
        .register_organization(
            &op,
            RegisterOrganization {
                request_id: None,
                org,
            },
        )
        .await
        .map_err(e)?
        .oid;
    let now = core.clock.now();
    let mut keys = Vec::new();
    for _ in 0..n {
        keys.push((
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        ));
    }
    let hasher = core.key_hasher.clone();
    let ks = keys.clone();
    core.db
        .write(move |c| {
            diesel::insert_into(information_systems::table)
                .values((
                    information_systems::client_id.eq(CLIENT_ID),
                    information_systems::vendor_oid.eq(org),
                    information_systems::name.eq("Load"),
                    information_systems::description.eq("orgadm-load"),
                    information_systems::api_key_enabled.eq(true),
                    information_systems::created_at.eq(now),
                    information_systems::updated_at.eq(now),
                    information_systems::version.eq(1i64),
                ))
                .execute(c)?;
            diesel::insert_into(system_grants::table)
                .values((
                    system_grants::client_id.eq(CLIENT_ID),
                    system_grants::consumer_oid.eq(org),
                    system_grants::state.eq("active"),
                    system_grants::granted_at.eq(now),
                    system_grants::version.eq(1i64),
                ))
                .execute(c)?;
            diesel::insert_into(system_members::table)
                .values((
                    system_members::client_id.eq(CLIENT_ID),
                    system_members::organization_oid.eq(org),
                    system_members::person_oid.eq(head),
                    system_members::added_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(powers_of_attorney::table)
                .values((
                    powers_of_attorney::number.eq("load-poa"),
                    powers_of_attorney::organization_oid.eq(org),
                    powers_of_attorney::state.eq("signed"),
                    powers_of_attorney::origin.eq("issued"),
                    powers_of_attorney::internal_number.eq("LOAD"),
                    powers_of_attorney::principal_person_oid.eq(head),
                    powers_of_attorney::representative_person_oid.eq(Some(head)),
                    powers_of_attorney::start_date.eq(now.date() - chrono::Duration::days(1)),
                    powers_of_attorney::end_date.eq(now.date() + chrono::Duration::days(365)),
                    powers_of_attorney::redelegation.eq("none"),
                    powers_of_attorney::revocable.eq(true),
                    powers_of_attorney::document.eq(b"<load/>".to_vec()),
                    powers_of_attorney::created_at.eq(now),
                    powers_of_attorney::updated_at.eq(now),
                    powers_of_attorney::version.eq(1i64),
                ))
                .execute(c)?;
            diesel::insert_into(poa_powers::table)
                .values((
                    poa_powers::number.eq("load-poa"),
                    poa_powers::position.eq(0),
                    poa_powers::power_code.eq(orgadm::domain::power::API_KEY_POWER),
                    poa_powers::information_system.eq(CLIENT_ID),
                ))
                .execute(c)?;
            for (id, secret) in &ks {
                let key = ApiKey {
                    id: id.clone(),
                    prefix: secret[..8].to_owned(),
                    client_id: CLIENT_ID.into(),
                    organization_oid: org,
                    holder_oid: head,
                    issuer_oid: head,
                    poa_number: "load-poa".into(),
                    state: KeyState::Active,
                    valid_from: now - chrono::Duration::hours(1),
                    valid_until: now + chrono::Duration::days(180),
                    last_used_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                orgadm::storage::api_keys::insert(
                    c,
                    &orgadm::storage::api_keys::NewKey {
                        key: &key,
                        key_hash: &hasher.hash(secret.as_bytes()),
                        hash_key_id: hasher.key_id(),
                    },
                )?;
            }
            Ok(())
        })
        .await
        .map_err(e)?;
    Ok(keys)
}

/// The bare cryptographic work of one exchange — one CMS verification over the key and one
/// token signature — on `threads` threads. (The signer's chain check is cached by the service
/// for a few minutes, so it is not part of every exchange.)
fn ceiling(core: &Core, key: &Key, count: usize, threads: usize) -> anyhow::Result<Run> {
    let signer = core.signer.clone().context("no signer")?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (signer, next) = (signer.clone(), next.clone());
        let (der, secret) = (key.der.clone(), key.secret.clone());
        handles.push(std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut errors = 0;
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let t = Instant::now();
                let ok = orgadm::crypto::cms::verify_detached(&der, secret.as_bytes(), &[]).is_ok()
                    && signer
                        .sign_jwt(
                            &orgadm::domain::token::esia_header(),
                            &serde_json::json!({"iss": "x", "urn:esia:sid": secret, "iat": 1, "exp": 2}),
                        )
                        .is_ok();
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h
            .join()
            .map_err(|_| anyhow::anyhow!("crypto thread panicked"))?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    lat.sort();
    Ok(Run {
        ok: lat.len(),
        errors,
        elapsed,
        lat,
    })
}

/// A keep-alive HTTP/1.1 client on one connection.
struct Http {
    io: BufReader<tokio::net::TcpStream>,
    host: String,
}

impl Http {
    async fn connect(addr: &str) -> anyhow::Result<Http> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Http {
            io: BufReader::new(s),
            host: addr.into(),
        })
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.io.get_mut().write_all(req.as_bytes()).await?;
        let mut status = 0;
        let mut len = 0usize;
        let mut first = true;
        loop {
            let mut l = String::new();
            if self.io.read_line(&mut l).await? == 0 {
                anyhow::bail!("connection closed");
            }
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            if first {
                status = l
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                first = false;
            } else if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        self.io.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

#[derive(Clone, Copy)]
enum Via {
    Http,
    Grpc,
}

/// `count` exchanges from `concurrency` clients (each its own connection), closed loop, or
/// paced at `rate` per second in all.
async fn exchanges(
    via: Via,
    addr: &str,
    keys: Arc<Vec<Key>>,
    count: usize,
    concurrency: usize,
    rate: Option<f64>,
) -> anyhow::Result<Run> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (keys, next, addr) = (keys.clone(), next.clone(), addr.to_owned());
        let mut http = match via {
            Via::Http => Some(Http::connect(&addr).await?),
            Via::Grpc => None,
        };
        let mut grpc = match via {
            Via::Grpc => Some(pb::token_service_client::TokenServiceClient::new(
                tonic::transport::Channel::from_shared(format!("http://{addr}"))?
                    .connect()
                    .await?,
            )),
            Via::Http => None,
        };
        tasks.push(tokio::spawn(async move {
            let mut tick = rate.map(|r| {
                let mut i = tokio::time::interval(Duration::from_secs_f64(concurrency as f64 / r));
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                i
            });
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let k = &keys[i % keys.len()];
                let t = Instant::now();
                let ok = match (&mut http, &mut grpc) {
                    (Some(h), _) => {
                        let path = format!(
                            "/esia-rs/api/public/v1/orgs/ext-app/{}/tkn?signature={}",
                            k.secret, k.sig64
                        );
                        match h.get(&path).await {
                            Ok((200, _)) => true,
                            Ok((s, b)) => {
                                if errors == 0 {
                                    eprintln!("HTTP {s}: {}", String::from_utf8_lossy(&b));
                                }
                                false
                            }
                            Err(err) => {
                                eprintln!("HTTP error: {err}");
                                false
                            }
                        }
                    }
                    (_, Some(g)) => match g
                        .exchange_api_key(pb::ExchangeApiKeyRequest {
                            api_key: k.secret.clone(),
                            signature: k.der.clone(),
                        })
                        .await
                    {
                        Ok(_) => true,
                        Err(s) => {
                            if errors == 0 {
                                eprintln!("gRPC {s:?}");
                            }
                            false
                        }
                    },
                    _ => false,
                };
                if ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
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
    Ok(Run {
        ok: lat.len(),
        errors,
        elapsed,
        lat,
    })
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub async fn run(a: TokenArgs) -> anyhow::Result<()> {
    let c = &a.common;
    let db = inproc::fresh(c, "tok")?;
    let mut cfg = DbConfig::new(db.url.clone());
    cfg.pool_size = a.pool_size;
    cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
    let trust = TrustStore::from_dir(format!("{FIXTURES}/trust"))?;
    let skey = PrivateKey::generate(ParamSet::Tc26_256A)?;
    let name = service_key::parse_subject("CN=orgadm-load token signer")?;
    let now = orgadm::service::SystemClock.now().and_utc();
    let cert = service_key::self_signed_certificate(&skey, &name, now, 30)?;
    let core = orgadm::app::open(cfg, None)
        .await?
        .with_trust(trust)
        .with_signer(ServiceSigner::new(skey, cert)?);
    let pairs = seed(&core, a.keys.max(1)).await?;
    let ikey = orgadm::crypto::keys::private_key_from_pem(&std::fs::read_to_string(format!(
        "{FIXTURES}/pki/impersonal.key.pem"
    ))?)?;
    let icert = Certificate::from_pem(&std::fs::read_to_string(format!(
        "{FIXTURES}/pki/impersonal.cert.pem"
    ))?)?;
    let signed_at = now - chrono::Duration::minutes(1);
    let mut keys = Vec::new();
    for (_, secret) in pairs {
        let der = orgadm::crypto::cms::sign_detached(&ikey, &icert, secret.as_bytes(), signed_at)?;
        let sig64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der);
        keys.push(Key { secret, der, sig64 });
    }
    let keys = Arc::new(keys);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_core = core.clone();
    let server = tokio::spawn(async move {
        orgadm::app::serve(listener, serve_core, async {
            let _ = rx.await;
        })
        .await
    });

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let crypto = tokio::task::spawn_blocking({
        let core = core.clone();
        let k = Key {
            secret: keys[0].secret.clone(),
            der: keys[0].der.clone(),
            sig64: String::new(),
        };
        let n = a.crypto_count;
        move || ceiling(&core, &k, n, cores)
    })
    .await??;
    let ceil = crypto.rate();
    // Warm up both transports, then measure.
    exchanges(Via::Http, &addr, keys.clone(), 200, c.concurrency, None).await?;
    exchanges(Via::Grpc, &addr, keys.clone(), 200, c.concurrency, None).await?;
    let http = exchanges(Via::Http, &addr, keys.clone(), c.count, c.concurrency, None).await?;
    let grpc = exchanges(Via::Grpc, &addr, keys.clone(), c.count, c.concurrency, None).await?;
    let half = (c.count / 2).max(100);
    let http_half = exchanges(
        Via::Http,
        &addr,
        keys.clone(),
        half,
        c.concurrency,
        Some(http.rate() / 2.0),
    )
    .await?;
    let grpc_half = exchanges(
        Via::Grpc,
        &addr,
        keys.clone(),
        half,
        c.concurrency,
        Some(grpc.rate() / 2.0),
    )
    .await?;
    let hwm = vm_hwm_mb();
    let _ = tx.send(());
    server.await??;
    let backend = match c.backend {
        Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
        Backend::Postgres => "postgres".into(),
    };
    println!(
        "scenario=token backend={backend} concurrency={} keys={} pool={} cores={cores}",
        c.concurrency, a.keys, a.pool_size
    );
    println!(
        "  {}",
        line(&format!("crypto ceiling ({cores} threads)"), &crypto, None)
    );
    println!("  {}", line("http exchange        ", &http, Some(ceil)));
    println!("  {}", line("grpc exchange        ", &grpc, Some(ceil)));
    println!(
        "  {}",
        line(
            &format!("http at {:.0}/s (half)", http.rate() / 2.0),
            &http_half,
            None
        )
    );
    println!(
        "  {}",
        line(
            &format!("grpc at {:.0}/s (half)", grpc.rate() / 2.0),
            &grpc_half,
            None
        )
    );
    println!("  process peak memory (server and clients): VmHWM={hwm:.0} MB");
    let (issued, refused, limited) = core.token_stats.snapshot();
    println!("  tokens issued={issued} refused={refused} rate_limited={limited}");
    if http.errors + grpc.errors + http_half.errors + grpc_half.errors + crypto.errors > 0 {
        anyhow::bail!("some exchanges failed");
    }
    Ok(())
}
