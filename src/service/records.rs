//! Exporting an organisation's records as one signed archive (`docs/RECORDS.md`): its powers of
//! attorney (each document with its head's signature, revocations, import results), the
//! API-KEY register (metadata only) and the token issuance log of a period, with a manifest
//! listing every file's Streebog-256 signed by the service key (detached CAdES-BES).
//!
//! Two transactions, on purpose:
//! 1. one read-only snapshot (REPEATABLE READ on PostgreSQL) checks access and writes the whole
//!    archive to an anonymous temporary file, a batch of rows at a time; the manifest records
//!    the organisation's audit chain head that snapshot saw;
//! 2. one write transaction checks access again and appends `records.export` (who, the period,
//!    the manifest's Streebog-256, the snapshot's audit sequence) to the organisation's chain.
//!
//! Only then is the first byte sent, so no archive leaves without its event. A single write
//! transaction would hold SQLite's writer lock (and, on PostgreSQL, the chain head's row lock)
//! for the whole build, stopping every token issuance of the organisation meanwhile; records are
//! never changed or deleted, so the snapshot is a prefix of the chain, identified by the audit
//! head in the manifest, and the export event follows it on the same chain.

use std::io::Read;

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::json;

use crate::crypto::cert::Certificate;
use crate::crypto::service_key::ServiceSigner;
use crate::crypto::streebog::streebog256;
use crate::domain::api_key::ApiKey;
use crate::domain::caller::Caller;
use crate::domain::organization::Organization;
use crate::domain::poa::{PowerOfAttorney, StoredState};
use crate::domain::records::{
    self as rec, Counts, FORMAT, Manifest, ManifestOrganization, ManifestSigner, Period, Snapshot,
};
use crate::domain::token::Issuance;
use crate::storage::{self, DbConnection};

use super::audit_log::{self, EventSpec};
use super::authz::{self, Allowed};
use super::error::ServiceError;
use super::poa_revoke::revocation_file_name;
use super::records_archive::{ArchiveWriter, Spool};
use super::{Core, employees};

/// Rows read per query.
const POA_BATCH: i64 = 200;
const KEY_BATCH: i64 = 2_000;
const ISSUANCE_BATCH: i64 = 5_000;
/// Bytes per streamed chunk.
pub const CHUNK: usize = 64 * 1024;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRecords {
    pub organization_oid: i64,
    /// The token issuance log from this time (None: from the beginning)…
    pub from: Option<NaiveDateTime>,
    /// …to this one, exclusive (None: up to the export's snapshot).
    pub to: Option<NaiveDateTime>,
}

/// What the caller learns before the bytes.
#[derive(Debug, Clone)]
pub struct ArchiveInfo {
    pub file_name: String,
    pub size: u64,
    /// Streebog-256 of `manifest.json`, hex (as the export event records it).
    pub manifest_streebog256: String,
    pub counts: Counts,
    pub period: Period,
    /// The sequence of the `records.export` event on the organisation's chain.
    pub audit_sequence: i64,
}

/// An export: its description, then the archive's bytes in chunks.
#[derive(Debug)]
pub struct RecordsExport {
    pub info: ArchiveInfo,
    pub chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, ServiceError>>,
}

fn io_error(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("writing the records archive: {e}"))
}

fn time(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_time(t: Option<NaiveDateTime>) -> serde_json::Value {
    t.map(time).into()
}

/// The organisation and the capability, checked inside the current transaction.
fn authorize(
    c: &mut DbConnection,
    caller: &Caller,
    oid: i64,
) -> Result<(Organization, Allowed), ServiceError> {
    let org = storage::organizations::get(c, oid)?
        .ok_or_else(|| ServiceError::not_found("organization", oid))?;
    let access = match caller.acting_person {
        Some(_) => Some(employees::access(c, caller, oid, None)?.0),
        None => None,
    };
    let allowed = authz::export_records(caller, &org, access.as_ref())?;
    Ok((org, allowed))
}

/// The archive written by the snapshot read.
struct Built {
    file: std::fs::File,
    size: u64,
    manifest_hash: String,
    files: usize,
    counts: Counts,
    snapshot: Option<Snapshot>,
}

fn poa_line(
    p: &PowerOfAttorney,
    sig: &storage::records::SignatureRecord,
    revoked_at: Option<NaiveDateTime>,
    files: &[String],
) -> serde_json::Value {
    let powers: Vec<_> = p
        .powers
        .iter()
        .map(|g| json!({"code": g.code, "information_system": g.information_system}))
        .collect();
    json!({
        "number": p.number,
        "internal_number": p.internal_number,
        "state": p.stored_state.as_str(),
        "origin": if p.imported { "imported" } else { "issued" },
        "principal_person_oid": p.principal_person_oid,
        "representative_person_oid": p.representative_person_oid,
        "start_date": p.start_date.to_string(),
        "end_date": p.end_date.to_string(),
        "revocable": p.revocable,
        "redelegation": p.redelegation.as_str(),
        "powers": powers,
        "signed_at": time(sig.signed_at),
        "signing_time": opt_time(sig.signing_time),
        "revoked_at": opt_time(revoked_at),
        "files": files,
    })
}

fn import_result(
    p: &PowerOfAttorney,
    doc: &[u8],
    sig: &storage::records::SignatureRecord,
) -> serde_json::Value {
    let cert = Certificate::from_der(&sig.signer_certificate).ok();
    json!({
        "number": p.number,
        "verdict": "VALID",
        "imported_at": time(sig.signed_at),
        "signer": cert.as_ref().map(Certificate::describe),
        "certificate_serial": cert.as_ref().map(Certificate::serial_hex),
        "signing_time": opt_time(sig.signing_time),
        "document_streebog256": hex::encode(streebog256(doc)),
        "signature_streebog256": hex::encode(streebog256(&sig.signature)),
    })
}

fn key_line(k: &ApiKey) -> serde_json::Value {
    json!({
        "id": k.id,
        "prefix": k.prefix,
        "client_id": k.client_id,
        "organization_oid": k.organization_oid,
        "holder_oid": k.holder_oid,
        "issuer_oid": k.issuer_oid,
        "poa_number": k.poa_number,
        "state": k.state.as_str(),
        "valid_from": time(k.valid_from),
        "valid_until": time(k.valid_until),
        "last_used_at": opt_time(k.last_used_at),
        "created_at": time(k.created_at),
        "updated_at": time(k.updated_at),
        "version": k.version,
    })
}

fn issuance_line(i: &Issuance) -> serde_json::Value {
    json!({
        "sid": i.sid,
        "key_id": i.key_id,
        "client_id": i.client_id,
        "organization_oid": i.organization_oid,
        "holder_oid": i.holder_oid,
        "issued_at": time(i.issued_at),
        "expires_at": time(i.expires_at),
        "client_addr": i.client_addr,
        "signer_serial": i.signer_serial,
        "signer_thumbprint": i.signer_thumbprint,
        "signer_kind": i.signer_kind,
        "signing_time": time(i.signing_time),
    })
}

/// The powers of attorney: each signed one's folder, then the index.
fn write_poas(
    c: &mut DbConnection,
    w: &mut ArchiveWriter,
    org: i64,
    counts: &mut Counts,
) -> Result<(), ServiceError> {
    let filter = storage::poa::PoaFilter {
        organization_oid: org,
        stored_states: Some(vec![StoredState::Signed, StoredState::Revoked]),
        ..Default::default()
    };
    let mut index = Spool::new().map_err(io_error)?;
    let mut after = None;
    loop {
        let batch = storage::poa::list(c, &filter, after.clone(), POA_BATCH)?;
        let numbers: Vec<String> = batch.iter().map(|p| p.number.clone()).collect();
        let mut docs = storage::records::documents_of(c, &numbers)?;
        let mut sigs = storage::records::signatures_of(c, &numbers)?;
        let mut revs = storage::records::revocations_of(c, &numbers)?;
        for p in &batch {
            let missing = |what: &str| {
                ServiceError::Internal(format!(
                    "power of attorney {} is signed but its {what} is not stored",
                    p.number
                ))
            };
            let doc = docs.remove(&p.number).ok_or_else(|| missing("document"))?;
            let sig = sigs.remove(&p.number).ok_or_else(|| missing("signature"))?;
            let doc_path = rec::poa_path(&p.number, &p.file_name());
            let mut files = vec![doc_path.clone(), rec::sig_path(&doc_path)];
            w.add(&doc_path, &doc).map_err(io_error)?;
            w.add(&rec::sig_path(&doc_path), &sig.signature)
                .map_err(io_error)?;
            let rev = revs.remove(&p.number);
            if let Some(r) = &rev {
                let path = rec::poa_path(&p.number, &revocation_file_name(&p.number, r.revoked_at));
                w.add(&path, &r.statement).map_err(io_error)?;
                w.add(&rec::sig_path(&path), &r.signature)
                    .map_err(io_error)?;
                files.push(path.clone());
                files.push(rec::sig_path(&path));
                counts.revocations += 1;
            }
            if p.imported {
                let path = rec::poa_path(&p.number, rec::IMPORT_RESULT);
                let body = serde_json::to_vec_pretty(&import_result(p, &doc, &sig))
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                w.add(&path, &body).map_err(io_error)?;
                files.push(path);
                counts.imports += 1;
            }
            index
                .json_line(&poa_line(p, &sig, rev.map(|r| r.revoked_at), &files))
                .map_err(io_error)?;
            counts.powers_of_attorney += 1;
        }
        if (batch.len() as i64) < POA_BATCH {
            break;
        }
        after = batch.last().map(|p| (p.created_at, p.number.clone()));
    }
    w.add_spooled(rec::POA_INDEX, index).map_err(io_error)
}

fn write_keys(
    c: &mut DbConnection,
    w: &mut ArchiveWriter,
    org: i64,
    counts: &mut Counts,
) -> Result<(), ServiceError> {
    let filter = storage::api_keys::KeyFilter {
        organization_oid: Some(org),
        ..Default::default()
    };
    let mut out = Spool::new().map_err(io_error)?;
    let mut after = None;
    loop {
        let batch = storage::api_keys::list(c, &filter, after.clone(), KEY_BATCH)?;
        for k in &batch {
            out.json_line(&key_line(k)).map_err(io_error)?;
            counts.api_keys += 1;
        }
        if (batch.len() as i64) < KEY_BATCH {
            break;
        }
        after = batch.last().map(|k| (k.created_at, k.id.clone()));
    }
    w.add_spooled(rec::API_KEYS, out).map_err(io_error)
}

fn write_issuances(
    c: &mut DbConnection,
    w: &mut ArchiveWriter,
    org: i64,
    period: Period,
    counts: &mut Counts,
) -> Result<(), ServiceError> {
    let mut out = Spool::new().map_err(io_error)?;
    let mut after: Option<(NaiveDateTime, String)> = None;
    loop {
        let batch = storage::records::token_issuances(
            c,
            org,
            period.from,
            period.to,
            after.as_ref(),
            ISSUANCE_BATCH,
        )?;
        for i in &batch {
            out.json_line(&issuance_line(i)).map_err(io_error)?;
            counts.token_issuances += 1;
        }
        if (batch.len() as i64) < ISSUANCE_BATCH {
            break;
        }
        after = batch.last().map(|i| (i.issued_at, i.sid.clone()));
    }
    w.add_spooled(rec::TOKEN_ISSUANCES, out).map_err(io_error)
}

/// Writes the whole archive from the current snapshot.
fn build(
    c: &mut DbConnection,
    org: &Organization,
    period: Period,
    now: NaiveDateTime,
    signer: &ServiceSigner,
) -> Result<Built, ServiceError> {
    let snapshot = storage::audit::head(c, org.oid)?.map(|(seq, hash)| Snapshot {
        audit_sequence: seq,
        audit_hash: hex::encode(hash),
    });
    let mut w = ArchiveWriter::new(now).map_err(io_error)?;
    let mut counts = Counts::default();
    write_poas(c, &mut w, org.oid, &mut counts)?;
    write_keys(c, &mut w, org.oid, &mut counts)?;
    write_issuances(c, &mut w, org.oid, period, &mut counts)?;
    let cert = signer.certificate();
    let manifest = Manifest {
        format: FORMAT.into(),
        organization: ManifestOrganization {
            oid: org.oid,
            ogrn: org.ogrn.clone(),
            inn: org.inn.clone(),
            name: org.full_name.clone(),
        },
        period,
        generated_at: now,
        snapshot: snapshot.clone(),
        service_certificate: ManifestSigner {
            subject: cert.subject().to_owned(),
            serial: cert.serial_hex(),
            streebog256: hex::encode(streebog256(cert.der())),
        },
        counts,
        files: w.files().to_vec(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ServiceError::Internal(format!("manifest: {e}")))?;
    let signature = signer
        .sign_detached(&bytes, now.and_utc())
        .map_err(|e| ServiceError::Internal(format!("signing the manifest: {e}")))?;
    let files = manifest.files.len();
    let (file, size) = w.finish(&bytes, &signature).map_err(io_error)?;
    Ok(Built {
        file,
        size,
        manifest_hash: hex::encode(streebog256(&bytes)),
        files,
        counts,
        snapshot,
    })
}

/// Sends the file in chunks from a blocking thread; stops when the receiver goes away.
fn stream_file(
    mut file: std::fs::File,
) -> tokio::sync::mpsc::Receiver<Result<Vec<u8>, ServiceError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let item = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(e) => Err(io_error(e)),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

impl Core {
    pub async fn export_records(
        &self,
        caller: &Caller,
        q: ExportRecords,
    ) -> Result<RecordsExport, ServiceError> {
        if q.organization_oid <= 0 {
            return Err(ServiceError::invalid(
                "organization_oid",
                "is required: the organisation whose records to export",
            ));
        }
        let now = self.clock.now();
        let period = Period {
            from: q.from,
            to: q.to,
        };
        if period.from.is_some_and(|f| f >= period.to.unwrap_or(now)) {
            return Err(ServiceError::invalid(
                "start_time",
                "must be before end_time (or before now, when end_time is not given)",
            ));
        }
        let signer = self.signer.clone().ok_or_else(|| {
            ServiceError::NotConfigured(
                "this service has no signing key (serve --signing-key --signing-cert), so it signs no records archive".into(),
            )
        })?;
        let oid = q.organization_oid;
        let c2 = caller.clone();
        let built = self
            .db
            .read(move |c| {
                storage::records::begin_snapshot(c)?;
                let (org, _) = authorize(c, &c2, oid)?;
                build(c, &org, period, now, &signer)
            })
            .await?;
        let clock = self.clock.clone();
        let c3 = caller.clone();
        let details = json!({
            "period_from": opt_time(period.from),
            "period_to": opt_time(period.to),
            "manifest_streebog256": built.manifest_hash,
            "archive_bytes": built.size,
            "files": built.files,
            "counts": built.counts,
            "snapshot_audit_sequence": built.snapshot.as_ref().map(|s| s.audit_sequence),
        });
        let event = self
            .db
            .write(move |c| {
                let (org, allowed) = authorize(c, &c3, oid)?;
                audit_log::append(
                    c,
                    &allowed,
                    &c3,
                    EventSpec {
                        chain: org.oid,
                        action: "records.export",
                        target_type: "organization",
                        target_id: org.oid.to_string(),
                        details: details.clone(),
                    },
                    clock.now(),
                )
            })
            .await?;
        let info = ArchiveInfo {
            file_name: format!("orgadm-records-{oid}-{}.tar", now.format("%Y%m%dT%H%M%SZ")),
            size: built.size,
            manifest_streebog256: built.manifest_hash,
            counts: built.counts,
            period,
            audit_sequence: event.seq,
        };
        Ok(RecordsExport {
            info,
            chunks: stream_file(built.file),
        })
    }
}
