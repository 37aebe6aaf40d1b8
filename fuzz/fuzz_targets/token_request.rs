//! The public token exchange's request: the API-KEY from the path and the `signature`
//! parameter, through the same steps the service takes before any database work (key
//! canonicalisation, signature decoding, CMS verification with the chain to the test trust
//! anchors), and the JWTs `orgadm token verify` and introspection read. Input layout: the first
//! byte splits the rest into the key and the signature parameter.
#![no_main]
use std::sync::LazyLock;

use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use orgadm::crypto::cert::Certificate;
use orgadm::crypto::gost3410::PublicKey;
use orgadm::crypto::trust::TrustStore;
use orgadm::service::token_check::{self, ChainCache, SigningWindow};

static TRUST: LazyLock<TrustStore> = LazyLock::new(|| {
    TrustStore::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/trust"))
        .expect("the test trust anchors")
});
static CHAINS: LazyLock<ChainCache> = LazyLock::new(ChainCache::default);
static JWT_KEY: LazyLock<PublicKey> = LazyLock::new(|| {
    let pem = include_str!("../../tests/fixtures/trust/ca.cert.pem");
    Certificate::from_pem(pem)
        .and_then(|c| c.public_key())
        .expect("the test CA's key")
});

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (key, signature) = rest.split_at(usize::from(split).min(rest.len()));
    let presented = String::from_utf8_lossy(key);
    let canonical = orgadm::domain::api_key::parse_key(&presented).unwrap_or_default();
    if let Ok(der) = token_check::decode(signature) {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let window = SigningWindow {
            max_age: Duration::hours(24),
            future_skew: Duration::minutes(5),
        };
        let _ = token_check::verify(&der, &presented, &canonical, &TRUST, &CHAINS, now, window);
    }
    if let Ok(jwt) = std::str::from_utf8(rest) {
        let _ = orgadm::crypto::jwt::verify_jwt_signature(jwt, &JWT_KEY);
    }
});
