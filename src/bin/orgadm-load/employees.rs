//! The employee listing scenario: 100,000 employees paged over gRPC.

use super::*;

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
                        DbConnection::Sqlite(sq) => diesel::sql_query(s.as_str()).execute(sq)?,
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
    let channel = crate::connect(&addr.to_string()).await?;
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
