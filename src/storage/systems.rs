//! Information systems, their grants to consumer organisations, and system members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_keys, information_systems, organizations, system_grants, system_members};
use super::{DbConnection, StorageError};
use crate::domain::system::{
    Grant, GrantState, GrantView, InformationSystem, NewSystem, SystemMember,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = information_systems)]
struct SystemRow {
    client_id: String,
    vendor_oid: i64,
    name: String,
    description: String,
    api_key_enabled: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl From<SystemRow> for InformationSystem {
    fn from(r: SystemRow) -> Self {
        Self {
            client_id: r.client_id,
            vendor_oid: r.vendor_oid,
            name: r.name,
            description: r.description,
            api_key_enabled: r.api_key_enabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

pub fn insert(
    conn: &mut DbConnection,
    vendor: i64,
    s: &NewSystem,
    now: NaiveDateTime,
) -> Result<InformationSystem, StorageError> {
    let row = SystemRow {
        client_id: s.client_id.clone(),
        vendor_oid: vendor,
        name: s.name.clone(),
        description: s.description.clone(),
        api_key_enabled: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(information_systems::table)
        .values(&row)
        .execute(conn)?;
    Ok(row.into())
}

pub fn get(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<InformationSystem>, StorageError> {
    Ok(information_systems::table
        .find(client_id)
        .select(SystemRow::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}

/// Changes name and description if the version still matches; false when it does not.
pub fn update(
    conn: &mut DbConnection,
    current: &InformationSystem,
    name: &str,
    description: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        information_systems::table
            .filter(information_systems::client_id.eq(&current.client_id))
            .filter(information_systems::version.eq(current.version)),
    )
    .set((
        information_systems::name.eq(name),
        information_systems::description.eq(description),
        information_systems::updated_at.eq(now),
        information_systems::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Enables or disables the API-KEY power; false when it already was so.
pub fn set_api_key_enabled(
    conn: &mut DbConnection,
    client_id: &str,
    enabled: bool,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        information_systems::table
            .filter(information_systems::client_id.eq(client_id))
            .filter(information_systems::api_key_enabled.ne(enabled)),
    )
    .set((
        information_systems::api_key_enabled.eq(enabled),
        information_systems::updated_at.eq(now),
        information_systems::version.eq(information_systems::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Which systems a list shows.
#[derive(Debug, Clone, Default)]
pub struct SystemFilter {
    /// Systems of this vendor.
    pub vendor_oid: Option<i64>,
    /// Systems granted (grant active) to this consumer («Мои системы»).
    pub consumer_oid: Option<i64>,
}

/// Systems ordered by CLIENT_ID, after `after`.
pub fn list(
    conn: &mut DbConnection,
    f: &SystemFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<InformationSystem>, StorageError> {
    let mut q = information_systems::table
        .select(SystemRow::as_select())
        .into_boxed();
    if let Some(v) = f.vendor_oid {
        q = q.filter(information_systems::vendor_oid.eq(v));
    }
    if let Some(c) = f.consumer_oid {
        q = q.filter(
            information_systems::client_id.eq_any(
                system_grants::table
                    .filter(system_grants::consumer_oid.eq(c))
                    .filter(system_grants::state.eq(GrantState::Active.as_str()))
                    .select(system_grants::client_id),
            ),
        );
    }
    if let Some(a) = after {
        q = q.filter(information_systems::client_id.gt(a.to_owned()));
    }
    Ok(q.order(information_systems::client_id.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = system_grants)]
struct GrantRow {
    client_id: String,
    consumer_oid: i64,
    state: String,
    granted_at: NaiveDateTime,
    withdrawn_at: Option<NaiveDateTime>,
    version: i64,
}

impl GrantRow {
    fn into_domain(self) -> Result<Grant, StorageError> {
        Ok(Grant {
            state: GrantState::parse(&self.state).ok_or_else(|| {
                StorageError::Other(format!("unknown grant state {}", self.state))
            })?,
            client_id: self.client_id,
            consumer_oid: self.consumer_oid,
            granted_at: self.granted_at,
            withdrawn_at: self.withdrawn_at,
            version: self.version,
        })
    }
}

pub fn get_grant(
    conn: &mut DbConnection,
    client_id: &str,
    consumer: i64,
) -> Result<Option<Grant>, StorageError> {
    system_grants::table
        .find((client_id, consumer))
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?
        .map(GrantRow::into_domain)
        .transpose()
}

/// Grants (or grants again after a withdrawal); false when a grant already stands.
pub fn grant(
    conn: &mut DbConnection,
    client_id: &str,
    consumer: i64,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    match get_grant(conn, client_id, consumer)? {
        Some(g) if g.state == GrantState::Active => Ok(false),
        Some(g) => {
            let n = diesel::update(
                system_grants::table
                    .find((client_id, consumer))
                    .filter(system_grants::version.eq(g.version)),
            )
            .set((
                system_grants::state.eq(GrantState::Active.as_str()),
                system_grants::granted_at.eq(now),
                system_grants::withdrawn_at.eq(None::<NaiveDateTime>),
                system_grants::version.eq(g.version + 1),
            ))
            .execute(conn)?;
            Ok(n == 1)
        }
        None => {
            diesel::insert_into(system_grants::table)
                .values(GrantRow {
                    client_id: client_id.to_owned(),
                    consumer_oid: consumer,
                    state: GrantState::Active.as_str().to_owned(),
                    granted_at: now,
                    withdrawn_at: None,
                    version: 1,
                })
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Withdraws a standing grant; false when none stands.
pub fn withdraw(
    conn: &mut DbConnection,
    client_id: &str,
    consumer: i64,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        system_grants::table
            .find((client_id, consumer))
            .filter(system_grants::state.eq(GrantState::Active.as_str())),
    )
    .set((
        system_grants::state.eq(GrantState::Withdrawn.as_str()),
        system_grants::withdrawn_at.eq(Some(now)),
        system_grants::version.eq(system_grants::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The grants of a system (standing and withdrawn) with each consumer's names and the summary
/// of the keys formed there, ordered by consumer OID after `after`.
pub fn list_grants(
    conn: &mut DbConnection,
    client_id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<GrantView>, StorageError> {
    let mut q = system_grants::table
        .inner_join(organizations::table)
        .filter(system_grants::client_id.eq(client_id))
        .select((
            GrantRow::as_select(),
            organizations::short_name,
            organizations::ogrn,
        ))
        .into_boxed();
    if let Some(a) = after {
        // Bound the joined side too (see `employees::list`): PostgreSQL would otherwise merge
        // from the first organisation up to the cursor on every page.
        q = q
            .filter(system_grants::consumer_oid.gt(a))
            .filter(organizations::oid.gt(a));
    }
    let rows: Vec<(GrantRow, String, String)> = q
        .order(system_grants::consumer_oid.asc())
        .limit(limit)
        .load(conn)?;
    let consumers: Vec<i64> = rows.iter().map(|r| r.0.consumer_oid).collect();
    // One pass over the consumers' keys: per organisation and state, the count and latest use.
    let stats: Vec<(i64, String, i64, Option<NaiveDateTime>)> = api_keys::table
        .filter(api_keys::client_id.eq(client_id))
        .filter(api_keys::organization_oid.eq_any(&consumers))
        .group_by((api_keys::organization_oid, api_keys::state))
        .select((
            api_keys::organization_oid,
            api_keys::state,
            diesel::dsl::count_star(),
            diesel::dsl::max(api_keys::last_used_at),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(g, name, ogrn)| {
            let mine = stats.iter().filter(|s| s.0 == g.consumer_oid);
            let active = mine.clone().filter(|s| s.1 == "active").map(|s| s.2).sum();
            let last = mine.filter_map(|s| s.3).max();
            Ok(GrantView {
                grant: g.into_domain()?,
                consumer_name: name,
                consumer_ogrn: ogrn,
                active_keys: active,
                last_key_use: last,
            })
        })
        .collect()
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = system_members)]
struct MemberRow {
    client_id: String,
    organization_oid: i64,
    person_oid: i64,
    added_by: Option<i64>,
    added_at: NaiveDateTime,
}

impl From<MemberRow> for SystemMember {
    fn from(r: MemberRow) -> Self {
        Self {
            client_id: r.client_id,
            organization_oid: r.organization_oid,
            person_oid: r.person_oid,
            added_by: r.added_by,
            added_at: r.added_at,
        }
    }
}

/// Adds an employee to a system; false when already a member.
pub fn add_member(
    conn: &mut DbConnection,
    client_id: &str,
    org: i64,
    person: i64,
    by: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    if is_member(conn, client_id, org, person)? {
        return Ok(false);
    }
    diesel::insert_into(system_members::table)
        .values(MemberRow {
            client_id: client_id.to_owned(),
            organization_oid: org,
            person_oid: person,
            added_by: by,
            added_at: now,
        })
        .execute(conn)?;
    Ok(true)
}

pub fn remove_member(
    conn: &mut DbConnection,
    client_id: &str,
    org: i64,
    person: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::delete(system_members::table.find((client_id, org, person))).execute(conn)? == 1)
}

pub fn get_member(
    conn: &mut DbConnection,
    client_id: &str,
    org: i64,
    person: i64,
) -> Result<Option<SystemMember>, StorageError> {
    Ok(system_members::table
        .find((client_id, org, person))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}

pub fn is_member(
    conn: &mut DbConnection,
    client_id: &str,
    org: i64,
    person: i64,
) -> Result<bool, StorageError> {
    Ok(get_member(conn, client_id, org, person)?.is_some())
}

/// The members of a system in one organisation, by person OID after `after`.
pub fn list_members(
    conn: &mut DbConnection,
    client_id: &str,
    org: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<SystemMember>, StorageError> {
    let mut q = system_members::table
        .filter(system_members::client_id.eq(client_id))
        .filter(system_members::organization_oid.eq(org))
        .select(MemberRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(system_members::person_oid.gt(a));
    }
    Ok(q.order(system_members::person_oid.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Removes a dismissed employee from every system of the organisation.
pub fn leave_all_systems(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
) -> Result<Vec<String>, StorageError> {
    let ids: Vec<String> = system_members::table
        .filter(system_members::organization_oid.eq(org))
        .filter(system_members::person_oid.eq(person))
        .select(system_members::client_id)
        .load(conn)?;
    diesel::delete(
        system_members::table
            .filter(system_members::organization_oid.eq(org))
            .filter(system_members::person_oid.eq(person)),
    )
    .execute(conn)?;
    Ok(ids)
}

/// An organisation found by exact OGRN or INN: its OID and whether it is a consumer.
pub fn find_organization(
    conn: &mut DbConnection,
    ogrn: Option<&str>,
    inn: Option<&str>,
) -> Result<Option<(i64, bool)>, StorageError> {
    let mut q = organizations::table
        .select((organizations::oid, organizations::is_consumer))
        .into_boxed();
    match (ogrn, inn) {
        (Some(o), _) => q = q.filter(organizations::ogrn.eq(o.to_owned())),
        (None, Some(i)) => q = q.filter(organizations::inn.eq(i.to_owned())),
        (None, None) => return Ok(None),
    }
    Ok(q.order(organizations::oid.asc()).first(conn).optional()?)
}
