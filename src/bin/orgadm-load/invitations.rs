//! The invitations scenario: `CreateInvitation` against a bare single-row insert transaction.

use super::*;

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
                let mut c = orgadm::storage::conn::checkout(&db.pool)?;
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
    cfg.write_lanes = (a.write_lanes > 0).then_some(a.write_lanes);
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
        "scenario=invitations backend={backend} concurrency={} pool={} orgs={} write_lanes={}",
        c.concurrency,
        a.pool_size,
        a.orgs,
        if a.write_lanes == 0 {
            "default".to_string()
        } else {
            a.write_lanes.to_string()
        }
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
