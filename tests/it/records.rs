//! The records archive: an export from a busy organisation (signed, revoked and imported powers
//! of attorney, API-KEYs, token issuances) over gRPC and HTTP, verified by the real `orgadm
//! records verify`; every kind of tampering caught with its precise message; and who may export.

use std::io::Read;
use std::process::Command;

use orgadm::crypto::service_key::ServiceSigner;
use orgadm::crypto::streebog::streebog256;
use orgadm::domain::caller::Role;
use orgadm::domain::records::{MANIFEST, MANIFEST_SIG, Manifest};
use orgadm::service::Clock;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::api_keys::{group, sign_key_power};
use crate::both_backends;
use crate::employees::hire;
use crate::poa::sign_as;
use crate::support::*;
use crate::token::{Keys, grpc_exchange, keys, sign};

both_backends!(busy_organisation_exports_and_verifies);

type Entries = Vec<(String, Vec<u8>)>;

/// The test PKI's trust anchors and CRLs (the directory the test server trusts).
const TRUST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trust");

async fn export(
    api: &mut Api,
    org: i64,
    start: Option<prost_types::Timestamp>,
) -> Result<(pb::RecordsArchiveInfo, Vec<u8>), tonic::Status> {
    let mut stream = api
        .records
        .export_records(pb::ExportRecordsRequest {
            organization_oid: org,
            start_time: start,
            end_time: None,
        })
        .await?
        .into_inner();
    let mut info = None;
    let mut bytes = Vec::new();
    while let Some(m) = stream.message().await? {
        if m.info.is_some() {
            assert!(info.is_none(), "info comes once");
            info = m.info;
        }
        bytes.extend_from_slice(&m.chunk);
    }
    Ok((info.expect("no info"), bytes))
}

fn entries(tar: &[u8]) -> Entries {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (p, b)
        })
        .collect()
}

fn build(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn file<'a>(e: &'a Entries, path: &str) -> &'a [u8] {
    &e.iter().find(|(p, _)| p == path).unwrap().1
}

fn replace(e: &Entries, path: &str, data: Vec<u8>) -> Entries {
    let mut out = e.clone();
    out.iter_mut().find(|(p, _)| p == path).unwrap().1 = data;
    out
}

/// Recomputes the manifest's files from `e` and signs it with `signer`.
fn resign(e: &Entries, signer: &ServiceSigner, at: chrono::NaiveDateTime) -> Entries {
    let mut m: Manifest = serde_json::from_slice(file(e, MANIFEST)).unwrap();
    for f in &mut m.files {
        let data = file(e, &f.path);
        f.size = data.len() as u64;
        f.streebog256 = hex::encode(streebog256(data));
    }
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    let sig = signer.sign_detached(&bytes, at.and_utc()).unwrap();
    replace(&replace(e, MANIFEST, bytes.clone()), MANIFEST_SIG, sig)
}

/// Runs `orgadm records verify` on `archive`: (success, stdout).
fn verify(archive: &[u8], cert_pem: &str, trust: bool) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("records.tar");
    let c = dir.path().join("service.pem");
    std::fs::write(&a, archive).unwrap();
    std::fs::write(&c, cert_pem).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orgadm"));
    cmd.env_remove("ORGADM_DATABASE_URL")
        .args(["records", "verify", "--cert"])
        .arg(&c);
    if trust {
        cmd.args(["--trust-dir", TRUST]);
    }
    let out = cmd.arg(&a).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() || stdout.contains("verdict: NOT VALID"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), stdout)
}

/// Asserts the verifier refuses `e` with exactly `problem`.
fn refused(e: &Entries, cert: &str, problem: &str) {
    let (ok, out) = verify(&build(e), cert, false);
    assert!(!ok, "{out}");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("problem: "))
        .unwrap_or_default();
    assert!(line.starts_with(problem), "want {problem:?}, got:\n{out}");
}

struct Busy {
    k: Keys,
    revoked: String,
    tokens: usize,
}

/// The consumer organisation with three powers of attorney (the key power, one revoked, one
/// imported), two API-KEYs and several token issuances.
async fn busy(s: &TestServer) -> Busy {
    let k = keys(s).await;
    let mut head = s.as_portal(&k.portal, k.head).await;
    let revoked = sign_key_power(&mut head, k.consumer, k.issuer).await;
    let st = head
        .poa
        .prepare_revocation(pb::PrepareRevocationRequest {
            number: revoked.clone(),
            reason: "Утрата доверия".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    head.poa
        .submit_revocation(pb::SubmitRevocationRequest {
            number: revoked.clone(),
            statement: st.clone(),
            signature: sign_as("head", &st),
        })
        .await
        .unwrap();
    let mut tokens = 0;
    for _ in 0..3 {
        let sig = sign(
            "impersonal",
            &k.secret,
            s.clock.now() - chrono::Duration::hours(1),
            false,
        );
        grpc_exchange(s, &k.secret, sig).await.unwrap();
        tokens += 1;
    }
    // The committed import fixture was signed on 2026-12-01 00:04 UTC.
    s.clock.advance(chrono::Duration::days(6));
    let (document, signature) = crate::poa_import::committed();
    let r = head
        .poa
        .import_document(pb::ImportDocumentRequest {
            document,
            signature,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.verdict, pb::ImportVerdict::Valid as i32, "{r:?}");
    let sig = sign(
        "impersonal",
        &k.secret,
        s.clock.now() - chrono::Duration::hours(1),
        false,
    );
    grpc_exchange(s, &k.secret, sig).await.unwrap();
    tokens += 1;
    Busy { k, revoked, tokens }
}

async fn busy_organisation_exports_and_verifies(s: &TestServer) {
    let b = busy(s).await;
    let org = b.k.consumer;
    let cert = s.core.signer.as_ref().unwrap().certificate().to_pem();

    // An auditor client of the organisation exports over gRPC.
    let auditor = s.client("auditor", Role::Auditor, Some(org)).await;
    let mut api = s.as_token(&auditor).await;
    let (info, tar) = export(&mut api, org, None).await.unwrap();
    assert_eq!(info.size, tar.len() as u64);
    assert_eq!(
        (
            info.powers_of_attorney,
            info.revocations,
            info.imports,
            info.api_keys
        ),
        (3, 1, 1, 2)
    );
    assert_eq!(info.token_issuances, b.tokens as u64);
    // The export is an event on the organisation's chain, naming the manifest's hash.
    let e = entries(&tar);
    assert_eq!(
        hex::encode(streebog256(file(&e, MANIFEST))),
        info.manifest_streebog256
    );
    assert_eq!(
        count_where(
            &s.db,
            "audit_events",
            &format!(
                "chain = {org} AND action = 'records.export' AND seq = {} AND actor_client = 'auditor' AND details LIKE '%{}%'",
                info.audit_sequence, info.manifest_streebog256
            )
        ),
        1
    );
    // Layout: each power of attorney's folder, the index, the logs, the manifest and its
    // signature last. No secret anywhere.
    let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(&paths[paths.len() - 2..], &[MANIFEST, MANIFEST_SIG]);
    let manifest: Manifest = serde_json::from_slice(file(&e, MANIFEST)).unwrap();
    assert_eq!(manifest.files.len(), e.len() - 2);
    assert_eq!(manifest.organization.oid, org);
    let rev_dir = format!("powers-of-attorney/{}/", b.revoked);
    assert_eq!(
        paths.iter().filter(|p| p.starts_with(&rev_dir)).count(),
        4,
        "{paths:?}"
    );
    let imported = format!(
        "powers-of-attorney/{}/import.json",
        crate::poa_import::IMPORTED
    );
    let import: serde_json::Value = serde_json::from_slice(file(&e, &imported)).unwrap();
    assert_eq!(import["verdict"], "VALID");
    let keys = String::from_utf8(file(&e, "api-keys.jsonl").to_vec()).unwrap();
    assert_eq!(keys.lines().count(), 2);
    assert!(keys.contains(&b.k.key_id));
    for secret in [&b.k.secret, &b.k.secret512] {
        assert!(!tar.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    assert!(!keys.contains("hash"), "{keys}");
    let issuances = String::from_utf8(file(&e, "token-issuances.jsonl").to_vec()).unwrap();
    assert_eq!(issuances.lines().count(), b.tokens);

    // The real binary verifies it, without and with the chains.
    let (ok, out) = verify(&tar, &cert, false);
    assert!(ok, "{out}");
    assert!(out.contains("verdict: VALID"), "{out}");
    assert!(out.contains("checked: "), "{out}");
    assert!(out.contains(" 4 КЭП signatures"), "{out}");
    let (ok, out) = verify(&tar, &cert, true);
    assert!(ok && out.contains("with their chains"), "{out}");

    // The same over HTTP, by a member of ORG_AUDITORS.
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let mut head = s.as_portal(&b.k.portal, b.k.head).await;
    let member = hire(
        s,
        dir.path(),
        &mut head,
        org,
        &b.k.portal,
        "Аудиторова",
        80,
        false,
    )
    .await;
    let outsider = hire(
        s,
        dir.path(),
        &mut head,
        org,
        &b.k.portal,
        "Посторонний",
        81,
        false,
    )
    .await;
    worker.stop().await;
    head.groups
        .add_group_member(group(org, "ORG_AUDITORS", member))
        .await
        .unwrap();
    let url = format!("http://{}/v1/organizations/{org}/records.tar", s.addr);
    let bearer = format!("Bearer {}", b.k.portal);
    let (status, head_text, body) = http_get(
        &url,
        &[
            ("authorization", &bearer),
            ("x-orgadm-person", &member.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{head_text}");
    assert!(head_text.to_ascii_lowercase().contains("application/x-tar"));
    let (ok, out) = verify(&body, &cert, true);
    assert!(ok, "{out}");
    // A period after every issuance: none of them, the rest unchanged.
    let later = prost_types::Timestamp {
        seconds: s.clock.now().and_utc().timestamp() + 1,
        nanos: 0,
    };
    s.clock.advance(chrono::Duration::minutes(1));
    let mut m = s.as_portal(&b.k.portal, member).await;
    let (info2, tar2) = export(&mut m, org, Some(later)).await.unwrap();
    assert_eq!((info2.token_issuances, info2.powers_of_attorney), (0, 3));
    assert!(verify(&tar2, &cert, false).0);

    // Who may not: an employee outside the group, the operator, another organisation's auditor;
    // a bad period. Each refusal changes nothing.
    let other = s
        .client("other-auditor", Role::Auditor, Some(b.k.vendor))
        .await;
    let events = count_rows(&s.db, "audit_events");
    let err = export(&mut s.as_portal(&b.k.portal, outsider).await, org, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_ORG_AUDITOR");
    let err = export(&mut s.as_portal(&b.k.portal, b.k.holder).await, org, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = export(&mut s.as_operator().await, org, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = export(&mut s.as_token(&other).await, org, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let (status, _, _) = http_get(
        &url,
        &[
            ("authorization", &bearer),
            ("x-orgadm-person", &outsider.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let err = api
        .records
        .export_records(pb::ExportRecordsRequest {
            organization_oid: org,
            start_time: Some(later),
            end_time: Some(later),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(count_rows(&s.db, "audit_events"), events);

    // Retention: the database itself refuses to change or delete a record.
    for sql in [
        "UPDATE poa_signatures SET signed_at = signed_at".to_owned(),
        "DELETE FROM poa_revocations".to_owned(),
        "UPDATE token_issuances SET client_addr = '10.0.0.1'".to_owned(),
        "DELETE FROM token_issuances".to_owned(),
        format!(
            "UPDATE powers_of_attorney SET internal_number = 'X', number = number || 'x' WHERE organization_oid = {org}"
        ),
        format!("DELETE FROM powers_of_attorney WHERE organization_oid = {org}"),
    ] {
        assert!(exec_sql(&s.db, &sql).is_err(), "{sql}");
    }
    // The records exported again are the same bytes (the key register's last use may move).
    let (_, again) = export(&mut api, org, None).await.unwrap();
    let records = |m: Manifest| {
        m.files
            .into_iter()
            .filter(|f| f.path != "api-keys.jsonl")
            .collect::<Vec<_>>()
    };
    assert_eq!(
        records(serde_json::from_slice(file(&entries(&again), MANIFEST)).unwrap()),
        records(manifest.clone())
    );

    // Tampering, each caught with its precise message.
    let docs: Vec<&String> = manifest
        .files
        .iter()
        .map(|f| &f.path)
        .filter(|p| p.contains("/ON_EMCHD_") && p.ends_with(".xml"))
        .collect();
    assert_eq!(docs.len(), 3);
    let (a, b2) = (docs[0].as_str(), docs[1].as_str());
    let sig_a = format!("{a}.sig");
    let sig_b = format!("{b2}.sig");
    // A swapped document.
    refused(
        &replace(&e, a, file(&e, b2).to_vec()),
        &cert,
        &format!("{a}: Streebog-256 differs from the manifest"),
    );
    // A modified signature.
    let mut sig = file(&e, &sig_a).to_vec();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    refused(
        &replace(&e, &sig_a, sig),
        &cert,
        &format!("{sig_a}: Streebog-256 differs from the manifest"),
    );
    // A file removed.
    let removed: Entries = e.iter().filter(|(p, _)| p != &sig_b).cloned().collect();
    refused(
        &removed,
        &cert,
        &format!("file listed in the manifest is missing: {sig_b}"),
    );
    // An extra file.
    let mut extra = e.clone();
    extra.insert(
        0,
        ("powers-of-attorney/notes.txt".into(), b"hello".to_vec()),
    );
    refused(
        &extra,
        &cert,
        "file not in the manifest: powers-of-attorney/notes.txt",
    );
    // A manifest signed by another key.
    refused(
        &resign(&e, &test_signer(), s.clock.now()),
        &cert,
        "manifest signature is not by the given certificate",
    );
    // A manifest changed after signing.
    let mut m: Manifest = serde_json::from_slice(file(&e, MANIFEST)).unwrap();
    m.counts.api_keys += 1;
    refused(
        &replace(&e, MANIFEST, serde_json::to_vec_pretty(&m).unwrap()),
        &cert,
        "manifest signature does not verify over manifest.json",
    );
    // Two documents' signatures swapped and the manifest re-signed with the service key itself:
    // only the heads' КЭП check can see it.
    let swapped = replace(
        &replace(&e, &sig_a, file(&e, &sig_b).to_vec()),
        &sig_b,
        file(&e, &sig_a).to_vec(),
    );
    refused(
        &resign(&swapped, s.core.signer.as_ref().unwrap(), s.clock.now()),
        &cert,
        &format!("{sig_a}: the head's signature does not verify over this document"),
    );
}
