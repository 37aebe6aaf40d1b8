//! Organisations: registration, validation, uniqueness, idempotency, etags, search.

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(
    bad_inn_is_a_field_violation_and_good_org_is_audited,
    every_validation_error_changes_nothing,
    head_must_exist_and_be_confirmed,
    ogrn_is_unique,
    idempotent_retry_returns_first_result,
    concurrent_retries_create_once,
    stale_etag_is_aborted,
    individual_entrepreneur,
    search_and_pagination,
);

async fn bad_inn_is_a_field_violation_and_good_org_is_audited(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 1).await;
    let before = count_rows(&s.db, "audit_events");
    let mut bad = org_req(head);
    bad.inn = "7810010018".into();
    let err = api.orgs.register_organization(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["inn"]);
    assert!(
        err.message().contains("INN checksum does not match"),
        "{}",
        err.message()
    );
    assert_eq!(count_rows(&s.db, "organizations"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), before);

    let org = api
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner();
    assert!(org.oid > 0);
    assert_eq!(org.etag, "v1");
    assert_eq!(org.kpp, "781001001");
    let got = api
        .orgs
        .get_organization(pb::GetOrganizationRequest { oid: org.oid })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, org);
    let events = api
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: org.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "organization.register");
    assert_eq!(events[0].actor_client, "operator");
    assert_eq!(events[0].sequence, 1);
    assert_eq!(events[0].prev_hash, "0".repeat(64));
    let v = api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: org.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact, "{v:?}");
    assert_eq!(v.events_checked, 1);
    assert_eq!(v.head_hash, events[0].hash);
}

async fn every_validation_error_changes_nothing(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 2).await;
    let tables = [
        "persons",
        "organizations",
        "audit_events",
        "idempotency",
        "audit_heads",
    ];
    let before: Vec<i64> = tables.iter().map(|t| count_rows(&s.db, t)).collect();

    type Case = (
        fn(&mut pb::RegisterOrganizationRequest),
        &'static [&'static str],
    );
    let org_cases: &[Case] = &[
        (|r| r.ogrn = "1037800000018".into(), &["ogrn"]),
        (|r| r.ogrn = "103780000001".into(), &["ogrn"]),
        (|r| r.kpp = "001001001".into(), &["kpp"]),
        (|r| r.kpp = String::new(), &["kpp"]),
        (|r| r.inn = "12".into(), &["inn"]),
        (|r| r.full_name = "  ".into(), &["full_name"]),
        (|r| r.short_name = "x\u{0007}".into(), &["short_name"]),
        (|r| r.address = "a".repeat(1001), &["address"]),
        (|r| r.kind = 0, &["kind"]),
        (|r| r.kind = 77, &["kind"]),
        (|r| r.head_oid = 0, &["head_oid"]),
        (|r| r.request_id = "has space".into(), &["request_id"]),
        (
            |r| {
                r.inn = "7810010018".into();
                r.ogrn = "1".into();
                r.kpp = "x".into();
            },
            &["ogrn", "inn", "kpp"],
        ),
    ];
    for (mutate, fields) in org_cases {
        let mut r = org_req(head);
        mutate(&mut r);
        let err = api.orgs.register_organization(r).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(violations(&err), *fields, "{err:?}");
        assert_eq!(reason(&err), "INVALID_ARGUMENT");
    }
    type PCase = (fn(&mut pb::RegisterPersonRequest), &'static [&'static str]);
    let person_cases: &[PCase] = &[
        (|r| r.snils = "123-456-789 65".into(), &["snils"]),
        (|r| r.snils = "123 456 789 64".into(), &["snils"]),
        (|r| r.snils = String::new(), &["snils"]),
        (|r| r.inn = "771234567858".into(), &["inn"]),
        (|r| r.surname = String::new(), &["surname"]),
        (|r| r.given_name = "Пётр1".into(), &["given_name"]),
        (|r| r.email = "not-an-email".into(), &["email"]),
        (|r| r.phone = "12".into(), &["phone"]),
        (|r| r.level = 0, &["level"]),
        (|r| r.birth_date = "31.12.1990".into(), &["birth_date"]),
    ];
    for (mutate, fields) in person_cases {
        let mut r = person_req("Иванов", &snils(900), pb::AccountLevel::Confirmed);
        mutate(&mut r);
        let err = api.persons.register_person(r).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(violations(&err), *fields, "{err:?}");
    }
    let err = api
        .persons
        .update_person(pb::UpdatePersonRequest {
            oid: head,
            etag: "v1".into(),
            update_mask: vec!["snils".into()],
            snils: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["snils"]);
    let err = api
        .persons
        .update_person(pb::UpdatePersonRequest {
            oid: head,
            etag: "v1".into(),
            update_mask: vec!["oid".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["update_mask"]);
    let after: Vec<i64> = tables.iter().map(|t| count_rows(&s.db, t)).collect();
    assert_eq!(before, after, "a refused request changed the database");
    let p = api
        .persons
        .get_person(pb::GetPersonRequest { oid: head })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.etag, "v1");
}

async fn head_must_exist_and_be_confirmed(s: &TestServer) {
    let mut api = s.as_operator().await;
    let err = api
        .orgs
        .register_organization(org_req(999))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["head_oid"]);
    let std = api
        .persons
        .register_person(person_req(
            "Стандартов",
            &snils(3),
            pb::AccountLevel::Standard,
        ))
        .await
        .unwrap()
        .into_inner();
    let err = api
        .orgs
        .register_organization(org_req(std.oid))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "HEAD_NOT_CONFIRMED");
    let pf = details(&err);
    assert_eq!(
        pf.precondition_failure().unwrap().violations[0].subject,
        format!("person/{}", std.oid)
    );
    assert_eq!(count_rows(&s.db, "organizations"), 0);
}

async fn ogrn_is_unique(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 4).await;
    api.orgs.register_organization(org_req(head)).await.unwrap();
    let err = api
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "OGRN_TAKEN");
    assert_eq!(violations(&err), ["ogrn"]);
    assert_eq!(count_rows(&s.db, "organizations"), 1);
}

async fn idempotent_retry_returns_first_result(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 5).await;
    let mut r = org_req(head);
    r.request_id = "create-romashka-1".into();
    let first = api
        .orgs
        .register_organization(r.clone())
        .await
        .unwrap()
        .into_inner();
    let events = count_rows(&s.db, "audit_events");
    let again = api
        .orgs
        .register_organization(r.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(count_rows(&s.db, "organizations"), 1);
    assert_eq!(count_rows(&s.db, "audit_events"), events);
    r.short_name = "Другое".into();
    let err = api.orgs.register_organization(r).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    assert_eq!(violations(&err), ["request_id"]);
    // Persons too.
    let mut p = person_req("Сидоров", &snils(6), pb::AccountLevel::Confirmed);
    p.request_id = "p-1".into();
    let a = api
        .persons
        .register_person(p.clone())
        .await
        .unwrap()
        .into_inner();
    let b = api.persons.register_person(p).await.unwrap().into_inner();
    assert_eq!(a.oid, b.oid);
}

async fn concurrent_retries_create_once(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 7).await;
    let mut r = org_req(head);
    r.request_id = "same-request".into();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut api = s.as_operator().await;
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            api.orgs
                .register_organization(r)
                .await
                .map(|x| x.into_inner().oid)
        }));
    }
    let mut oids = Vec::new();
    for t in tasks {
        oids.push(t.await.unwrap().unwrap());
    }
    oids.dedup();
    assert_eq!(oids.len(), 1, "{oids:?}");
    assert_eq!(count_rows(&s.db, "organizations"), 1);
}

async fn stale_etag_is_aborted(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 8).await;
    let org = api
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner();
    let upd = |etag: &str, name: &str| pb::UpdateOrganizationRequest {
        oid: org.oid,
        etag: etag.into(),
        update_mask: vec!["short_name".into()],
        short_name: name.into(),
        ..Default::default()
    };
    let v2 = api
        .orgs
        .update_organization(upd(&org.etag, "ООО \"Ромашка-2\""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v2.etag, "v2");
    assert_eq!(v2.short_name, "ООО \"Ромашка-2\"");
    assert_eq!(
        v2.full_name, org.full_name,
        "fields outside the mask are kept"
    );
    let err = api
        .orgs
        .update_organization(upd(&org.etag, "ООО \"Ромашка-3\""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
    let err = api
        .orgs
        .update_organization(upd("", "x"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["etag"]);
    let now = api
        .orgs
        .get_organization(pb::GetOrganizationRequest { oid: org.oid })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.short_name, "ООО \"Ромашка-2\"");
    // Persons: the same rule.
    let p = api
        .persons
        .get_person(pb::GetPersonRequest { oid: head })
        .await
        .unwrap()
        .into_inner();
    let pu = |etag: &str| pb::UpdatePersonRequest {
        oid: head,
        etag: etag.into(),
        update_mask: vec!["email".into()],
        email: "new@example.ru".into(),
        ..Default::default()
    };
    assert_eq!(
        api.persons
            .update_person(pu(&p.etag))
            .await
            .unwrap()
            .into_inner()
            .email,
        "new@example.ru"
    );
    assert_eq!(
        api.persons
            .update_person(pu(&p.etag))
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
}

async fn individual_entrepreneur(s: &TestServer) {
    let mut api = s.as_operator().await;
    let mut p = person_req("Иванов", "15623478979", pb::AccountLevel::Confirmed);
    p.inn = "770512345650".into();
    let ip_head = api
        .persons
        .register_person(p)
        .await
        .unwrap()
        .into_inner()
        .oid;
    let req = pb::RegisterOrganizationRequest {
        kind: pb::OrganizationKind::IndividualEntrepreneur as i32,
        full_name: "Индивидуальный предприниматель Иванов Иван Иванович".into(),
        short_name: "ИП Иванов И. И.".into(),
        ogrn: "304770000000127".into(),
        inn: "770512345650".into(),
        kpp: String::new(),
        ..org_req(ip_head)
    };
    let mut with_kpp = req.clone();
    with_kpp.kpp = "781001001".into();
    assert_eq!(
        violations(&api.orgs.register_organization(with_kpp).await.unwrap_err()),
        ["kpp"]
    );
    let mut other_inn = req.clone();
    other_inn.inn = "771234567859".into();
    assert_eq!(
        violations(&api.orgs.register_organization(other_inn).await.unwrap_err()),
        ["inn"]
    );
    let ip = api
        .orgs
        .register_organization(req)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ip.kind, pb::OrganizationKind::IndividualEntrepreneur as i32);
    assert_eq!(ip.kpp, "");
}

async fn search_and_pagination(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 9).await;
    api.orgs.register_organization(org_req(head)).await.unwrap();
    let found = api
        .orgs
        .search_organizations(pb::SearchOrganizationsRequest {
            inn: "7810010017".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.organizations.len(), 1);
    let found = api
        .orgs
        .search_organizations(pb::SearchOrganizationsRequest {
            name_prefix: "ООО \"Ром".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.organizations.len(), 1);
    let none = api
        .orgs
        .search_organizations(pb::SearchOrganizationsRequest {
            name_prefix: "%".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.organizations.is_empty(), "LIKE wildcards are escaped");
    let err = api
        .orgs
        .search_organizations(pb::SearchOrganizationsRequest {
            ogrn: "1037800000018".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["ogrn"]);
}
