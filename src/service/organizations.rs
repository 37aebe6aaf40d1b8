//! Organisation use cases: the operator's registration path, reads and updates. Registration by
//! the head with a КЭП is in `organizations_signed.rs`; both create through
//! [`create_organization`].

use crate::domain::caller::Caller;
use crate::domain::organization::{
    NewOrganization, OrgKind, Organization, OrganizationChanges, UPDATABLE_FIELDS,
};
use crate::domain::page;
use crate::domain::person::AccountLevel;
pub use crate::storage::organizations::OrgFilter;
use crate::storage::{self, DbConnection, StorageError};

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::{Core, Page, authz, idempotency, numeric_key, page_of, page_start, parse_etag};

#[derive(Debug, Clone)]
pub struct RegisterOrganization {
    pub request_id: Option<String>,
    pub org: NewOrganization,
}

#[derive(Debug, Clone)]
pub struct UpdateOrganization {
    pub oid: i64,
    pub etag: String,
    pub mask: Vec<String>,
    pub changes: OrganizationChanges,
}

#[derive(Debug, Clone, Default)]
pub struct SearchOrganizations {
    pub filter: OrgFilter,
    pub page_size: i32,
    pub page_token: String,
}

fn ogrn_taken() -> ServiceError {
    ServiceError::AlreadyExists {
        reason: "OGRN_TAKEN",
        resource: "organization",
        field: Some("ogrn"),
        message: "an organisation with this OGRN is already registered".into(),
    }
}

/// The head must exist and hold a confirmed account.
pub(super) fn check_head(
    conn: &mut DbConnection,
    head_oid: i64,
) -> Result<crate::domain::person::Person, ServiceError> {
    let head = storage::persons::get(conn, head_oid)?.ok_or_else(|| {
        ServiceError::invalid("head_oid", format!("no person with OID {head_oid}"))
    })?;
    if head.level != AccountLevel::Confirmed {
        return Err(ServiceError::precondition(
            "HEAD_NOT_CONFIRMED",
            format!("person/{head_oid}"),
            "the head of an organisation must have a confirmed account",
        ));
    }
    Ok(head)
}

/// A signed registration's evidence, stored with the organisation.
pub(super) struct SignedRegistration<'a> {
    pub statement: &'a [u8],
    pub checked: &'a super::signer::Checked,
}

/// What creating an organisation needs beyond the connection, the capability and the caller.
pub(super) struct Creation<'a> {
    /// The idempotency operation (and the audit action).
    pub op: &'static str,
    pub request_id: Option<&'a str>,
    pub fingerprint: &'a [u8],
    pub org: &'a NewOrganization,
    pub signed: Option<SignedRegistration<'a>>,
}

/// Creates an organisation inside the caller's write transaction, the one way both registration
/// paths take: replays an earlier identical request, claims the request id, checks the head is
/// confirmed and the OGRN free, takes an OID, inserts the organisation, starts its audit chain,
/// makes the head its first employee with the built-in access groups, keeps a signed
/// registration's statement and signature, and appends the audit event.
pub(super) fn create_organization(
    c: &mut DbConnection,
    allowed: &authz::Allowed,
    caller: &Caller,
    k: Creation<'_>,
    now: chrono::NaiveDateTime,
) -> Result<Organization, ServiceError> {
    let rid = k.request_id;
    if let Some(id) = idempotency::replayed(c, caller, k.op, rid, k.fingerprint)? {
        let oid = id
            .parse::<i64>()
            .map_err(|_| ServiceError::Internal("bad idempotency record".into()))?;
        return storage::organizations::get(c, oid)?
            .ok_or_else(|| ServiceError::not_found("organization", oid));
    }
    idempotency::claim(c, caller, k.op, rid, k.fingerprint, now)?;
    let o = k.org;
    let head = check_head(c, o.head_oid)?;
    if o.kind == OrgKind::IndividualEntrepreneur
        && let Some(inn) = &head.inn
        && inn != &o.inn
    {
        return Err(ServiceError::invalid(
            "inn",
            "an individual entrepreneur's INN must be the head's personal INN",
        ));
    }
    if storage::organizations::find_by_ogrn(c, &o.ogrn)?.is_some() {
        return Err(ogrn_taken());
    }
    let oid = storage::next_oid(c)?;
    let org = storage::organizations::insert(c, oid, o, now).map_err(|e| match e {
        StorageError::UniqueViolation(m) if m.contains("ogrn") => ogrn_taken(),
        other => other.into(),
    })?;
    storage::audit::create_chain(c, oid, now)?;
    // The head is the first employee; the built-in access groups exist from the start.
    storage::employees::start_organization(c, oid, o.head_oid, now)?;
    idempotency::complete(c, caller, k.op, rid, &oid.to_string())?;
    let mut details = serde_json::json!({
        "kind": org.kind.as_str(), "ogrn": org.ogrn, "inn": org.inn,
        "short_name": org.short_name, "head_oid": org.head_oid,
        "consumer": org.consumer, "vendor": org.vendor,
    });
    if let Some(s) = &k.signed {
        storage::organizations::insert_registration(
            c,
            oid,
            s.statement,
            &s.checked.signature,
            &s.checked.certificate,
            s.checked.signing_time,
            now,
        )?;
        details["signature"] = s.checked.audit_details();
        details["statement_streebog256"] =
            hex::encode(crate::crypto::streebog::streebog256(s.statement)).into();
    }
    audit_log::append(
        c,
        allowed,
        caller,
        EventSpec {
            chain: oid,
            action: k.op,
            target_type: "organization",
            target_id: oid.to_string(),
            details,
        },
        now,
    )?;
    Ok(org)
}

impl Core {
    pub async fn register_organization(
        &self,
        caller: &Caller,
        cmd: RegisterOrganization,
    ) -> Result<Organization, ServiceError> {
        let allowed = authz::register_organization(caller)?;
        let fp = idempotency::fingerprint(&cmd.org);
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                create_organization(
                    c,
                    &allowed,
                    &caller,
                    Creation {
                        op: "organization.register",
                        request_id: cmd.request_id.as_deref(),
                        fingerprint: &fp,
                        org: &cmd.org,
                        signed: None,
                    },
                    now,
                )
            })
            .await
    }

    pub async fn get_organization(
        &self,
        caller: &Caller,
        oid: i64,
    ) -> Result<Organization, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let org = storage::organizations::get(c, oid)?
                    .ok_or_else(|| ServiceError::not_found("organization", oid))?;
                authz::get_organization(&caller, &org)?;
                Ok(org)
            })
            .await
    }

    pub async fn search_organizations(
        &self,
        caller: &Caller,
        q: SearchOrganizations,
    ) -> Result<Page<Organization>, ServiceError> {
        let f = q.filter;
        authz::search_organizations(caller, f.ogrn.is_some() || f.inn.is_some())?;
        let fp = page::fingerprint(&[
            f.ogrn.as_deref().unwrap_or(""),
            f.inn.as_deref().unwrap_or(""),
            f.name_prefix.as_deref().unwrap_or(""),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = numeric_key(after)?;
        let items = self
            .db
            .read(move |c| Ok(storage::organizations::search(c, &f, after, size + 1)?))
            .await?;
        Ok(page_of(items, size, &fp, |o| o.oid.to_string()))
    }

    pub async fn update_organization(
        &self,
        caller: &Caller,
        cmd: UpdateOrganization,
    ) -> Result<Organization, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        for f in &cmd.mask {
            if !UPDATABLE_FIELDS.contains(&f.as_str()) {
                return Err(ServiceError::invalid(
                    "update_mask",
                    format!("{f} is not a field that can be updated"),
                ));
            }
        }
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let current = storage::organizations::get(c, cmd.oid)?
                    .ok_or_else(|| ServiceError::not_found("organization", cmd.oid))?;
                let all = cmd.mask.is_empty();
                let has = |n: &str| all || cmd.mask.iter().any(|m| m == n);
                let i = &cmd.changes;
                let merged = OrganizationChanges {
                    full_name: if has("full_name") { i.full_name.clone() } else { current.full_name.clone() },
                    short_name: if has("short_name") { i.short_name.clone() } else { current.short_name.clone() },
                    address: if has("address") { i.address.clone() } else { current.address.clone() },
                    head_oid: if has("head_oid") { i.head_oid } else { current.head_oid },
                    consumer: if has("consumer") { i.consumer } else { current.consumer },
                    vendor: if has("vendor") { i.vendor } else { current.vendor },
                }
                .validate()?;
                let mut changed = Vec::new();
                if merged.full_name != current.full_name { changed.push("full_name"); }
                if merged.short_name != current.short_name { changed.push("short_name"); }
                if merged.address != current.address { changed.push("address"); }
                if merged.head_oid != current.head_oid { changed.push("head_oid"); }
                if merged.consumer != current.consumer { changed.push("consumer"); }
                if merged.vendor != current.vendor { changed.push("vendor"); }
                let allowed = authz::update_organization(&caller, &current, &changed)?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("organization"));
                }
                if merged.head_oid != current.head_oid {
                    check_head(c, merged.head_oid)?;
                    // The new head is an employee (a dismissed one rejoins).
                    storage::employees::join(
                        c,
                        current.oid,
                        merged.head_oid,
                        &crate::domain::employee::EmployeeChanges::default(),
                        now,
                    )?;
                }
                let org = storage::organizations::update(c, &current, &merged, now)?
                    .ok_or_else(|| ServiceError::stale_etag("organization"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org.oid,
                        action: "organization.update",
                        target_type: "organization",
                        target_id: org.oid.to_string(),
                        details: serde_json::json!({ "changed": changed, "head_oid": org.head_oid }),
                    },
                    now,
                )?;
                Ok(org)
            })
            .await
    }
}
