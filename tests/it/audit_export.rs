//! Signed checkpoints, the audit export (gRPC and HTTP, JSON Lines and XML) and the offline
//! `orgadm audit verify`: valid exports verify; a changed, deleted or reordered event, a history
//! rewritten in the database and re-hashed, and a manifest signed by another key are each caught
//! with a precise message. Only auditors and the head export an organisation's records.

use std::path::{Path, PathBuf};
use std::process::Command;

use orgadm::domain::audit::{AuditEvent, event_hash};
use orgadm::domain::audit_export::ExportFormat;
use orgadm::domain::caller::Role;
use orgadm::service::Clock;
use orgadm::storage::audit::EventFilter;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::invitations::org_with_head;
use crate::support::*;

both_backends!(
    export_verifies_and_tampering_is_caught,
    checkpoints_append_only_and_periodic,
    export_spans_many_pages
);

const AUDITOR_PERSON: i64 = 2_000_000_001;
const PLAIN_PERSON: i64 = 2_000_000_002;

/// Two employees made directly in the database: one in «Аудиторы», one not.
fn add_employees(s: &TestServer, org: i64) {
    let mut sql = String::new();
    for (i, oid) in [AUDITOR_PERSON, PLAIN_PERSON].into_iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO persons (oid, surname, given_name, snils, level, created_at, updated_at, version) \
             VALUES ({oid}, 'Аудитов', 'Имя', '{}', 'confirmed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);\n\
             INSERT INTO employees (organization_oid, person_oid, work_email, email_lower, state, joined_at, updated_at, version) \
             VALUES ({org}, {oid}, 'e{i}@example.ru', 'e{i}@example.ru', 'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);\n",
            snils(700 + i as u32),
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO group_members (organization_oid, mnemonic, person_oid, added_at) VALUES ({org}, 'ORG_AUDITORS', {AUDITOR_PERSON}, '2026-01-01 00:00:00');\n"
    ));
    exec_sql(&s.db, &sql).unwrap();
}

/// `n` address changes: a busy organisation.
async fn busy(api: &mut Api, oid: i64, n: u32, tag: &str) {
    for i in 0..n {
        let cur = api
            .orgs
            .get_organization(pb::GetOrganizationRequest { oid })
            .await
            .unwrap()
            .into_inner();
        api.orgs
            .update_organization(pb::UpdateOrganizationRequest {
                oid,
                etag: cur.etag,
                update_mask: vec!["address".into()],
                address: format!("г. Москва, ул. {tag} \"{i}\" <корп. & стр.>"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

async fn export(api: &mut Api, req: pb::ExportEventsRequest) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = api.audit.export_events(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.message().await? {
        out.extend_from_slice(&chunk.data);
    }
    Ok(out)
}

fn export_req(oid: i64, format: pb::ExportFormat) -> pb::ExportEventsRequest {
    pb::ExportEventsRequest {
        organization_oid: oid,
        format: format as i32,
        ..Default::default()
    }
}

/// Runs `orgadm audit verify`; returns (success, stdout).
fn verify(cert: &Path, file: &Path, checkpoint: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orgadm"));
    cmd.env_remove("ORGADM_DATABASE_URL")
        .args(["audit", "verify", "--cert"])
        .arg(cert);
    if let Some(c) = checkpoint {
        cmd.arg("--checkpoint").arg(c);
    }
    let out = cmd.arg(file).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn assert_valid(cert: &Path, file: &Path, checkpoint: Option<&Path>) -> String {
    let (ok, text) = verify(cert, file, checkpoint);
    assert!(ok && text.contains("verdict: VALID"), "{text}");
    text
}

fn assert_problem(cert: &Path, file: &Path, checkpoint: Option<&Path>, problem: &str) {
    let (ok, text) = verify(cert, file, checkpoint);
    assert!(!ok, "{text}");
    assert!(text.contains("verdict: NOT VALID"), "{text}");
    assert!(
        text.contains(&format!("problem: {problem}")),
        "expected «{problem}» in:\n{text}"
    );
}

/// The lines of an export (each with its newline).
fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The index of the line holding event `seq` (JSON Lines).
fn line_of(ls: &[Vec<u8>], seq: i64) -> usize {
    let needle = format!(",\"seq\":{seq},");
    ls.iter()
        .position(|l| String::from_utf8_lossy(l).contains(&needle))
        .unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

async fn export_verifies_and_tampering_is_caught(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let cert = write(
        dir.path(),
        "service.pem",
        s.core
            .signer
            .as_ref()
            .unwrap()
            .certificate()
            .to_pem()
            .as_bytes(),
    );
    let o = org_with_head(s).await;
    add_employees(s, o.oid);
    let mut op = s.as_operator().await;
    busy(&mut op, o.oid, 25, "Первая").await;
    let auditor_token = s.client("org-auditor", Role::Auditor, Some(o.oid)).await;
    let mut auditor = s.as_token(&auditor_token).await;
    // A checkpoint signed now, kept by the auditor.
    let cp = auditor
        .audit
        .create_checkpoint(pb::CreateCheckpointRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.sequence, 26);
    let cp_file = write(dir.path(), "checkpoint.json", cp.file_json.as_bytes());
    busy(&mut op, o.oid, 15, "Вторая").await;

    // An auditor client exports JSON Lines; it verifies, with and without the checkpoint.
    let jsonl = export(&mut auditor, export_req(o.oid, pb::ExportFormat::JsonLines))
        .await
        .unwrap();
    let file = write(dir.path(), "export.jsonl", &jsonl);
    let text = assert_valid(&cert, &file, Some(&cp_file));
    assert!(text.contains("given checkpoint seq 26"), "{text}");
    assert!(text.contains("events checked: 41"), "{text}");
    assert!(text.contains("complete range 1..41"), "{text}");
    // A member of «Аудиторы» exports XML through a portal; it verifies too.
    let mut member = s.as_portal(&o.portal, AUDITOR_PERSON).await;
    let xml = export(&mut member, export_req(o.oid, pb::ExportFormat::Xml))
        .await
        .unwrap();
    assert!(xml.starts_with(b"<?xml"));
    let xml_file = write(dir.path(), "export.xml", &xml);
    // The first export is event 42 and not inside itself; this one includes it.
    let text = assert_valid(&cert, &xml_file, Some(&cp_file));
    assert!(text.contains("events checked: 42"), "{text}");
    // The head too; and over HTTP, the same format streams as a download.
    let mut head = s.as_portal(&o.portal, o.head).await;
    export(&mut head, export_req(o.oid, pb::ExportFormat::JsonLines))
        .await
        .unwrap();
    let (status, head_text, body) = http_get(
        &format!(
            "http://{}/v1/audit/{}/export?format=xml&to_sequence=30",
            s.addr, o.oid
        ),
        &[("authorization", &format!("Bearer {auditor_token}"))],
    )
    .await;
    assert_eq!(status, 200, "{head_text}");
    assert!(head_text.to_ascii_lowercase().contains("application/xml"));
    let body = dechunk(&head_text, body);
    let http_file = write(dir.path(), "http.xml", &body);
    let text = assert_valid(&cert, &http_file, Some(&cp_file));
    assert!(text.contains("complete range 1..30"), "{text}");
    // A filtered export checks what it can, and says so.
    let filtered = export(
        &mut auditor,
        pb::ExportEventsRequest {
            action: "organization.update".into(),
            ..export_req(o.oid, pb::ExportFormat::JsonLines)
        },
    )
    .await
    .unwrap();
    let filtered_file = write(dir.path(), "filtered.jsonl", &filtered);
    let text = assert_valid(&cert, &filtered_file, None);
    assert!(text.contains("filtered export"), "{text}");
    assert!(text.contains("events checked: 40"), "{text}");

    // Who may not: an employee outside «Аудиторы», the operator, a portal acting for nobody.
    let mut plain = s.as_portal(&o.portal, PLAIN_PERSON).await;
    for api in [&mut plain, &mut op] {
        let err = export(api, export_req(o.oid, pb::ExportFormat::JsonLines))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        assert_eq!(reason(&err), "NO_AUDIT_EXPORT");
    }
    let err = export(
        &mut s.as_token(&o.portal).await,
        export_req(o.oid, pb::ExportFormat::JsonLines),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let (status, _, _) = http_get(
        &format!("http://{}/v1/audit/{}/export", s.addr, o.oid),
        &[
            ("authorization", &format!("Bearer {}", o.portal)),
            ("x-orgadm-person", &PLAIN_PERSON.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 403);
    // Bad input changes nothing.
    let before = count_rows(&s.db, "audit_events");
    let err = export(
        &mut auditor,
        pb::ExportEventsRequest {
            from_sequence: 10,
            to_sequence: 5,
            ..export_req(o.oid, pb::ExportFormat::JsonLines)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["to_sequence"]);
    assert_eq!(count_rows(&s.db, "audit_events"), before);
    // Each export is itself an audit event: who exported what.
    let exports = auditor
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: o.oid,
            action: "audit.export".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(exports.len(), 5);
    assert_eq!(exports[0].actor_client, "org-auditor");
    assert!(exports[0].details_json.contains("\"to_sequence\":41"));
    assert_eq!(exports[1].actor_person_oid, AUDITOR_PERSON);
    assert!(exports[4].details_json.contains("organization.update"));

    // Tampering with the file.
    let ls = lines(&jsonl);
    let changed: Vec<u8> = {
        let mut ls = ls.clone();
        let i = line_of(&ls, 5);
        let l = String::from_utf8(ls[i].clone()).unwrap();
        ls[i] = l
            .replacen(
                "\"actor_client\":\"operator\"",
                "\"actor_client\":\"intruder\"",
                1,
            )
            .into_bytes();
        assert!(ls[i] != lines(&jsonl)[i]);
        ls.concat()
    };
    let f = write(dir.path(), "changed.jsonl", &changed);
    assert_problem(&cert, &f, None, "event seq 5: content hash mismatch");
    let deleted: Vec<u8> = {
        let mut ls = ls.clone();
        let i = line_of(&ls, 7);
        ls.remove(i);
        ls.concat()
    };
    let f = write(dir.path(), "deleted.jsonl", &deleted);
    assert_problem(&cert, &f, None, "seq 7 missing: link from 6 to 8");
    let reordered: Vec<u8> = {
        let mut ls = ls.clone();
        let (a, b) = (line_of(&ls, 9), line_of(&ls, 10));
        ls.swap(a, b);
        ls.concat()
    };
    let f = write(dir.path(), "reordered.jsonl", &reordered);
    assert_problem(
        &cert,
        &f,
        None,
        "events out of order: seq 10 comes before seq 9",
    );
    // The same manifest signed by another key.
    let other_signer = test_signer();
    let (manifest, _) = ExportFormat::JsonLines
        .parse_manifest(ls.last().unwrap().strip_suffix(b"\n").unwrap())
        .unwrap();
    let sig = other_signer
        .sign_detached(&manifest.signed_bytes(), s.clock.now().and_utc())
        .unwrap();
    let mut resigned = ls[..ls.len() - 1].concat();
    resigned.extend(ExportFormat::JsonLines.manifest_line(&manifest, &sig));
    let f = write(dir.path(), "resigned.jsonl", &resigned);
    assert_problem(
        &cert,
        &f,
        None,
        "the manifest signature is not by the given certificate",
    );
    // A truncated download (no manifest).
    let f = write(dir.path(), "cut.jsonl", &ls[..20].concat());
    assert_problem(&cert, &f, None, "the manifest is missing or unreadable");

    // A database administrator rewrites event 5 and re-hashes the rest of the chain.
    rewrite_history(s, o.oid, 5).await;
    let v = auditor
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        v.intact,
        "the rewritten chain is consistent in itself: {v:?}"
    );
    let after = export(&mut auditor, export_req(o.oid, pb::ExportFormat::JsonLines))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&after).contains("rewritten"));
    let f = write(dir.path(), "rewritten.jsonl", &after);
    // The checkpoint the manifest names (signed before the rewrite) catches it...
    assert_problem(
        &cert,
        &f,
        None,
        "checkpoint seq 26: hash differs from the exported event — history rewritten (manifest's checkpoint)",
    );
    // ...and so does the checkpoint the auditor kept, even in an export that starts after it.
    let tail = export(
        &mut auditor,
        pb::ExportEventsRequest {
            from_sequence: 27,
            ..export_req(o.oid, pb::ExportFormat::Xml)
        },
    )
    .await
    .unwrap();
    let f = write(dir.path(), "rewritten-tail.xml", &tail);
    assert_problem(
        &cert,
        &f,
        Some(&cp_file),
        "checkpoint seq 26: hash differs from event seq 27's link to it — history rewritten (given checkpoint)",
    );
}

/// HTTP/1.1 chunked transfer decoding for the streamed download.
fn dechunk(head: &str, body: Vec<u8>) -> Vec<u8> {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body;
    }
    let mut out = Vec::new();
    let mut rest = &body[..];
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16).unwrap();
        rest = &rest[nl + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn hex_literal(pg: bool, bytes: &[u8]) -> String {
    if pg {
        format!("'\\x{}'::bytea", hex::encode(bytes))
    } else {
        format!("X'{}'", hex::encode(bytes))
    }
}

/// What a DBA could do: lift the append-only triggers, change event `seq`, recompute every
/// later hash and link, and move the chain head.
async fn rewrite_history(s: &TestServer, chain: i64, seq: i64) {
    let pg = s.db.url.starts_with("postgres");
    let events: Vec<AuditEvent> = s
        .core
        .db
        .read(move |c| {
            Ok(orgadm::storage::audit::list(
                c,
                chain,
                &EventFilter::default(),
                0,
                100_000,
            )?)
        })
        .await
        .unwrap();
    let mut sql = if pg {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change;\n".to_owned()
    } else {
        "DROP TRIGGER audit_events_no_update;\n".to_owned()
    };
    let mut prev: Vec<u8> = Vec::new();
    for mut e in events {
        if e.seq < seq {
            prev = e.hash.clone();
            continue;
        }
        if e.seq == seq {
            e.details = e.details.replacen("operator", "rewritten", 1);
        }
        e.prev_hash = prev.clone();
        e.hash = event_hash(
            e.chain,
            e.seq,
            &e.occurred_at,
            &e.actor_client,
            e.actor_person,
            &e.action,
            &e.target_type,
            &e.target_id,
            &e.request_id,
            &e.details,
            &e.prev_hash,
        )
        .to_vec();
        sql.push_str(&format!(
            "UPDATE audit_events SET details = '{}', prev_hash = {}, hash = {} WHERE chain = {chain} AND seq = {};\n",
            e.details.replace('\'', "''"),
            hex_literal(pg, &e.prev_hash),
            hex_literal(pg, &e.hash),
            e.seq
        ));
        prev = e.hash;
    }
    sql.push_str(&format!(
        "UPDATE audit_heads SET hash = {} WHERE chain = {chain};\n",
        hex_literal(pg, &prev)
    ));
    exec_sql(&s.db, &sql).unwrap();
}

async fn checkpoints_append_only_and_periodic(s: &TestServer) {
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    busy(&mut op, o.oid, 3, "Третья").await;
    // The periodic signer's pass: every chain that moved (the platform chain and this one).
    assert_eq!(s.core.checkpoint_stale_chains().await.unwrap(), 2);
    assert_eq!(s.core.checkpoint_stale_chains().await.unwrap(), 0);
    // On demand, at an unchanged head: the same checkpoint.
    let a = op
        .audit
        .create_checkpoint(pb::CreateCheckpointRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.sequence, 4);
    s.clock.advance(chrono::Duration::minutes(5));
    busy(&mut op, o.oid, 1, "Четвёртая").await;
    let b = op
        .audit
        .create_checkpoint(pb::CreateCheckpointRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.sequence, 5);
    let again = op
        .audit
        .create_checkpoint(pb::CreateCheckpointRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, b);
    let page = op
        .audit
        .list_checkpoints(pb::ListCheckpointsRequest {
            organization_oid: o.oid,
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.checkpoints, vec![b.clone()]);
    let next = op
        .audit
        .list_checkpoints(pb::ListCheckpointsRequest {
            organization_oid: o.oid,
            page_size: 1,
            page_token: page.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.checkpoints, vec![a.clone()]);
    let got = op
        .audit
        .get_checkpoint(pb::GetCheckpointRequest {
            organization_oid: o.oid,
            sequence: 4,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, a);
    // Over HTTP, the same file.
    let (status, _, body) = http_get(
        &format!("http://{}/v1/audit/{}/checkpoints/4", s.addr, o.oid),
        &[("authorization", &format!("Bearer {}", s.operator))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap(), a.file_json);
    // The signature is the service's, over the canonical bytes.
    let file = orgadm::domain::audit_checkpoint::CheckpointFile::from_json(&a.file_json).unwrap();
    let d = file.decode().unwrap();
    let signer = s.core.signer.as_ref().unwrap().certificate().clone();
    let v = orgadm::crypto::cms::verify_detached(&d.signature, &d.signed_bytes, &[]).unwrap();
    assert_eq!(v.signer.der(), signer.der());
    // A portal employee outside the organisation's auditors may not sign one.
    let err = s
        .as_portal(&o.portal, 999)
        .await
        .audit
        .create_checkpoint(pb::CreateCheckpointRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Append-only, like the events.
    for sql in [
        "UPDATE audit_checkpoints SET seq = 99;",
        "DELETE FROM audit_checkpoints;",
    ] {
        let e = exec_sql(&s.db, sql).unwrap_err();
        assert!(e.contains("append-only"), "{e}");
    }
    assert_eq!(count_rows(&s.db, "audit_checkpoints"), 3);
}

/// An export of several pages (1000 events each), whole and filtered, in both formats.
async fn export_spans_many_pages(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let cert = write(
        dir.path(),
        "service.pem",
        s.core
            .signer
            .as_ref()
            .unwrap()
            .certificate()
            .to_pem()
            .as_bytes(),
    );
    let now = s.clock.now();
    s.core
        .db
        .write(move |c| {
            for i in 0..2600_i64 {
                let e = orgadm::domain::audit::NewEvent {
                    chain: 0,
                    actor_client: "seed".into(),
                    actor_person: Some(1 + i % 3),
                    action: if i % 2 == 0 {
                        "person.update"
                    } else {
                        "person.register"
                    },
                    target_type: "person",
                    target_id: i.to_string(),
                    request_id: format!("r{i}"),
                    details: serde_json::json!({"n": i, "text": "строка\nс переводом"}),
                };
                orgadm::storage::audit::append(c, &e, now)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let mut op = s.as_operator().await;
    for (i, format) in [pb::ExportFormat::JsonLines, pb::ExportFormat::Xml]
        .into_iter()
        .enumerate()
    {
        let all = export(&mut op, export_req(0, format)).await.unwrap();
        let f = write(dir.path(), "all", &all);
        let text = assert_valid(&cert, &f, None);
        // The operator's client creation, the seeded events, and two exports a round.
        let expected = 2601 + 2 * i;
        assert!(
            text.contains(&format!("events checked: {expected}\n")),
            "{text}"
        );
        let updates = export(
            &mut op,
            pb::ExportEventsRequest {
                action: "person.update".into(),
                from_sequence: 2,
                ..export_req(0, format)
            },
        )
        .await
        .unwrap();
        let f = write(dir.path(), "updates", &updates);
        let text = assert_valid(&cert, &f, None);
        assert!(text.contains("events checked: 1300"), "{text}");
    }
}
