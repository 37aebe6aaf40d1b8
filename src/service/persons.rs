//! Person directory use cases.

use crate::domain::audit::PLATFORM_CHAIN;
use crate::domain::caller::Caller;
use crate::domain::page;
use crate::domain::person::{Person, PersonFields, PersonInput};
pub use crate::storage::persons::PersonFilter;
use crate::storage::{self, DbConnection, StorageError};

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::{Core, Page, authz, idempotency, numeric_key, page_of, page_start, parse_etag};

/// A validated registration.
#[derive(Debug, Clone)]
pub struct RegisterPerson {
    pub request_id: Option<String>,
    pub fields: PersonFields,
}

/// A validated update: the merged input is validated inside the transaction.
#[derive(Debug, Clone)]
pub struct UpdatePerson {
    pub oid: i64,
    pub etag: String,
    /// Field names to change (validated against `person::UPDATABLE_FIELDS`).
    pub mask: Vec<String>,
    pub input: PersonInput,
}

#[derive(Debug, Clone, Default)]
pub struct SearchPersons {
    pub filter: PersonFilter,
    pub page_size: i32,
    pub page_token: String,
}

fn snils_taken() -> ServiceError {
    ServiceError::AlreadyExists {
        reason: "SNILS_TAKEN",
        resource: "person",
        field: Some("snils"),
        message: "another standard or confirmed account already has this SNILS".into(),
    }
}

/// Maps the unique index on checked SNILS to its clear error.
fn map_unique(e: StorageError) -> ServiceError {
    match e {
        StorageError::UniqueViolation(m) if m.contains("snils") => snils_taken(),
        other => other.into(),
    }
}

fn check_snils_free(
    conn: &mut DbConnection,
    f: &PersonFields,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    if let (true, Some(s)) = (f.level.needs_snils(), &f.snils)
        && storage::persons::checked_snils_holder(conn, s, except)?.is_some()
    {
        return Err(snils_taken());
    }
    Ok(())
}

impl Core {
    pub async fn register_person(
        &self,
        caller: &Caller,
        cmd: RegisterPerson,
    ) -> Result<Person, ServiceError> {
        let allowed = authz::register_person(caller)?;
        let fp = idempotency::fingerprint(&cmd.fields);
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let rid = cmd.request_id.as_deref();
                if let Some(id) = idempotency::replayed(c, &caller, "person.register", rid, &fp)? {
                    let oid = id
                        .parse::<i64>()
                        .map_err(|_| ServiceError::Internal("bad idempotency record".into()))?;
                    return storage::persons::get(c, oid)?
                        .ok_or_else(|| ServiceError::not_found("person", oid));
                }
                idempotency::claim(c, &caller, "person.register", rid, &fp, now)?;
                check_snils_free(c, &cmd.fields, None)?;
                let oid = storage::next_oid(c)?;
                let p = storage::persons::insert(c, oid, &cmd.fields, now).map_err(map_unique)?;
                idempotency::complete(c, &caller, "person.register", rid, &oid.to_string())?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: PLATFORM_CHAIN,
                        action: "person.register",
                        target_type: "person",
                        target_id: oid.to_string(),
                        details: serde_json::json!({ "level": p.level.as_str() }),
                    },
                    now,
                )?;
                Ok(p)
            })
            .await
    }

    pub async fn update_person(
        &self,
        caller: &Caller,
        cmd: UpdatePerson,
    ) -> Result<Person, ServiceError> {
        let version = parse_etag(&cmd.etag)?;
        for f in &cmd.mask {
            if !crate::domain::person::UPDATABLE_FIELDS.contains(&f.as_str()) {
                return Err(ServiceError::invalid(
                    "update_mask",
                    format!("{f} is not a field that can be updated"),
                ));
            }
        }
        let (allowed, may_change_level) = authz::update_person(caller, cmd.oid)?;
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let current = storage::persons::get(c, cmd.oid)?.ok_or_else(|| ServiceError::not_found("person", cmd.oid))?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("person"));
                }
                let mut merged = PersonInput::from_person(&current);
                let all = cmd.mask.is_empty();
                let has = |n: &str| all || cmd.mask.iter().any(|m| m == n);
                let i = &cmd.input;
                if has("surname") { merged.surname = i.surname.clone(); }
                if has("given_name") { merged.given_name = i.given_name.clone(); }
                if has("patronymic") { merged.patronymic = i.patronymic.clone(); }
                if has("snils") { merged.snils = i.snils.clone(); }
                if has("inn") { merged.inn = i.inn.clone(); }
                if has("email") { merged.email = i.email.clone(); }
                if has("phone") { merged.phone = i.phone.clone(); }
                if has("level") { merged.level = i.level; }
                if has("birth_date") { merged.birth_date = i.birth_date.clone(); }
                let fields = merged.validate()?;
                if fields.level != current.level && !may_change_level {
                    return Err(ServiceError::denied("LEVEL_CHANGE_NOT_ALLOWED", "only the operator may change an account level"));
                }
                let changed: Vec<&str> = changed_fields(&current, &fields);
                check_snils_free(c, &fields, Some(current.oid))?;
                let p = storage::persons::update(c, &current, &fields, now)
                    .map_err(map_unique)?
                    .ok_or_else(|| ServiceError::stale_etag("person"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: PLATFORM_CHAIN,
                        action: "person.update",
                        target_type: "person",
                        target_id: p.oid.to_string(),
                        details: serde_json::json!({ "changed": changed, "level": p.level.as_str() }),
                    },
                    now,
                )?;
                Ok(p)
            })
            .await
    }

    pub async fn get_person(&self, caller: &Caller, oid: i64) -> Result<Person, ServiceError> {
        authz::get_person(caller, oid)?;
        self.db
            .read(move |c| {
                storage::persons::get(c, oid)?.ok_or_else(|| ServiceError::not_found("person", oid))
            })
            .await
    }

    pub async fn search_persons(
        &self,
        caller: &Caller,
        q: SearchPersons,
    ) -> Result<Page<Person>, ServiceError> {
        authz::search_persons(caller)?;
        let f = q.filter;
        let fp = page::fingerprint(&[
            f.snils.as_deref().unwrap_or(""),
            f.surname_prefix.as_deref().unwrap_or(""),
            f.given_name.as_deref().unwrap_or(""),
            &f.oid.unwrap_or(0).to_string(),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = numeric_key(after)?;
        let items = self
            .db
            .read(move |c| Ok(storage::persons::search(c, &f, after, size + 1)?))
            .await?;
        Ok(page_of(items, size, &fp, |p| p.oid.to_string()))
    }
}

fn changed_fields(p: &Person, f: &PersonFields) -> Vec<&'static str> {
    let mut out = Vec::new();
    if p.surname != f.surname {
        out.push("surname");
    }
    if p.given_name != f.given_name {
        out.push("given_name");
    }
    if p.patronymic != f.patronymic {
        out.push("patronymic");
    }
    if p.snils != f.snils {
        out.push("snils");
    }
    if p.inn != f.inn {
        out.push("inn");
    }
    if p.email != f.email {
        out.push("email");
    }
    if p.phone != f.phone {
        out.push("phone");
    }
    if p.level != f.level {
        out.push("level");
    }
    if p.birth_date != f.birth_date {
        out.push("birth_date");
    }
    out
}
