//! API-KEYs: metadata rows keyed by a public id, the secret only as a keyed hash; and the one
//! query that reads every fact the "does this key work" rule needs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Binary, Bool, Date, Nullable, Text};

use super::schema::api_keys;
use super::{DbConnection, StorageError};
use crate::domain::api_key::{ApiKey, KeyFacts, KeyState};
use crate::domain::power::API_KEY_POWER;

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: String,
    prefix: String,
    client_id: String,
    organization_oid: i64,
    holder_oid: i64,
    issuer_oid: i64,
    poa_number: String,
    state: String,
    valid_from: NaiveDateTime,
    valid_until: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl KeyRow {
    fn into_domain(self) -> Result<ApiKey, StorageError> {
        Ok(ApiKey {
            state: KeyState::parse(&self.state)
                .ok_or_else(|| StorageError::Other(format!("unknown key state {}", self.state)))?,
            id: self.id,
            prefix: self.prefix,
            client_id: self.client_id,
            organization_oid: self.organization_oid,
            holder_oid: self.holder_oid,
            issuer_oid: self.issuer_oid,
            poa_number: self.poa_number,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            last_used_at: self.last_used_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// A key to store: its metadata and the keyed hash of its secret.
pub struct NewKey<'a> {
    pub key: &'a ApiKey,
    pub key_hash: &'a [u8],
    pub hash_key_id: &'a str,
}

pub fn insert(conn: &mut DbConnection, n: &NewKey<'_>) -> Result<(), StorageError> {
    let k = n.key;
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&k.id),
            api_keys::key_hash.eq(n.key_hash),
            api_keys::hash_key_id.eq(n.hash_key_id),
            api_keys::prefix.eq(&k.prefix),
            api_keys::client_id.eq(&k.client_id),
            api_keys::organization_oid.eq(k.organization_oid),
            api_keys::holder_oid.eq(k.holder_oid),
            api_keys::issuer_oid.eq(k.issuer_oid),
            api_keys::poa_number.eq(&k.poa_number),
            api_keys::state.eq(k.state.as_str()),
            api_keys::valid_from.eq(k.valid_from),
            api_keys::valid_until.eq(k.valid_until),
            api_keys::last_used_at.eq(k.last_used_at),
            api_keys::created_at.eq(k.created_at),
            api_keys::updated_at.eq(k.updated_at),
            api_keys::version.eq(k.version),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<ApiKey>, StorageError> {
    api_keys::table
        .find(id)
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?
        .map(KeyRow::into_domain)
        .transpose()
}

/// Moves a key to `to` if it is still the given version; false when it is not.
pub fn set_state(
    conn: &mut DbConnection,
    current: &ApiKey,
    to: KeyState,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(&current.id))
            .filter(api_keys::version.eq(current.version)),
    )
    .set((
        api_keys::state.eq(to.as_str()),
        api_keys::updated_at.eq(now),
        api_keys::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Which keys a list shows.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// Keys of one consumer organisation.
    pub organization_oid: Option<i64>,
    /// Keys for one system.
    pub client_id: Option<String>,
    pub holder_oid: Option<i64>,
    pub state: Option<KeyState>,
    /// Keys whose validity ends before this time.
    pub expiring_before: Option<NaiveDateTime>,
    /// Keys for systems of this vendor (the vendor's view).
    pub vendor_oid: Option<i64>,
}

/// Keys, newest first, after the (created_at, id) cursor.
pub fn list(
    conn: &mut DbConnection,
    f: &KeyFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ApiKey>, StorageError> {
    use super::schema::information_systems;
    let mut q = api_keys::table.select(KeyRow::as_select()).into_boxed();
    if let Some(o) = f.organization_oid {
        q = q.filter(api_keys::organization_oid.eq(o));
    }
    if let Some(c) = &f.client_id {
        q = q.filter(api_keys::client_id.eq(c.clone()));
    }
    if let Some(h) = f.holder_oid {
        q = q.filter(api_keys::holder_oid.eq(h));
    }
    if let Some(s) = f.state {
        q = q.filter(api_keys::state.eq(s.as_str()));
    }
    if let Some(t) = f.expiring_before {
        q = q.filter(api_keys::valid_until.lt(t));
    }
    if let Some(v) = f.vendor_oid {
        q = q.filter(
            api_keys::client_id.eq_any(
                information_systems::table
                    .filter(information_systems::vendor_oid.eq(v))
                    .select(information_systems::client_id),
            ),
        );
    }
    if let Some((t, id)) = after {
        q = q.filter(
            api_keys::created_at
                .lt(t)
                .or(api_keys::created_at.eq(t).and(api_keys::id.lt(id))),
        );
    }
    q.order((api_keys::created_at.desc(), api_keys::id.desc()))
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(KeyRow::into_domain)
        .collect()
}

/// Keeps the latest use of each key (never moving it back): one statement per key, for a
/// batch flushed now and then rather than a write on every use.
pub fn record_uses(
    conn: &mut DbConnection,
    uses: &[(String, NaiveDateTime)],
) -> Result<(), StorageError> {
    for (id, at) in uses {
        diesel::update(
            api_keys::table.filter(api_keys::id.eq(id)).filter(
                api_keys::last_used_at
                    .is_null()
                    .or(api_keys::last_used_at.lt(*at)),
            ),
        )
        .set(api_keys::last_used_at.eq(*at))
        .execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct FactsRow {
    #[diesel(embed)]
    key: KeyRow,
    #[diesel(sql_type = Bool)]
    system_enabled: bool,
    #[diesel(sql_type = Nullable<Text>)]
    grant_state: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    holder_state: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    issuer_state: Option<String>,
    #[diesel(sql_type = Bool)]
    holder_in_system: bool,
    #[diesel(sql_type = Bool)]
    issuer_authorised: bool,
}

/// One round trip: the key found by any of its candidate hashes, and every fact the rule needs
/// (`$1`, `$2` hashes; `$3` today's date; `$4` the API-KEY power's code).
const FACTS_SQL: &str = "SELECT k.id, k.prefix, k.client_id, k.organization_oid, k.holder_oid, \
 k.issuer_oid, k.poa_number, k.state, k.valid_from, k.valid_until, k.last_used_at, k.created_at, \
 k.updated_at, k.version, s.api_key_enabled AS system_enabled, \
 (SELECT g.state FROM system_grants g WHERE g.client_id = k.client_id AND g.consumer_oid = k.organization_oid) AS grant_state, \
 (SELECT e.state FROM employees e WHERE e.organization_oid = k.organization_oid AND e.person_oid = k.holder_oid) AS holder_state, \
 (SELECT e.state FROM employees e WHERE e.organization_oid = k.organization_oid AND e.person_oid = k.issuer_oid) AS issuer_state, \
 EXISTS (SELECT 1 FROM system_members m WHERE m.client_id = k.client_id \
   AND m.organization_oid = k.organization_oid AND m.person_oid = k.holder_oid) AS holder_in_system, \
 EXISTS (SELECT 1 FROM powers_of_attorney p JOIN poa_powers pp ON pp.number = p.number \
   WHERE p.organization_oid = k.organization_oid AND p.representative_person_oid = k.issuer_oid \
   AND p.state = 'signed' AND p.start_date <= $3 AND p.end_date >= $3 \
   AND pp.power_code = $4 AND pp.information_system = k.client_id) AS issuer_authorised \
 FROM api_keys k JOIN information_systems s ON s.client_id = k.client_id \
 WHERE k.key_hash = $1 OR k.key_hash = $2";

/// The key with id `id` and the facts about it on `today` (token introspection re-checks the key
/// of an issued token by the id its issuance recorded); None when there is no such key.
pub fn facts_by_id(
    conn: &mut DbConnection,
    id: &str,
    today: NaiveDate,
) -> Result<Option<KeyFacts>, StorageError> {
    let sql = FACTS_SQL.replace(
        "k.key_hash = $1 OR k.key_hash = $2",
        "k.id = $1 AND k.id = $2",
    );
    let row: Option<FactsRow> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(sql)
            .bind::<Text, _>(id)
            .bind::<Text, _>(id)
            .bind::<Date, _>(today)
            .bind::<Text, _>(API_KEY_POWER)
            .get_result(pg)
            .optional()?,
        DbConnection::Sqlite(sq) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(id)
            .bind::<Text, _>(id)
            .bind::<Date, _>(today)
            .bind::<Text, _>(API_KEY_POWER)
            .get_result(sq)
            .optional()?,
    };
    row.map(FactsRow::into_domain).transpose()
}

impl FactsRow {
    fn into_domain(self) -> Result<KeyFacts, StorageError> {
        let active = |s: &Option<String>| s.as_deref() == Some("active");
        Ok(KeyFacts {
            grant_active: active(&self.grant_state),
            holder_active: active(&self.holder_state),
            issuer_active: active(&self.issuer_state),
            system_enabled: self.system_enabled,
            holder_in_system: self.holder_in_system,
            issuer_authorised: self.issuer_authorised,
            key: self.key.into_domain()?,
        })
    }
}

/// The key whose hash is one of `hashes` (one or two: current and previous hash key) and the
/// facts about it on `today`; None when no key has such a hash.
pub fn facts(
    conn: &mut DbConnection,
    hashes: &[[u8; 32]],
    today: NaiveDate,
) -> Result<Option<KeyFacts>, StorageError> {
    let (Some(h1), h2) = (hashes.first(), hashes.get(1)) else {
        return Ok(None);
    };
    let h2 = h2.unwrap_or(h1);
    let row: Option<FactsRow> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(FACTS_SQL)
            .bind::<Binary, _>(&h1[..])
            .bind::<Binary, _>(&h2[..])
            .bind::<Date, _>(today)
            .bind::<Text, _>(API_KEY_POWER)
            .get_result(pg)
            .optional()?,
        DbConnection::Sqlite(sq) => diesel::sql_query(FACTS_SQL.replace('$', "?"))
            .bind::<Binary, _>(&h1[..])
            .bind::<Binary, _>(&h2[..])
            .bind::<Date, _>(today)
            .bind::<Text, _>(API_KEY_POWER)
            .get_result(sq)
            .optional()?,
    };
    row.map(FactsRow::into_domain).transpose()
}
