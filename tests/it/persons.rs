//! The person directory.

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(
    snils_unique_per_checked_account,
    search_by_snils_name_oid_with_pages,
    update_with_mask
);

async fn snils_unique_per_checked_account(s: &TestServer) {
    let mut api = s.as_operator().await;
    let a = api
        .persons
        .register_person(person_req(
            "Петров",
            "123-456-789 64",
            pb::AccountLevel::Confirmed,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.snils, "12345678964", "stored as 11 digits");
    let err = api
        .persons
        .register_person(person_req(
            "Другой",
            "123-456-789-64",
            pb::AccountLevel::Standard,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "SNILS_TAKEN");
    assert_eq!(violations(&err), ["snils"]);
    // A simplified account may carry an unchecked duplicate.
    let simple = api
        .persons
        .register_person(person_req(
            "Упрощённый",
            "12345678964",
            pb::AccountLevel::Simplified,
        ))
        .await
        .unwrap()
        .into_inner();
    // Raising it to standard then collides.
    let err = api
        .persons
        .update_person(pb::UpdatePersonRequest {
            oid: simple.oid,
            etag: simple.etag,
            update_mask: vec!["level".into()],
            level: pb::AccountLevel::Standard as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SNILS_TAKEN");
    assert_eq!(count_rows(&s.db, "persons"), 2);
}

async fn search_by_snils_name_oid_with_pages(s: &TestServer) {
    let mut api = s.as_operator().await;
    let mut oids = Vec::new();
    for i in 0..7 {
        oids.push(
            confirmed_person(
                &mut api,
                &format!("Кузнецов{}", ["а", "б", "в", "г", "д", "е", "ж"][i]),
                100 + i as u32,
            )
            .await,
        );
    }
    confirmed_person(&mut api, "Орлова", 200).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = api
            .persons
            .search_persons(pb::SearchPersonsRequest {
                surname_prefix: "Кузнецов".into(),
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(r.persons.iter().map(|p| p.oid));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(seen, oids);
    assert_eq!(pages, 3);
    let first = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            surname_prefix: "Кузнецов".into(),
            page_size: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            surname_prefix: "Орл".into(),
            page_size: 3,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["page_token"]);
    let err = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["page_token"]);
    let by_snils = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            snils: snils(102),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_snils.persons.iter().map(|p| p.oid).collect::<Vec<_>>(),
        [oids[2]]
    );
    let by_oid = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            oid: oids[4],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_oid.persons.len(), 1);
    let capped = api
        .persons
        .search_persons(pb::SearchPersonsRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(capped.persons.len(), 8);
}

async fn update_with_mask(s: &TestServer) {
    let mut api = s.as_operator().await;
    let oid = confirmed_person(&mut api, "Петров", 300).await;
    let p = api
        .persons
        .update_person(pb::UpdatePersonRequest {
            oid,
            etag: "v1".into(),
            update_mask: vec!["phone".into(), "patronymic".into()],
            phone: "+7 (921) 000-11-22".into(),
            patronymic: String::new(),
            surname: "ignored".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.phone, "+79210001122");
    assert_eq!(p.patronymic, "");
    assert_eq!(p.surname, "Петров");
    let ev = api
        .audit
        .list_events(pb::ListEventsRequest {
            action: "person.update".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(ev.len(), 1);
    let d: serde_json::Value = serde_json::from_str(&ev[0].details_json).unwrap();
    assert_eq!(d["changed"], serde_json::json!(["patronymic", "phone"]));
    assert!(
        !ev[0].details_json.contains("921"),
        "no personal values in audit details"
    );
}
