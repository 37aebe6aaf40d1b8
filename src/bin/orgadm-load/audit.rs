//! `orgadm-load audit`: the audit export and its offline verification at scale.
//!
//! 1. Seeds `--events` events into one chain (the platform chain: one chain like any
//!    organisation's) through `storage::audit::append` in large transactions, so every hash and
//!    link is real.
//! 2. Starts a real `orgadm serve` process (release binary beside this one) on that database
//!    with a fresh GOST service key, and streams `AuditService.ExportEvents` over gRPC on
//!    loopback, counting bytes (and saving the file), while sampling the server's `VmRSS`
//!    every 50 ms; prints events/s, MB/s and the server's memory growth.
//! 3. Runs the offline verifier (`orgadm audit verify`'s code) on the saved file, and in the
//!    same run raw Streebog-256 over the same bytes, and prints both throughputs.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;
use orgadm::crypto::cert::Certificate;
use orgadm::crypto::streebog::Streebog256;
use orgadm::domain::audit::NewEvent;
use orgadm::service::{Clock, ServiceError};
use orgadm::storage::DbConfig;
use orgadm::transport::grpc::pb;
use streebog::Digest;

use super::inproc::{e, fresh};
use super::{Common, authed, connect, free_port, orgadm_binary};

#[derive(clap::Args, Clone)]
pub struct AuditArgs {
    #[command(flatten)]
    pub common: Common,
    /// Events seeded into the chain and then exported.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per seeding transaction.
    #[arg(long, default_value_t = 20_000)]
    pub seed_batch: usize,
    /// `jsonl` or `xml`.
    #[arg(long, default_value = "jsonl")]
    pub format: String,
}

fn rss_kb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

async fn seed(url: &str, events: usize, batch: usize) -> anyhow::Result<()> {
    let core = orgadm::app::open(DbConfig::new(url.to_owned()), None).await?;
    let started = Instant::now();
    let mut done = 0;
    while done < events {
        let n = batch.min(events - done);
        let first = done;
        core.db
            .write(move |c| {
                // Times advance a millisecond per event, as a busy organisation's would.
                let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .ok_or_else(|| ServiceError::Internal("date".into()))?;
                for i in first..first + n {
                    let ev = NewEvent {
                        chain: 0,
                        actor_client: "portal-gosuslugi".into(),
                        actor_person: Some(1_000_000_000 + (i as i64 % 5000)),
                        action: "organization.update",
                        target_type: "organization",
                        target_id: format!("{}", 1_000_000_000 + (i as i64 % 700)),
                        request_id: format!("00000000-0000-4000-8000-{i:012}"),
                        details: serde_json::json!({
                            "changed": ["address", "phone"],
                            "address": format!("г. Москва, ул. Тверская, д. {}, кв. {}", i % 200, i % 97),
                            "head_oid": 1_000_000_001,
                            "rule": "head",
                        }),
                    };
                    let at = base + chrono::Duration::milliseconds(i as i64);
                    orgadm::storage::audit::append(c, &ev, at)?;
                }
                Ok(())
            })
            .await
            .map_err(e)?;
        done += n;
        if done % 100_000 == 0 || done == events {
            eprintln!(
                "seeded {done} events ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// A fresh service key and self-signed certificate, written for `serve --signing-key`.
fn service_key(dir: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
    use orgadm::crypto::service_key;
    let key = PrivateKey::generate(ParamSet::Tc26_256A)?;
    let name = service_key::parse_subject("CN=orgadm load,O=orgadm")?;
    let cert = service_key::self_signed_certificate(
        &key,
        &name,
        orgadm::service::SystemClock.now().and_utc(),
        30,
    )?;
    let (k, c) = (dir.join("service.key"), dir.join("service.pem"));
    std::fs::write(&k, orgadm::crypto::keys::private_key_to_pem(&key))?;
    std::fs::write(&c, cert.to_pem())?;
    Ok((k, c))
}

pub async fn run(a: AuditArgs) -> anyhow::Result<()> {
    let db = fresh(&a.common, "audit")?;
    println!(
        "seeding {} events into one chain ({:?} backend)…",
        a.events,
        match a.common.backend {
            super::Backend::Sqlite => "sqlite",
            super::Backend::Postgres => "postgres",
        }
    );
    let t = Instant::now();
    seed(&db.url, a.events, a.seed_batch).await?;
    println!("seeded in {:.1} s", t.elapsed().as_secs_f64());

    let bin = orgadm_binary()?;
    let dir = tempfile::tempdir()?;
    let (key, cert) = service_key(dir.path())?;
    let token = super::create_operator_client(&bin, &db.url)?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut child = Command::new(&bin)
        .args([
            "--database-url",
            &db.url,
            "--db-pool-size",
            "16",
            "serve",
            "--listen",
            &addr,
        ])
        .arg("--signing-key")
        .arg(&key)
        .arg("--signing-cert")
        .arg(&cert)
        .args(["--checkpoint-interval-secs", "0"])
        .env("ORGADM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let r = measure(&a, &addr, &token, pid, dir.path(), &cert).await;
    let _ = child.kill();
    let _ = child.wait();
    r
}

async fn measure(
    a: &AuditArgs,
    addr: &str,
    token: &str,
    pid: u32,
    dir: &std::path::Path,
    cert: &std::path::Path,
) -> anyhow::Result<()> {
    let ch = connect(addr).await?;
    let mut client =
        pb::audit_service_client::AuditServiceClient::new(ch).max_decoding_message_size(64 << 20);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kb(pid, "VmRSS:");
    let format = match a.format.as_str() {
        "xml" => pb::ExportFormat::Xml,
        _ => pb::ExportFormat::JsonLines,
    };
    let max_rss = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let m = max_rss.clone();
    let sampler = tokio::spawn(async move {
        loop {
            m.fetch_max(
                rss_kb(pid, "VmRSS:") as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let path = dir.join(format!("export.{}", a.format));
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let started = Instant::now();
    let mut stream = client
        .export_events(authed(
            token,
            pb::ExportEventsRequest {
                organization_oid: 0,
                format: format as i32,
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = stream.message().await? {
        bytes += chunk.data.len();
        lines += chunk.data.iter().filter(|b| **b == b'\n').count();
        file.write_all(&chunk.data)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    file.flush()?;
    drop(file);
    sampler.abort();
    let rss_after = rss_kb(pid, "VmRSS:");
    let rss_max = max_rss.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let hwm = rss_kb(pid, "VmHWM:");
    let mb = bytes as f64 / 1e6;
    // Lines that are not events: the manifest, and XML's two header lines.
    let events = lines.saturating_sub(if a.format == "xml" { 3 } else { 1 });
    println!(
        "export ({}): {} bytes, {} events in {:.2} s: {:.0} events/s, {:.1} MB/s",
        a.format,
        bytes,
        events,
        elapsed,
        events as f64 / elapsed,
        mb / elapsed
    );
    println!(
        "server memory: VmRSS {:.1} MiB before the export, at most {:.1} MiB during it (sampled every 50 ms), {:.1} MiB after; growth {:.1} MiB; VmHWM {:.1} MiB",
        rss_before / 1024.0,
        rss_max / 1024.0,
        rss_after / 1024.0,
        (rss_max.max(rss_after) - rss_before) / 1024.0,
        hwm / 1024.0
    );

    // The offline verification against raw Streebog-256 of the same bytes, same run.
    let certs = Certificate::all_from_bytes(&std::fs::read(cert)?)?;
    let t = Instant::now();
    let mut f = std::fs::File::open(&path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h = Streebog256::new();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let _digest = h.finalize();
    let raw = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = orgadm::cli::audit_verify::verify_export(&path, &certs, None)
        .map_err(|e| anyhow::anyhow!(e))?;
    let ver = t.elapsed().as_secs_f64();
    if let Some(p) = &report.problem {
        bail!("the export did not verify: {p}");
    }
    println!(
        "raw Streebog-256 over the file: {:.1} MB/s ({:.2} s)",
        mb / raw,
        raw
    );
    println!(
        "audit verify: {} events in {:.2} s: {:.1} MB/s, {:.0} events/s = {:.0}% of raw hashing speed",
        report.events,
        ver,
        mb / ver,
        report.events as f64 / ver,
        100.0 * raw / ver
    );
    Ok(())
}
