use super::*;
use crate::domain::audit::GENESIS_HASH;

fn event(seq: i64, details: &str, target: &str) -> AuditEvent {
    let mut e = AuditEvent {
        chain: 9,
        seq,
        occurred_at: chrono::DateTime::from_timestamp(1_700_000_000 + seq, 7_000)
            .unwrap()
            .naive_utc(),
        actor_client: "портал <&> \"q\"".into(),
        actor_person: (seq % 2 == 0).then_some(42),
        action: "organization.update".into(),
        target_type: "organization".into(),
        target_id: target.into(),
        request_id: "r-1".into(),
        details: details.into(),
        prev_hash: GENESIS_HASH.to_vec(),
        hash: vec![],
    };
    e.hash = e.compute_hash().to_vec();
    e
}

#[test]
fn both_formats_round_trip_every_field() {
    let events = [
        event(1, "{\"a\":\"x\\ny\"}", "1"),
        event(2, "{}", "line\nbreak\ttab\r&amp;"),
    ];
    for f in [ExportFormat::JsonLines, ExportFormat::Xml] {
        for e in &events {
            let mut out = Vec::new();
            f.write_event(e, &mut out);
            assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "{f:?}");
            let t = f.parse_event(&out[..out.len() - 1]).unwrap();
            assert_eq!(t.compute_hash().as_slice(), e.hash.as_slice(), "{f:?}");
            assert_eq!(t.hash.as_slice(), e.hash.as_slice());
            assert_eq!(t.target_id, e.target_id);
            assert_eq!(t.actor_person, e.actor_person);
        }
    }
}

#[test]
fn manifest_round_trips_in_both_formats() {
    let m = Manifest {
        format: ExportFormat::Xml,
        chain: 9,
        from_seq: 1,
        to_seq: 2,
        filters: "{\"action\":\"a<b\"}".into(),
        complete: false,
        count: 2,
        first_seq: 1,
        first_hash: "aa".into(),
        last_seq: 2,
        last_hash: "bb".into(),
        content_digest: "cc".into(),
        head_seq: 3,
        head_hash: "dd".into(),
        checkpoint: Some(ManifestCheckpoint {
            seq: 2,
            hash: "bb".into(),
            time: "2026-01-01T00:00:00.000000Z".into(),
            cert_fingerprint: "ee".into(),
            signature: "AAEC".into(),
        }),
        exported_at: "2026-01-02T00:00:00.000000Z".into(),
        exported_by: "auditor".into(),
        exported_for_person: String::new(),
        cert_fingerprint: "ff".into(),
    };
    for f in [ExportFormat::JsonLines, ExportFormat::Xml] {
        let mut m = m.clone();
        m.format = f;
        let line = f.manifest_line(&m, &[1, 2, 3]);
        let (back, sig) = f.parse_manifest(&line[..line.len() - 1]).unwrap();
        assert_eq!(back, m);
        assert_eq!(sig, vec![1, 2, 3]);
        assert_eq!(back.signed_bytes(), m.signed_bytes());
    }
    let mut other = m.clone();
    other.count = 3;
    assert_ne!(other.signed_bytes(), m.signed_bytes());
}
