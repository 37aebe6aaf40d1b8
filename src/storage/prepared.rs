//! Raw SQL statements kept prepared, like diesel's own DSL queries.
//!
//! diesel never caches a `sql_query`: it cannot know that the text is fixed, so it prepares the
//! statement anew on every run — on PostgreSQL an unnamed statement parsed, analysed and planned
//! each time (measured: about a third of the server's CPU in the invitations load, whose three
//! hottest statements were raw CTEs). A [`Statement`] is a fixed text named by a type `Tag`,
//! with its bind values: diesel's statement cache keys it by that type, prepares it once per
//! connection (a named statement on PostgreSQL; with the cache disabled for poolers it still
//! runs, unnamed) and afterwards only binds.
//!
//! The text is written with PostgreSQL's `$n` placeholders (a number may repeat); each is
//! handed to diesel as a bind of its own, so diesel writes the backend's placeholder (`$k` or
//! `?`) and the same text serves SQLite. The contract: one `Tag` per text. A call site whose
//! text varies uses one tag per variant (one per backend is fine: a connection is only ever
//! one backend).
//!
//! Hand-written because diesel has no public way to mark raw SQL as fixed: `sql_query` marks
//! itself unsafe to cache in its AST walk, which a wrapper cannot undo.

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, Bool, HasSqlType, Nullable, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One bind value of a [`Statement`].
#[derive(Debug, Clone)]
pub enum Bind {
    BigInt(i64),
    OptBigInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Timestamp(NaiveDateTime),
    OptTimestamp(Option<NaiveDateTime>),
    Binary(Vec<u8>),
}

impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Self::BigInt(v)
    }
}
impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Self {
        Self::OptBigInt(v)
    }
}
impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<Option<&str>> for Bind {
    fn from(v: Option<&str>) -> Self {
        Self::OptText(v.map(str::to_owned))
    }
}
impl From<bool> for Bind {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<NaiveDateTime> for Bind {
    fn from(v: NaiveDateTime) -> Self {
        Self::Timestamp(v)
    }
}
impl From<Option<NaiveDateTime>> for Bind {
    fn from(v: Option<NaiveDateTime>) -> Self {
        Self::OptTimestamp(v)
    }
}
impl From<&[u8]> for Bind {
    fn from(v: &[u8]) -> Self {
        Self::Binary(v.to_vec())
    }
}

/// A fixed SQL text with `$n` placeholders and their values, cached as the statement `Tag`.
pub struct Statement<Tag> {
    sql: &'static str,
    binds: Vec<Bind>,
    tag: PhantomData<fn() -> Tag>,
}

/// The statement `Tag` with text `sql`; add its values in placeholder order with `bind`.
pub fn statement<Tag>(sql: &'static str) -> Statement<Tag> {
    Statement {
        sql,
        binds: Vec::new(),
        tag: PhantomData,
    }
}

impl<Tag> Statement<Tag> {
    /// The value of the next placeholder number (`$1` first).
    pub fn bind(mut self, value: impl Into<Bind>) -> Self {
        self.binds.push(value.into());
        self
    }
}

impl<Tag: 'static> QueryId for Statement<Tag> {
    type QueryId = Tag;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// Splits `sql` at its `$n` placeholders: the text before each, and its number.
fn pieces(sql: &str) -> impl Iterator<Item = (&str, Option<usize>)> {
    let mut rest = sql;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(at) = rest.find('$') else {
            let all = rest;
            rest = "";
            return Some((all, None));
        };
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        let before = &rest[..at];
        let n = rest[at + 1..at + 1 + digits].parse::<usize>().ok();
        rest = &rest[at + 1 + digits..];
        Some((before, n))
    })
}

impl<Tag, DB> QueryFragment<DB> for Statement<Tag>
where
    DB: Backend
        + HasSqlType<BigInt>
        + HasSqlType<Text>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>
        + HasSqlType<Binary>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    Vec<u8>: ToSql<Binary, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<NaiveDateTime>: ToSql<Nullable<Timestamp>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (text, n) in pieces(self.sql) {
            out.push_sql(text);
            let Some(n) = n else { continue };
            let bind = n
                .checked_sub(1)
                .and_then(|i| self.binds.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("statement placeholder ${n} has no bound value").into(),
                    )
                })?;
            match bind {
                Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::OptBigInt(v) => out.push_bind_param::<Nullable<BigInt>, _>(v)?,
                Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                Bind::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                Bind::OptTimestamp(v) => out.push_bind_param::<Nullable<Timestamp>, _>(v)?,
                Bind::Binary(v) => out.push_bind_param::<Binary, _>(v)?,
            }
        }
        Ok(())
    }
}

impl<Tag> Query for Statement<Tag> {
    type SqlType = Untyped;
}

impl<Tag, Conn> RunQueryDsl<Conn> for Statement<Tag> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conn::{self, DbConfig, DbConnection};
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::{Arc, Mutex};

    /// Records the statements diesel puts into its cache (each one prepared once).
    struct Cached(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Cached {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event
                && let Ok(mut v) = self.0.lock()
            {
                v.push(sql.to_owned());
            }
        }
    }

    struct Sum;
    struct Touch;
    struct Short;

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        s: i64,
    }

    #[test]
    fn placeholders_split_and_repeat() {
        let p: Vec<_> = pieces("a $1 b $12,$1").collect();
        assert_eq!(p, vec![("a ", Some(1)), (" b ", Some(12)), (",", Some(1))]);
        assert_eq!(
            pieces("no binds").collect::<Vec<_>>(),
            vec![("no binds", None)]
        );
    }

    #[test]
    fn a_tagged_statement_is_prepared_once_and_rebinds() {
        use diesel::Connection;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let (pool, _) = conn::open_pool(&DbConfig::new(url)).unwrap_or_else(|e| panic!("{e}"));
        let mut c = conn::checkout(&pool).unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        c.set_instrumentation(Cached(seen.clone()));
        let DbConnection::Sqlite(sq) = &mut *c else {
            panic!("sqlite expected")
        };
        diesel::connection::SimpleConnection::batch_execute(sq, "CREATE TABLE t (name TEXT)")
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..5_i64 {
            let r: Row = statement::<Sum>("SELECT $1 + $2 + $1 AS s")
                .bind(i)
                .bind(10_i64)
                .get_result(sq)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.s, 2 * i + 10, "each run binds its own values");
            let n = statement::<Touch>("UPDATE t SET name = name WHERE name = $1")
                .bind("none")
                .execute(sq)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(n, 0);
        }
        let cached = seen.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(
            cached.len(),
            2,
            "each statement prepared and cached once, not once per run: {cached:?}"
        );
        let missing = statement::<Short>("SELECT $1 + $2 AS s")
            .bind(1_i64)
            .get_result::<Row>(sq);
        assert!(
            missing.is_err(),
            "a placeholder without a value is an error"
        );
    }
}
