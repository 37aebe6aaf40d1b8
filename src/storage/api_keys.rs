//! API-KEYs: metadata rows keyed by a public id, the secret only as a keyed hash; and the one
//! query that reads every fact the "does this key work" rule needs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::conn::native;
use super::schema::api_keys;
use super::{DbConnection, StorageError};
use crate::domain::api_key::{ApiKey, KeyFacts, KeyState};
use crate::domain::power::API_KEY_POWER;

#[derive(Queryable, Selectable)]
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

diesel::alias!(
    super::schema::employees as holder_employee: HolderEmployee,
    super::schema::employees as issuer_employee: IssuerEmployee
);

/// The key whose hash is one of `hashes` (one or two: current and previous hash key) and the
/// facts about it on `today`; None when no key has such a hash.
///
/// Two statically typed statements, which diesel prepares once per connection and reuses: the
/// key with its system, grant, both employees and the holder's membership (left joins by primary
/// key), then whether the issuer holds an active power of attorney with the API-KEY power for the
/// system (the query `IsAuthorised` runs).
pub fn facts(
    conn: &mut DbConnection,
    hashes: &[[u8; 32]],
    today: NaiveDate,
) -> Result<Option<KeyFacts>, StorageError> {
    Ok(facts_and_subject(conn, hashes, today)?.map(|(f, _)| f))
}

/// [`facts`], and the key's subject read in the same statement: its organisation's OGRN and
/// INN (None when the organisation is gone) and its holder's SNILS (outer None when the person
/// is gone) — what the token exchange matches the signer's certificate against.
pub fn facts_and_subject(
    conn: &mut DbConnection,
    hashes: &[[u8; 32]],
    today: NaiveDate,
) -> Result<Option<(KeyFacts, super::tokens::KeySubject)>, StorageError> {
    use super::schema::{
        employees, information_systems, organizations, persons, system_grants, system_members,
    };
    let (Some(h1), h2) = (hashes.first(), hashes.get(1)) else {
        return Ok(None);
    };
    let h2 = h2.unwrap_or(h1);
    type Row = (
        KeyRow,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<(String, String)>,
        Option<(i64, Option<String>)>,
    );
    let row: Option<Row> = native!(conn, |c| api_keys::table
        .inner_join(information_systems::table)
        .left_join(
            system_grants::table.on(system_grants::client_id
                .eq(api_keys::client_id)
                .and(system_grants::consumer_oid.eq(api_keys::organization_oid))),
        )
        .left_join(
            holder_employee.on(holder_employee
                .field(employees::organization_oid)
                .eq(api_keys::organization_oid)
                .and(
                    holder_employee
                        .field(employees::person_oid)
                        .eq(api_keys::holder_oid),
                )),
        )
        .left_join(
            issuer_employee.on(issuer_employee
                .field(employees::organization_oid)
                .eq(api_keys::organization_oid)
                .and(
                    issuer_employee
                        .field(employees::person_oid)
                        .eq(api_keys::issuer_oid),
                )),
        )
        .left_join(
            system_members::table.on(system_members::client_id
                .eq(api_keys::client_id)
                .and(system_members::organization_oid.eq(api_keys::organization_oid))
                .and(system_members::person_oid.eq(api_keys::holder_oid))),
        )
        .left_join(organizations::table.on(organizations::oid.eq(api_keys::organization_oid)))
        .left_join(persons::table.on(persons::oid.eq(api_keys::holder_oid)))
        .filter(
            api_keys::key_hash
                .eq(&h1[..])
                .or(api_keys::key_hash.eq(&h2[..])),
        )
        .select((
            KeyRow::as_select(),
            information_systems::api_key_enabled,
            system_grants::state.nullable(),
            holder_employee.field(employees::state).nullable(),
            issuer_employee.field(employees::state).nullable(),
            system_members::person_oid.nullable(),
            (organizations::ogrn, organizations::inn).nullable(),
            (persons::oid, persons::snils).nullable(),
        ))
        .first(c)
        .optional())?;
    let Some((row, system_enabled, grant, holder, issuer, member, org, person)) = row else {
        return Ok(None);
    };
    let subject = (org, person.map(|(_, snils)| snils));
    let key = row.into_domain()?;
    let issuer_authorised = super::poa::grants(
        conn,
        key.organization_oid,
        key.issuer_oid,
        API_KEY_POWER,
        &key.client_id,
        today,
    )?;
    let active = |s: Option<String>| s.as_deref() == Some("active");
    Ok(Some((
        KeyFacts {
            key,
            system_enabled,
            grant_active: active(grant),
            holder_active: active(holder),
            issuer_active: active(issuer),
            holder_in_system: member.is_some(),
            issuer_authorised,
        },
        subject,
    )))
}

/// The key with id `id` and the facts about it on `today` (token introspection re-checks the key
/// of an issued token by the id its issuance recorded); None when there is no such key.
pub fn facts_by_id(
    conn: &mut DbConnection,
    id: &str,
    today: NaiveDate,
) -> Result<Option<KeyFacts>, StorageError> {
    let Some(hash) = api_keys::table
        .find(id)
        .select(api_keys::key_hash)
        .first::<Vec<u8>>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
        return Err(StorageError::Other(format!(
            "API-KEY {id} has a malformed hash"
        )));
    };
    facts(conn, &[hash], today)
}
