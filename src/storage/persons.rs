//! Person rows.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::conn::native;
use super::schema::persons;
use super::{DbConnection, StorageError};
use crate::domain::person::{AccountLevel, Person, PersonFields};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = persons)]
#[diesel(treat_none_as_null = true)]
pub(super) struct PersonRow {
    oid: i64,
    surname: String,
    given_name: String,
    patronymic: Option<String>,
    snils: Option<String>,
    inn: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    level: String,
    birth_date: Option<NaiveDate>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl PersonRow {
    pub(super) fn into_domain(self) -> Result<Person, StorageError> {
        let level = AccountLevel::parse(&self.level)
            .ok_or_else(|| StorageError::Other(format!("unknown account level {}", self.level)))?;
        Ok(Person {
            oid: self.oid,
            surname: self.surname,
            given_name: self.given_name,
            patronymic: self.patronymic,
            snils: self.snils,
            inn: self.inn,
            email: self.email,
            phone: self.phone,
            level,
            birth_date: self.birth_date,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }

    fn from_fields(
        oid: i64,
        f: &PersonFields,
        created: NaiveDateTime,
        now: NaiveDateTime,
        version: i64,
    ) -> Self {
        Self {
            oid,
            surname: f.surname.clone(),
            given_name: f.given_name.clone(),
            patronymic: f.patronymic.clone(),
            snils: f.snils.clone(),
            inn: f.inn.clone(),
            email: f.email.clone(),
            phone: f.phone.clone(),
            level: f.level.as_str().to_owned(),
            birth_date: f.birth_date,
            created_at: created,
            updated_at: now,
            version,
        }
    }
}

pub fn insert(
    conn: &mut DbConnection,
    oid: i64,
    f: &PersonFields,
    now: NaiveDateTime,
) -> Result<Person, StorageError> {
    let row = PersonRow::from_fields(oid, f, now, now, 1);
    diesel::insert_into(persons::table)
        .values(&row)
        .execute(conn)?;
    row.into_domain()
}

/// Writes new fields if the stored version is still `expected_version`; returns None otherwise.
pub fn update(
    conn: &mut DbConnection,
    current: &Person,
    f: &PersonFields,
    now: NaiveDateTime,
) -> Result<Option<Person>, StorageError> {
    let row = PersonRow::from_fields(current.oid, f, current.created_at, now, current.version + 1);
    let n = diesel::update(
        persons::table
            .filter(persons::oid.eq(current.oid))
            .filter(persons::version.eq(current.version)),
    )
    .set(&row)
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    row.into_domain().map(Some)
}

pub fn get(conn: &mut DbConnection, oid: i64) -> Result<Option<Person>, StorageError> {
    native!(conn, |c| persons::table
        .find(oid)
        .select(PersonRow::as_select())
        .first(c)
        .optional())?
    .map(PersonRow::into_domain)
    .transpose()
}

/// Another standard-or-confirmed account holding this SNILS, if any.
pub fn checked_snils_holder(
    conn: &mut DbConnection,
    snils: &str,
    except_oid: Option<i64>,
) -> Result<Option<i64>, StorageError> {
    let mut q = persons::table
        .filter(persons::snils.eq(snils))
        .filter(persons::level.ne("simplified"))
        .select(persons::oid)
        .into_boxed();
    if let Some(o) = except_oid {
        q = q.filter(persons::oid.ne(o));
    }
    Ok(q.first(conn).optional()?)
}

#[derive(Debug, Default, Clone)]
pub struct PersonFilter {
    pub snils: Option<String>,
    pub surname_prefix: Option<String>,
    pub given_name: Option<String>,
    pub oid: Option<i64>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
pub fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub fn search(
    conn: &mut DbConnection,
    f: &PersonFilter,
    after_oid: Option<i64>,
    limit: i64,
) -> Result<Vec<Person>, StorageError> {
    let mut q = persons::table.select(PersonRow::as_select()).into_boxed();
    if let Some(s) = &f.snils {
        q = q.filter(persons::snils.eq(s.clone()));
    }
    if let Some(p) = &f.surname_prefix {
        q = q.filter(persons::surname.like(like_prefix(p)).escape('\\'));
    }
    if let Some(g) = &f.given_name {
        q = q.filter(persons::given_name.eq(g.clone()));
    }
    if let Some(o) = f.oid {
        q = q.filter(persons::oid.eq(o));
    }
    if let Some(a) = after_oid {
        q = q.filter(persons::oid.gt(a));
    }
    q.order(persons::oid.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(PersonRow::into_domain)
        .collect()
}
