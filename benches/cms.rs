//! Full CMS (CAdES-BES) verification of committed OpenSSL-made fixtures: DER parsing, certificate
//! parsing (x509-parser), messageDigest (Streebog), the GOST signature over the signed attributes,
//! and — in the `+ chain` rows — the path to the trust anchor (issuer signatures, validity, the CA's
//! CRL with its own signature). Figures in docs/PERFORMANCE.md.
use chrono::{TimeZone, Utc};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use orgadm::crypto::cms;
use orgadm::crypto::trust::TrustStore;

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| {
        eprintln!("{p}: {e}");
        std::process::exit(1)
    })
}

fn verification(c: &mut Criterion) {
    let content = fixture("cms/uuid.txt");
    let mut store = TrustStore::new();
    for f in ["pki/root.cert.pem", "pki/ca.cert.der", "pki/ca.crl.der"] {
        if let Err(e) = store.add_bytes(&fixture(f)) {
            eprintln!("{f}: {e}");
            std::process::exit(1);
        }
    }
    // the time the integration tests check the fixtures at (they were made 2026-11-23)
    let Some(at) = Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).single() else {
        return;
    };
    let mut g = c.benchmark_group("cms verify_detached");
    for (label, name) in [
        ("employee (256, CryptoPro-B)", "employee"),
        ("employee512 (512)", "employee512"),
        ("head CAdES-BES (256)", "head.cades"),
    ] {
        let sig = fixture(&format!("cms/{name}.sig"));
        // the fixture must verify, or the figure would time an error path
        match cms::verify_detached(&sig, &content, &[]) {
            Ok(v) => {
                if let Err(e) = store.verify_chain(&v.signer, &v.certificates, at) {
                    eprintln!("{name}: chain: {e}");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        }
        g.bench_function(label, |b| {
            b.iter(|| cms::verify_detached(black_box(&sig), black_box(&content), &[]))
        });
        g.bench_function(format!("{label} + chain"), |b| {
            b.iter(|| {
                let v = cms::verify_detached(black_box(&sig), black_box(&content), &[])
                    .map_err(|e| e.to_string())?;
                store
                    .verify_chain(&v.signer, &v.certificates, at)
                    .map(|p| p.len())
                    .map_err(|e| e.to_string())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
