//! The audit chain: concurrency, tampering, filters.

use orgadm::transport::grpc::pb;

use crate::both_backends;
use crate::support::*;

both_backends!(
    chain_intact_after_concurrent_writes,
    tampered_event_is_detected,
    events_filter_and_page
);

async fn chain_intact_after_concurrent_writes(s: &TestServer) {
    let mut api = s.as_operator().await;
    let head = confirmed_person(&mut api, "Петров", 1).await;
    let org = api
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner();
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let mut api = s.as_operator().await;
        let oid = org.oid;
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            for i in 0..8u32 {
                // Person registrations go to the platform chain...
                confirmed_person(&mut api, "Параллельный", 1000 + t * 100 + i).await;
                // ...and organisation updates to the organisation's chain, racing on its etag.
                loop {
                    let cur = api
                        .orgs
                        .get_organization(pb::GetOrganizationRequest { oid })
                        .await
                        .unwrap()
                        .into_inner();
                    let r = api
                        .orgs
                        .update_organization(pb::UpdateOrganizationRequest {
                            oid,
                            etag: cur.etag,
                            update_mask: vec!["address".into()],
                            address: format!("адрес {t}-{i}"),
                            ..Default::default()
                        })
                        .await;
                    match r {
                        Ok(_) => break,
                        Err(e) if e.code() == tonic::Code::Aborted => continue,
                        Err(e) => panic!("{e:?}"),
                    }
                }
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 64);
    for chain in [0, org.oid] {
        let v = api
            .audit
            .verify_chain(pb::VerifyChainRequest {
                organization_oid: chain,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(v.intact, "chain {chain}: {v:?}");
        let expected = if chain == 0 { 1 + 1 + 64 } else { 1 + 64 };
        assert_eq!(v.events_checked, expected, "chain {chain}");
        assert_eq!(v.head_sequence, expected);
    }
}

async fn tampered_event_is_detected(s: &TestServer) {
    let mut api = s.as_operator().await;
    for i in 0..5 {
        confirmed_person(&mut api, "Петров", 10 + i).await;
    }
    let v = api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact);
    // The service's own connections cannot change events (append-only triggers)...
    let pg = s.db.url.starts_with("postgres");
    let drop = if pg {
        "DROP TRIGGER audit_events_no_change ON audit_events;"
    } else {
        "DROP TRIGGER audit_events_no_update;"
    };
    let tamper = "UPDATE audit_events SET details = '{\"level\":\"simplified\"}' WHERE chain = 0 AND seq = 4;";
    let refused = exec_sql(&s.db, tamper).unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    assert!(
        exec_sql(
            &s.db,
            "DELETE FROM audit_events WHERE chain = 0 AND seq = 4;"
        )
        .is_err()
    );
    // ...but a database administrator can; the chain shows it.
    exec_sql(&s.db, drop).unwrap();
    exec_sql(&s.db, tamper).unwrap();
    let v = api
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!v.intact);
    assert_eq!(v.first_broken_sequence, 4);
    assert!(v.problem.contains("changed"), "{}", v.problem);
}

async fn events_filter_and_page(s: &TestServer) {
    let mut api = s.as_operator().await;
    for i in 0..4 {
        confirmed_person(&mut api, "Петров", 40 + i).await;
    }
    let all = api
        .audit
        .list_events(pb::ListEventsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.events.len(), 2);
    assert!(!all.next_page_token.is_empty());
    let next = api
        .audit
        .list_events(pb::ListEventsRequest {
            page_size: 2,
            page_token: all.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.events[0].sequence, 3);
    assert_eq!(next.events[0].prev_hash, all.events[1].hash);
    let regs = api
        .audit
        .list_events(pb::ListEventsRequest {
            action: "person.register".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(regs.events.len(), 4);
    let by_target = api
        .audit
        .list_events(pb::ListEventsRequest {
            target_type: "client".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_target.events.len(), 1, "the operator client's creation");
    assert_eq!(by_target.events[0].actor_client, "console");
    let later = api
        .audit
        .list_events(pb::ListEventsRequest {
            start_time: Some(prost_types::Timestamp {
                seconds: 4_000_000_000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(later.events.is_empty());
}
