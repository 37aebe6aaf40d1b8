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

fn contents(rep: i64) -> pb::DraftContents {
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

fn xmllint_accepts(doc: &[u8]) -> Option<bool> {
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
