//! Rate limits of the token exchange: a token bucket per presented API-KEY and one per client
//! address, kept in this process's memory — so the limits hold **per replica** (N replicas
//! behind a balancer admit up to N times the rate). Checked before any cryptography or
//! database work, so a flood costs little. Keys are remembered only as a 64-bit keyed hash
//! (SipHash with a random per-process key), never as the secret.
//!
//! Time comes from the injected clock, so tests decide when buckets refill.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use chrono::NaiveDateTime;

/// A rate and a burst; `per_second == 0` switches the limit off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub const OFF: Rate = Rate {
        per_second: 0.0,
        burst: 0.0,
    };

    pub fn is_off(&self) -> bool {
        self.per_second <= 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub per_key: Rate,
    pub per_address: Rate,
}

impl Default for Limits {
    /// Off: the command line sets the served defaults (`serve --token-rate-per-key …`).
    fn default() -> Self {
        Self {
            per_key: Rate::OFF,
            per_address: Rate::OFF,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: NaiveDateTime,
}

/// Which limit refused, and how long until a request would pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub what: &'static str,
    pub retry_after: std::time::Duration,
}

/// Buckets beyond this many are pruned (full buckets first: they carry no information).
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Default)]
pub struct TokenLimiter {
    limits: Mutex<Limits>,
    hasher: RandomState,
    keys: Mutex<HashMap<u64, Bucket>>,
    addresses: Mutex<HashMap<String, Bucket>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes one token from the bucket of `id` (made full when new); Err(seconds to wait) when empty.
fn take<K: std::hash::Hash + Eq + Clone>(
    map: &Mutex<HashMap<K, Bucket>>,
    id: &K,
    rate: Rate,
    now: NaiveDateTime,
) -> Result<(), f64> {
    let mut m = lock(map);
    if m.len() >= MAX_BUCKETS && !m.contains_key(id) {
        m.retain(|_, b| {
            let secs = (now - b.at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
            b.tokens + secs * rate.per_second < rate.burst
        });
        if m.len() >= MAX_BUCKETS {
            m.clear();
        }
    }
    let b = m.entry(id.clone()).or_insert(Bucket {
        tokens: rate.burst,
        at: now,
    });
    let secs = ((now - b.at).num_microseconds().unwrap_or(0) as f64 / 1e6).max(0.0);
    b.tokens = (b.tokens + secs * rate.per_second).min(rate.burst);
    b.at = now.max(b.at);
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        Ok(())
    } else {
        Err((1.0 - b.tokens) / rate.per_second)
    }
}

impl TokenLimiter {
    pub fn configure(&self, limits: Limits) {
        *lock(&self.limits) = limits;
        lock(&self.keys).clear();
        lock(&self.addresses).clear();
    }

    pub fn limits(&self) -> Limits {
        *lock(&self.limits)
    }

    /// Admits one exchange for `api_key` (as presented) from `address` (an IP, no port).
    pub fn check(&self, api_key: &str, address: &str, now: NaiveDateTime) -> Result<(), Limited> {
        let limits = self.limits();
        let limited = |what, secs: f64| Limited {
            what,
            retry_after: std::time::Duration::from_secs(secs.ceil().max(1.0) as u64),
        };
        if !limits.per_address.is_off() {
            take(
                &self.addresses,
                &address.to_owned(),
                limits.per_address,
                now,
            )
            .map_err(|s| limited("client address", s))?;
        }
        if !limits.per_key.is_off() {
            let h = self
                .hasher
                .hash_one(api_key.trim().to_ascii_lowercase().as_bytes());
            take(&self.keys, &h, limits.per_key, now).map_err(|s| limited("API-KEY", s))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_with_time() {
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let l = TokenLimiter::default();
        assert!(l.check("k", "a", t0).is_ok(), "off by default");
        l.configure(Limits {
            per_key: Rate {
                per_second: 1.0,
                burst: 2.0,
            },
            per_address: Rate::OFF,
        });
        assert!(l.check("k", "a", t0).is_ok());
        assert!(
            l.check("K", "a", t0).is_ok(),
            "a key in any case is one key"
        );
        let e = l.check("k", "a", t0).unwrap_err();
        assert_eq!(e.what, "API-KEY");
        assert_eq!(e.retry_after, std::time::Duration::from_secs(1));
        assert!(l.check("other", "a", t0).is_ok());
        assert!(l.check("k", "a", t0 + chrono::Duration::seconds(1)).is_ok());
    }
}
