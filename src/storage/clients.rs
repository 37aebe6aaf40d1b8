//! API client rows: credentials are stored only as Streebog-256 hashes of the bearer token, or
//! as the SHA-256 fingerprint of the client's TLS certificate.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_clients;
use super::{DbConnection, StorageError};
use crate::domain::caller::{ApiClient, Role};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
struct ClientRow {
    id: String,
    name: String,
    role: String,
    organization_oid: Option<i64>,
    token_hash: Option<Vec<u8>>,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    certificate_sha256: Option<Vec<u8>>,
}

impl ClientRow {
    fn into_domain(self) -> Result<ApiClient, StorageError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StorageError::Other(format!("unknown client role {}", self.role)))?;
        Ok(ApiClient {
            id: self.id,
            name: self.name,
            role,
            organization_oid: self.organization_oid,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            certificate_sha256: self.certificate_sha256,
        })
    }
}

/// Inserts a client with its token hash (None for a certificate client).
pub fn insert(
    conn: &mut DbConnection,
    client: &ApiClient,
    token_hash: Option<&[u8]>,
) -> Result<(), StorageError> {
    let row = ClientRow {
        id: client.id.clone(),
        name: client.name.clone(),
        role: client.role.as_str().to_owned(),
        organization_oid: client.organization_oid,
        token_hash: token_hash.map(<[u8]>::to_vec),
        created_at: client.created_at,
        revoked_at: None,
        certificate_sha256: client.certificate_sha256.clone(),
    };
    diesel::insert_into(api_clients::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// The active (not revoked) client holding this token hash.
pub fn find_active_by_hash(
    conn: &mut DbConnection,
    hash: &[u8],
) -> Result<Option<ApiClient>, StorageError> {
    api_clients::table
        .filter(api_clients::token_hash.eq(hash))
        .filter(api_clients::revoked_at.is_null())
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

/// The active (not revoked) client registered with this certificate fingerprint.
pub fn find_active_by_certificate(
    conn: &mut DbConnection,
    sha256: &[u8],
) -> Result<Option<ApiClient>, StorageError> {
    api_clients::table
        .filter(api_clients::certificate_sha256.eq(sha256))
        .filter(api_clients::revoked_at.is_null())
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

pub fn find_by_name(
    conn: &mut DbConnection,
    name: &str,
) -> Result<Option<ApiClient>, StorageError> {
    api_clients::table
        .filter(api_clients::name.eq(name))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ClientRow::into_domain)
        .transpose()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ApiClient>, StorageError> {
    api_clients::table
        .order(api_clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ClientRow::into_domain)
        .collect()
}

pub fn count_active(conn: &mut DbConnection) -> Result<i64, StorageError> {
    Ok(api_clients::table
        .filter(api_clients::revoked_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn revoke(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<bool, StorageError> {
    let n = diesel::update(
        api_clients::table
            .filter(api_clients::id.eq(id))
            .filter(api_clients::revoked_at.is_null()),
    )
    .set(api_clients::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}
