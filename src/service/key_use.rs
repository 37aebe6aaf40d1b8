//! The last use of each API-KEY, kept in memory and written in batches: the token exchange
//! must not pay a database write on every call. A flush keeps the later of the stored and the
//! remembered time, so replicas flushing in any order never move it back. A use is lost only if
//! the process dies before the next flush (every `serve --key-use-flush-secs`, and at shutdown);
//! issued tokens are recorded separately, so nothing of record depends on it.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;

#[derive(Debug, Default)]
pub struct KeyUses {
    pending: Mutex<HashMap<String, NaiveDateTime>>,
}

impl KeyUses {
    /// Remembers that key `id` was used at `at`.
    pub fn record(&self, id: &str, at: NaiveDateTime) {
        let mut m = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match m.get_mut(id) {
            Some(t) if *t >= at => {}
            Some(t) => *t = at,
            None => {
                m.insert(id.to_owned(), at);
            }
        }
    }

    /// A use not flushed yet, if any (so reads show it before the flush).
    pub fn pending(&self, id: &str) -> Option<NaiveDateTime> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .copied()
    }

    /// Takes every pending use.
    pub fn take(&self) -> Vec<(String, NaiveDateTime)> {
        let mut m = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.drain().collect()
    }

    /// Puts back uses a failed flush could not write.
    pub fn restore(&self, uses: Vec<(String, NaiveDateTime)>) {
        for (id, at) in uses {
            self.record(&id, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_use() {
        let t = |h| {
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        let u = KeyUses::default();
        u.record("a", t(2));
        u.record("a", t(1));
        u.record("b", t(3));
        assert_eq!(u.pending("a"), Some(t(2)));
        let mut all = u.take();
        all.sort();
        assert_eq!(all, vec![("a".into(), t(2)), ("b".into(), t(3))]);
        assert_eq!(u.pending("a"), None);
        u.restore(all);
        assert_eq!(u.pending("b"), Some(t(3)));
    }
}
