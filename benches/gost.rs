//! GOST R 34.10-2012 sign / verify per parameter set and Streebog throughput over 8 KiB and 1 MiB.
//! Compare with OpenSSL's GOST engine: benches/openssl-gost (figures in docs/PERFORMANCE.md).
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
use orgadm::crypto::streebog::{streebog256, streebog512};

const SETS: [(&str, ParamSet); 7] = [
    ("256 TC26 A", ParamSet::Tc26_256A),
    ("256 TC26 B (CP-A)", ParamSet::Tc26_256B),
    ("256 TC26 C (CP-B)", ParamSet::Tc26_256C),
    ("256 TC26 D (CP-C)", ParamSet::Tc26_256D),
    ("512 TC26 A", ParamSet::Tc26_512A),
    ("512 TC26 B", ParamSet::Tc26_512B),
    ("512 TC26 C", ParamSet::Tc26_512C),
];

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("gost3410");
    for (label, ps) in SETS {
        let Ok(key) = PrivateKey::generate(ps) else {
            return;
        };
        let public = key.public_key();
        let digest: Vec<u8> = (0..ps.size()).map(|i| (i * 37 + 5) as u8).collect();
        let Ok(sig) = key.sign_digest(&digest) else {
            return;
        };
        g.bench_with_input(BenchmarkId::new("sign", label), &digest, |b, d| {
            b.iter(|| key.sign_digest(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("verify", label), &digest, |b, d| {
            b.iter(|| public.verify_digest(black_box(d), black_box(&sig)))
        });
    }
    g.finish();
}

fn streebog(c: &mut Criterion) {
    for (label, len) in [("8 KiB", 8 << 10), ("1 MiB", 1 << 20)] {
        let buf = vec![0xa5u8; len];
        let mut g = c.benchmark_group(format!("streebog {label}"));
        g.throughput(Throughput::Bytes(buf.len() as u64));
        if len > 100_000 {
            g.sample_size(20);
        }
        g.bench_function("256", |b| b.iter(|| streebog256(black_box(&buf))));
        g.bench_function("512", |b| b.iter(|| streebog512(black_box(&buf))));
        g.finish();
    }
}

criterion_group!(benches, signatures, streebog);
criterion_main!(benches);
