//! The powers catalogue: managed by the platform operator, read by everyone who drafts or
//! checks a power of attorney.

use crate::domain::audit::PLATFORM_CHAIN;
use crate::domain::caller::Caller;
use crate::domain::page;
use crate::domain::power::{NewPower, Power, PowerChanges, UPDATABLE_FIELDS};
pub use crate::storage::powers::PowerFilter;
use crate::storage::{self, StorageError};

use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::{Core, Page, authz, idempotency, page_of, page_start, parse_etag};

#[derive(Debug, Clone)]
pub struct CreatePower {
    pub request_id: Option<String>,
    pub power: NewPower,
}

#[derive(Debug, Clone)]
pub struct UpdatePower {
    pub code: String,
    pub etag: String,
    pub mask: Vec<String>,
    pub changes: PowerChanges,
}

#[derive(Debug, Clone, Default)]
pub struct ListPowers {
    pub filter: PowerFilter,
    pub page_size: i32,
    pub page_token: String,
}

fn code_taken() -> ServiceError {
    ServiceError::AlreadyExists {
        reason: "POWER_CODE_TAKEN",
        resource: "power",
        field: Some("code"),
        message: "the catalogue already has a power with this code".into(),
    }
}

impl Core {
    pub async fn create_power(
        &self,
        caller: &Caller,
        cmd: CreatePower,
    ) -> Result<Power, ServiceError> {
        let allowed = authz::manage_powers(caller)?;
        let fp = idempotency::fingerprint(&cmd.power);
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let rid = cmd.request_id.as_deref();
                if let Some(code) = idempotency::replayed(c, &caller, "power.create", rid, &fp)? {
                    return storage::powers::get(c, &code)?
                        .ok_or_else(|| ServiceError::not_found("power", code));
                }
                idempotency::claim(c, &caller, "power.create", rid, &fp, now)?;
                if storage::powers::get(c, &cmd.power.code)?.is_some() {
                    return Err(code_taken());
                }
                let p = storage::powers::insert(c, &cmd.power, now).map_err(|e| match e {
                    StorageError::UniqueViolation(_) => code_taken(),
                    other => other.into(),
                })?;
                idempotency::complete(c, &caller, "power.create", rid, &p.code)?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: PLATFORM_CHAIN,
                        action: "power.create",
                        target_type: "power",
                        target_id: p.code.clone(),
                        details: serde_json::json!({
                            "name": p.name, "context": p.context.as_str(),
                            "source": p.source.as_str(),
                        }),
                    },
                    now,
                )?;
                Ok(p)
            })
            .await
    }

    pub async fn update_power(
        &self,
        caller: &Caller,
        cmd: UpdatePower,
    ) -> Result<Power, ServiceError> {
        let allowed = authz::manage_powers(caller)?;
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
                let current = storage::powers::get(c, &cmd.code)?
                    .ok_or_else(|| ServiceError::not_found("power", &cmd.code))?;
                let all = cmd.mask.is_empty();
                let has = |n: &str| all || cmd.mask.iter().any(|m| m == n);
                let i = &cmd.changes;
                let merged = PowerChanges {
                    name: if has("name") {
                        i.name.clone()
                    } else {
                        current.name.clone()
                    },
                    description: if has("description") {
                        i.description.clone()
                    } else {
                        current.description.clone()
                    },
                    context: if has("context") {
                        i.context
                    } else {
                        current.context
                    },
                    active: if has("active") {
                        i.active
                    } else {
                        current.active
                    },
                }
                .validate()?;
                if current.version != version {
                    return Err(ServiceError::stale_etag("power"));
                }
                let mut changed = Vec::new();
                if merged.name != current.name {
                    changed.push("name");
                }
                if merged.description != current.description {
                    changed.push("description");
                }
                if merged.context != current.context {
                    changed.push("context");
                }
                if merged.active != current.active {
                    changed.push("active");
                }
                let p = storage::powers::update(c, &current, &merged, now)?
                    .ok_or_else(|| ServiceError::stale_etag("power"))?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: PLATFORM_CHAIN,
                        action: "power.update",
                        target_type: "power",
                        target_id: p.code.clone(),
                        details: serde_json::json!({
                            "changed": changed, "context": p.context.as_str(), "active": p.active,
                        }),
                    },
                    now,
                )?;
                Ok(p)
            })
            .await
    }

    pub async fn get_power(&self, caller: &Caller, code: String) -> Result<Power, ServiceError> {
        authz::read_powers(caller)?;
        let mut v = crate::domain::Violations::new();
        let code = crate::domain::power::code(&mut v, "code", &code);
        v.into_result()?;
        let code = code.unwrap_or_default();
        self.db
            .read(move |c| {
                storage::powers::get(c, &code)?
                    .ok_or_else(|| ServiceError::not_found("power", code))
            })
            .await
    }

    pub async fn list_powers(
        &self,
        caller: &Caller,
        q: ListPowers,
    ) -> Result<Page<Power>, ServiceError> {
        authz::read_powers(caller)?;
        let f = q.filter;
        let fp = page::fingerprint(&[
            if f.active_only { "active" } else { "all" },
            f.context.map(|c| c.as_str()).unwrap_or(""),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let items = self
            .db
            .read(move |c| Ok(storage::powers::list(c, &f, after.as_deref(), size + 1)?))
            .await?;
        Ok(page_of(items, size, &fp, |p| p.code.clone()))
    }
}
