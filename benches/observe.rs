//! The cost of `transport::observe` per request: one HTTP request through an axum router with a
//! trivial handler, without the layer, with it and no log subscriber (span disabled, metrics
//! counted), and with it and a JSON subscriber writing every access line to a sink (what
//! `--log-format json` does in production, less the I/O).
//!
//! `cargo bench --bench observe` (or `--profile dev` to reuse the dev build's dependencies).

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

fn request() -> Request<Body> {
    Request::get("/v1/x")
        .header("x-request-id", "bench-1")
        .body(Body::empty())
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let Ok(core) = rt.block_on(orgadm::app::open(orgadm::storage::DbConfig::new(url), None)) else {
        return;
    };
    let bare: Router = Router::new().route("/v1/x", get(|| async { "ok" }));
    let observed = bare
        .clone()
        .layer(orgadm::transport::observe::ObserveLayer::new(&core));

    let mut g = c.benchmark_group("observe");
    g.bench_function("no layer", |b| {
        b.iter(|| rt.block_on(bare.clone().oneshot(black_box(request()))))
    });
    g.bench_function("layer, no subscriber", |b| {
        b.iter(|| rt.block_on(observed.clone().oneshot(black_box(request()))))
    });
    let json = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(json, || {
        g.bench_function("layer, JSON access line", |b| {
            b.iter(|| rt.block_on(observed.clone().oneshot(black_box(request()))))
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
