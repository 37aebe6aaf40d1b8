//! Signed checkpoints of the audit chains.
//!
//! A checkpoint is the service's signed statement "chain C had, at sequence S, the hash H", made
//! at time T with the certificate whose Streebog-256 fingerprint is F. Its canonical encoding
//! (version 1) is what the service signs, detached CAdES-BES:
//!
//! ```text
//! "orgadm-checkpoint-v1" ‖ F(chain) ‖ F(sequence) ‖ F(hash) ‖ F(time) ‖ F(fingerprint)
//! F(x) = u32 big-endian byte length of x ‖ x
//! chain, sequence: decimal ASCII; hash: the 32 raw bytes of the event hash at `sequence`;
//! time: RFC 3339 UTC with six fractional digits and "Z"; fingerprint: Streebog-256 of the
//! certificate's DER (32 raw bytes)
//! ```
//! Whoever holds a checkpoint can later prove that the history up to it was not rewritten: any
//! rewrite changes the hash at `sequence`, and only the service key can sign a new checkpoint.
//! A checkpoint travels as a small JSON file ([`CheckpointFile`]) that `orgadm audit verify
//! --checkpoint` reads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::audit::canonical_time;

/// The `format` of a checkpoint file.
pub const CHECKPOINT_FILE_FORMAT: &str = "orgadm-audit-checkpoint-v1";

/// A stored, signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub chain: i64,
    pub seq: i64,
    pub hash: Vec<u8>,
    pub signed_at: NaiveDateTime,
    /// Streebog-256 of the signing certificate's DER.
    pub cert_fingerprint: Vec<u8>,
    /// Detached CAdES-BES (DER) over [`checkpoint_bytes`]; the certificate is inside.
    pub signature: Vec<u8>,
}

fn field(out: &mut Vec<u8>, f: &[u8]) {
    out.extend_from_slice(&(f.len() as u32).to_be_bytes());
    out.extend_from_slice(f);
}

/// The canonical bytes a checkpoint's signature covers (see the module documentation).
pub fn checkpoint_bytes(
    chain: i64,
    seq: i64,
    hash: &[u8],
    time: &str,
    cert_fingerprint: &[u8],
) -> Vec<u8> {
    let mut out = b"orgadm-checkpoint-v1".to_vec();
    field(&mut out, chain.to_string().as_bytes());
    field(&mut out, seq.to_string().as_bytes());
    field(&mut out, hash);
    field(&mut out, time.as_bytes());
    field(&mut out, cert_fingerprint);
    out
}

impl Checkpoint {
    pub fn signed_bytes(&self) -> Vec<u8> {
        checkpoint_bytes(
            self.chain,
            self.seq,
            &self.hash,
            &canonical_time(&self.signed_at),
            &self.cert_fingerprint,
        )
    }

    pub fn to_file(&self) -> CheckpointFile {
        CheckpointFile {
            format: CHECKPOINT_FILE_FORMAT.into(),
            organization_oid: self.chain,
            sequence: self.seq,
            hash: hex::encode(&self.hash),
            time: canonical_time(&self.signed_at),
            certificate_fingerprint: hex::encode(&self.cert_fingerprint),
            signature: B64.encode(&self.signature),
        }
    }
}

/// A checkpoint as a self-contained JSON file. The signing certificate is inside the signature;
/// verifiers check it against the certificate they were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFile {
    pub format: String,
    /// The chain: the organisation's OID, 0 for the platform chain.
    pub organization_oid: i64,
    pub sequence: i64,
    /// Hex.
    pub hash: String,
    /// RFC 3339 UTC with microseconds, exactly as signed.
    pub time: String,
    /// Hex Streebog-256 of the certificate's DER.
    pub certificate_fingerprint: String,
    /// Base64 detached CAdES-BES (DER).
    pub signature: String,
}

/// A checkpoint file's fields decoded, with the bytes its signature must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedCheckpoint {
    pub chain: i64,
    pub seq: i64,
    pub hash: Vec<u8>,
    pub time: String,
    pub cert_fingerprint: Vec<u8>,
    pub signature: Vec<u8>,
    pub signed_bytes: Vec<u8>,
}

impl CheckpointFile {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<CheckpointFile, String> {
        serde_json::from_str(text).map_err(|e| format!("not a checkpoint file: {e}"))
    }

    /// Decodes the hex and base64 fields; the signature is not checked here.
    pub fn decode(&self) -> Result<DecodedCheckpoint, String> {
        if self.format != CHECKPOINT_FILE_FORMAT {
            return Err(format!(
                "format {:?} is not {CHECKPOINT_FILE_FORMAT}",
                self.format
            ));
        }
        decode_parts(
            self.organization_oid,
            self.sequence,
            &self.hash,
            &self.time,
            &self.certificate_fingerprint,
            &self.signature,
        )
    }
}

/// Decodes a checkpoint given as text fields (a checkpoint file, or the one a manifest names).
pub fn decode_parts(
    chain: i64,
    seq: i64,
    hash_hex: &str,
    time: &str,
    fingerprint_hex: &str,
    signature_b64: &str,
) -> Result<DecodedCheckpoint, String> {
    let hash = hex::decode(hash_hex)
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or("the checkpoint hash is not 64 hex digits")?;
    let cert_fingerprint = hex::decode(fingerprint_hex)
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or("the checkpoint's certificate fingerprint is not 64 hex digits")?;
    let signature = B64
        .decode(signature_b64)
        .map_err(|e| format!("the checkpoint signature is not base64: {e}"))?;
    if seq < 1 || chain < 0 {
        return Err(format!(
            "checkpoint of chain {chain} at sequence {seq} names no event"
        ));
    }
    let signed_bytes = checkpoint_bytes(chain, seq, &hash, time, &cert_fingerprint);
    Ok(DecodedCheckpoint {
        chain,
        seq,
        hash,
        time: time.to_owned(),
        cert_fingerprint,
        signature,
        signed_bytes,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_and_bytes() {
        let cp = Checkpoint {
            chain: 7,
            seq: 12,
            hash: vec![0xab; 32],
            signed_at: chrono::DateTime::from_timestamp(1_700_000_000, 5_000)
                .unwrap()
                .naive_utc(),
            cert_fingerprint: vec![1; 32],
            signature: vec![0x30, 0x03, 1, 2, 3],
        };
        let f = CheckpointFile::from_json(&cp.to_file().to_json()).unwrap();
        let d = f.decode().unwrap();
        assert_eq!(d.signed_bytes, cp.signed_bytes());
        assert_eq!(d.signature, cp.signature);
        let b = cp.signed_bytes();
        assert!(b.starts_with(b"orgadm-checkpoint-v1\0\0\0\x017\0\0\0\x0212\0\0\0\x20"));
        let mut bad = f.clone();
        bad.hash = "00".into();
        assert!(bad.decode().is_err());
        assert!(CheckpointFile::from_json("{\"format\":1}").is_err());
    }
}
