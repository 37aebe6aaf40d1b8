//! Scenarios that open the database in this process, through the service's own `Core`, and
//! the helpers they share.

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

#[path = "employees.rs"]
mod employees;
#[path = "invitations.rs"]
mod invitations;
#[path = "signatures.rs"]
mod signatures;
pub use employees::run_employees;
pub use invitations::run_invitations;
pub use signatures::run_signatures;
