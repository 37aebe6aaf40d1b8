//! The records archive for a realistic organisation: 1,000 signed powers of attorney (real
//! `EMCHD_1` documents with real detached CMS signatures by the test PKI's head), 10,000 API-KEYs
//! and 100,000 token issuances on a SQLite file. Measures `Core::export_records` (snapshot read,
//! archive written and hashed, manifest signed, audit event, every chunk received) and the
//! offline verification (`orgadm records verify`'s function) with and without the chains.
//! Figures in docs/PERFORMANCE.md. Sizes: `RECORDS_BENCH_POAS`, `_KEYS`, `_ISSUANCES`.
use std::fmt::Display;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use orgadm::crypto::cert::Certificate;
use orgadm::crypto::trust::TrustStore;
use orgadm::domain::caller::{Caller, Role};
use orgadm::service::records::ExportRecords;
use orgadm::service::records_verify::{VerifyOptions, verify_archive};
use orgadm::service::{Core, Db, ManualClock, SharedClock};
use orgadm::storage::DbConfig;

const ORG: i64 = 1_000_001;
const HEAD: i64 = 1_000;

fn ok<T, E: Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("{what}: {e}");
        std::process::exit(1)
    })
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fixture(path: &str) -> Vec<u8> {
    ok(
        std::fs::read(format!(
            "{}/tests/fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        )),
        path,
    )
}

fn exec(c: &mut SqliteConnection, sql: &str) {
    ok(diesel::sql_query(sql).execute(c), "seeding");
}

/// Inserts `rows` in statements of 500 rows.
fn insert(c: &mut SqliteConnection, head: &str, rows: impl Iterator<Item = String>) {
    let rows: Vec<String> = rows.collect();
    for part in rows.chunks(500) {
        exec(c, &format!("{head} VALUES {}", part.join(",")));
    }
}

const T: &str = "'2026-11-25 12:00:00'";

/// Seeds the organisation on the SQLite file at `path` (foreign keys are not enforced on this
/// connection: the persons, systems and employees the rows name are not needed by the export).
fn seed(path: &str, poas: usize, keys: usize, issuances: usize) {
    let mut c = ok(SqliteConnection::establish(path), "sqlite");
    exec(&mut c, "PRAGMA foreign_keys = OFF");
    exec(&mut c, "BEGIN");
    exec(
        &mut c,
        &format!(
            "INSERT INTO organizations (oid, kind, full_name, short_name, ogrn, inn, kpp, address, head_oid, is_consumer, is_vendor, created_at, updated_at, version) \
             VALUES ({ORG}, 'legal_entity', 'ООО \"Ромашка\"', 'Ромашка', '1037800000017', '7810010017', '781001001', 'Санкт-Петербург', {HEAD}, 1, 0, {T}, {T}, 1)"
        ),
    );
    exec(
        &mut c,
        &format!(
            "INSERT INTO audit_heads (chain, seq, hash, updated_at) VALUES ({ORG}, 0, X'{}', {T})",
            "00".repeat(32)
        ),
    );
    // Real documents: the committed import fixture with a new НомДовер each, signed by the head.
    let base = ok(
        orgadm::xml::parse(&fixture(
            "emchd/import/ON_EMCHD_20261125_7d3e2f10-8a4b-4c5d-9e6f-a1b2c3d4e5f6.xml",
        )),
        "fixture",
    );
    let dir = format!("{}/tests/fixtures/pki", env!("CARGO_MANIFEST_DIR"));
    let key = ok(
        orgadm::crypto::keys::private_key_from_pem(&ok(
            std::fs::read_to_string(format!("{dir}/head.key.pem")),
            "head key",
        )),
        "head key",
    );
    let cert = ok(
        Certificate::from_pem(&ok(
            std::fs::read_to_string(format!("{dir}/head.cert.pem")),
            "head cert",
        )),
        "head cert",
    );
    let Some(at) = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).single() else {
        return;
    };
    let mut docs = Vec::with_capacity(poas);
    let mut sigs = Vec::with_capacity(poas);
    for i in 0..poas {
        let mut d = base.clone();
        d.number = uuid::Uuid::from_u128(0x7d3e_0000_0000_4000_8000_0000_0000_0000 + i as u128);
        let bytes = ok(d.render(), "render");
        let sig = ok(
            orgadm::crypto::cms::sign_detached(&key, &cert, &bytes, at),
            "sign",
        );
        let n = d.number.hyphenated().to_string();
        docs.push(format!(
            "('{n}', {ORG}, 'signed', 'issued', 'EXT-{i}', {HEAD}, NULL, '2026-11-25', '2027-05-31', 'none', 1, X'{}', {T}, {T}, 2)",
            hex::encode(&bytes)
        ));
        sigs.push(format!(
            "('{n}', X'{}', X'{}', {T}, {T})",
            hex::encode(&sig),
            hex::encode(cert.der())
        ));
    }
    insert(
        &mut c,
        "INSERT INTO powers_of_attorney (number, organization_oid, state, origin, internal_number, principal_person_oid, representative_person_oid, start_date, end_date, redelegation, revocable, document, created_at, updated_at, version)",
        docs.into_iter(),
    );
    insert(
        &mut c,
        "INSERT INTO poa_signatures (number, signature, signer_certificate, signing_time, signed_at)",
        sigs.into_iter(),
    );
    insert(
        &mut c,
        "INSERT INTO api_keys (id, key_hash, hash_key_id, prefix, client_id, organization_oid, holder_oid, issuer_oid, poa_number, state, valid_from, valid_until, last_used_at, created_at, updated_at, version)",
        (0..keys).map(|i| {
            format!(
                "('{}', X'{:064x}', 'k1', 'ab{:04x}', 'VENDOR_CRM', {ORG}, {}, {HEAD}, '7d3e0000-0000-4000-8000-000000000000', 'active', {T}, '2027-05-31 00:00:00', NULL, {T}, {T}, 1)",
                uuid::Uuid::from_u128(i as u128),
                i,
                i % 0xffff,
                2_000 + i % 500
            )
        }),
    );
    let Some(start) = NaiveDate::from_ymd_opt(2026, 11, 26).and_then(|d| d.and_hms_opt(0, 0, 0))
    else {
        return;
    };
    insert(
        &mut c,
        "INSERT INTO token_issuances (sid, key_id, client_id, organization_oid, holder_oid, issued_at, expires_at, client_addr, signer_serial, signer_thumbprint, signer_kind, signing_time)",
        (0..issuances).map(|i| {
            let t: NaiveDateTime = start + chrono::Duration::seconds(i as i64 * 5);
            format!(
                "('{}', '{}', 'VENDOR_CRM', {ORG}, {}, '{t}', '{}', '10.0.0.{}', '01ab', '{:064x}', 'organization', '{t}')",
                uuid::Uuid::from_u128(1 << 100 | i as u128),
                uuid::Uuid::from_u128((i % keys.max(1)) as u128),
                2_000 + i % 500,
                t + chrono::Duration::days(1),
                i % 250,
                i
            )
        }),
    );
    exec(&mut c, "COMMIT");
}

fn records(c: &mut Criterion) {
    let (poas, keys, issuances) = (
        size("RECORDS_BENCH_POAS", 1_000),
        size("RECORDS_BENCH_KEYS", 10_000),
        size("RECORDS_BENCH_ISSUANCES", 100_000),
    );
    let dir = ok(tempfile::tempdir(), "tempdir");
    let path = dir.path().join("records.db");
    let path = path.to_string_lossy().into_owned();
    let rt = ok(tokio::runtime::Runtime::new(), "runtime");
    let Some(now) = NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(12, 0, 0))
    else {
        return;
    };
    let clock: SharedClock = std::sync::Arc::new(ManualClock::new(now));
    let signer = {
        use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
        use orgadm::crypto::service_key;
        let key = ok(PrivateKey::generate(ParamSet::Tc26_256A), "key");
        let name = ok(
            service_key::parse_subject("CN=orgadm bench,O=orgadm"),
            "subject",
        );
        let cert = ok(
            service_key::self_signed_certificate(&key, &name, now.and_utc(), 365),
            "cert",
        );
        ok(service_key::ServiceSigner::new(key, cert), "signer")
    };
    let cert = signer.certificate().clone();
    let core = rt.block_on(async {
        let (db, _) = ok(
            Db::open(DbConfig::new(format!("sqlite://{path}"))).await,
            "db",
        );
        ok(Core::new(db, clock), "core").with_signer(signer)
    });
    let started = std::time::Instant::now();
    seed(&path, poas, keys, issuances);
    eprintln!(
        "seeded {poas} powers of attorney, {keys} keys, {issuances} issuances in {:?}",
        started.elapsed()
    );
    let caller = Caller {
        client_id: "bench".into(),
        client_name: "bench-auditor".into(),
        role: Role::Auditor,
        organization_oid: Some(ORG),
        acting_person: None,
        request_id: "bench".into(),
    };
    let export = || {
        rt.block_on(async {
            let mut e = ok(
                core.export_records(
                    &caller,
                    ExportRecords {
                        organization_oid: ORG,
                        from: None,
                        to: None,
                    },
                )
                .await,
                "export",
            );
            let mut bytes = Vec::with_capacity(e.info.size as usize);
            while let Some(chunk) = e.chunks.recv().await {
                bytes.extend_from_slice(&ok(chunk, "chunk"));
            }
            bytes
        })
    };
    let archive = export();
    eprintln!("archive: {} bytes", archive.len());
    let mut trust = TrustStore::new();
    for f in ["pki/root.cert.pem", "pki/ca.cert.der", "pki/ca.crl.der"] {
        ok(trust.add_bytes(&fixture(f)), f);
    }
    let certs = [cert];
    let plain = VerifyOptions {
        certificates: &certs,
        trust: None,
        now,
    };
    let chained = VerifyOptions {
        trust: Some(&trust),
        ..plain
    };
    for o in [&plain, &chained] {
        let r = verify_archive(archive.as_slice(), o);
        if let Some(p) = r.problem {
            eprintln!("the benchmark's archive does not verify: {p}");
            std::process::exit(1);
        }
    }

    let mut g = c.benchmark_group("records");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(archive.len() as u64));
    g.bench_function("export (SQLite)", |b| b.iter(export));
    g.bench_function("verify (signatures and signers)", |b| {
        b.iter(|| verify_archive(archive.as_slice(), &plain).is_valid())
    });
    g.bench_function("verify (with chains)", |b| {
        b.iter(|| verify_archive(archive.as_slice(), &chained).is_valid())
    });
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
