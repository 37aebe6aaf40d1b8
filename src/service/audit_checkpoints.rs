//! Signed checkpoints: the service signs a chain's head (sequence, hash, time, certificate
//! fingerprint) with its GOST key, periodically (`serve --checkpoint-interval-secs`) and on
//! demand, and stores the checkpoint append-only.
//!
//! Signing a checkpoint writes no audit event: an event would move the very head the checkpoint
//! signs, so a periodic signer would never reach a head it had signed. The checkpoints table is
//! its own append-only log (database triggers refuse UPDATE and DELETE), and each row names the
//! moment and the certificate in its signed bytes.

use crate::crypto::service_key::ServiceSigner;
use crate::crypto::streebog::streebog256;
use crate::domain::audit::{PLATFORM_CHAIN, canonical_time};
use crate::domain::audit_checkpoint::{Checkpoint, checkpoint_bytes};
use crate::domain::caller::Caller;
use crate::storage::{self, DbConnection};

use super::error::ServiceError;
use super::{Core, Page, authz, numeric_key, page_of, page_start};
use crate::domain::page;

/// How many chains the periodic signer reads at a time.
const STALE_BATCH: i64 = 100;

/// The acting person's standing in an organisation (portals), after checking it exists.
pub(crate) fn org_access(
    conn: &mut DbConnection,
    caller: &Caller,
    chain: i64,
) -> Result<Option<authz::OrgAccess>, ServiceError> {
    if chain == PLATFORM_CHAIN {
        return Ok(None);
    }
    if chain < 0 {
        return Err(ServiceError::invalid(
            "organization_oid",
            "must be 0 (platform) or an organisation OID",
        ));
    }
    match caller.acting_person {
        Some(_) => Ok(Some(super::employees::access(conn, caller, chain, None)?.0)),
        None => {
            storage::organizations::get(conn, chain)?
                .ok_or_else(|| ServiceError::not_found("organization", chain))?;
            Ok(None)
        }
    }
}

fn signer_of(core: &Core) -> Result<std::sync::Arc<ServiceSigner>, ServiceError> {
    core.signer.clone().ok_or_else(|| {
        ServiceError::Unavailable(
            "the service has no signing key (serve --signing-key): it cannot sign checkpoints or exports"
                .into(),
        )
    })
}

/// Streebog-256 of the signing certificate's DER.
pub fn cert_fingerprint(signer: &ServiceSigner) -> Vec<u8> {
    streebog256(signer.certificate().der()).to_vec()
}

/// Signs (chain, seq, hash) at `now`.
fn sign(
    signer: &ServiceSigner,
    chain: i64,
    seq: i64,
    hash: Vec<u8>,
    now: chrono::NaiveDateTime,
) -> Result<Checkpoint, ServiceError> {
    let fp = cert_fingerprint(signer);
    let bytes = checkpoint_bytes(chain, seq, &hash, &canonical_time(&now), &fp);
    let signature = signer
        .sign_detached(&bytes, now.and_utc())
        .map_err(|e| ServiceError::Internal(format!("signing a checkpoint: {e}")))?;
    Ok(Checkpoint {
        chain,
        seq,
        hash,
        signed_at: now,
        cert_fingerprint: fp,
        signature,
    })
}

impl Core {
    /// Signs and stores a checkpoint of `chain`'s current head; when the head already has one,
    /// returns that one.
    pub async fn create_checkpoint(
        &self,
        caller: &Caller,
        chain: i64,
    ) -> Result<Checkpoint, ServiceError> {
        let signer = signer_of(self)?;
        let c = caller.clone();
        let (seq, hash, existing) = self
            .db
            .read(move |conn| {
                let access = org_access(conn, &c, chain)?;
                authz::create_checkpoint(&c, chain, access.as_ref())?;
                let (seq, hash) = storage::audit::head(conn, chain)?
                    .ok_or_else(|| ServiceError::not_found("audit chain", chain))?;
                let existing = storage::audit_checkpoints::get(conn, chain, seq)?;
                Ok((seq, hash, existing))
            })
            .await?;
        if let Some(cp) = existing {
            return Ok(cp);
        }
        if seq == 0 {
            return Err(ServiceError::precondition(
                "EMPTY_CHAIN",
                format!("audit chain {chain}"),
                "the chain has no events yet: there is nothing to sign",
            ));
        }
        self.store_checkpoint(signer, chain, seq, hash).await
    }

    async fn store_checkpoint(
        &self,
        signer: std::sync::Arc<ServiceSigner>,
        chain: i64,
        seq: i64,
        hash: Vec<u8>,
    ) -> Result<Checkpoint, ServiceError> {
        let now = self.clock.now();
        let cp = tokio::task::spawn_blocking(move || sign(&signer, chain, seq, hash, now))
            .await
            .map_err(|e| ServiceError::Internal(format!("signing task: {e}")))??;
        self.db
            .write(move |conn| {
                if storage::audit_checkpoints::insert(conn, &cp)? {
                    return Ok(cp.clone());
                }
                // Another replica signed the same head first: keep its checkpoint.
                storage::audit_checkpoints::get(conn, cp.chain, cp.seq)?
                    .ok_or_else(|| ServiceError::Internal("checkpoint vanished".into()))
            })
            .await
    }

    /// One chain's checkpoints, newest first, paginated.
    pub async fn list_checkpoints(
        &self,
        caller: &Caller,
        chain: i64,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<Checkpoint>, ServiceError> {
        let fp = page::fingerprint(&[&chain.to_string()]);
        let (size, before) = page_start(page_size, page_token, &fp)?;
        let before = numeric_key(before)?.unwrap_or(i64::MAX);
        let caller = caller.clone();
        let items = self
            .db
            .read(move |conn| {
                super::audit::authorize_chain(conn, &caller, chain)?;
                Ok(storage::audit_checkpoints::list(
                    conn,
                    chain,
                    before,
                    size + 1,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |c| c.seq.to_string()))
    }

    pub async fn get_checkpoint(
        &self,
        caller: &Caller,
        chain: i64,
        seq: i64,
    ) -> Result<Checkpoint, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |conn| {
                super::audit::authorize_chain(conn, &caller, chain)?;
                storage::audit_checkpoints::get(conn, chain, seq)?.ok_or_else(|| {
                    ServiceError::not_found("audit checkpoint", format!("{chain}/{seq}"))
                })
            })
            .await
    }

    /// Signs a checkpoint of every chain whose head moved past its latest checkpoint; returns
    /// how many were signed. Run periodically by the server; needs the signing key.
    pub async fn checkpoint_stale_chains(&self) -> Result<usize, ServiceError> {
        let signer = signer_of(self)?;
        let mut after = -1;
        let mut signed = 0;
        loop {
            let heads = self
                .db
                .read_one(move |c| {
                    Ok(storage::audit_checkpoints::stale_heads(
                        c,
                        after,
                        STALE_BATCH,
                    )?)
                })
                .await?;
            let n = heads.len() as i64;
            for (chain, seq, hash) in heads {
                after = chain;
                self.store_checkpoint(signer.clone(), chain, seq, hash)
                    .await?;
                signed += 1;
            }
            if n < STALE_BATCH {
                return Ok(signed);
            }
        }
    }
}
