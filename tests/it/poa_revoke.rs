//! Revoking a signed power of attorney with the head's КЭП: the statement PrepareRevocation
//! renders (valid against its XSD, by libxml2 and by xmllint where installed), every wrong
//! signature refused with its reason and nothing stored, then «Отозвана» at once everywhere
//! (Get, List, IsAuthorised, the public status page), the statement and signature downloadable
//! unchanged over gRPC and HTTP, and no second revocation.

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::poa::{contents, openssl_sign, sign_as};
use crate::support::*;
use crate::xml_emchd::{REVOCATION_XSD, xmllint};

both_backends!(head_revokes_with_kep_and_it_stops_counting_at_once);

pub(crate) struct Signed {
    pub org: pb::Organization,
    pub head: i64,
    pub rep: i64,
    pub portal: String,
}

/// The head as the test PKI's head certificate names them (Петров Пётр Петрович), their
/// organisation (ООО «Ромашка»), a representative, on 2026-11-25 12:00 (the certificates are
/// valid from 2026-11-23).
pub(crate) async fn signing_world(s: &TestServer) -> Signed {
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
    s.clock
        .advance(chrono::Duration::days(314) + chrono::Duration::hours(2));
    Signed {
        org,
        head,
        rep,
        portal,
    }
}

/// A power of attorney drafted and signed by the head, granting the API-KEY power for `system`.
async fn signed_poa(api: &mut Api, w: &Signed, start: &str, system: &str) -> pb::PowerOfAttorney {
    let mut c = contents(w.rep);
    c.powers[0].information_system = system.into();
    c.start_date = start.into();
    c.end_date = "2027-05-31".into();
    let d = api
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: w.org.oid,
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
        .into_inner();
    api.poa
        .submit_signature(pb::SubmitSignatureRequest {
            number: d.number.clone(),
            etag: d.etag.clone(),
            signature: sign_as("head", &doc.content),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn head_revokes_with_kep_and_it_stops_counting_at_once(s: &TestServer) {
    let w = signing_world(s).await;
    let mut api = s.as_portal(&w.portal, w.head).await;
    let p = signed_poa(&mut api, &w, "2026-11-01", "ROMASHKA_CRM").await;
    assert_eq!(p.state, pb::PowerOfAttorneyState::Active as i32);
    let ask = pb::IsAuthorisedRequest {
        person_oid: w.rep,
        organization_oid: w.org.oid,
        power_code: "ORGADM_API_KEY_ISSUE".into(),
        information_system: "ROMASHKA_CRM".into(),
        on: String::new(),
    };
    assert!(
        api.poa
            .is_authorised(ask.clone())
            .await
            .unwrap()
            .into_inner()
            .authorised
    );

    // Only the head prepares; the statement is valid against its XSD and names what it must.
    let prepare = |number: &str| pb::PrepareRevocationRequest {
        number: number.to_owned(),
        reason: "Утрата доверия".into(),
    };
    let err = s
        .as_portal(&w.portal, w.rep)
        .await
        .poa
        .prepare_revocation(prepare(&p.number))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let st = api
        .poa
        .prepare_revocation(prepare(&p.number))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        st.file_name,
        format!("ORGADM_REVOCATION_20261125_{}.xml", p.number)
    );
    assert!(st.signature.is_empty());
    orgadm::xml::validate_revocation_against_schema(&st.content).unwrap();
    if let Some((ok, msg)) = xmllint(REVOCATION_XSD, &st.content) {
        assert!(ok, "xmllint refused the statement: {msg}");
    }
    let parsed = orgadm::xml::parse_revocation(&st.content).unwrap();
    assert_eq!(parsed.power_of_attorney.to_string(), p.number);
    assert_eq!(parsed.principal_ogrn, "1037800000017");
    assert_eq!(parsed.revoker.snils, "12345678964");
    assert_eq!(parsed.reason.as_deref(), Some("Утрата доверия"));
    assert_eq!(parsed.revoked_at.to_rfc3339(), "2026-11-25T12:00:00+00:00");

    // Every wrong signature or statement is refused with its reason; nothing is stored.
    let events = count_rows(&s.db, "audit_events");
    let submit = |statement: &[u8], sig: Vec<u8>| pb::SubmitRevocationRequest {
        number: p.number.clone(),
        statement: statement.to_vec(),
        signature: sig,
    };
    let changed = String::from_utf8(st.content.clone())
        .unwrap()
        .replace("Утрата доверия", "Утрата доверия!")
        .into_bytes();
    for (statement, sig, want) in [
        (
            &st.content,
            sign_as("employee", &st.content),
            "SIGNER_MISMATCH",
        ),
        (
            &st.content,
            sign_as("vendor_head", &st.content),
            "SIGNER_MISMATCH",
        ),
        (
            &st.content,
            sign_as("private", &st.content),
            "SIGNER_MISMATCH",
        ),
        (
            &st.content,
            sign_as("rogue", &st.content),
            "CERTIFICATE_UNTRUSTED",
        ),
        (
            &st.content,
            sign_as("expired", &st.content),
            "CERTIFICATE_NOT_VALID",
        ),
        (
            &st.content,
            sign_as("revoked", &st.content),
            "CERTIFICATE_REVOKED",
        ),
        (&changed, sign_as("head", &st.content), "SIGNATURE_INVALID"),
    ] {
        let err = api
            .poa
            .submit_revocation(submit(statement, sig))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{want}: {err:?}");
        assert_eq!(reason(&err), want, "{}", err.message());
    }
    // A statement for another power of attorney does not revoke this one.
    let other = signed_poa(&mut api, &w, "2026-11-02", "OTHER_CRM").await;
    let other_st = api
        .poa
        .prepare_revocation(prepare(&other.number))
        .await
        .unwrap()
        .into_inner()
        .content;
    let err = api
        .poa
        .submit_revocation(submit(&other_st, sign_as("head", &other_st)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "STATEMENT_MISMATCH", "{}", err.message());
    // Not a statement at all, no signature.
    let err = api
        .poa
        .submit_revocation(submit(b"<not/>", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["signature"]);
    let err = api
        .poa
        .submit_revocation(submit(b"<not/>", b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["statement"]);
    let err = api
        .poa
        .submit_revocation(submit(&st.content, b"not a signature".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["signature"]);
    assert_eq!(count_rows(&s.db, "poa_revocations"), 0);
    let ev_other = 2; // the second power of attorney's draft and signing
    assert_eq!(count_rows(&s.db, "audit_events"), events + ev_other);

    // The head's signature over the exact statement: revoked at once.
    let sig = sign_as("head", &st.content);
    let revoked = api
        .poa
        .submit_revocation(submit(&st.content, sig.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.state, pb::PowerOfAttorneyState::Revoked as i32);
    let got = api
        .poa
        .get_power_of_attorney(pb::GetPowerOfAttorneyRequest {
            number: p.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::PowerOfAttorneyState::Revoked as i32);
    assert!(
        !api.poa
            .is_authorised(ask.clone())
            .await
            .unwrap()
            .into_inner()
            .authorised
    );
    let list = api
        .poa
        .list_powers_of_attorney(pb::ListPowersOfAttorneyRequest {
            organization_oid: w.org.oid,
            state: pb::PowerOfAttorneyState::Revoked as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let numbers: Vec<_> = list.powers_of_attorney.iter().map(|p| &p.number).collect();
    assert_eq!(numbers, [&p.number]);
    let (status, _, body) = http_get(
        &format!(
            "http://{}/poa/check-status?guid={}&format=json",
            s.addr, p.number
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "REVOKED");
    assert!(
        json["revokedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-25T12:00:00"),
        "{json}"
    );

    // Statement and signature, unchanged, over gRPC and HTTP.
    let r = api
        .poa
        .get_revocation(pb::GetRevocationRequest {
            number: p.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.content, st.content);
    assert_eq!(r.signature, sig);
    assert_eq!(r.file_name, st.file_name);
    let bearer = format!("Bearer {}", w.portal);
    let head_oid = w.head.to_string();
    let auth = [
        ("authorization", bearer.as_str()),
        ("x-orgadm-person", head_oid.as_str()),
    ];
    let base = format!("http://{}/v1/powers-of-attorney/{}", s.addr, p.number);
    let (status, headers, body) = http_get(&format!("{base}/revocation"), &auth).await;
    assert_eq!(status, 200, "{headers}");
    assert_eq!(body, st.content);
    let (status, headers, body) = http_get(&format!("{base}/revocation.sig"), &auth).await;
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains(".xml.sig"), "{headers}");
    assert_eq!(body, sig);
    let (status, _, body) = http_get(&format!("{base}/document.sig"), &auth).await;
    assert_eq!(status, 200);
    let doc = api
        .poa
        .get_document(pb::GetDocumentRequest {
            number: p.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(body, doc.signature);
    assert!(!doc.signature.is_empty());
    let (status, _, _) = http_get(&format!("{base}/revocation"), &[]).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_get(
        &format!(
            "http://{}/v1/powers-of-attorney/{}/revocation",
            s.addr, other.number
        ),
        &auth,
    )
    .await;
    assert_eq!(status, 404);

    // No second revocation; a draft cannot be revoked.
    let err = api
        .poa
        .submit_revocation(submit(&st.content, sig))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALREADY_REVOKED");
    let err = api
        .poa
        .prepare_revocation(prepare(&p.number))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_REVOKED");
    let draft = api
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: w.org.oid,
            contents: Some(contents(w.rep)),
        })
        .await
        .unwrap()
        .into_inner();
    let err = api
        .poa
        .prepare_revocation(prepare(&draft.number))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_SIGNED");
    assert_eq!(count_rows(&s.db, "poa_revocations"), 1);

    // The revocation is in the chain, with the signer; the chain is intact.
    let mut op = s.as_operator().await;
    let ev = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: w.org.oid,
            action: "poa.revoke".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(ev.len(), 1);
    assert!(
        ev[0].details_json.contains("Петров"),
        "{}",
        ev[0].details_json
    );
    assert!(
        op.audit
            .verify_chain(pb::VerifyChainRequest {
                organization_oid: w.org.oid,
            })
            .await
            .unwrap()
            .into_inner()
            .intact
    );

    // What OpenSSL's GOST engine signs is accepted too (live, when installed).
    let Some(live) = openssl_sign("head", &other_st) else {
        return;
    };
    // The engine signs at the real time: move the clock past it.
    s.clock.advance(chrono::Duration::days(150));
    let err = api
        .poa
        .submit_revocation(pb::SubmitRevocationRequest {
            number: other.number.clone(),
            statement: other_st.clone(),
            signature: live.clone(),
        })
        .await
        .unwrap_err();
    // A statement older than 24 hours must be prepared again.
    assert_eq!(reason(&err), "STATEMENT_MISMATCH", "{}", err.message());
    let fresh = api
        .poa
        .prepare_revocation(prepare(&other.number))
        .await
        .unwrap()
        .into_inner()
        .content;
    let live = openssl_sign("head", &fresh).unwrap();
    let r = api
        .poa
        .submit_revocation(pb::SubmitRevocationRequest {
            number: other.number.clone(),
            statement: fresh,
            signature: live,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.state, pb::PowerOfAttorneyState::Revoked as i32);
}
