//! The audit export file: an organisation's events, one per line, then one signed manifest line.
//!
//! Two formats share one layout so that an export can be written and checked in a stream:
//!
//! - JSON Lines: one JSON object per event (`chain`, `seq`, `time`, `actor_client`,
//!   `actor_person`, `action`, `target_type`, `target_id`, `request_id`, `details` — the JSON
//!   text as hashed, as a string — `prev_hash`, `hash` in hex); the last line is
//!   `{"manifest":{…},"signature":"<base64>"}`.
//! - XML: the declaration and `<auditExport xmlns="urn:orgadm:audit-export:v1">` on two lines,
//!   then one `<event>` element per line with the same fields as child elements; the last line
//!   is `<manifest>…<signature>…</signature></manifest></auditExport>`. Line breaks inside values
//!   are written as character references, so every event stays on its line and the whole file is
//!   well-formed XML.
//!
//! Every byte before the manifest line is covered by the manifest's `content_digest`
//! (Streebog-256), and the manifest by the service's detached CAdES-BES signature, so no byte of
//! an export can change unnoticed. See `docs/AUDIT.md`.

mod jsonl;
mod manifest;
mod xml;

use std::borrow::Cow;

pub use manifest::{MANIFEST_FIELDS, Manifest, ManifestCheckpoint};

use super::audit::{AuditEvent, hash_fields};

/// The version tag of export files and manifests.
pub const EXPORT_VERSION: &str = "orgadm-audit-export-v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    JsonLines,
    Xml,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::Xml => "xml",
        }
    }

    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "jsonl" | "json" | "ndjson" => Some(ExportFormat::JsonLines),
            "xml" => Some(ExportFormat::Xml),
            _ => None,
        }
    }

    /// The media type of a download.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "application/x-ndjson",
            ExportFormat::Xml => "application/xml",
        }
    }

    /// Tells the format from a file's first line.
    pub fn detect(first_line: &[u8]) -> ExportFormat {
        if first_line.starts_with(b"<?xml") || first_line.starts_with(b"<") {
            ExportFormat::Xml
        } else {
            ExportFormat::JsonLines
        }
    }

    /// The lines before the first event (part of the digested content).
    pub fn header(self) -> &'static [u8] {
        match self {
            ExportFormat::JsonLines => b"",
            ExportFormat::Xml => xml::HEADER,
        }
    }

    /// Appends one event line (with its newline) to `out`.
    pub fn write_event(self, e: &AuditEvent, out: &mut Vec<u8>) {
        match self {
            ExportFormat::JsonLines => jsonl::write_event(e, out),
            ExportFormat::Xml => xml::write_event(e, out),
        }
    }

    /// The manifest line (with its newline): the manifest and its base64 signature.
    pub fn manifest_line(self, m: &Manifest, signature: &[u8]) -> Vec<u8> {
        match self {
            ExportFormat::JsonLines => jsonl::manifest_line(m, signature),
            ExportFormat::Xml => xml::manifest_line(m, signature),
        }
    }

    /// Parses one event line (without its newline).
    pub fn parse_event(self, line: &[u8]) -> Result<EventText<'_>, String> {
        match self {
            ExportFormat::JsonLines => jsonl::parse_event(line),
            ExportFormat::Xml => xml::parse_event(line),
        }
    }

    /// Parses the manifest line: the manifest and the signature bytes.
    pub fn parse_manifest(self, line: &[u8]) -> Result<(Manifest, Vec<u8>), String> {
        let fields = match self {
            ExportFormat::JsonLines => jsonl::parse_manifest(line)?,
            ExportFormat::Xml => xml::parse_manifest(line)?,
        };
        Manifest::from_fields(fields)
    }

    /// Whether a line before the events is the expected header line.
    pub fn is_header_line(self, line: &[u8]) -> bool {
        match self {
            ExportFormat::JsonLines => false,
            ExportFormat::Xml => xml::HEADER
                .split(|b| *b == b'\n')
                .any(|h| !h.is_empty() && h == line),
        }
    }
}

/// An event as read from an export: the fields in their exported text form, hashed as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText<'a> {
    pub chain: i64,
    pub seq: i64,
    pub time: Cow<'a, str>,
    pub actor_client: Cow<'a, str>,
    pub actor_person: Option<i64>,
    pub action: Cow<'a, str>,
    pub target_type: Cow<'a, str>,
    pub target_id: Cow<'a, str>,
    pub request_id: Cow<'a, str>,
    pub details: Cow<'a, str>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

impl EventText<'_> {
    /// Recomputes the event's hash from its fields (the canonical encoding v1).
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut nums = itoa_buf::Three::default();
        let (chain, seq, person) = nums.format(self.chain, self.seq, self.actor_person);
        hash_fields(&[
            chain,
            seq,
            self.time.as_bytes(),
            self.actor_client.as_bytes(),
            person,
            self.action.as_bytes(),
            self.target_type.as_bytes(),
            self.target_id.as_bytes(),
            self.request_id.as_bytes(),
            self.details.as_bytes(),
            &self.prev_hash,
        ])
    }
}

/// Decimal formatting without allocation, for the hot path of the verifier.
mod itoa_buf {
    use std::io::Write;

    #[derive(Default)]
    pub struct Three {
        bufs: [[u8; 24]; 3],
    }

    fn put(buf: &mut [u8; 24], v: i64) -> usize {
        let mut cur = std::io::Cursor::new(&mut buf[..]);
        // 24 bytes hold any i64.
        let _ = write!(cur, "{v}");
        cur.position() as usize
    }

    impl Three {
        pub fn format(&mut self, a: i64, b: i64, c: Option<i64>) -> (&[u8], &[u8], &[u8]) {
            let [x, y, z] = &mut self.bufs;
            let la = put(x, a);
            let lb = put(y, b);
            let lc = c.map(|c| put(z, c)).unwrap_or(0);
            (&x[..la], &y[..lb], &z[..lc])
        }
    }
}

/// Decodes 64 hex digits into 32 bytes.
pub fn hash_from_hex(field: &str, s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| format!("{field} is not 64 hex digits"))?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
