//! The powers catalogue: seeded entries, operator-only changes with audit, validation, etags,
//! pagination, and read access for every client role.

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(
    seeded_catalogue_has_the_api_key_power,
    operator_creates_and_updates_with_audit,
    bad_input_is_refused_and_changes_nothing,
    only_the_operator_changes_the_catalogue,
    list_filters_and_pages,
);

fn create_req(code: &str) -> pb::CreatePowerRequest {
    pb::CreatePowerRequest {
        request_id: String::new(),
        code: code.into(),
        name: "Право подписания актов сверки".into(),
        description: "Подписывать акты сверки взаимных расчётов от имени организации.".into(),
        context: pb::PowerContext::None as i32,
        source: pb::PowerSource::Fns as i32,
    }
}

async fn platform_events(api: &mut Api, action: &str) -> Vec<pb::AuditEvent> {
    api.audit
        .list_events(pb::ListEventsRequest {
            organization_oid: 0,
            action: action.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
}

async fn seeded_catalogue_has_the_api_key_power(s: &TestServer) {
    let mut api = s.as_operator().await;
    let p = api
        .powers
        .get_power(pb::GetPowerRequest {
            code: "ORGADM_API_KEY_ISSUE".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        p.name,
        "Право формирования идентификационных ключей (API-Key)"
    );
    assert_eq!(p.context, pb::PowerContext::InformationSystem as i32);
    assert_eq!(p.source, pb::PowerSource::Orgadm as i32);
    assert!(p.active);
    assert_eq!(p.etag, "v1");
    let err = api
        .powers
        .get_power(pb::GetPowerRequest {
            code: "NO_SUCH_POWER".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn operator_creates_and_updates_with_audit(s: &TestServer) {
    let mut api = s.as_operator().await;
    let mut req = create_req("02.001.005");
    req.request_id = "3f0e8d5c-2b1a-4c9d-8e7f-6a5b4c3d2e1f".into();
    let p = api
        .powers
        .create_power(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.code, "02.001.005");
    assert_eq!(p.source, pb::PowerSource::Fns as i32);
    // A retry with the same request id returns the first result and changes nothing.
    let again = api.powers.create_power(req).await.unwrap().into_inner();
    assert_eq!(again, p);
    assert_eq!(platform_events(&mut api, "power.create").await.len(), 1);
    // The same code under a new request id is taken.
    let err = api
        .powers
        .create_power(create_req("02.001.005"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "POWER_CODE_TAKEN");

    let upd = api
        .powers
        .update_power(pb::UpdatePowerRequest {
            code: p.code.clone(),
            etag: p.etag.clone(),
            update_mask: vec!["active".into()],
            active: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!upd.active);
    assert_eq!(upd.name, p.name);
    assert_eq!(upd.etag, "v2");
    let stale = api
        .powers
        .update_power(pb::UpdatePowerRequest {
            code: p.code.clone(),
            etag: p.etag.clone(),
            update_mask: vec!["name".into()],
            name: "Другое".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let events = platform_events(&mut api, "power.update").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].target_id, "02.001.005");
    assert!(
        events[0].details_json.contains("\"active\""),
        "{}",
        events[0].details_json
    );
    let v = api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact, "{v:?}");
}

async fn bad_input_is_refused_and_changes_nothing(s: &TestServer) {
    let mut api = s.as_operator().await;
    let rows = count_rows(&s.db, "powers");
    let events = count_rows(&s.db, "audit_events");
    let mut bad = create_req("short");
    bad.name = String::new();
    bad.context = pb::PowerContext::Unspecified as i32;
    let err = api.powers.create_power(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut v = violations(&err);
    v.sort();
    assert_eq!(v, ["code", "context", "name"]);
    let err = api
        .powers
        .create_power(create_req("ORGADM_MINE_NOW"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["code"]);
    let err = api
        .powers
        .update_power(pb::UpdatePowerRequest {
            code: "ORGADM_API_KEY_ISSUE".into(),
            etag: "v1".into(),
            update_mask: vec!["code".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["update_mask"]);
    let err = api
        .powers
        .update_power(pb::UpdatePowerRequest {
            code: "ORGADM_API_KEY_ISSUE".into(),
            etag: "v1".into(),
            update_mask: vec!["name".into()],
            name: "x".repeat(256),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["name"]);
    assert_eq!(count_rows(&s.db, "powers"), rows);
    assert_eq!(count_rows(&s.db, "audit_events"), events);
}

async fn only_the_operator_changes_the_catalogue(s: &TestServer) {
    let mut op = s.as_operator().await;
    let head = confirmed_person(&mut op, "Сидоров", 7).await;
    let mut req = org_req(head);
    req.vendor = true;
    let org = op
        .orgs
        .register_organization(req)
        .await
        .unwrap()
        .into_inner();
    let portal = s.client("portal", Role::Portal, None).await;
    let vendor = s.client("vendor", Role::Vendor, Some(org.oid)).await;
    let auditor = s.client("auditor", Role::Auditor, None).await;
    let rows = count_rows(&s.db, "powers");
    for mut api in [
        s.as_portal(&portal, head).await,
        s.as_token(&vendor).await,
        s.as_token(&auditor).await,
    ] {
        let err = api
            .powers
            .create_power(create_req("02.001.006"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = api
            .powers
            .update_power(pb::UpdatePowerRequest {
                code: "ORGADM_API_KEY_ISSUE".into(),
                etag: "v1".into(),
                update_mask: vec!["active".into()],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        // ...but every client reads the catalogue.
        let list = api
            .powers
            .list_powers(pb::ListPowersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(list.powers.len() as i64, rows);
    }
    let err = s
        .anonymous()
        .await
        .powers
        .list_powers(pb::ListPowersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(count_rows(&s.db, "powers"), rows);
}

async fn list_filters_and_pages(s: &TestServer) {
    let mut api = s.as_operator().await;
    for i in 0..5 {
        api.powers
            .create_power(create_req(&format!("03.000.00{i}")))
            .await
            .unwrap();
    }
    let seeded = count_rows(&s.db, "powers") - 5;
    let mut codes = Vec::new();
    let mut token = String::new();
    loop {
        let page = api
            .powers
            .list_powers(pb::ListPowersRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.powers.len() <= 2);
        codes.extend(page.powers.into_iter().map(|p| p.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(codes.len() as i64, seeded + 5);
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    let systems = api
        .powers
        .list_powers(pb::ListPowersRequest {
            context: pb::PowerContext::InformationSystem as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .powers;
    assert!(systems.iter().any(|p| p.code == "ORGADM_API_KEY_ISSUE"));
    assert!(
        systems
            .iter()
            .all(|p| p.context == pb::PowerContext::InformationSystem as i32)
    );
    // A token made for one filter is refused for another.
    let page = api
        .powers
        .list_powers(pb::ListPowersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = api
        .powers
        .list_powers(pb::ListPowersRequest {
            page_size: 1,
            active_only: true,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["page_token"]);
}
