//! The audit chain: one hash chain per organisation (and one for the platform, chain 0).
//!
//! Canonical encoding (version 1) of an event, hashed with Streebog-256:
//!
//! ```text
//! "orgadm-audit-v1" ‖ field₁ ‖ field₂ ‖ …   where each field = u32 big-endian byte length ‖ bytes
//! fields, in order: chain (decimal), sequence (decimal), time (RFC 3339 UTC, microseconds, "Z"),
//!   actor_client, actor_person (decimal, "" when none), action, target_type, target_id,
//!   request_id, details (the JSON text exactly as stored), prev_hash (32 raw bytes)
//! ```
//! The first event of a chain links to 32 zero bytes. `docs/AUDIT.md` repeats this so anyone
//! can re-implement the check.

use chrono::NaiveDateTime;

use crate::crypto::streebog::Streebog256;
use streebog::Digest;

/// The platform chain: events that belong to no organisation.
pub const PLATFORM_CHAIN: i64 = 0;
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// An event before it takes its place in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub chain: i64,
    pub actor_client: String,
    pub actor_person: Option<i64>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub request_id: String,
    /// A JSON object; never a secret.
    pub details: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub chain: i64,
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_client: String,
    pub actor_person: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Time as it is hashed: RFC 3339, UTC, microseconds.
pub fn canonical_time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hash of an event's canonical encoding (see the module documentation).
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    chain: i64,
    seq: i64,
    occurred_at: &NaiveDateTime,
    actor_client: &str,
    actor_person: Option<i64>,
    action: &str,
    target_type: &str,
    target_id: &str,
    request_id: &str,
    details: &str,
    prev_hash: &[u8],
) -> [u8; 32] {
    let person = actor_person.map(|p| p.to_string()).unwrap_or_default();
    let (chain, seq, time) = (
        chain.to_string(),
        seq.to_string(),
        canonical_time(occurred_at),
    );
    hash_fields(&[
        chain.as_bytes(),
        seq.as_bytes(),
        time.as_bytes(),
        actor_client.as_bytes(),
        person.as_bytes(),
        action.as_bytes(),
        target_type.as_bytes(),
        target_id.as_bytes(),
        request_id.as_bytes(),
        details.as_bytes(),
        prev_hash,
    ])
}

/// The hash of the canonical encoding of an event's eleven fields, already in their text form
/// (chain, sequence, time, actor_client, actor_person, action, target_type, target_id,
/// request_id, details, prev_hash). The offline verifier hashes the fields as it read them.
pub fn hash_fields(fields: &[&[u8]; 11]) -> [u8; 32] {
    let mut h = Streebog256::new();
    h.update(b"orgadm-audit-v1");
    for f in fields {
        h.update((f.len() as u32).to_be_bytes());
        h.update(f);
    }
    h.finalize().into()
}

impl AuditEvent {
    pub fn compute_hash(&self) -> [u8; 32] {
        event_hash(
            self.chain,
            self.seq,
            &self.occurred_at,
            &self.actor_client,
            self.actor_person,
            &self.action,
            &self.target_type,
            &self.target_id,
            &self.request_id,
            &self.details,
            &self.prev_hash,
        )
    }
}

/// Checks a chain incrementally, event by event in sequence order; constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: Vec<u8>,
    checked: i64,
    broken: Option<(i64, String)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_vec(),
            checked: 0,
            broken: None,
        }
    }

    /// Feeds the next event; returns false once a break has been found.
    pub fn push(&mut self, e: &AuditEvent) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if e.seq != self.expected_seq {
            Some(format!(
                "expected sequence {} but found {} (an event is missing or out of order)",
                self.expected_seq, e.seq
            ))
        } else if e.prev_hash != self.prev_hash {
            Some("prev_hash does not match the hash of the previous event".to_owned())
        } else if e.compute_hash().as_slice() != e.hash.as_slice() {
            Some("the event's content does not match its hash (the event was changed)".to_owned())
        } else {
            None
        };
        if let Some(p) = problem {
            self.broken = Some((self.expected_seq, p));
            return false;
        }
        self.checked += 1;
        self.expected_seq += 1;
        self.prev_hash = e.hash.clone();
        true
    }

    /// Compares the end of the chain with the stored chain head.
    pub fn finish(mut self, head_seq: i64, head_hash: &[u8]) -> ChainReport {
        if self.broken.is_none() {
            if head_seq != self.expected_seq - 1 {
                self.broken = Some((
                    (self.expected_seq).min(head_seq.max(1)),
                    format!(
                        "the chain head says sequence {head_seq} but the events end at {}",
                        self.expected_seq - 1
                    ),
                ));
            } else if head_hash != self.prev_hash.as_slice() {
                self.broken = Some((
                    head_seq,
                    "the chain head's hash does not match the last event".to_owned(),
                ));
            }
        }
        ChainReport {
            checked: self.checked,
            last_hash: self.prev_hash,
            broken: self.broken,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: i64,
    pub last_hash: Vec<u8>,
    /// First broken sequence number and the reason.
    pub broken: Option<(i64, String)>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ev(seq: i64, prev: &[u8]) -> AuditEvent {
        let mut e = AuditEvent {
            chain: 7,
            seq,
            occurred_at: chrono::DateTime::from_timestamp(1_700_000_000 + seq, 123_456_000)
                .unwrap()
                .naive_utc(),
            actor_client: "op".into(),
            actor_person: Some(42),
            action: "person.register".into(),
            target_type: "person".into(),
            target_id: "1".into(),
            request_id: "r".into(),
            details: "{}".into(),
            prev_hash: prev.to_vec(),
            hash: vec![],
        };
        e.hash = e.compute_hash().to_vec();
        e
    }

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        let mut prev = GENESIS_HASH.to_vec();
        for s in 1..=n {
            let e = ev(s, &prev);
            prev = e.hash.clone();
            out.push(e);
        }
        out
    }

    fn verify(events: &[AuditEvent], head_seq: i64, head: &[u8]) -> ChainReport {
        let mut v = ChainVerifier::new();
        for e in events {
            v.push(e);
        }
        v.finish(head_seq, head)
    }

    #[test]
    fn intact_and_tampered() {
        let c = chain(5);
        let head = c[4].hash.clone();
        assert_eq!(verify(&c, 5, &head).broken, None);
        let mut t = c.clone();
        t[2].details = "{\"x\":1}".into();
        assert_eq!(verify(&t, 5, &head).broken.unwrap().0, 3);
        let mut d = c.clone();
        d.remove(1);
        assert_eq!(verify(&d, 5, &head).broken.unwrap().0, 2);
        let mut r = c.clone();
        r.swap(1, 2);
        assert_eq!(verify(&r, 5, &head).broken.unwrap().0, 2);
        // Truncated tail: detected against the head row.
        assert!(verify(&c[..4], 5, &head).broken.is_some());
    }

    #[test]
    fn canonical_time_has_micros() {
        let e = ev(1, &GENESIS_HASH);
        assert_eq!(
            canonical_time(&e.occurred_at),
            "2023-11-14T22:13:21.123456Z"
        );
    }
}
