//! Powers of attorney: drafts rendered as EMCHD_1 (checked against the official XSD, by our
//! libxml2 check and by xmllint where installed), edits with etags, discarding, access, the
//! document over gRPC and HTTP, and the public status check.

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(
    head_drafts_reviews_edits_and_discards,
    bad_drafts_are_refused_and_change_nothing,
    only_the_head_drafts_and_parties_read,
    head_signs_and_the_state_follows_the_clock,
);

struct World {
    org: pb::Organization,
    head: i64,
    rep: i64,
    portal: String,
}

async fn world(s: &TestServer) -> World {
    let mut op = s.as_operator().await;
    let head = confirmed_person(&mut op, "Иванов", 11).await;
    let rep = confirmed_person(&mut op, "Петрова", 12).await;
    let org = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner();
    let portal = s.client("portal", Role::Portal, None).await;
    World {
        org,
        head,
        rep,
        portal,
    }
}

pub(crate) fn contents(rep: i64) -> pb::DraftContents {
    pb::DraftContents {
        internal_number: "42/2026".into(),
        representative_person_oid: rep,
        representative_document: Some(pb::IdentityDocument {
            kind_code: "21".into(),
            series_number: "45 08 123456".into(),
            issue_date: "2010-06-01".into(),
            issuer: "ОВД \"Хамовники\" г. Москвы".into(),
            issuer_code: "770-001".into(),
        }),
        head_position: "Генеральный директор".into(),
        start_date: "2026-02-01".into(),
        end_date: "2026-07-31".into(),
        redelegation: pb::Redelegation::None as i32,
        irrevocable: false,
        powers: vec![pb::PowerGrant {
            code: "ORGADM_API_KEY_ISSUE".into(),
            information_system: "ROMASHKA_CRM".into(),
        }],
    }
}

pub(crate) fn xmllint_accepts(doc: &[u8]) -> Option<bool> {
    let ok = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("xmllint not installed: skipping its check (apt-get install libxml2-utils)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, doc).unwrap();
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/xml/ON_EMCHD_1_928_00_01_01_01.xsd"
    );
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(&f)
        .output()
        .unwrap();
    if !out.status.success() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Some(out.status.success())
}

async fn head_drafts_reviews_edits_and_discards(s: &TestServer) {
    let w = world(s).await;
    let mut head = s.as_portal(&w.portal, w.head).await;
    let d = head
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: "b7f1c2d3-0000-4000-8000-000000000001".into(),
            organization_oid: w.org.oid,
            contents: Some(contents(w.rep)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.state, pb::PowerOfAttorneyState::Draft as i32);
    assert_eq!(d.etag, "v1");
    assert_eq!(d.principal_person_oid, w.head);
    assert_eq!(d.file_name, format!("ON_EMCHD_20260201_{}.xml", d.number));
    assert_eq!(
        d.status_url,
        format!("http://localhost:8080/poa/check-status?guid={}", d.number)
    );
    assert_eq!(
        uuid::Uuid::parse_str(&d.number).unwrap().get_version_num(),
        4
    );

    // The review: the exact bytes, valid against the official XSD, carrying the facts.
    let doc = head
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(doc.file_name, d.file_name);
    assert!(
        doc.content
            .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    assert_eq!(
        doc.streebog256_hex,
        hex::encode(orgadm::crypto::streebog::streebog256(&doc.content))
    );
    orgadm::xml::validate_against_schema(&doc.content).unwrap();
    if let Some(ok) = xmllint_accepts(&doc.content) {
        assert!(ok, "xmllint refused the document");
    }
    let parsed = orgadm::xml::parse(&doc.content).unwrap();
    assert_eq!(parsed.number.to_string(), d.number);
    assert_eq!(parsed.principal.inn, "7810010017");
    assert_eq!(parsed.principal.ogrn, "1037800000017");
    assert_eq!(parsed.principal.kpp, "781001001");
    assert_eq!(parsed.head.snils, snils(11));
    assert_eq!(parsed.head.name.surname, "Иванов");
    assert_eq!(
        parsed.head.position.as_deref(),
        Some("Генеральный директор")
    );
    assert_eq!(parsed.representative.snils, snils(12));
    assert_eq!(
        parsed.representative.birth_date.map(|d| d.to_string()),
        Some("1980-02-03".into())
    );
    assert_eq!(parsed.powers.len(), 1);
    assert_eq!(parsed.powers[0].code, "ORGADM_API_KEY_ISSUE");
    assert_eq!(
        parsed.powers[0].restrictions[0].value,
        orgadm::xml::RestrictionValue::Code("ROMASHKA_CRM".into())
    );
    assert_eq!(parsed.status_url, d.status_url);

    // The same bytes over HTTP, with the same credentials.
    let url = format!(
        "http://{}/v1/powers-of-attorney/{}/document",
        s.addr, d.number
    );
    let bearer = format!("Bearer {}", w.portal);
    let head_oid = w.head.to_string();
    let (status, head_text, body) = http_get(
        &url,
        &[("authorization", &bearer), ("x-orgadm-person", &head_oid)],
    )
    .await;
    assert_eq!(status, 200, "{head_text}");
    assert!(head_text.contains(&d.file_name), "{head_text}");
    assert_eq!(body, doc.content);
    let (status, _, _) = http_get(&url, &[]).await;
    assert_eq!(status, 401);

    // A retried create returns the first draft.
    let again = head
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: "b7f1c2d3-0000-4000-8000-000000000001".into(),
            organization_oid: w.org.oid,
            contents: Some(contents(w.rep)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.number, d.number);

    // Edit: new bytes, new etag; a stale etag is refused.
    let mut c = contents(w.rep);
    c.end_date = "2026-12-31".into();
    c.redelegation = pb::Redelegation::Once as i32;
    let e = head
        .poa
        .update_draft(pb::UpdateDraftRequest {
            number: d.number.clone(),
            etag: d.etag.clone(),
            contents: Some(c.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e.etag, "v2");
    assert_eq!(e.end_date, "2026-12-31");
    let doc2 = head
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(doc2.content, doc.content);
    let p2 = orgadm::xml::parse(&doc2.content).unwrap();
    assert_eq!(p2.end_date.to_string(), "2026-12-31");
    assert_eq!(p2.redelegation, orgadm::xml::Redelegation::Once);
    let err = head
        .poa
        .update_draft(pb::UpdateDraftRequest {
            number: d.number.clone(),
            etag: d.etag.clone(),
            contents: Some(c.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    // The public status check does not show drafts.
    let status_url = format!(
        "http://{}/poa/check-status?guid={}&format=json",
        s.addr, d.number
    );
    let (status, _, _) = http_get(&status_url, &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = http_get(
        &format!("http://{}/poa/check-status?guid=nonsense", s.addr),
        &[],
    )
    .await;
    assert_eq!(status, 400);

    // Listing and filters.
    let list = head
        .poa
        .list_powers_of_attorney(pb::ListPowersOfAttorneyRequest {
            organization_oid: w.org.oid,
            power_code: "ORGADM_API_KEY_ISSUE".into(),
            state: pb::PowerOfAttorneyState::Draft as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.powers_of_attorney.len(), 1);
    let none = head
        .poa
        .list_powers_of_attorney(pb::ListPowersOfAttorneyRequest {
            organization_oid: w.org.oid,
            state: pb::PowerOfAttorneyState::Active as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.powers_of_attorney.is_empty());

    // Discard; then nothing can change.
    let gone = head
        .poa
        .discard_draft(pb::DiscardDraftRequest {
            number: d.number.clone(),
            etag: e.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gone.state, pb::PowerOfAttorneyState::Discarded as i32);
    let err = head
        .poa
        .update_draft(pb::UpdateDraftRequest {
            number: d.number.clone(),
            etag: gone.etag.clone(),
            contents: Some(c),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOT_A_DRAFT");

    // Every change is in the organisation's chain, with the document's hash.
    let mut op = s.as_operator().await;
    let events = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: w.org.oid,
            target_id: d.number.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["poa.draft.create", "poa.draft.update", "poa.draft.discard"]
    );
    assert!(events[0].details_json.contains(&doc.streebog256_hex));
    assert!(events[1].details_json.contains(&doc2.streebog256_hex));
    let v = op
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: w.org.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact);
}

async fn bad_drafts_are_refused_and_change_nothing(s: &TestServer) {
    let w = world(s).await;
    let mut head = s.as_portal(&w.portal, w.head).await;
    let mut op = s.as_operator().await;
    let simple = op
        .persons
        .register_person(person_req(
            "Простой",
            &snils(13),
            pb::AccountLevel::Simplified,
        ))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let rows = count_rows(&s.db, "powers_of_attorney");
    let events = count_rows(&s.db, "audit_events");
    let create = |c: pb::DraftContents| pb::CreateDraftRequest {
        request_id: String::new(),
        organization_oid: w.org.oid,
        contents: Some(c),
    };

    // Field rules, all at once.
    let mut c = contents(w.rep);
    c.internal_number = String::new();
    c.start_date = "2026-13-01".into();
    c.redelegation = 0;
    c.powers[0].information_system = "esia-app".into();
    let err = head.poa.create_draft(create(c)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&err),
        [
            "contents.internal_number",
            "contents.start_date",
            "contents.redelegation",
            "contents.powers[0].information_system",
        ]
    );
    // Catalogue rules: the API-KEY power needs its system; unknown codes are refused.
    let mut c = contents(w.rep);
    c.powers = vec![
        pb::PowerGrant {
            code: "ORGADM_API_KEY_ISSUE".into(),
            information_system: String::new(),
        },
        pb::PowerGrant {
            code: "NO_SUCH_POWER".into(),
            information_system: String::new(),
        },
        pb::PowerGrant {
            code: "ORGADM_AUDIT_EXPORT".into(),
            information_system: "ROMASHKA_CRM".into(),
        },
    ];
    let err = head.poa.create_draft(create(c)).await.unwrap_err();
    assert_eq!(
        violations(&err),
        [
            "contents.powers[0].information_system",
            "contents.powers[1].code",
            "contents.powers[2].information_system",
        ]
    );
    // The representative must hold a confirmed account.
    let err = head
        .poa
        .create_draft(create(contents(simple)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "PERSON_NOT_CONFIRMED");
    // A deactivated power cannot go into new documents.
    let p = op
        .powers
        .get_power(pb::GetPowerRequest {
            code: "ORGADM_API_KEY_ISSUE".into(),
        })
        .await
        .unwrap()
        .into_inner();
    op.powers
        .update_power(pb::UpdatePowerRequest {
            code: p.code,
            etag: p.etag,
            update_mask: vec!["active".into()],
            active: false,
            ..Default::default()
        })
        .await
        .unwrap();
    let events = events + 1;
    let err = head
        .poa
        .create_draft(create(contents(w.rep)))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["contents.powers[0].code"]);
    // Unknown organisation.
    let mut req = create(contents(w.rep));
    req.organization_oid = 999;
    let err = head.poa.create_draft(req).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    assert_eq!(count_rows(&s.db, "powers_of_attorney"), rows);
    assert_eq!(count_rows(&s.db, "poa_powers"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), events);
}

async fn only_the_head_drafts_and_parties_read(s: &TestServer) {
    let w = world(s).await;
    let mut head = s.as_portal(&w.portal, w.head).await;
    let d = head
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: w.org.oid,
            contents: Some(contents(w.rep)),
        })
        .await
        .unwrap()
        .into_inner();
    let mut rep = s.as_portal(&w.portal, w.rep).await;
    let err = rep
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: w.org.oid,
            contents: Some(contents(w.rep)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_HEAD");
    // The representative reads the power of attorney given to them, but not the list.
    let got = rep
        .poa
        .get_power_of_attorney(pb::GetPowerOfAttorneyRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.number, d.number);
    let err = rep
        .poa
        .list_powers_of_attorney(pb::ListPowersOfAttorneyRequest {
            organization_oid: w.org.oid,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A stranger reads nothing; the organisation's auditor and the operator read.
    let mut op = s.as_operator().await;
    let stranger = confirmed_person(&mut op, "Чужой", 14).await;
    let mut other = s.as_portal(&w.portal, stranger).await;
    let err = other
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let auditor = s.client("auditor", Role::Auditor, Some(w.org.oid)).await;
    let mut aud = s.as_token(&auditor).await;
    aud.poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap();
    let vendor = {
        let mut req = org_req(stranger);
        req.ogrn = "1027700132195".into();
        req.inn = "7707083893".into();
        req.kpp = "773601001".into();
        req.vendor = true;
        op.orgs
            .register_organization(req)
            .await
            .unwrap()
            .into_inner()
    };
    let vtoken = s.client("vendor", Role::Vendor, Some(vendor.oid)).await;
    let err = s
        .as_token(&vtoken)
        .await
        .poa
        .get_power_of_attorney(pb::GetPowerOfAttorneyRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

// ---- signing with the test PKI (tests/fixtures/pki, made by OpenSSL's GOST engine) ----

pub(crate) fn pki(
    name: &str,
) -> (
    orgadm::crypto::gost3410::PrivateKey,
    orgadm::crypto::cert::Certificate,
) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pki");
    let key = orgadm::crypto::keys::private_key_from_pem(
        &std::fs::read_to_string(format!("{dir}/{name}.key.pem")).unwrap(),
    )
    .unwrap();
    let cert = orgadm::crypto::cert::Certificate::from_pem(
        &std::fs::read_to_string(format!("{dir}/{name}.cert.pem")).unwrap(),
    )
    .unwrap();
    (key, cert)
}

pub(crate) fn sign_as(name: &str, content: &[u8]) -> Vec<u8> {
    let (key, cert) = pki(name);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    orgadm::crypto::cms::sign_detached(&key, &cert, content, at).unwrap()
}

async fn head_signs_and_the_state_follows_the_clock(s: &TestServer) {
    // The head as the test PKI's head certificate names them (Петров Пётр Петрович).
    let mut op = s.as_operator().await;
    let mut req = person_req("Петров", "123-456-789 64", pb::AccountLevel::Confirmed);
    req.inn = "771234567859".into();
    let head = op
        .persons
        .register_person(req)
        .await
        .unwrap()
        .into_inner()
        .oid;
    let rep = confirmed_person(&mut op, "Петрова", 21).await;
    let org = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner();
    let portal = s.client("portal", Role::Portal, None).await;
    let mut api = s.as_portal(&portal, head).await;
    // The certificates are valid from 2026-11-23: sign on 2026-11-25.
    s.clock
        .advance(chrono::Duration::days(314) + chrono::Duration::hours(2));
    let mut c = contents(rep);
    c.start_date = "2026-12-01".into();
    c.end_date = "2027-05-31".into();
    let d = api
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: org.oid,
            contents: Some(c),
        })
        .await
        .unwrap()
        .into_inner();
    let doc = api
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    let events = count_rows(&s.db, "audit_events");
    let submit = |sig: Vec<u8>| pb::SubmitSignatureRequest {
        number: d.number.clone(),
        etag: d.etag.clone(),
        signature: sig,
    };
    // Every wrong signature is refused with the check that failed, and stores nothing.
    let mut changed = doc.clone();
    let at = changed.len() - 20;
    changed[at] ^= 0x01;
    for (sig, want) in [
        (sign_as("employee", &doc), "SIGNER_MISMATCH"),
        (sign_as("vendor_head", &doc), "SIGNER_MISMATCH"),
        (sign_as("impersonal", &doc), "SIGNER_MISMATCH"),
        (sign_as("rogue", &doc), "CERTIFICATE_UNTRUSTED"),
        (sign_as("expired", &doc), "CERTIFICATE_NOT_VALID"),
        (sign_as("revoked", &doc), "CERTIFICATE_REVOKED"),
        (sign_as("head", &changed), "SIGNATURE_INVALID"),
    ] {
        let err = api.poa.submit_signature(submit(sig)).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{want}: {err:?}");
        assert_eq!(reason(&err), want, "{}", err.message());
    }
    let err = api
        .poa
        .submit_signature(submit(b"not a signature".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["signature"]);
    // The representative may not sign for the organisation.
    let err = s
        .as_portal(&portal, rep)
        .await
        .poa
        .submit_signature(submit(sign_as("head", &doc)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(count_rows(&s.db, "poa_signatures"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), events);

    // At the storage level, an organisation no longer at the version the checks were decided
    // on, or a draft no longer at the reviewed version, gets nothing written (not even the event
    // PostgreSQL's statement would append).
    let sig = sign_as("head", &doc);
    let draft_version = orgadm::service::parse_etag(&d.etag).unwrap();
    let org_version = orgadm::service::parse_etag(&org.etag).unwrap();
    for (draft_v, org_v) in [
        (draft_version, org_version + 1),
        (draft_version + 1, org_version),
    ] {
        let (number, sig) = (d.number.clone(), sig.clone());
        let chain = org.oid;
        let now = orgadm::service::clock::Clock::now(&s.clock);
        let signed = s
            .core
            .db
            .write(move |c| {
                let event = orgadm::domain::audit::NewEvent {
                    chain,
                    actor_client: "test".into(),
                    actor_person: None,
                    action: "poa.sign",
                    target_type: "power_of_attorney",
                    target_id: number.clone(),
                    request_id: String::new(),
                    details: serde_json::json!({}),
                };
                let signing = orgadm::storage::poa_signed::Signing {
                    number: &number,
                    version: draft_v,
                    organization_oid: chain,
                    organization_version: org_v,
                    signature: &sig,
                    signer_certificate: b"cert",
                    signing_time: None,
                };
                let r = orgadm::storage::poa_signed::sign(c, &signing, &event, now)?;
                Ok((r.signed, r.event.is_some()))
            })
            .await
            .unwrap();
        assert_eq!(
            signed,
            (false, false),
            "draft v{draft_v}, organisation v{org_v}"
        );
    }
    assert_eq!(count_rows(&s.db, "poa_signatures"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), events);

    // The head's signature over the exact bytes: signed, «Новая» until the start date.
    let signed = api
        .poa
        .submit_signature(submit(sig.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed.state, pb::PowerOfAttorneyState::New as i32);
    assert_eq!(count_rows(&s.db, "poa_signatures"), 1);
    // One event for the signature (on PostgreSQL written by the signing statement itself), the
    // chain intact after it.
    assert_eq!(count_rows(&s.db, "audit_events"), events + 1);
    assert_eq!(count_where(&s.db, "audit_events", "action = 'poa.sign'"), 1);
    let v = s.chain_verdict(org.oid).await;
    assert!(v.intact, "{v:?}");
    // Stored unchanged.
    let again = api
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    assert_eq!(again, doc);
    let err = api
        .poa
        .submit_signature(pb::SubmitSignatureRequest {
            number: d.number.clone(),
            etag: signed.etag.clone(),
            signature: sig,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_A_DRAFT");
    let status_url = format!(
        "http://{}/poa/check-status?guid={}&format=json",
        s.addr, d.number
    );
    let (status, _, body) = http_get(&status_url, &[]).await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "CREATED");
    assert_eq!(json["principal"]["ogrn"], "1037800000017");
    assert!(!String::from_utf8_lossy(&body).contains("Петрова"));
    // «Действующая» from the start date, «Истекла» after the end date.
    s.clock.advance(chrono::Duration::days(7));
    let (_, _, body) = http_get(&status_url, &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "ACTIVE");
    let (_, head_text, html) = http_get(
        &format!("http://{}/poa/check-status?guid={}", s.addr, d.number),
        &[],
    )
    .await;
    assert!(head_text.contains("text/html"), "{head_text}");
    assert!(String::from_utf8_lossy(&html).contains("Действующая"));
    let active = api
        .poa
        .list_powers_of_attorney(pb::ListPowersOfAttorneyRequest {
            organization_oid: org.oid,
            state: pb::PowerOfAttorneyState::Active as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.powers_of_attorney.len(), 1);
    // IsAuthorised: the representative holds the API-KEY power for that system, today and on
    // days within the dates, not for another system, not before the start.
    let ask = |system: &str, on: &str| pb::IsAuthorisedRequest {
        person_oid: rep,
        organization_oid: org.oid,
        power_code: "ORGADM_API_KEY_ISSUE".into(),
        information_system: system.into(),
        on: on.into(),
    };
    let yes = api
        .poa
        .is_authorised(ask("ROMASHKA_CRM", ""))
        .await
        .unwrap()
        .into_inner();
    assert!(yes.authorised);
    assert_eq!(yes.number, d.number);
    assert_eq!(yes.end_date, "2027-05-31");
    for (system, on) in [
        ("OTHER_SYSTEM", ""),
        ("", ""),
        ("ROMASHKA_CRM", "2026-11-30"),
    ] {
        let no = api
            .poa
            .is_authorised(ask(system, on))
            .await
            .unwrap()
            .into_inner();
        assert!(!no.authorised, "{system} {on}");
    }
    let mut own = s.as_portal(&portal, rep).await;
    assert!(
        own.poa
            .is_authorised(ask("ROMASHKA_CRM", "2027-05-31"))
            .await
            .unwrap()
            .into_inner()
            .authorised
    );
    let err = api
        .poa
        .is_authorised(ask("bad id", "someday"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["information_system", "on"]);
    s.clock.advance(chrono::Duration::days(200));
    let (_, _, body) = http_get(&status_url, &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "EXPIRED");
    assert!(
        !api.poa
            .is_authorised(ask("ROMASHKA_CRM", ""))
            .await
            .unwrap()
            .into_inner()
            .authorised
    );
    // The signing is in the chain, with the signer.
    let events = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: org.oid,
            action: "poa.sign".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert!(
        events[0].details_json.contains("Петров"),
        "{}",
        events[0].details_json
    );

    // What OpenSSL's GOST engine signs over the document is accepted too (live, when installed).
    let mut c = contents(rep);
    c.start_date = "2027-07-01".into();
    c.end_date = "2027-12-31".into();
    let d2 = api
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: org.oid,
            contents: Some(c),
        })
        .await
        .unwrap()
        .into_inner();
    let doc2 = api
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d2.number.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    let Some(sig) = openssl_sign("head", &doc2) else {
        return;
    };
    let signed = api
        .poa
        .submit_signature(pb::SubmitSignatureRequest {
            number: d2.number.clone(),
            etag: d2.etag.clone(),
            signature: sig,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed.state, pb::PowerOfAttorneyState::New as i32);
}

/// A detached CMS signature made by OpenSSL's GOST engine, or None (with a message) without it.
pub(crate) fn openssl_sign(name: &str, content: &[u8]) -> Option<Vec<u8>> {
    let engine = std::process::Command::new("openssl")
        .args(["engine", "gost"])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        println!("OpenSSL GOST engine not available: skipping the live signature");
        return None;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pki");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("doc.xml");
    std::fs::write(&f, content).unwrap();
    let out = std::process::Command::new("openssl")
        .env("OPENSSL_CONF", "/dev/null")
        .args([
            "cms",
            "-sign",
            "-engine",
            "gost",
            "-binary",
            "-md",
            "md_gost12_256",
        ])
        .args(["-outform", "DER", "-in"])
        .arg(&f)
        .arg("-signer")
        .arg(format!("{dir}/{name}.cert.pem"))
        .arg("-inkey")
        .arg(format!("{dir}/{name}.key.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}
