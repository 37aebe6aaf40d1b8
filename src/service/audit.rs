//! Reading and verifying the audit chains.

use crate::domain::audit::{AuditEvent, ChainVerifier, PLATFORM_CHAIN};
use crate::domain::caller::Caller;
use crate::domain::page;
pub use crate::storage::audit::EventFilter;
use crate::storage::{self, DbConnection};

use super::error::ServiceError;
use super::{Core, Page, authz, numeric_key, page_of, page_start};

#[derive(Debug, Clone, Default)]
pub struct ListEvents {
    pub chain: i64,
    pub filter: EventFilter,
    pub page_size: i32,
    pub page_token: String,
}

/// The outcome of recomputing a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerdict {
    pub checked: i64,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
    pub broken: Option<(i64, String)>,
}

const VERIFY_BATCH: i64 = 1000;

/// Checks access to a chain inside the caller's transaction.
pub(crate) fn authorize_chain(
    conn: &mut DbConnection,
    caller: &Caller,
    chain: i64,
) -> Result<(), ServiceError> {
    if chain == PLATFORM_CHAIN {
        authz::read_audit(caller, chain, None, None)?;
    } else {
        let org = storage::organizations::get(conn, chain)?
            .ok_or_else(|| ServiceError::not_found("organization", chain))?;
        let access = match caller.acting_person {
            Some(_) => Some(super::employees::access(conn, caller, chain, None)?.0),
            None => None,
        };
        authz::read_audit(caller, chain, Some(&org), access.as_ref())?;
    }
    Ok(())
}

impl Core {
    pub async fn list_events(
        &self,
        caller: &Caller,
        q: ListEvents,
    ) -> Result<Page<AuditEvent>, ServiceError> {
        if q.chain < 0 {
            return Err(ServiceError::invalid(
                "organization_oid",
                "must be 0 (platform) or an organisation OID",
            ));
        }
        let f = q.filter;
        let fp = page::fingerprint(&[
            &q.chain.to_string(),
            f.actor_client.as_deref().unwrap_or(""),
            &f.actor_person.unwrap_or(0).to_string(),
            f.action.as_deref().unwrap_or(""),
            f.target_type.as_deref().unwrap_or(""),
            f.target_id.as_deref().unwrap_or(""),
            &f.start.map(|t| t.to_string()).unwrap_or_default(),
            &f.end.map(|t| t.to_string()).unwrap_or_default(),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = numeric_key(after)?.unwrap_or(0);
        let caller = caller.clone();
        let chain = q.chain;
        let items = self
            .db
            .read(move |c| {
                authorize_chain(c, &caller, chain)?;
                Ok(storage::audit::list(c, chain, &f, after, size + 1)?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |e| e.seq.to_string()))
    }

    /// Recomputes every hash and link of a chain in one consistent snapshot, in batches so memory
    /// stays constant, and compares the end with the stored head.
    pub async fn verify_chain(
        &self,
        caller: &Caller,
        chain: i64,
    ) -> Result<ChainVerdict, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                authorize_chain(c, &caller, chain)?;
                let (head_seq, head_hash) = storage::audit::head(c, chain)?
                    .ok_or_else(|| ServiceError::not_found("audit chain", chain))?;
                let mut v = ChainVerifier::new();
                let mut after = 0;
                'outer: loop {
                    let batch = storage::audit::list(
                        c,
                        chain,
                        &EventFilter::default(),
                        after,
                        VERIFY_BATCH,
                    )?;
                    let n = batch.len() as i64;
                    for e in &batch {
                        if !v.push(e) {
                            break 'outer;
                        }
                        after = e.seq;
                    }
                    if n < VERIFY_BATCH {
                        break;
                    }
                }
                let r = v.finish(head_seq, &head_hash);
                Ok(ChainVerdict {
                    checked: r.checked,
                    head_seq,
                    head_hash,
                    broken: r.broken,
                })
            })
            .await
    }
}
