//! Slow-statement logging through diesel's `Instrumentation` hook, set on every pooled
//! connection: a statement slower than the threshold is logged at WARN with its SQL text and
//! duration, and counted. Bind values are never formatted: diesel renders a statement as
//! `SQL -- binds: [...]`, and [`SqlOnly`] stops the rendering at that marker, so the values
//! (which may be secrets or personal data) never reach a string.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

use super::Backend;

/// Statements slower than the threshold, since the process started (all pools); None only if
/// the metric could not be made (it has a fixed valid name).
pub static SLOW_QUERIES: LazyLock<Option<prometheus::IntCounter>> = LazyLock::new(|| {
    prometheus::IntCounter::new(
        "orgadm_db_slow_queries_total",
        "Database statements slower than --slow-query-ms (this process, all pools).",
    )
    .ok()
});

/// The longest SQL text logged (statements with long `IN (…)` lists are cut).
const MAX_SQL: usize = 4096;

/// Collects rendered SQL and refuses everything from diesel's bind marker on.
struct SqlOnly(String);

const BINDS_MARKER: &str = " -- binds: ";

impl std::fmt::Write for SqlOnly {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.push_str(s);
        if let Some(i) = self.0.find(BINDS_MARKER) {
            self.0.truncate(i);
            return Err(std::fmt::Error);
        }
        if self.0.len() > MAX_SQL {
            let mut cut = MAX_SQL;
            while !self.0.is_char_boundary(cut) {
                cut -= 1;
            }
            self.0.truncate(cut);
            self.0.push('…');
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

/// The SQL text of a statement without its bind values.
pub fn sql_text(query: &dyn std::fmt::Display) -> String {
    let mut w = SqlOnly(String::new());
    // An Err only means the rendering was stopped at the binds marker (or the length cap).
    let _ = write!(w, "{query}");
    w.0
}

/// The instrumentation of one connection.
#[derive(Debug)]
pub struct QueryLog {
    threshold: Duration,
    backend: Backend,
    started: Option<Instant>,
}

impl QueryLog {
    pub fn new(threshold: Duration, backend: Backend) -> Self {
        Self {
            threshold,
            backend,
            started: None,
        }
    }
}

impl Instrumentation for QueryLog {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let Some(started) = self.started.take() else {
                    return;
                };
                let took = started.elapsed();
                if took >= self.threshold {
                    if let Some(c) = &*SLOW_QUERIES {
                        c.inc();
                    }
                    tracing::warn!(
                        target: "orgadm::slow_query",
                        backend = self.backend.as_str(),
                        duration_ms = took.as_secs_f64() * 1000.0,
                        failed = error.is_some(),
                        sql = %sql_text(query),
                        "slow database statement"
                    );
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sql_text;

    struct Rendered(&'static str, &'static str);

    impl std::fmt::Display for Rendered {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // As diesel's DebugQuery renders: the SQL, then the marker, then the values.
            write!(f, "{} -- binds: {:?}", self.0, [self.1])
        }
    }

    #[test]
    fn bind_values_are_never_rendered() {
        let q = Rendered("SELECT 1 FROM t WHERE secret = $1", "s3cr3t -- binds: x");
        assert_eq!(sql_text(&q), "SELECT 1 FROM t WHERE secret = $1");
        assert_eq!(
            sql_text(&"PRAGMA foreign_keys = ON"),
            "PRAGMA foreign_keys = ON"
        );
    }

    #[test]
    fn long_statements_are_cut() {
        let long = "x".repeat(10_000);
        let t = sql_text(&long.as_str());
        assert!(t.len() <= super::MAX_SQL + '…'.len_utf8());
    }
}
