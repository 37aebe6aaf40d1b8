//! Employee rows, access groups and their members, and the access facts of an acting person.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::idempotency::{self, Claim};
use super::persons::like_prefix;
use super::prepared::statement;
use super::schema::{access_groups, employees, group_members, persons};
use super::{DbConnection, StorageError};
use crate::domain::employee::{
    AccessGroup, BUILTIN_GROUPS, ESIA_SYSTEM, Employee, EmployeeChanges, EmployeeState, NewGroup,
    email_key,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = employees)]
struct EmployeeRow {
    organization_oid: i64,
    person_oid: i64,
    position: Option<String>,
    work_email: Option<String>,
    email_lower: Option<String>,
    phone: Option<String>,
    state: String,
    joined_at: NaiveDateTime,
    left_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
    version: i64,
}

type NameCols = (
    persons::surname,
    persons::given_name,
    persons::patronymic,
    persons::snils,
);
const NAME_COLS: NameCols = (
    persons::surname,
    persons::given_name,
    persons::patronymic,
    persons::snils,
);

type Joined = (
    EmployeeRow,
    (String, String, Option<String>, Option<String>),
);

fn into_domain(
    (r, (surname, given_name, patronymic, snils)): Joined,
    head_oid: i64,
) -> Result<Employee, StorageError> {
    let state = EmployeeState::parse(&r.state)
        .ok_or_else(|| StorageError::Other(format!("unknown employee state {}", r.state)))?;
    Ok(Employee {
        organization_oid: r.organization_oid,
        person_oid: r.person_oid,
        surname,
        given_name,
        patronymic,
        snils,
        position: r.position,
        work_email: r.work_email,
        phone: r.phone,
        state,
        chief: r.person_oid == head_oid,
        joined_at: r.joined_at,
        left_at: r.left_at,
        updated_at: r.updated_at,
        version: r.version,
    })
}

/// Makes `person` an active employee: a new row, or a dismissed one rejoining (version bumped).
/// Returns false when the person is already an active or blocked employee.
pub fn join(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
    f: &EmployeeChanges,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let current: Option<(String, i64)> = employees::table
        .find((org, person))
        .select((employees::state, employees::version))
        .first(conn)
        .optional()?;
    let key = f.work_email.as_deref().map(email_key);
    match current {
        None => {
            diesel::insert_into(employees::table)
                .values(&EmployeeRow {
                    organization_oid: org,
                    person_oid: person,
                    position: f.position.clone(),
                    work_email: f.work_email.clone(),
                    email_lower: key,
                    phone: f.phone.clone(),
                    state: EmployeeState::Active.as_str().into(),
                    joined_at: now,
                    left_at: None,
                    updated_at: now,
                    version: 1,
                })
                .execute(conn)?;
            Ok(true)
        }
        Some((state, version)) if state == EmployeeState::Dismissed.as_str() => {
            diesel::update(employees::table.find((org, person)))
                .set((
                    employees::position.eq(&f.position),
                    employees::work_email.eq(&f.work_email),
                    employees::email_lower.eq(key),
                    employees::phone.eq(&f.phone),
                    employees::state.eq(EmployeeState::Active.as_str()),
                    employees::joined_at.eq(now),
                    employees::left_at.eq(None::<NaiveDateTime>),
                    employees::updated_at.eq(now),
                    employees::version.eq(version + 1),
                ))
                .execute(conn)?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
}

pub fn get(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
    head_oid: i64,
) -> Result<Option<Employee>, StorageError> {
    employees::table
        .inner_join(persons::table)
        .filter(employees::organization_oid.eq(org))
        .filter(employees::person_oid.eq(person))
        .select((EmployeeRow::as_select(), NAME_COLS))
        .first::<Joined>(conn)
        .optional()?
        .map(|j| into_domain(j, head_oid))
        .transpose()
}

/// Writes new fields if the version still matches; false otherwise.
pub fn update_fields(
    conn: &mut DbConnection,
    current: &Employee,
    f: &EmployeeChanges,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        employees::table
            .find((current.organization_oid, current.person_oid))
            .filter(employees::version.eq(current.version)),
    )
    .set((
        employees::position.eq(&f.position),
        employees::work_email.eq(&f.work_email),
        employees::email_lower.eq(f.work_email.as_deref().map(email_key)),
        employees::phone.eq(&f.phone),
        employees::updated_at.eq(now),
        employees::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves an employee to `state` if the version still matches; false otherwise.
pub fn set_state(
    conn: &mut DbConnection,
    current: &Employee,
    state: EmployeeState,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let left = (state == EmployeeState::Dismissed).then_some(now);
    let n = diesel::update(
        employees::table
            .find((current.organization_oid, current.person_oid))
            .filter(employees::version.eq(current.version)),
    )
    .set((
        employees::state.eq(state.as_str()),
        employees::left_at.eq(left),
        employees::updated_at.eq(now),
        employees::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Default, Clone)]
pub struct EmployeeFilter {
    pub name_prefix: Option<String>,
    pub snils: Option<String>,
    /// The comparison key of a work e-mail.
    pub email: Option<String>,
    pub state: Option<EmployeeState>,
    pub group: Option<String>,
}

/// One page of an organisation's employees in person-OID order (keyset on the primary key).
pub fn list(
    conn: &mut DbConnection,
    org: i64,
    head_oid: i64,
    f: &EmployeeFilter,
    after_person: Option<i64>,
    limit: i64,
) -> Result<Vec<Employee>, StorageError> {
    let mut q = employees::table
        .inner_join(persons::table)
        .filter(employees::organization_oid.eq(org))
        .select((EmployeeRow::as_select(), NAME_COLS))
        .into_boxed();
    if let Some(s) = f.state {
        q = q.filter(employees::state.eq(s.as_str()));
    }
    if let Some(s) = &f.snils {
        q = q.filter(persons::snils.eq(s.clone()));
    }
    if let Some(e) = &f.email {
        q = q.filter(employees::email_lower.eq(e.clone()));
    }
    if let Some(p) = &f.name_prefix {
        q = q.filter(persons::surname.like(like_prefix(p)).escape('\\'));
    }
    if let Some(g) = &f.group {
        q = q.filter(
            employees::person_oid.eq_any(
                group_members::table
                    .filter(group_members::organization_oid.eq(org))
                    .filter(group_members::mnemonic.eq(g.clone()))
                    .select(group_members::person_oid),
            ),
        );
    }
    if let Some(a) = after_person {
        // The same bound on the joined side too: PostgreSQL does not carry an inequality across
        // the join's equality, so without it a merge join reads `persons` from its first row up
        // to the cursor — a page deep into 100,000 employees then took 15 ms instead of 0.2 ms.
        q = q
            .filter(employees::person_oid.gt(a))
            .filter(persons::oid.gt(a));
    }
    q.order(employees::person_oid.asc())
        .limit(limit)
        .load::<Joined>(conn)?
        .into_iter()
        .map(|j| into_domain(j, head_oid))
        .collect()
}

// ---- access groups ----

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = access_groups)]
struct GroupRow {
    organization_oid: i64,
    mnemonic: String,
    system: String,
    name: String,
    description: String,
    builtin: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl From<GroupRow> for AccessGroup {
    fn from(r: GroupRow) -> Self {
        Self {
            organization_oid: r.organization_oid,
            mnemonic: r.mnemonic,
            system: r.system,
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// A new organisation's head (an active employee) and its built-in groups, in two statements.
pub fn start_organization(
    conn: &mut DbConnection,
    org: i64,
    head: i64,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    join(conn, org, head, &EmployeeChanges::default(), now)?;
    let rows: Vec<GroupRow> = BUILTIN_GROUPS
        .iter()
        .map(|(m, n, d)| GroupRow {
            organization_oid: org,
            mnemonic: (*m).into(),
            system: ESIA_SYSTEM.into(),
            name: (*n).into(),
            description: (*d).into(),
            builtin: true,
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(access_groups::table)
            .values(&rows)
            .execute(pg)?,
        DbConnection::Sqlite(sq) => diesel::insert_into(access_groups::table)
            .values(&rows)
            .execute(sq)?,
    };
    Ok(())
}

pub fn insert_group(
    conn: &mut DbConnection,
    g: &NewGroup,
    now: NaiveDateTime,
) -> Result<AccessGroup, StorageError> {
    let row = GroupRow {
        organization_oid: g.organization_oid,
        mnemonic: g.mnemonic.clone(),
        system: g.system.clone(),
        name: g.name.clone(),
        description: g.description.clone(),
        builtin: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(access_groups::table)
        .values(&row)
        .execute(conn)?;
    Ok(row.into())
}

pub fn get_group(
    conn: &mut DbConnection,
    org: i64,
    mnemonic: &str,
) -> Result<Option<AccessGroup>, StorageError> {
    Ok(access_groups::table
        .find((org, mnemonic))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}

pub fn list_groups(
    conn: &mut DbConnection,
    org: i64,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AccessGroup>, StorageError> {
    let mut q = access_groups::table
        .filter(access_groups::organization_oid.eq(org))
        .select(GroupRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(access_groups::mnemonic.gt(a.to_owned()));
    }
    Ok(q.order(access_groups::mnemonic.asc())
        .limit(limit)
        .load::<GroupRow>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub fn update_group(
    conn: &mut DbConnection,
    current: &AccessGroup,
    name: &str,
    description: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        access_groups::table
            .find((current.organization_oid, current.mnemonic.as_str()))
            .filter(access_groups::version.eq(current.version)),
    )
    .set((
        access_groups::name.eq(name),
        access_groups::description.eq(description),
        access_groups::updated_at.eq(now),
        access_groups::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Adds a member; false when already a member.
pub fn add_member(
    conn: &mut DbConnection,
    org: i64,
    mnemonic: &str,
    person: i64,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let exists = group_members::table
        .find((org, mnemonic, person))
        .select(group_members::person_oid)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    diesel::insert_into(group_members::table)
        .values((
            group_members::organization_oid.eq(org),
            group_members::mnemonic.eq(mnemonic),
            group_members::person_oid.eq(person),
            group_members::added_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes a member; false when not a member.
pub fn remove_member(
    conn: &mut DbConnection,
    org: i64,
    mnemonic: &str,
    person: i64,
) -> Result<bool, StorageError> {
    let n = diesel::delete(group_members::table.find((org, mnemonic, person))).execute(conn)?;
    Ok(n == 1)
}

/// Removes a person from every group of the organisation; returns the groups left.
pub fn leave_all_groups(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
) -> Result<Vec<String>, StorageError> {
    let q = group_members::table
        .filter(group_members::organization_oid.eq(org))
        .filter(group_members::person_oid.eq(person));
    let groups: Vec<String> = q.select(group_members::mnemonic).load(conn)?;
    if !groups.is_empty() {
        diesel::delete(q).execute(conn)?;
    }
    Ok(groups)
}

pub fn person_groups(
    conn: &mut DbConnection,
    org: i64,
    person: i64,
) -> Result<Vec<AccessGroup>, StorageError> {
    Ok(access_groups::table
        .inner_join(
            group_members::table.on(group_members::organization_oid
                .eq(access_groups::organization_oid)
                .and(group_members::mnemonic.eq(access_groups::mnemonic))),
        )
        .filter(access_groups::organization_oid.eq(org))
        .filter(group_members::person_oid.eq(person))
        .select(GroupRow::as_select())
        .order(access_groups::mnemonic.asc())
        .load::<GroupRow>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

// ---- access facts ----

/// What authorisation needs to know about an organisation and the acting person, read in one
/// statement inside the use case's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    pub head_oid: i64,
    pub org_name: String,
    /// The acting person's employee state here, if they are (or were) an employee.
    pub actor_state: Option<EmployeeState>,
    /// The acting person's groups here.
    pub actor_groups: Vec<String>,
    /// The acting person's full name.
    pub actor_name: Option<String>,
    /// For invitations: an active or blocked employee already has the probed e-mail or SNILS.
    pub invitee_employed: bool,
}

#[derive(QueryableByName)]
struct FactsRow {
    #[diesel(sql_type = BigInt)]
    head_oid: i64,
    #[diesel(sql_type = Text)]
    org_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    actor_state: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor_groups: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor_name: Option<String>,
    #[diesel(sql_type = Bool)]
    invitee_employed: bool,
}

impl FactsRow {
    fn into_facts(self) -> Result<OrgFacts, StorageError> {
        let actor_state = self
            .actor_state
            .map(|s| {
                EmployeeState::parse(&s)
                    .ok_or_else(|| StorageError::Other(format!("unknown employee state {s}")))
            })
            .transpose()?;
        Ok(OrgFacts {
            head_oid: self.head_oid,
            org_name: self.org_name,
            actor_state,
            actor_groups: self
                .actor_groups
                .map(|g| g.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            actor_name: self.actor_name,
            invitee_employed: self.invitee_employed,
        })
    }
}

const FACTS_SQL: &str = "SELECT o.head_oid AS head_oid, o.short_name AS org_name, \
 (SELECT e.state FROM employees e WHERE e.organization_oid = o.oid AND e.person_oid = $2) AS actor_state, \
 (SELECT AGG(g.mnemonic, ',') FROM group_members g WHERE g.organization_oid = o.oid AND g.person_oid = $2) AS actor_groups, \
 (SELECT p.surname || ' ' || p.given_name || COALESCE(' ' || p.patronymic, '') FROM persons p WHERE p.oid = $2) AS actor_name, \
 (EXISTS (SELECT 1 FROM employees e WHERE e.organization_oid = o.oid AND e.email_lower = $3 AND e.state <> 'dismissed') \
  OR EXISTS (SELECT 1 FROM employees e JOIN persons p ON p.oid = e.person_oid \
             WHERE e.organization_oid = o.oid AND p.snils = $4 AND e.state <> 'dismissed')) AS invitee_employed \
 FROM organizations o WHERE o.oid = $1";
static FACTS_SQL_PG: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| FACTS_SQL.replace("AGG", "string_agg"));
static FACTS_SQL_SQLITE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| FACTS_SQL.replace("AGG", "group_concat"));

/// Reads the facts; `probe` is an invitee's (e-mail key, SNILS) to look for among employees.
/// None when the organisation does not exist.
pub fn facts(
    conn: &mut DbConnection,
    org: i64,
    actor: Option<i64>,
    probe: Option<(&str, Option<&str>)>,
) -> Result<Option<OrgFacts>, StorageError> {
    let (email, snils) = probe.unwrap_or(("", None));
    let actor = actor.unwrap_or(0);
    /// The statement's name in the statement cache (one text per backend).
    struct Facts;
    let text: &'static str = match conn {
        DbConnection::Postgresql(_) => FACTS_SQL_PG.as_str(),
        DbConnection::Sqlite(_) => FACTS_SQL_SQLITE.as_str(),
    };
    let q = statement::<Facts>(text)
        .bind(org)
        .bind(actor)
        .bind(email)
        .bind(snils);
    let row: Option<FactsRow> = match conn {
        DbConnection::Postgresql(pg) => q.get_result(pg).optional()?,
        DbConnection::Sqlite(sq) => q.get_result(sq).optional()?,
    };
    row.map(FactsRow::into_facts).transpose()
}

#[derive(QueryableByName)]
struct ClaimingFactsRow {
    #[diesel(embed)]
    facts: FactsRow,
    #[diesel(sql_type = Bool)]
    claimed: bool,
}

/// The facts statement with the claim of a request id in front (PostgreSQL): the claim's
/// parameters follow the facts' four.
static FACTS_CLAIMING_SQL_PG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH c AS (INSERT INTO idempotency (client_id, operation, request_id, fingerprint, \
         result_id, created_at) VALUES ($5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING \
         RETURNING 1) {}",
        FACTS_SQL_PG.replacen(
            " FROM organizations o WHERE",
            ", EXISTS (SELECT 1 FROM c) AS claimed FROM organizations o WHERE",
            1
        )
    )
});

/// [`facts`] after claiming `claim` (`storage::idempotency`): `Ok((facts, claimed))`, `claimed`
/// false when the request id was claimed before (and nothing was claimed now). On PostgreSQL the
/// claim and the read are one statement — one round trip fewer on an idempotent write's path; on
/// SQLite (in-process, no round trips) they are two.
pub fn facts_claiming(
    conn: &mut DbConnection,
    org: i64,
    actor: Option<i64>,
    probe: Option<(&str, Option<&str>)>,
    claim: &Claim,
) -> Result<(Option<OrgFacts>, bool), StorageError> {
    let pg = match conn {
        DbConnection::Postgresql(pg) => pg,
        DbConnection::Sqlite(_) => {
            if !idempotency::claim(conn, claim)? {
                return Ok((None, false));
            }
            return Ok((facts(conn, org, actor, probe)?, true));
        }
    };
    let (email, snils) = probe.unwrap_or(("", None));
    /// The statement's name in the statement cache.
    struct FactsClaiming;
    let row: Option<ClaimingFactsRow> = statement::<FactsClaiming>(FACTS_CLAIMING_SQL_PG.as_str())
        .bind(org)
        .bind(actor.unwrap_or(0))
        .bind(email)
        .bind(snils)
        .bind(claim.client_id)
        .bind(claim.operation)
        .bind(claim.request_id)
        .bind(claim.fingerprint)
        .bind(claim.result_id)
        .bind(claim.now)
        .get_result(pg)
        .optional()?;
    match row {
        Some(r) => Ok((Some(r.facts.into_facts()?), r.claimed)),
        // No such organisation: whether the claim was made now or before, the record tells.
        None => {
            let claimed =
                idempotency::get(conn, claim.client_id, claim.operation, claim.request_id)?
                    .is_some_and(|rec| rec.result_id == claim.result_id);
            Ok((None, claimed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The claiming statement is the facts statement with the claim in front and one more column.
    #[test]
    fn claiming_statement_wraps_the_facts_statement() {
        let sql = FACTS_CLAIMING_SQL_PG.as_str();
        assert_eq!(sql.matches("AS claimed").count(), 1, "{sql}");
        assert!(
            sql.starts_with("WITH c AS (INSERT INTO idempotency"),
            "{sql}"
        );
        assert_eq!(
            sql.replacen(", EXISTS (SELECT 1 FROM c) AS claimed", "", 1)
                .split_once(" RETURNING 1) ")
                .map(|(_, facts)| facts),
            Some(FACTS_SQL_PG.as_str())
        );
    }
}
