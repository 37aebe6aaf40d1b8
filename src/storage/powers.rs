//! The powers catalogue.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::powers;
use super::{DbConnection, StorageError};
use crate::domain::power::{ContextKind, NewPower, Power, PowerChanges, PowerSource};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = powers)]
struct PowerRow {
    code: String,
    name: String,
    description: String,
    context_kind: String,
    source: String,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl PowerRow {
    fn into_domain(self) -> Result<Power, StorageError> {
        let context = ContextKind::parse(&self.context_kind)
            .ok_or_else(|| StorageError::Other(format!("unknown context {}", self.context_kind)))?;
        let source = PowerSource::parse(&self.source)
            .ok_or_else(|| StorageError::Other(format!("unknown source {}", self.source)))?;
        Ok(Power {
            code: self.code,
            name: self.name,
            description: self.description,
            context,
            source,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

pub fn insert(
    conn: &mut DbConnection,
    p: &NewPower,
    now: NaiveDateTime,
) -> Result<Power, StorageError> {
    let row = PowerRow {
        code: p.code.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        context_kind: p.context.as_str().to_owned(),
        source: p.source.as_str().to_owned(),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(powers::table)
        .values(&row)
        .execute(conn)?;
    row.into_domain()
}

pub fn get(conn: &mut DbConnection, code: &str) -> Result<Option<Power>, StorageError> {
    powers::table
        .find(code)
        .select(PowerRow::as_select())
        .first(conn)
        .optional()?
        .map(PowerRow::into_domain)
        .transpose()
}

/// Applies changes if the version still matches; None when it does not.
pub fn update(
    conn: &mut DbConnection,
    current: &Power,
    c: &PowerChanges,
    now: NaiveDateTime,
) -> Result<Option<Power>, StorageError> {
    let n = diesel::update(
        powers::table
            .filter(powers::code.eq(&current.code))
            .filter(powers::version.eq(current.version)),
    )
    .set((
        powers::name.eq(&c.name),
        powers::description.eq(&c.description),
        powers::context_kind.eq(c.context.as_str()),
        powers::active.eq(c.active),
        powers::updated_at.eq(now),
        powers::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, &current.code)
}

#[derive(Debug, Default, Clone)]
pub struct PowerFilter {
    /// Only powers that can go into new drafts.
    pub active_only: bool,
    pub context: Option<ContextKind>,
}

/// Powers ordered by code, after `after_code`.
pub fn list(
    conn: &mut DbConnection,
    f: &PowerFilter,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Power>, StorageError> {
    let mut q = powers::table.select(PowerRow::as_select()).into_boxed();
    if f.active_only {
        q = q.filter(powers::active.eq(true));
    }
    if let Some(c) = f.context {
        q = q.filter(powers::context_kind.eq(c.as_str()));
    }
    if let Some(a) = after_code {
        q = q.filter(powers::code.gt(a.to_owned()));
    }
    q.order(powers::code.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(PowerRow::into_domain)
        .collect()
}
