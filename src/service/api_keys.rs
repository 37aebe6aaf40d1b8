//! API-KEY use cases: forming a key (shown once), reading metadata, blocking, unblocking,
//! deleting, and the validity check the token exchange runs on every call.

use chrono::{Duration, NaiveDateTime};

use crate::domain::api_key::{self, ApiKey, KeyFacts, KeyRefusal, KeyState};
use crate::domain::caller::{Caller, Role};
use crate::domain::employee::EmployeeState;
use crate::domain::page;
use crate::storage::api_keys::{KeyFilter, NewKey};
use crate::storage::{self, DbConnection};

use super::audit_log::{self, EventSpec};
use super::authz;
use super::employees::access;
use super::error::ServiceError;

/// A key check's outcome: the facts of a working key, or why it does not work (with the facts
/// when the key exists).
pub type KeyCheck = Result<KeyFacts, (KeyRefusal, Option<KeyFacts>)>;
use super::systems::{holds_key_power, ready_for_keys, system_of};
use super::{Core, Page, page_of, page_start, random_bytes};

/// API-KEY settings.
#[derive(Debug, Clone)]
pub struct ApiKeySettings {
    /// Validity of a key when the request names none (about six months).
    pub default_validity: Duration,
    /// The longest validity a key may be given.
    pub max_validity: Duration,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            default_validity: Duration::days(182),
            max_validity: Duration::days(366),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CreateKey {
    /// The client's idempotency key: a retry gets ALREADY_EXISTS naming the key formed first
    /// (its secret was shown once and is not kept, so it cannot be shown again).
    pub request_id: Option<String>,
    pub client_id: String,
    pub organization_oid: i64,
    pub holder_oid: i64,
    /// None: the default validity.
    pub validity: Option<Duration>,
}

/// A key just formed: its metadata and the secret, shown this once.
#[derive(Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    Block,
    Unblock,
    Delete,
}

#[derive(Debug, Clone, Default)]
pub struct ListKeys {
    /// The consumer organisation whose keys to list, or…
    pub organization_oid: Option<i64>,
    /// …the vendor organisation whose systems' keys to list (vendor's view).
    pub vendor_oid: Option<i64>,
    pub client_id: Option<String>,
    pub holder_oid: Option<i64>,
    pub state: Option<KeyState>,
    pub expiring_before: Option<NaiveDateTime>,
    pub page_size: i32,
    pub page_token: String,
}

fn key_not_found(id: &str) -> ServiceError {
    ServiceError::not_found("API-KEY", id)
}

fn key_of(c: &mut DbConnection, id: &str) -> Result<ApiKey, ServiceError> {
    storage::api_keys::get(c, id)?.ok_or_else(|| key_not_found(id))
}

impl Core {
    /// Shows the latest use, including one not flushed to the database yet.
    fn with_pending_use(&self, mut k: ApiKey) -> ApiKey {
        if let Some(t) = self.key_uses.pending(&k.id)
            && k.last_used_at.is_none_or(|s| s < t)
        {
            k.last_used_at = Some(t);
        }
        k
    }

    /// Forms a key for an employee added to the system. The caller must be allowed to form
    /// keys (groups and power of attorney); the system enabled and granted; the holder active
    /// and a member of the system.
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        cmd: CreateKey,
    ) -> Result<CreatedKey, ServiceError> {
        let validity = cmd.validity.unwrap_or(self.api_keys.default_validity);
        if validity <= Duration::zero() || validity > self.api_keys.max_validity {
            return Err(ServiceError::invalid(
                "validity",
                format!(
                    "must be positive and at most {} days",
                    self.api_keys.max_validity.num_days()
                ),
            ));
        }
        let secret = zeroize::Zeroizing::new(
            uuid::Builder::from_random_bytes(random_bytes::<16>()?)
                .into_uuid()
                .hyphenated()
                .to_string(),
        );
        let id = uuid::Builder::from_random_bytes(random_bytes::<16>()?)
            .into_uuid()
            .hyphenated()
            .to_string();
        let hash = self.key_hasher.hash(secret.as_bytes());
        let hash_key_id = self.key_hasher.key_id().to_owned();
        let prefix = secret[..api_key::PREFIX_CHARS].to_owned();
        let fp = super::idempotency::fingerprint(&serde_json::json!([
            cmd.client_id,
            cmd.organization_oid,
            cmd.holder_oid,
            validity.num_seconds(),
        ]));
        let clock = self.clock.clone();
        let caller = caller.clone();
        let chain = cmd.organization_oid;
        let key = self
            .db
            .write_for(chain, move |c| {
                let now = clock.now();
                let rid = cmd.request_id.as_deref();
                if let Some(first) =
                    super::idempotency::replayed(c, &caller, "api_key.create", rid, &fp)?
                {
                    return Err(ServiceError::AlreadyExists {
                        reason: "KEY_ALREADY_FORMED",
                        resource: "API-KEY",
                        field: Some("request_id"),
                        message: format!(
                            "this request already formed API-KEY {first}; its secret was shown once and is not kept"
                        ),
                    });
                }
                let org = cmd.organization_oid;
                let (a, _) = access(c, &caller, org, None)?;
                let s = system_of(c, &cmd.client_id)?;
                let poa = holds_key_power(c, &caller, org, &s.client_id, now.date())?;
                let allowed = authz::form_keys(&caller, &a, poa.is_some())?;
                let poa = poa.unwrap_or_default();
                ready_for_keys(c, &s, org)?;
                let holder = cmd.holder_oid;
                let e = storage::employees::get(c, org, holder, a.head_oid)?
                    .ok_or_else(|| ServiceError::not_found("employee", format!("{org}/{holder}")))?;
                if e.state != EmployeeState::Active {
                    return Err(ServiceError::precondition(
                        "HOLDER_NOT_ACTIVE",
                        format!("employee/{org}/{holder}"),
                        "keys are formed only for active employees",
                    ));
                }
                if !storage::systems::is_member(c, &s.client_id, org, holder)? {
                    return Err(ServiceError::precondition(
                        "HOLDER_NOT_IN_SYSTEM",
                        format!("employee/{org}/{holder}"),
                        "add the employee to the system before forming a key for them",
                    ));
                }
                let key = ApiKey {
                    id: id.clone(),
                    prefix: prefix.clone(),
                    client_id: s.client_id.clone(),
                    organization_oid: org,
                    holder_oid: holder,
                    issuer_oid: authz::acting_person(&caller)?,
                    poa_number: poa,
                    state: KeyState::Active,
                    valid_from: now,
                    valid_until: now + validity,
                    last_used_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                super::idempotency::claim(c, &caller, "api_key.create", rid, &fp, now)?;
                storage::api_keys::insert(
                    c,
                    &NewKey {
                        key: &key,
                        key_hash: &hash,
                        hash_key_id: &hash_key_id,
                    },
                )?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "api_key.create",
                        target_type: "api_key",
                        target_id: key.id.clone(),
                        details: serde_json::json!({
                            "client_id": key.client_id,
                            "holder_oid": key.holder_oid,
                            "power_of_attorney": key.poa_number,
                            "prefix": key.prefix,
                            "valid_until": key.valid_until.and_utc().to_rfc3339(),
                        }),
                    },
                    now,
                )?;
                super::idempotency::complete(c, &caller, "api_key.create", rid, &key.id)?;
                Ok(key)
            })
            .await?;
        Ok(CreatedKey { key, secret })
    }

    /// Reads which organisation's facts decide access to key `k`, and checks read access:
    /// consumer readers, the holder, or the vendor's readers.
    pub async fn get_api_key(&self, caller: &Caller, id: String) -> Result<ApiKey, ServiceError> {
        let caller = caller.clone();
        let k = self
            .db
            .read(move |c| {
                let k = key_of(c, &id)?;
                let (a, _) = access(c, &caller, k.organization_oid, None)?;
                let consumer_side = if caller.acting_person == Some(k.holder_oid) {
                    authz::read_own_keys(&caller, &a)
                } else {
                    authz::read_consumer_systems(&caller, &a)
                };
                if consumer_side.is_err() {
                    let s = system_of(c, &k.client_id)?;
                    let (v, _) = access(c, &caller, s.vendor_oid, None)?;
                    if authz::read_vendor_systems(&caller, &v).is_err() {
                        return Err(consumer_side.err().unwrap_or_else(|| {
                            ServiceError::Internal("access check lost its error".into())
                        }));
                    }
                }
                Ok(k)
            })
            .await?;
        Ok(self.with_pending_use(k))
    }

    /// Lists keys of a consumer organisation (its readers; a holder sees their own), or the
    /// keys formed for a vendor's systems (the vendor's readers). Newest first.
    pub async fn list_api_keys(
        &self,
        caller: &Caller,
        q: ListKeys,
    ) -> Result<Page<ApiKey>, ServiceError> {
        let fp = page::fingerprint(&[
            &q.organization_oid
                .map(|v| v.to_string())
                .unwrap_or_default(),
            &q.vendor_oid.map(|v| v.to_string()).unwrap_or_default(),
            q.client_id.as_deref().unwrap_or(""),
            &q.holder_oid.map(|v| v.to_string()).unwrap_or_default(),
            q.state.map(|s| s.as_str()).unwrap_or(""),
            &q.expiring_before.map(|t| t.to_string()).unwrap_or_default(),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = after
            .map(|a| {
                a.split_once('|')
                    .and_then(|(t, id)| {
                        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .map(|t| (t, id.to_owned()))
                    })
                    .ok_or_else(|| {
                        ServiceError::invalid("page_token", "is not a token this list returned")
                    })
            })
            .transpose()?;
        let caller = caller.clone();
        let mut f = KeyFilter {
            organization_oid: q.organization_oid,
            client_id: q.client_id.clone(),
            holder_oid: q.holder_oid,
            state: q.state,
            expiring_before: q.expiring_before,
            vendor_oid: q.vendor_oid,
        };
        let items = self
            .db
            .read(move |c| {
                match (f.organization_oid, f.vendor_oid) {
                    (Some(o), None) => {
                        let (a, _) = access(c, &caller, o, None)?;
                        if let Err(e) = authz::read_consumer_systems(&caller, &a) {
                            // A holder lists their own keys.
                            match caller.acting_person {
                                Some(p)
                                    if f.holder_oid.is_none_or(|h| h == p)
                                        && authz::read_own_keys(&caller, &a).is_ok() =>
                                {
                                    f.holder_oid = Some(p);
                                }
                                _ => return Err(e),
                            }
                        }
                    }
                    (None, Some(v)) => {
                        let (a, _) = access(c, &caller, v, None)?;
                        authz::read_vendor_systems(&caller, &a)?;
                    }
                    _ => {
                        return Err(ServiceError::invalid(
                            "organization_oid",
                            "name exactly one of organization_oid (the consumer) and vendor_oid",
                        ));
                    }
                }
                Ok(storage::api_keys::list(c, &f, after.clone(), size + 1)?)
            })
            .await?;
        let items = items
            .into_iter()
            .map(|k| self.with_pending_use(k))
            .collect();
        Ok(page_of(items, size, &fp, |k| {
            format!("{}|{}", k.created_at.format("%Y-%m-%dT%H:%M:%S%.f"), k.id)
        }))
    }

    /// Blocks, unblocks or deletes (tombstones) a key. Blocking and deleting stop access and
    /// are open to the head, ORG_ADMIN, key issuers and the holder; unblocking needs the
    /// authority to form keys. A deleted key never comes back.
    pub async fn change_api_key(
        &self,
        caller: &Caller,
        id: String,
        etag: String,
        change: KeyChange,
    ) -> Result<ApiKey, ServiceError> {
        let version = if etag.is_empty() {
            None
        } else {
            Some(super::parse_etag(&etag)?)
        };
        let clock = self.clock.clone();
        let caller = caller.clone();
        let k = self
            .db
            .write(move |c| {
                let now = clock.now();
                let k = key_of(c, &id)?;
                let org = k.organization_oid;
                let (a, _) = access(c, &caller, org, None)?;
                let poa = holds_key_power(c, &caller, org, &k.client_id, now.date())?;
                let own = caller.role == Role::Portal && caller.acting_person == Some(k.holder_oid);
                let allowed = match change {
                    KeyChange::Unblock => authz::form_keys(&caller, &a, poa.is_some())?,
                    KeyChange::Block | KeyChange::Delete => {
                        authz::stop_access(&caller, &a, poa.is_some(), own)?
                    }
                };
                if version.is_some_and(|v| v != k.version) {
                    return Err(ServiceError::stale_etag("API-KEY"));
                }
                let to = match (change, k.state) {
                    (_, KeyState::Deleted) => {
                        return Err(ServiceError::precondition(
                            "API_KEY_DELETED",
                            format!("api_key/{}", k.id),
                            "a deleted API-KEY cannot be changed",
                        ));
                    }
                    (KeyChange::Block, KeyState::Blocked)
                    | (KeyChange::Unblock, KeyState::Active) => {
                        return Ok(k);
                    }
                    (KeyChange::Block, _) => KeyState::Blocked,
                    (KeyChange::Unblock, _) => KeyState::Active,
                    (KeyChange::Delete, _) => KeyState::Deleted,
                };
                if !storage::api_keys::set_state(c, &k, to, now)? {
                    return Err(ServiceError::stale_etag("API-KEY"));
                }
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: match change {
                            KeyChange::Block => "api_key.block",
                            KeyChange::Unblock => "api_key.unblock",
                            KeyChange::Delete => "api_key.delete",
                        },
                        target_type: "api_key",
                        target_id: k.id.clone(),
                        details: serde_json::json!({
                            "client_id": k.client_id,
                            "holder_oid": k.holder_oid,
                        }),
                    },
                    now,
                )?;
                key_of(c, &k.id)
            })
            .await?;
        Ok(self.with_pending_use(k))
    }

    /// The validity check of the token exchange: finds the key by its keyed hash and decides,
    /// from facts read now, whether it works. A working key's use is remembered (flushed later).
    /// The secret is never logged; a malformed key is simply not found.
    pub async fn check_api_key(&self, secret: &str) -> Result<KeyCheck, ServiceError> {
        let check = self.check_api_key_with_subject(secret).await?.0;
        if let Ok(facts) = &check {
            self.record_key_use(&facts.key.id);
        }
        Ok(check)
    }

    /// Remembers that key `id` was used now (written by the next flush).
    pub(super) fn record_key_use(&self, id: &str) {
        self.key_uses.record(id, self.clock.now());
    }

    /// [`Core::check_api_key`] without remembering the use, with the key's subject (its
    /// organisation's OGRN and INN, its holder's SNILS) read by the same statement: the token
    /// exchange records the use itself once a token is issued.
    pub(super) async fn check_api_key_with_subject(
        &self,
        secret: &str,
    ) -> Result<(KeyCheck, Option<storage::tokens::KeySubject>), ServiceError> {
        let Some(canonical) = api_key::parse_key(secret) else {
            return Ok((Err((KeyRefusal::NotFound, None)), None));
        };
        let hashes = self.key_hasher.candidates(canonical.as_bytes());
        let now = self.clock.now();
        let read = self
            .db
            // Each fact is read as of the moment of its statement; none needs a common snapshot
            // with another, so no transaction (and no BEGIN/COMMIT round trips).
            .read_point(move |c| {
                Ok(storage::api_keys::facts_and_subject(
                    c,
                    &hashes,
                    now.date(),
                )?)
            })
            .await?;
        let Some((facts, subject)) = read else {
            return Ok((Err((KeyRefusal::NotFound, None)), None));
        };
        let check = match facts.verdict(now) {
            Ok(()) => Ok(facts),
            Err(r) => Err((r, Some(facts))),
        };
        Ok((check, Some(subject)))
    }

    /// Writes the remembered key uses (see `service::key_use`). Returns how many.
    pub async fn flush_key_uses(&self) -> Result<usize, ServiceError> {
        let uses = self.key_uses.take();
        if uses.is_empty() {
            return Ok(0);
        }
        let n = uses.len();
        let batch = uses.clone();
        let r = self
            .db
            .write(move |c| Ok(storage::api_keys::record_uses(c, &batch)?))
            .await;
        if let Err(e) = r {
            self.key_uses.restore(uses);
            return Err(e);
        }
        Ok(n)
    }
}
