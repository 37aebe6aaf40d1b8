//! `orgadm-load keys`: API-KEY creations per second (the whole use case: access facts, groups,
//! power of attorney, grant, holder, insert, audit event — one transaction) and the validity
//! check the token exchange runs (`Core::check_api_key`: keyed hash, one query, the rule), with
//! `--stored` keys in the table. In-process through the service's own `Core`.
//!
//! The world around the keys (vendor, system, grant, employees, groups, the issuer's power of
//! attorney, and the stored keys) is seeded straight into the tables; what is measured is the
//! service's own code path.

use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use orgadm::domain::caller::Role;
use orgadm::service::ServiceError;
use orgadm::service::api_keys::CreateKey;
use orgadm::storage::{DbConfig, DbConnection};

use super::Common;
use super::inproc::{caller, drive, e, fresh, orgs, person};

#[derive(clap::Args, Clone)]
pub struct KeyArgs {
    #[command(flatten)]
    pub common: Common,
    /// Keys stored before the validity checks are measured.
    #[arg(long, default_value_t = 1_000_000)]
    pub stored: usize,
    /// Keys created through the use case (measured).
    #[arg(long, default_value_t = 2000)]
    pub creations: usize,
    /// Employees holding keys.
    #[arg(long, default_value_t = 100)]
    pub holders: usize,
}

const SYSTEM: &str = "LOAD_APP";

fn exec(c: &mut DbConnection, sql: &str) -> Result<(), ServiceError> {
    match c {
        DbConnection::Postgresql(pg) => diesel::sql_query(sql).execute(pg)?,
        DbConnection::Sqlite(sq) => diesel::sql_query(sql).execute(sq)?,
    };
    Ok(())
}

fn p(lat: &[Duration], q: f64) -> f64 {
    super::percentile(lat, q).as_secs_f64() * 1e3
}

pub async fn run(a: KeyArgs) -> anyhow::Result<()> {
    let c = &a.common;
    let db = fresh(c, "keys")?;
    let mut cfg = DbConfig::new(db.url.clone());
    cfg.pool_size = 16;
    cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
    let core = orgadm::app::open(cfg, None).await?;
    let pg = matches!(c.backend, super::Backend::Postgres);
    let op = caller(&core, Role::Operator, "load-operator", None).await?;
    let o = orgs(&core, &op, 2).await?;
    let (vendor, consumer, head) = (o[0].0, o[1].0, o[1].1);
    let issuer = person(&core, &op, 10_000).await?;
    let mut holders = Vec::new();
    for i in 0..a.holders.max(1) {
        holders.push(person(&core, &op, 10_001 + i).await?);
    }
    let now = core.clock.now();
    let ts = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let (start, end) = (
        (now.date() - chrono::Duration::days(1)).to_string(),
        (now.date() + chrono::Duration::days(365)).to_string(),
    );
    let blob = if pg { "'\\x00'::bytea" } else { "X'00'" };
    let poa = uuid::Uuid::new_v4().to_string();
    let mut seed = vec![
        format!("UPDATE organizations SET is_vendor = TRUE WHERE oid = {vendor}"),
        format!(
            "INSERT INTO information_systems (client_id, vendor_oid, name, description, api_key_enabled, created_at, updated_at, version) \
             VALUES ('{SYSTEM}', {vendor}, 'Load', '', TRUE, '{ts}', '{ts}', 1)"
        ),
        format!(
            "INSERT INTO system_grants (client_id, consumer_oid, state, granted_at, version) VALUES ('{SYSTEM}', {consumer}, 'active', '{ts}', 1)"
        ),
        format!(
            "INSERT INTO powers_of_attorney (number, organization_oid, state, origin, internal_number, principal_person_oid, representative_person_oid, start_date, end_date, redelegation, revocable, document, created_at, updated_at, version) \
             VALUES ('{poa}', {consumer}, 'signed', 'issued', 'LOAD-1', {head}, {issuer}, '{start}', '{end}', 'none', TRUE, {blob}, '{ts}', '{ts}', 1)"
        ),
        format!(
            "INSERT INTO poa_powers (number, position, power_code, information_system) VALUES ('{poa}', 0, 'ORGADM_API_KEY_ISSUE', '{SYSTEM}')"
        ),
    ];
    for pers in std::iter::once(issuer).chain(holders.iter().copied()) {
        seed.push(format!(
            "INSERT INTO employees (organization_oid, person_oid, state, joined_at, updated_at, version) VALUES ({consumer}, {pers}, 'active', '{ts}', '{ts}', 1)"
        ));
    }
    for g in ["TECH_PORTAL", "ORG_ADMIN"] {
        seed.push(format!(
            "INSERT INTO group_members (organization_oid, mnemonic, person_oid, added_at) VALUES ({consumer}, '{g}', {issuer}, '{ts}')"
        ));
    }
    for h in &holders {
        seed.push(format!(
            "INSERT INTO system_members (client_id, organization_oid, person_oid, added_at) VALUES ('{SYSTEM}', {consumer}, {h}, '{ts}')"
        ));
    }
    core.db
        .write(move |c| {
            for s in &seed {
                exec(c, s)?;
            }
            Ok(())
        })
        .await
        .map_err(e)?;
    let (_, portal) = core
        .create_client("load-portal".into(), Role::Portal, None)
        .await
        .map_err(e)?;
    let issuer_caller = core
        .authenticate(Some(&portal), Some(issuer), "load".into())
        .await
        .map_err(e)?;

    // 1. Creations through the use case.
    let holders = Arc::new(holders);
    let (core2, caller2, h2) = (core.clone(), issuer_caller.clone(), holders.clone());
    let created = drive(a.creations, c.concurrency, move |i| {
        let (core, caller, holders) = (core2.clone(), caller2.clone(), h2.clone());
        async move {
            core.create_api_key(
                &caller,
                CreateKey {
                    request_id: None,
                    client_id: SYSTEM.into(),
                    organization_oid: consumer,
                    holder_oid: holders[i % holders.len()],
                    validity: None,
                },
            )
            .await
            .map(|_| ())
        }
    })
    .await;

    // 2. Store `--stored` keys (batches of 1000 rows), keeping a sample of their secrets.
    let seed_started = std::time::Instant::now();
    let mut sample = Vec::new();
    let batch = 1000;
    let mut done = 0;
    let mut pending: Vec<String> = Vec::new();
    let until = (now + chrono::Duration::days(180))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let key_id = core.key_hasher.key_id().to_owned();
    while done < a.stored {
        let n = batch.min(a.stored - done);
        let mut rows = Vec::with_capacity(n);
        for j in 0..n {
            let secret = uuid::Uuid::new_v4().hyphenated().to_string();
            let hash = hex::encode(core.key_hasher.hash(secret.as_bytes()));
            let h = holders[(done + j) % holders.len()];
            let lit = if pg {
                format!("decode('{hash}', 'hex')")
            } else {
                format!("X'{hash}'")
            };
            rows.push(format!(
                "('{}', {lit}, '{key_id}', '{}', '{SYSTEM}', {consumer}, {h}, {issuer}, '{poa}', 'active', '{ts}', '{until}', '{ts}', '{ts}', 1)",
                uuid::Uuid::new_v4(),
                &secret[..8],
            ));
            if (done + j) % 100 == 0 {
                sample.push(secret);
            }
        }
        pending.push(format!(
            "INSERT INTO api_keys (id, key_hash, hash_key_id, prefix, client_id, organization_oid, holder_oid, issuer_oid, poa_number, state, valid_from, valid_until, created_at, updated_at, version) VALUES {}",
            rows.join(",")
        ));
        done += n;
        // Twenty statements of a thousand rows per transaction.
        if pending.len() == 20 || done == a.stored {
            let sqls = std::mem::take(&mut pending);
            core.db
                .write(move |c| {
                    for s in &sqls {
                        exec(c, s)?;
                    }
                    Ok(())
                })
                .await
                .map_err(e)?;
        }
    }
    if pg {
        core.db.write(|c| exec(c, "ANALYZE")).await.map_err(e)?;
    }
    let seeded = seed_started.elapsed();

    // 3. Validity checks against the full table: warm up, then measure.
    let sample = Arc::new(sample);
    let checks = (a.creations * 10).max(20_000);
    let check = |count: usize, offset: usize, concurrency: usize| {
        let (core, sample) = (core.clone(), sample.clone());
        drive(count, concurrency, move |i| {
            let (core, sample) = (core.clone(), sample.clone());
            async move {
                match core
                    .check_api_key(&sample[(i + offset) % sample.len()])
                    .await?
                {
                    Ok(_) => Ok(()),
                    Err((r, _)) => Err(ServiceError::Internal(format!("refused: {r:?}"))),
                }
            }
        })
    };
    let _ = check(2000, 7, c.concurrency).await;
    // Latency of one check on its own (one client), then throughput with --concurrency.
    let alone = check(checks / 2, 11, 1).await;
    let checked = check(checks, 0, c.concurrency).await;

    let backend = match c.backend {
        super::Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
        super::Backend::Postgres => "postgres".into(),
    };
    println!(
        "scenario=keys backend={backend} concurrency={} stored={} holders={}",
        c.concurrency,
        a.stored + created.ok,
        holders.len()
    );
    println!("  {}", created.line("key creation (with audit)"));
    println!(
        "  seeding {} keys took {:.1}s",
        a.stored,
        seeded.as_secs_f64()
    );
    println!(
        "  validity check, 1 client: rate={:.0}/s p50={:.3}ms p99={:.3}ms p999={:.3}ms",
        alone.rate(),
        p(&alone.lat, 0.50),
        p(&alone.lat, 0.99),
        p(&alone.lat, 0.999)
    );
    println!(
        "  validity check, {} clients: rate={:.0}/s p50={:.3}ms p99={:.3}ms p999={:.3}ms",
        c.concurrency,
        checked.rate(),
        p(&checked.lat, 0.50),
        p(&checked.lat, 0.99),
        p(&checked.lat, 0.999)
    );
    if created.errors > 0 || checked.errors > 0 || alone.errors > 0 {
        anyhow::bail!(
            "{} creations and {} checks failed",
            created.errors,
            checked.errors
        );
    }
    Ok(())
}
