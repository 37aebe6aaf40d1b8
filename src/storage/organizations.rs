//! Organisation rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::native;
use super::persons::like_prefix;
use super::schema::organizations;
use super::{DbConnection, StorageError};
use crate::domain::organization::{NewOrganization, OrgKind, Organization, OrganizationChanges};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub(super) struct OrgRow {
    oid: i64,
    kind: String,
    full_name: String,
    short_name: String,
    ogrn: String,
    inn: String,
    kpp: Option<String>,
    address: String,
    head_oid: i64,
    is_consumer: bool,
    is_vendor: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl OrgRow {
    pub(super) fn into_domain(self) -> Result<Organization, StorageError> {
        let kind = OrgKind::parse(&self.kind).ok_or_else(|| {
            StorageError::Other(format!("unknown organisation kind {}", self.kind))
        })?;
        Ok(Organization {
            oid: self.oid,
            kind,
            full_name: self.full_name,
            short_name: self.short_name,
            ogrn: self.ogrn,
            inn: self.inn,
            kpp: self.kpp,
            address: self.address,
            head_oid: self.head_oid,
            consumer: self.is_consumer,
            vendor: self.is_vendor,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

pub fn insert(
    conn: &mut DbConnection,
    oid: i64,
    o: &NewOrganization,
    now: NaiveDateTime,
) -> Result<Organization, StorageError> {
    let row = OrgRow {
        oid,
        kind: o.kind.as_str().to_owned(),
        full_name: o.full_name.clone(),
        short_name: o.short_name.clone(),
        ogrn: o.ogrn.clone(),
        inn: o.inn.clone(),
        kpp: o.kpp.clone(),
        address: o.address.clone(),
        head_oid: o.head_oid,
        is_consumer: o.consumer,
        is_vendor: o.vendor,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(organizations::table)
        .values(&row)
        .execute(conn)?;
    row.into_domain()
}

pub fn get(conn: &mut DbConnection, oid: i64) -> Result<Option<Organization>, StorageError> {
    native!(conn, |c| organizations::table
        .find(oid)
        .select(OrgRow::as_select())
        .first(c)
        .optional())?
    .map(OrgRow::into_domain)
    .transpose()
}

pub fn find_by_ogrn(
    conn: &mut DbConnection,
    ogrn: &str,
) -> Result<Option<Organization>, StorageError> {
    organizations::table
        .filter(organizations::ogrn.eq(ogrn))
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?
        .map(OrgRow::into_domain)
        .transpose()
}

/// Applies changes if the version still matches; None when it does not.
pub fn update(
    conn: &mut DbConnection,
    current: &Organization,
    c: &OrganizationChanges,
    now: NaiveDateTime,
) -> Result<Option<Organization>, StorageError> {
    let n = diesel::update(
        organizations::table
            .filter(organizations::oid.eq(current.oid))
            .filter(organizations::version.eq(current.version)),
    )
    .set((
        organizations::full_name.eq(&c.full_name),
        organizations::short_name.eq(&c.short_name),
        organizations::address.eq(&c.address),
        organizations::head_oid.eq(c.head_oid),
        organizations::is_consumer.eq(c.consumer),
        organizations::is_vendor.eq(c.vendor),
        organizations::updated_at.eq(now),
        organizations::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, current.oid)
}

#[derive(Debug, Default, Clone)]
pub struct OrgFilter {
    pub ogrn: Option<String>,
    pub inn: Option<String>,
    pub name_prefix: Option<String>,
}

pub fn search(
    conn: &mut DbConnection,
    f: &OrgFilter,
    after_oid: Option<i64>,
    limit: i64,
) -> Result<Vec<Organization>, StorageError> {
    let mut q = organizations::table
        .select(OrgRow::as_select())
        .into_boxed();
    if let Some(v) = &f.ogrn {
        q = q.filter(organizations::ogrn.eq(v.clone()));
    }
    if let Some(v) = &f.inn {
        q = q.filter(organizations::inn.eq(v.clone()));
    }
    if let Some(p) = &f.name_prefix {
        let pat = like_prefix(p);
        q = q.filter(
            organizations::short_name
                .like(pat.clone())
                .escape('\\')
                .or(organizations::full_name.like(pat).escape('\\')),
        );
    }
    if let Some(a) = after_oid {
        q = q.filter(organizations::oid.gt(a));
    }
    q.order(organizations::oid.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(OrgRow::into_domain)
        .collect()
}

/// Keeps the signed registration statement of an organisation its head registered with a КЭП.
pub fn insert_registration(
    conn: &mut DbConnection,
    oid: i64,
    statement: &[u8],
    signature: &[u8],
    signer_certificate: &[u8],
    signing_time: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    use super::schema::organization_registrations as r;
    diesel::insert_into(r::table)
        .values((
            r::organization_oid.eq(oid),
            r::statement.eq(statement),
            r::signature.eq(signature),
            r::signer_certificate.eq(signer_certificate),
            r::signing_time.eq(signing_time),
            r::registered_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
