//! Exporting an organisation's audit events as a signed file (JSON Lines or XML, see
//! `domain::audit_export`), streamed in constant memory.
//!
//! Consistency without a long transaction: the export fixes its range at the start (the chain
//! head at that moment) and then pages by sequence up to it; events are append-only, so each
//! page reads the same rows a single snapshot would. The `audit.export` event (who, range,
//! filters, format) is appended in its own transaction right after the range is fixed, so it
//! records every export that started and is never inside the export it describes.

use std::sync::Arc;

use streebog::Digest;
use tokio::sync::mpsc;

use crate::crypto::service_key::ServiceSigner;
use crate::crypto::streebog::Streebog256;
use crate::domain::audit::{AuditEvent, canonical_time};
use crate::domain::audit_checkpoint::Checkpoint;
use crate::domain::audit_export::{ExportFormat, Manifest, ManifestCheckpoint};
use crate::domain::caller::Caller;
use crate::storage::{self, audit::EventFilter};

use super::audit_checkpoints::{cert_fingerprint, org_access};
use super::audit_log::{self, EventSpec};
use super::error::ServiceError;
use super::{Core, authz};

/// Events read per query (and so per chunk).
const BATCH: i64 = 1000;
/// Chunks buffered between the reader and a slow client.
const CHANNEL_CHUNKS: usize = 4;

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub chain: i64,
    pub format: ExportFormat,
    /// First sequence (0 or 1: from the start).
    pub from_seq: i64,
    /// Last sequence (0: up to the head when the export starts).
    pub to_seq: i64,
    pub filter: EventFilter,
}

/// A running export: the file's bytes arrive in chunks on `chunks`; an error ends the stream
/// (the file then lacks its manifest and does not verify).
pub struct ExportStream {
    pub format: ExportFormat,
    pub chain: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    pub chunks: mpsc::Receiver<Result<Vec<u8>, ServiceError>>,
}

/// The filters as a JSON object (sorted keys), empty when none.
fn filters_text(f: &EventFilter) -> String {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    };
    put("actor_client", f.actor_client.clone());
    put("actor_person", f.actor_person.map(|p| p.to_string()));
    put("action", f.action.clone());
    put("target_type", f.target_type.clone());
    put("target_id", f.target_id.clone());
    put("start_time", f.start.as_ref().map(canonical_time));
    put("end_time", f.end.as_ref().map(canonical_time));
    if m.is_empty() {
        String::new()
    } else {
        serde_json::Value::Object(m).to_string()
    }
}

/// What the export fixed at its start.
struct Plan {
    req: ExportRequest,
    from: i64,
    to: i64,
    head_seq: i64,
    head_hash: Vec<u8>,
    checkpoint: Option<Checkpoint>,
    exported_at: chrono::NaiveDateTime,
    exported_by: String,
    exported_for: String,
}

impl Core {
    pub async fn export_events(
        &self,
        caller: &Caller,
        req: ExportRequest,
    ) -> Result<ExportStream, ServiceError> {
        if req.from_seq < 0 {
            return Err(ServiceError::invalid(
                "from_sequence",
                "must not be negative",
            ));
        }
        if req.to_seq < 0 {
            return Err(ServiceError::invalid("to_sequence", "must not be negative"));
        }
        if req.to_seq > 0 && req.to_seq < req.from_seq {
            return Err(ServiceError::invalid(
                "to_sequence",
                "must not be below from_sequence",
            ));
        }
        let signer = self.signer.clone().ok_or_else(|| {
            ServiceError::Unavailable(
                "the service has no signing key (serve --signing-key): exports cannot be signed"
                    .into(),
            )
        })?;
        let now = self.clock.now();
        let c = caller.clone();
        let r = req.clone();
        let (from, to, head_seq, head_hash, checkpoint) = self
            .db
            .write(move |conn| {
                let access = org_access(conn, &c, r.chain)?;
                let allowed = authz::export_audit(&c, r.chain, access.as_ref())?;
                let (head_seq, head_hash) = storage::audit::head(conn, r.chain)?
                    .ok_or_else(|| ServiceError::not_found("audit chain", r.chain))?;
                let to = if r.to_seq == 0 {
                    head_seq
                } else {
                    r.to_seq.min(head_seq)
                };
                let from = r.from_seq.max(1);
                let checkpoint = storage::audit_checkpoints::latest(conn, r.chain, to)?;
                audit_log::append(
                    conn,
                    &allowed,
                    &c,
                    EventSpec {
                        chain: r.chain,
                        action: "audit.export",
                        target_type: "audit_chain",
                        target_id: r.chain.to_string(),
                        details: serde_json::json!({
                            "format": r.format.as_str(),
                            "from_sequence": from,
                            "to_sequence": to,
                            "filters": filters_text(&r.filter),
                        }),
                    },
                    now,
                )?;
                Ok((from, to, head_seq, head_hash, checkpoint))
            })
            .await?;
        let plan = Plan {
            req: req.clone(),
            from,
            to,
            head_seq,
            head_hash,
            checkpoint,
            exported_at: now,
            exported_by: caller.client_name.clone(),
            exported_for: caller
                .acting_person
                .map(|p| p.to_string())
                .unwrap_or_default(),
        };
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let core = self.clone();
        tokio::spawn(async move {
            if let Err(e) = produce(&core, signer, plan, &tx).await {
                tracing::warn!(error = %e, "audit export ended early");
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(ExportStream {
            format: req.format,
            chain: req.chain,
            from_seq: from,
            to_seq: to,
            chunks: rx,
        })
    }
}

/// What the pages told so far.
#[derive(Clone, Default)]
struct Tally {
    count: i64,
    first: Option<(i64, Vec<u8>)>,
    last: Option<(i64, Vec<u8>)>,
}

/// Reads the range page by page and sends it, then signs and sends the manifest. Two stages
/// overlap on the blocking pool: while one page is digested (Streebog-256 is the costliest step)
/// the next is read and formatted; at most two pages are in hand besides the channel's.
async fn produce(
    core: &Core,
    signer: Arc<ServiceSigner>,
    plan: Plan,
    tx: &mpsc::Sender<Result<Vec<u8>, ServiceError>>,
) -> Result<(), ServiceError> {
    let format = plan.req.format;
    let mut hasher = Some(Streebog256::new());
    let mut tally = Tally::default();
    let mut inflight: Option<tokio::task::JoinHandle<(Streebog256, Vec<u8>)>> = None;
    let mut next: Option<Vec<u8>> = Some(format.header().to_vec());
    let mut after = plan.from - 1;
    let mut more = after < plan.to;
    loop {
        // Stage 1 (next page) and stage 2 (the previous page's digest) run at once.
        let read = async {
            if !more {
                return Ok(None);
            }
            let (chain, to, filter) = (plan.req.chain, plan.to, plan.req.filter.clone());
            core.db
                .read_one(move |c| {
                    let batch = storage::audit::list_range(c, chain, &filter, after, to, BATCH)?;
                    Ok(Some(format_batch(format, &batch)))
                })
                .await
        };
        let digested = async {
            match inflight.take() {
                Some(h) => h.await.map(Some),
                None => Ok(None),
            }
        };
        let (page, done) = tokio::join!(read, digested);
        if let Some((h, chunk)) =
            done.map_err(|e| ServiceError::Internal(format!("digest task: {e}")))?
        {
            hasher = Some(h);
            if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                // The client went away.
                return Ok(());
            }
        }
        let page = page?;
        if let Some(p) = page {
            tally.add(&p);
            more = p.count == BATCH && p.last_seq < plan.to;
            after = p.last_seq;
            next = Some(match next.take() {
                Some(mut header) => {
                    header.extend_from_slice(&p.bytes);
                    header
                }
                None => p.bytes,
            });
        }
        match (next.take(), hasher.take()) {
            (Some(chunk), Some(mut h)) => {
                inflight = Some(tokio::task::spawn_blocking(move || {
                    h.update(&chunk);
                    (h, chunk)
                }));
            }
            (_, Some(h)) => {
                hasher = Some(h);
                break;
            }
            (_, None) => return Err(ServiceError::Internal("export digest lost".into())),
        }
    }
    let hasher = hasher.ok_or_else(|| ServiceError::Internal("export digest lost".into()))?;
    let digest: [u8; 32] = hasher.finalize().into();
    let manifest = manifest(&plan, &tally, &digest, &signer);
    let bytes = manifest.signed_bytes();
    let at = plan.exported_at.and_utc();
    let line = tokio::task::spawn_blocking(move || {
        signer
            .sign_detached(&bytes, at)
            .map(|sig| format.manifest_line(&manifest, &sig))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("signing task: {e}")))?
    .map_err(|e| ServiceError::Internal(format!("signing the export manifest: {e}")))?;
    let _ = tx.send(Ok(line)).await;
    Ok(())
}

/// One formatted page.
struct PageOut {
    bytes: Vec<u8>,
    count: i64,
    first: Option<(i64, Vec<u8>)>,
    last: Option<(i64, Vec<u8>)>,
    last_seq: i64,
}

impl Tally {
    fn add(&mut self, p: &PageOut) {
        self.count += p.count;
        if self.first.is_none() {
            self.first = p.first.clone();
        }
        if p.last.is_some() {
            self.last = p.last.clone();
        }
    }
}

fn format_batch(format: ExportFormat, batch: &[AuditEvent]) -> PageOut {
    let mut bytes = Vec::with_capacity(batch.len() * 600);
    for e in batch {
        format.write_event(e, &mut bytes);
    }
    PageOut {
        bytes,
        count: batch.len() as i64,
        first: batch.first().map(|e| (e.seq, e.hash.clone())),
        last: batch.last().map(|e| (e.seq, e.hash.clone())),
        last_seq: batch.last().map(|e| e.seq).unwrap_or(i64::MAX),
    }
}

fn manifest(plan: &Plan, t: &Tally, digest: &[u8; 32], signer: &ServiceSigner) -> Manifest {
    let filters = filters_text(&plan.req.filter);
    let (first_seq, first_hash) = t.first.clone().unwrap_or_default();
    let (last_seq, last_hash) = t.last.clone().unwrap_or_default();
    Manifest {
        format: plan.req.format,
        chain: plan.req.chain,
        from_seq: plan.from,
        to_seq: plan.to,
        complete: filters.is_empty(),
        filters,
        count: t.count,
        first_seq,
        first_hash: hex::encode(first_hash),
        last_seq,
        last_hash: hex::encode(last_hash),
        content_digest: hex::encode(digest),
        head_seq: plan.head_seq,
        head_hash: hex::encode(&plan.head_hash),
        checkpoint: plan.checkpoint.as_ref().map(|c| ManifestCheckpoint {
            seq: c.seq,
            hash: hex::encode(&c.hash),
            time: canonical_time(&c.signed_at),
            cert_fingerprint: hex::encode(&c.cert_fingerprint),
            signature: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &c.signature,
            ),
        }),
        exported_at: canonical_time(&plan.exported_at),
        exported_by: plan.exported_by.clone(),
        exported_for_person: plan.exported_for.clone(),
        cert_fingerprint: hex::encode(cert_fingerprint(signer)),
    }
}
