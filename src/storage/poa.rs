//! Powers of attorney and the powers each grants.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::conn::native;
use super::organizations::OrgRow;
use super::persons::PersonRow;
use super::schema::{organizations, persons, poa_powers, powers_of_attorney as poa};
use super::{DbConnection, StorageError};
use crate::domain::organization::Organization;
use crate::domain::person::Person;
use crate::domain::poa::{DraftFields, PowerGrant, PowerOfAttorney, Redelegation, StoredState};

#[derive(Queryable, Selectable)]
#[diesel(table_name = poa)]
struct PoaRow {
    number: String,
    organization_oid: i64,
    state: String,
    origin: String,
    internal_number: String,
    principal_person_oid: i64,
    representative_person_oid: Option<i64>,
    start_date: NaiveDate,
    end_date: NaiveDate,
    redelegation: String,
    revocable: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl PoaRow {
    fn into_domain(self, powers: Vec<PowerGrant>) -> Result<PowerOfAttorney, StorageError> {
        Ok(PowerOfAttorney {
            stored_state: StoredState::parse(&self.state)
                .ok_or_else(|| StorageError::Other(format!("unknown state {}", self.state)))?,
            imported: self.origin == "imported",
            redelegation: Redelegation::parse(&self.redelegation).ok_or_else(|| {
                StorageError::Other(format!("unknown redelegation {}", self.redelegation))
            })?,
            number: self.number,
            organization_oid: self.organization_oid,
            internal_number: self.internal_number,
            principal_person_oid: self.principal_person_oid,
            representative_person_oid: self.representative_person_oid,
            start_date: self.start_date,
            end_date: self.end_date,
            revocable: self.revocable,
            powers,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

fn grant(code: String, system: String) -> PowerGrant {
    PowerGrant {
        code,
        information_system: (!system.is_empty()).then_some(system),
    }
}

fn load_powers(conn: &mut DbConnection, number: &str) -> Result<Vec<PowerGrant>, StorageError> {
    Ok(native!(conn, |c| poa_powers::table
        .filter(poa_powers::number.eq(number))
        .order(poa_powers::position.asc())
        .select((poa_powers::power_code, poa_powers::information_system))
        .load::<(String, String)>(c))?
    .into_iter()
    .map(|(code, system)| grant(code, system))
    .collect())
}

/// The powers of several powers of attorney in one query, by number.
fn load_powers_of(
    conn: &mut DbConnection,
    numbers: &[String],
) -> Result<std::collections::HashMap<String, Vec<PowerGrant>>, StorageError> {
    let mut by_number: std::collections::HashMap<String, Vec<PowerGrant>> = Default::default();
    let rows = poa_powers::table
        .filter(poa_powers::number.eq_any(numbers))
        .order((poa_powers::number.asc(), poa_powers::position.asc()))
        .select((
            poa_powers::number,
            poa_powers::power_code,
            poa_powers::information_system,
        ))
        .load::<(String, String, String)>(conn)?;
    for (number, code, system) in rows {
        by_number
            .entry(number)
            .or_default()
            .push(grant(code, system));
    }
    Ok(by_number)
}

pub(super) fn replace_powers(
    conn: &mut DbConnection,
    number: &str,
    powers: &[PowerGrant],
) -> Result<(), StorageError> {
    diesel::delete(poa_powers::table.filter(poa_powers::number.eq(number))).execute(conn)?;
    // One statement per row: batch inserts are not available on the multi-backend connection.
    for (i, g) in powers.iter().enumerate() {
        diesel::insert_into(poa_powers::table)
            .values((
                poa_powers::number.eq(number),
                poa_powers::position.eq(i as i32),
                poa_powers::power_code.eq(&g.code),
                poa_powers::information_system.eq(g.information_system.clone().unwrap_or_default()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Inserts a draft with its rendered document.
pub fn insert_draft(
    conn: &mut DbConnection,
    number: &str,
    organization_oid: i64,
    principal_person_oid: i64,
    d: &DraftFields,
    document: &[u8],
    now: NaiveDateTime,
) -> Result<PowerOfAttorney, StorageError> {
    diesel::insert_into(poa::table)
        .values((
            poa::number.eq(number),
            poa::organization_oid.eq(organization_oid),
            poa::state.eq(StoredState::Draft.as_str()),
            poa::origin.eq("issued"),
            poa::internal_number.eq(&d.internal_number),
            poa::principal_person_oid.eq(principal_person_oid),
            poa::representative_person_oid.eq(d.representative_person_oid),
            poa::start_date.eq(d.start_date),
            poa::end_date.eq(d.end_date),
            poa::redelegation.eq(d.redelegation.as_str()),
            poa::revocable.eq(d.revocable),
            poa::document.eq(document),
            poa::created_at.eq(now),
            poa::updated_at.eq(now),
            poa::version.eq(1i64),
        ))
        .execute(conn)?;
    replace_powers(conn, number, &d.powers)?;
    get(conn, number)?.ok_or(StorageError::NotFound)
}

/// Replaces a draft's contents if it is still the given version and still a draft.
pub fn update_draft(
    conn: &mut DbConnection,
    current: &PowerOfAttorney,
    principal_person_oid: i64,
    d: &DraftFields,
    document: &[u8],
    now: NaiveDateTime,
) -> Result<Option<PowerOfAttorney>, StorageError> {
    let n = diesel::update(
        poa::table
            .filter(poa::number.eq(&current.number))
            .filter(poa::version.eq(current.version))
            .filter(poa::state.eq(StoredState::Draft.as_str())),
    )
    .set((
        poa::internal_number.eq(&d.internal_number),
        poa::principal_person_oid.eq(principal_person_oid),
        poa::representative_person_oid.eq(d.representative_person_oid),
        poa::start_date.eq(d.start_date),
        poa::end_date.eq(d.end_date),
        poa::redelegation.eq(d.redelegation.as_str()),
        poa::revocable.eq(d.revocable),
        poa::document.eq(document),
        poa::updated_at.eq(now),
        poa::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    replace_powers(conn, &current.number, &d.powers)?;
    get(conn, &current.number)
}

/// Moves a draft to another stored state if it is still the given version and a draft.
pub fn set_draft_state(
    conn: &mut DbConnection,
    current: &PowerOfAttorney,
    state: StoredState,
    now: NaiveDateTime,
) -> Result<Option<PowerOfAttorney>, StorageError> {
    let n = diesel::update(
        poa::table
            .filter(poa::number.eq(&current.number))
            .filter(poa::version.eq(current.version))
            .filter(poa::state.eq(StoredState::Draft.as_str())),
    )
    .set((
        poa::state.eq(state.as_str()),
        poa::updated_at.eq(now),
        poa::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, &current.number)
}

pub fn get(conn: &mut DbConnection, number: &str) -> Result<Option<PowerOfAttorney>, StorageError> {
    let Some(row) = native!(conn, |c| poa::table
        .find(number)
        .select(PoaRow::as_select())
        .first(c)
        .optional())?
    else {
        return Ok(None);
    };
    let powers = load_powers(conn, number)?;
    row.into_domain(powers).map(Some)
}

/// What signing a draft rests on, read in one statement (one snapshot): the power of attorney
/// with its document, its organisation and that organisation's head; then its powers.
pub fn get_for_signing(
    conn: &mut DbConnection,
    number: &str,
) -> Result<Option<SigningFacts>, StorageError> {
    let Some((row, document, org, head)) = native!(conn, |c| poa::table
        .inner_join(organizations::table.on(organizations::oid.eq(poa::organization_oid)))
        .inner_join(persons::table.on(persons::oid.eq(organizations::head_oid)))
        .filter(poa::number.eq(number))
        .select((
            PoaRow::as_select(),
            poa::document,
            OrgRow::as_select(),
            PersonRow::as_select(),
        ))
        .first::<(PoaRow, Vec<u8>, OrgRow, PersonRow)>(c)
        .optional())?
    else {
        return Ok(None);
    };
    let powers = load_powers(conn, number)?;
    Ok(Some(SigningFacts {
        poa: row.into_domain(powers)?,
        document,
        organization: org.into_domain()?,
        head: head.into_domain()?,
    }))
}

/// [`get_for_signing`]'s answer.
pub struct SigningFacts {
    pub poa: PowerOfAttorney,
    pub document: Vec<u8>,
    pub organization: Organization,
    pub head: Person,
}

/// The exact document bytes.
pub fn document(conn: &mut DbConnection, number: &str) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(native!(conn, |c| poa::table
        .find(number)
        .select(poa::document)
        .first(c)
        .optional())?)
}

#[derive(Debug, Default, Clone)]
pub struct PoaFilter {
    pub organization_oid: i64,
    pub representative_person_oid: Option<i64>,
    pub power_code: Option<String>,
    pub stored_states: Option<Vec<StoredState>>,
    /// Signed and within dates on that day.
    pub active_on: Option<NaiveDate>,
    /// Start after the given dates (for «Новая»), end before (for «Истекла»).
    pub start_after: Option<NaiveDate>,
    pub end_before: Option<NaiveDate>,
}

/// Newest first by (created_at, number), after the given key.
pub fn list(
    conn: &mut DbConnection,
    f: &PoaFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<PowerOfAttorney>, StorageError> {
    let mut q = poa::table
        .filter(poa::organization_oid.eq(f.organization_oid))
        .select(PoaRow::as_select())
        .into_boxed();
    if let Some(p) = f.representative_person_oid {
        q = q.filter(poa::representative_person_oid.eq(p));
    }
    if let Some(code) = &f.power_code {
        q = q.filter(
            poa::number.eq_any(
                poa_powers::table
                    .filter(poa_powers::power_code.eq(code.clone()))
                    .select(poa_powers::number),
            ),
        );
    }
    if let Some(states) = &f.stored_states {
        let s: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        q = q.filter(poa::state.eq_any(s));
    }
    if let Some(day) = f.active_on {
        q = q
            .filter(poa::state.eq(StoredState::Signed.as_str()))
            .filter(poa::start_date.le(day))
            .filter(poa::end_date.ge(day));
    }
    if let Some(day) = f.start_after {
        q = q.filter(poa::start_date.gt(day));
    }
    if let Some(day) = f.end_before {
        q = q.filter(poa::end_date.lt(day));
    }
    if let Some((t, n)) = after {
        q = q.filter(
            poa::created_at
                .lt(t)
                .or(poa::created_at.eq(t).and(poa::number.lt(n))),
        );
    }
    let rows: Vec<PoaRow> = q
        .order((poa::created_at.desc(), poa::number.desc()))
        .limit(limit)
        .load(conn)?;
    let numbers: Vec<String> = rows.iter().map(|r| r.number.clone()).collect();
    let mut powers = load_powers_of(conn, &numbers)?;
    rows.into_iter()
        .map(|r| {
            let p = powers.remove(&r.number).unwrap_or_default();
            r.into_domain(p)
        })
        .collect()
}

/// When the power of attorney was revoked, if it was.
pub fn revoked_at(
    conn: &mut DbConnection,
    number: &str,
) -> Result<Option<NaiveDateTime>, StorageError> {
    use super::schema::poa_revocations;
    Ok(poa_revocations::table
        .find(number)
        .select(poa_revocations::revoked_at)
        .first(conn)
        .optional()?)
}

/// Whether [`granting`] would find a power of attorney, without reading or ordering one: the
/// API-KEY check runs this on every use.
pub fn grants(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
    power_code: &str,
    information_system: &str,
    day: NaiveDate,
) -> Result<bool, StorageError> {
    Ok(native!(conn, |c| diesel::select(diesel::dsl::exists(
        poa::table
            .inner_join(poa_powers::table)
            .filter(poa::organization_oid.eq(org))
            .filter(poa::representative_person_oid.eq(person))
            .filter(poa::state.eq(StoredState::Signed.as_str()))
            .filter(poa::start_date.le(day))
            .filter(poa::end_date.ge(day))
            .filter(poa_powers::power_code.eq(power_code))
            .filter(poa_powers::information_system.eq(information_system)),
    ))
    .get_result(c))?)
}

/// The signed power of attorney of `org` that grants `person` the power (for the information
/// system, "" for none) on `day`, valid longest; revoked ones are not signed any more.
pub fn granting(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
    power_code: &str,
    information_system: &str,
    day: NaiveDate,
) -> Result<Option<(String, NaiveDate)>, StorageError> {
    Ok(poa::table
        .filter(poa::organization_oid.eq(org))
        .filter(poa::representative_person_oid.eq(person))
        .filter(poa::state.eq(StoredState::Signed.as_str()))
        .filter(poa::start_date.le(day))
        .filter(poa::end_date.ge(day))
        .filter(
            poa::number.eq_any(
                poa_powers::table
                    .filter(poa_powers::power_code.eq(power_code))
                    .filter(poa_powers::information_system.eq(information_system))
                    .select(poa_powers::number),
            ),
        )
        .order((poa::end_date.desc(), poa::number.asc()))
        .select((poa::number, poa::end_date))
        .first(conn)
        .optional()?)
}
