//! The injected clock: the only place that reads the wall clock (clippy's
//! `disallowed-methods` forbids `Utc::now` elsewhere). Times are naive UTC, truncated to
//! microseconds so that what is hashed equals what both databases store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> NaiveDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> NaiveDateTime {
        Utc::now().naive_utc().trunc_subsecs(6)
    }
}

/// A clock tests set and advance.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: NaiveDateTime) -> Self {
        Self(Arc::new(AtomicI64::new(start.and_utc().timestamp_micros())))
    }

    pub fn advance(&self, d: chrono::Duration) {
        let micros = d.num_microseconds().unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> NaiveDateTime {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst))
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }
}

pub type SharedClock = Arc<dyn Clock>;
