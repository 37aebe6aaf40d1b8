//! The export manifest: what an export holds, signed by the service.
//!
//! Its canonical encoding (version 1), which the detached CAdES-BES signature covers, is
//! `"orgadm-audit-manifest-v1" ‖ F(name₁) ‖ F(value₁) ‖ …` over [`MANIFEST_FIELDS`] in that
//! order, every value as text, `F(x)` = u32 big-endian length ‖ bytes. Both file formats carry
//! the same fields, so the same bytes are signed whatever the format.

use super::{EXPORT_VERSION, ExportFormat};

/// The manifest's fields, in their signed order.
pub const MANIFEST_FIELDS: [&str; 24] = [
    "version",
    "format",
    "organization_oid",
    "from_sequence",
    "to_sequence",
    "filters",
    "complete",
    "event_count",
    "first_sequence",
    "first_hash",
    "last_sequence",
    "last_hash",
    "content_digest",
    "head_sequence",
    "head_hash",
    "checkpoint_sequence",
    "checkpoint_hash",
    "checkpoint_time",
    "checkpoint_certificate_fingerprint",
    "checkpoint_signature",
    "exported_at",
    "exported_by",
    "exported_for_person",
    "certificate_fingerprint",
];

/// The latest signed checkpoint at or below the export's last sequence, as the manifest names
/// it (hex hashes, base64 signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestCheckpoint {
    pub seq: i64,
    pub hash: String,
    pub time: String,
    pub cert_fingerprint: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub format: ExportFormat,
    pub chain: i64,
    /// The sequence range the export covers (fixed at its start).
    pub from_seq: i64,
    pub to_seq: i64,
    /// The filters as a JSON object text (empty when none).
    pub filters: String,
    /// True when no filter applied: every event of the range is in the export.
    pub complete: bool,
    pub count: i64,
    pub first_seq: i64,
    /// Hex, empty when the export has no events (also `last_hash`).
    pub first_hash: String,
    pub last_seq: i64,
    pub last_hash: String,
    /// Hex Streebog-256 of every byte before the manifest line.
    pub content_digest: String,
    /// The chain head when the export started.
    pub head_seq: i64,
    pub head_hash: String,
    pub checkpoint: Option<ManifestCheckpoint>,
    /// RFC 3339 UTC with microseconds.
    pub exported_at: String,
    /// The API client that exported, and the person a portal acted for ("" when none).
    pub exported_by: String,
    pub exported_for_person: String,
    /// Hex Streebog-256 of the signing certificate's DER.
    pub cert_fingerprint: String,
}

fn num(name: &str, v: &str) -> Result<i64, String> {
    v.parse::<i64>()
        .map_err(|_| format!("manifest field {name} is not a number: {v:?}"))
}

impl Manifest {
    /// The fields as (name, value) in [`MANIFEST_FIELDS`] order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let cp = self.checkpoint.clone();
        let cpv = |f: fn(&ManifestCheckpoint) -> String| cp.as_ref().map(f).unwrap_or_default();
        let values = [
            EXPORT_VERSION.to_owned(),
            self.format.as_str().to_owned(),
            self.chain.to_string(),
            self.from_seq.to_string(),
            self.to_seq.to_string(),
            self.filters.clone(),
            self.complete.to_string(),
            self.count.to_string(),
            self.first_seq.to_string(),
            self.first_hash.clone(),
            self.last_seq.to_string(),
            self.last_hash.clone(),
            self.content_digest.clone(),
            self.head_seq.to_string(),
            self.head_hash.clone(),
            cp.as_ref().map(|c| c.seq.to_string()).unwrap_or_default(),
            cpv(|c| c.hash.clone()),
            cpv(|c| c.time.clone()),
            cpv(|c| c.cert_fingerprint.clone()),
            cpv(|c| c.signature.clone()),
            self.exported_at.clone(),
            self.exported_by.clone(),
            self.exported_for_person.clone(),
            self.cert_fingerprint.clone(),
        ];
        MANIFEST_FIELDS.into_iter().zip(values).collect()
    }

    /// The bytes the manifest's signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = b"orgadm-audit-manifest-v1".to_vec();
        for (name, value) in self.fields() {
            for f in [name.as_bytes(), value.as_bytes()] {
                out.extend_from_slice(&(f.len() as u32).to_be_bytes());
                out.extend_from_slice(f);
            }
        }
        out
    }

    /// Rebuilds a manifest from the (name, value) pairs read from a file, plus the signature
    /// (field `signature`, base64). Every field must be present once; no other field may be.
    pub fn from_fields(pairs: Vec<(String, String)>) -> Result<(Manifest, Vec<u8>), String> {
        use base64::Engine;
        let mut values: Vec<Option<String>> = vec![None; MANIFEST_FIELDS.len()];
        let mut signature = None;
        for (name, value) in pairs {
            if name == "signature" {
                if signature.replace(value).is_some() {
                    return Err("the manifest has two signatures".into());
                }
                continue;
            }
            let i = MANIFEST_FIELDS
                .iter()
                .position(|f| *f == name)
                .ok_or_else(|| format!("the manifest has an unknown field {name:?}"))?;
            if values[i].replace(value).is_some() {
                return Err(format!("the manifest has field {name} twice"));
            }
        }
        let mut get = |name: &str| -> Result<String, String> {
            let i = MANIFEST_FIELDS
                .iter()
                .position(|f| *f == name)
                .ok_or_else(|| format!("no manifest field {name}"))?;
            values[i]
                .take()
                .ok_or_else(|| format!("the manifest lacks field {name}"))
        };
        let version = get("version")?;
        if version != EXPORT_VERSION {
            return Err(format!(
                "manifest version {version:?} is not {EXPORT_VERSION}"
            ));
        }
        let format = get("format")?;
        let format = ExportFormat::parse(&format)
            .ok_or_else(|| format!("manifest format {format:?} is unknown"))?;
        let n = |name: &str, v: String| num(name, &v);
        let chain = n("organization_oid", get("organization_oid")?)?;
        let from_seq = n("from_sequence", get("from_sequence")?)?;
        let to_seq = n("to_sequence", get("to_sequence")?)?;
        let filters = get("filters")?;
        let complete = match get("complete")?.as_str() {
            "true" => true,
            "false" => false,
            v => return Err(format!("manifest field complete is {v:?}")),
        };
        let count = n("event_count", get("event_count")?)?;
        let first_seq = n("first_sequence", get("first_sequence")?)?;
        let first_hash = get("first_hash")?;
        let last_seq = n("last_sequence", get("last_sequence")?)?;
        let last_hash = get("last_hash")?;
        let content_digest = get("content_digest")?;
        let head_seq = n("head_sequence", get("head_sequence")?)?;
        let head_hash = get("head_hash")?;
        let cp_seq = get("checkpoint_sequence")?;
        let cp_hash = get("checkpoint_hash")?;
        let cp_time = get("checkpoint_time")?;
        let cp_fp = get("checkpoint_certificate_fingerprint")?;
        let cp_sig = get("checkpoint_signature")?;
        let checkpoint = if cp_seq.is_empty() {
            None
        } else {
            Some(ManifestCheckpoint {
                seq: num("checkpoint_sequence", &cp_seq)?,
                hash: cp_hash,
                time: cp_time,
                cert_fingerprint: cp_fp,
                signature: cp_sig,
            })
        };
        let m = Manifest {
            format,
            chain,
            from_seq,
            to_seq,
            filters,
            complete,
            count,
            first_seq,
            first_hash,
            last_seq,
            last_hash,
            content_digest,
            head_seq,
            head_hash,
            checkpoint,
            exported_at: get("exported_at")?,
            exported_by: get("exported_by")?,
            exported_for_person: get("exported_for_person")?,
            cert_fingerprint: get("certificate_fingerprint")?,
        };
        let signature = signature.ok_or("the manifest has no signature")?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|e| format!("the manifest signature is not base64: {e}"))?;
        Ok((m, signature))
    }
}
