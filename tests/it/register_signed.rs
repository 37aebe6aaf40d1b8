//! Registration of an organisation by its head with a КЭП (`RegisterWithSignature`): the head's
//! signature over the JSON statement creates the organisation exactly as the operator's path
//! does (head as employee, built-in groups, audit chain), keeps the statement and signature; an
//! organisation's certificate of another organisation, a private person's, another employee's,
//! an untrusted one, a statement naming someone else, an unconfirmed caller are refused with
//! nothing stored; a second registration of the OGRN is ALREADY_EXISTS.

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::poa::{openssl_sign, sign_as};
use crate::support::*;

both_backends!(register_signed_by_the_head_creates_the_organisation);

fn statement(ogrn: &str, inn: &str, snils: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({
        "format": "ORGADM_ORG_REGISTRATION_1",
        "ogrn": ogrn,
        "inn": inn,
        "kpp": "781001001",
        "full_name": "Общество с ограниченной ответственностью \"Ромашка\"",
        "short_name": "ООО \"Ромашка\"",
        "address": "г. Санкт-Петербург, Невский пр., 1",
        "head_snils": snils,
    }))
    .unwrap()
}

async fn register_signed_by_the_head_creates_the_organisation(s: &TestServer) {
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
    let other = confirmed_person(&mut op, "Сидоров", 31).await;
    let standard = op
        .persons
        .register_person(person_req(
            "Смирнов",
            "112-233-445 95",
            pb::AccountLevel::Standard,
        ))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let portal = s.client("portal", Role::Portal, None).await;
    s.clock
        .advance(chrono::Duration::days(314) + chrono::Duration::hours(2));
    let mut api = s.as_portal(&portal, head).await;
    let st = statement("1037800000017", "7810010017", "123-456-789 64");
    let register = |statement: &[u8], signature: Vec<u8>| pb::RegisterWithSignatureRequest {
        request_id: String::new(),
        statement: statement.to_vec(),
        signature,
    };
    let events = count_rows(&s.db, "audit_events");

    // Refusals: each names its check; nothing is stored.
    let mut changed = st.clone();
    let at = changed.len() - 5;
    changed[at] = b'X';
    let changed_ok = statement("1037800000017", "7810010017", "12345678964");
    for (statement, sig, want) in [
        (&st, sign_as("vendor_head", &st), "SIGNER_MISMATCH"),
        (&st, sign_as("private", &st), "SIGNER_MISMATCH"),
        (&st, sign_as("impersonal", &st), "SIGNER_MISMATCH"),
        (&st, sign_as("employee", &st), "SIGNER_MISMATCH"),
        (&st, sign_as("rogue", &st), "CERTIFICATE_UNTRUSTED"),
        (&st, sign_as("expired", &st), "CERTIFICATE_NOT_VALID"),
        (&st, sign_as("revoked", &st), "CERTIFICATE_REVOKED"),
        (&changed_ok, sign_as("head", &st), "SIGNATURE_INVALID"),
    ] {
        let err = api
            .orgs
            .register_with_signature(register(statement, sig))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{want}: {err:?}");
        assert_eq!(reason(&err), want, "{}", err.message());
    }
    // The statement names the vendor's organisation, signed by its head, sent by our head.
    let vendor = statement("1207700000012", "7701000019", "123-456-789 64");
    let err = api
        .orgs
        .register_with_signature(register(&vendor, sign_as("vendor_head", &vendor)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SIGNER_MISMATCH", "{}", err.message());
    // The statement's head is not the caller.
    let someone = statement("1037800000017", "7810010017", "112-233-445 95");
    let err = api
        .orgs
        .register_with_signature(register(&someone, sign_as("head", &someone)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "HEAD_NOT_CALLER");
    // Another person sending the head's signed statement.
    let err = s
        .as_portal(&portal, other)
        .await
        .orgs
        .register_with_signature(register(&st, sign_as("head", &st)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "HEAD_NOT_CALLER");
    let err = s
        .as_portal(&portal, standard)
        .await
        .orgs
        .register_with_signature(register(&st, sign_as("head", &st)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "HEAD_NOT_CONFIRMED");
    let err = op
        .orgs
        .register_with_signature(register(&st, sign_as("head", &st)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Bad statements: every bad field at once; broken JSON; no signature.
    let bad = statement("1037800000018", "7810010018", "123-456-789 65");
    let err = api
        .orgs
        .register_with_signature(register(&bad, sign_as("head", &bad)))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&err),
        ["statement.head_snils", "statement.ogrn", "statement.inn"]
    );
    let err = api
        .orgs
        .register_with_signature(register(&changed, sign_as("head", &changed)))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["statement"]);
    let err = api
        .orgs
        .register_with_signature(register(&st, Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["signature"]);
    assert_eq!(count_rows(&s.db, "organizations"), 0);
    assert_eq!(count_rows(&s.db, "organization_registrations"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), events);

    // The head's own certificate: the organisation, with the caller as head.
    let sig = sign_as("head", &st);
    let mut req = register(&st, sig.clone());
    req.request_id = "reg-1".into();
    let org = api
        .orgs
        .register_with_signature(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(org.ogrn, "1037800000017");
    assert_eq!(org.inn, "7810010017");
    assert_eq!(org.kpp, "781001001");
    assert_eq!(org.head_oid, head);
    assert_eq!(org.kind, pb::OrganizationKind::LegalEntity as i32);
    // A retry with the same request id gives the same organisation.
    let again = api
        .orgs
        .register_with_signature(req)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.oid, org.oid);
    // As the operator's path: the head is its employee, the built-in groups exist.
    let groups = api
        .groups
        .list_groups(pb::ListGroupsRequest {
            organization_oid: org.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .groups;
    let mnemonics: Vec<_> = groups.iter().map(|g| g.mnemonic.as_str()).collect();
    assert!(mnemonics.contains(&"ORG_ADMIN"), "{mnemonics:?}");
    assert!(mnemonics.contains(&"TECH_PORTAL"), "{mnemonics:?}");
    let emp = api
        .employees
        .get_employee(pb::GetEmployeeRequest {
            organization_oid: org.oid,
            person_oid: head,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(emp.chief);
    assert_eq!(count_rows(&s.db, "organization_registrations"), 1);
    let ev = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: org.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(ev[0].action, "organization.register_signed");
    assert!(
        ev[0].details_json.contains("Петров"),
        "{}",
        ev[0].details_json
    );
    assert!(
        op.audit
            .verify_chain(pb::VerifyChainRequest {
                organization_oid: org.oid,
            })
            .await
            .unwrap()
            .into_inner()
            .intact
    );
    // The same OGRN again, signed again (live by OpenSSL when installed): ALREADY_EXISTS.
    // (OpenSSL signs at the real time: move the clock past it.)
    s.clock.advance(chrono::Duration::days(150));
    let sig = openssl_sign("head", &st).unwrap_or(sig);
    let err = api
        .orgs
        .register_with_signature(register(&st, sig))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "OGRN_TAKEN");
    assert_eq!(count_rows(&s.db, "organizations"), 1);
}
