//! JSON Lines: one event object per line; the manifest line last.

use std::borrow::Cow;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{EventText, Manifest, hash_from_hex};
use crate::domain::audit::{AuditEvent, canonical_time};

#[derive(Serialize)]
struct EventOut<'a> {
    chain: i64,
    seq: i64,
    time: &'a str,
    actor_client: &'a str,
    actor_person: Option<i64>,
    action: &'a str,
    target_type: &'a str,
    target_id: &'a str,
    request_id: &'a str,
    details: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn<'a> {
    chain: i64,
    seq: i64,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    actor_client: Cow<'a, str>,
    actor_person: Option<i64>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    target_type: Cow<'a, str>,
    #[serde(borrow)]
    target_id: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    #[serde(borrow)]
    details: Cow<'a, str>,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
}

pub fn write_event(e: &AuditEvent, out: &mut Vec<u8>) {
    let mut hexes = [0u8; 128];
    let (p, h) = hexes.split_at_mut(64);
    let prev = hex_into(&e.prev_hash, p);
    let hash = hex_into(&e.hash, h);
    let time = canonical_time(&e.occurred_at);
    let ev = EventOut {
        chain: e.chain,
        seq: e.seq,
        time: &time,
        actor_client: &e.actor_client,
        actor_person: e.actor_person,
        action: &e.action,
        target_type: &e.target_type,
        target_id: &e.target_id,
        request_id: &e.request_id,
        details: &e.details,
        prev_hash: prev,
        hash,
    };
    // Serialising strings and numbers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &ev);
    out.push(b'\n');
}

/// Hex of a 32-byte hash into `buf` (64 bytes); other lengths are written as far as they fit.
fn hex_into<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    let n = (bytes.len() * 2).min(buf.len());
    if hex::encode_to_slice(&bytes[..n / 2], &mut buf[..n]).is_err() {
        return "";
    }
    std::str::from_utf8(&buf[..n]).unwrap_or("")
}

pub fn parse_event(line: &[u8]) -> Result<EventText<'_>, String> {
    let e: EventIn<'_> =
        serde_json::from_slice(line).map_err(|e| format!("not an event object: {e}"))?;
    Ok(EventText {
        chain: e.chain,
        seq: e.seq,
        time: e.time,
        actor_client: e.actor_client,
        actor_person: e.actor_person,
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        request_id: e.request_id,
        details: e.details,
        prev_hash: hash_from_hex("prev_hash", &e.prev_hash)?,
        hash: hash_from_hex("hash", &e.hash)?,
    })
}

pub fn manifest_line(m: &Manifest, signature: &[u8]) -> Vec<u8> {
    let manifest: serde_json::Map<String, serde_json::Value> = m
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    let line = serde_json::json!({
        "manifest": manifest,
        "signature": base64::engine::general_purpose::STANDARD.encode(signature),
    });
    let mut out = line.to_string().into_bytes();
    out.push(b'\n');
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    manifest: serde_json::Map<String, serde_json::Value>,
    signature: String,
}

pub fn parse_manifest(line: &[u8]) -> Result<Vec<(String, String)>, String> {
    let m: ManifestLine = serde_json::from_slice(line)
        .map_err(|e| format!("the last line is not a manifest: {e}"))?;
    let mut out = Vec::with_capacity(m.manifest.len() + 1);
    for (k, v) in m.manifest {
        match v {
            serde_json::Value::String(s) => out.push((k, s)),
            _ => return Err(format!("manifest field {k} is not a string")),
        }
    }
    out.push(("signature".into(), m.signature));
    Ok(out)
}
