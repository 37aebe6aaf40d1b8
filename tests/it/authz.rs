//! The authorisation matrix: every RPC × every kind of caller.

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::support::*;

both_backends!(authorization_matrix, credentials_are_checked);

const CALLERS: [&str; 7] = [
    "operator",
    "portal_head",
    "portal_other",
    "portal_none",
    "vendor",
    "auditor_org",
    "auditor_platform",
];

async fn authorization_matrix(s: &TestServer) {
    let mut op = s.as_operator().await;
    let head = confirmed_person(&mut op, "Петров", 1).await;
    let other = confirmed_person(&mut op, "Чужой", 2).await;
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
    let auditor_org = s.client("auditor-org", Role::Auditor, Some(org.oid)).await;
    let auditor_platform = s.client("auditor-platform", Role::Auditor, None).await;

    // (rpc, expected per caller in CALLERS order: true = allowed)
    let matrix: &[(&str, [bool; 7])] = &[
        (
            "RegisterPerson",
            [true, true, true, true, false, false, false],
        ),
        (
            "UpdatePerson",
            [true, true, false, false, false, false, false],
        ),
        ("GetPerson", [true, true, false, false, false, false, false]),
        (
            "SearchPersons",
            [true, false, false, false, false, false, false],
        ),
        (
            "RegisterOrganization",
            [true, false, false, false, false, false, false],
        ),
        (
            "GetOrganization",
            [true, true, false, false, true, true, true],
        ),
        (
            "SearchOrganizationsExact",
            [true, false, false, false, true, false, false],
        ),
        (
            "SearchOrganizationsByName",
            [true, false, false, false, false, false, false],
        ),
        (
            "UpdateOrganizationName",
            [true, true, false, false, false, false, false],
        ),
        (
            "UpdateOrganizationFlags",
            [true, false, false, false, false, false, false],
        ),
        (
            "ListEventsOrg",
            [true, true, false, false, false, true, true],
        ),
        (
            "VerifyChainOrg",
            [true, true, false, false, false, true, true],
        ),
        (
            "ListEventsPlatform",
            [true, false, false, false, false, false, true],
        ),
        // Exports: the operator may read an organisation's chain but not take it away.
        (
            "ExportEventsOrg",
            [false, true, false, false, false, true, true],
        ),
        (
            "ExportEventsPlatform",
            [true, false, false, false, false, false, true],
        ),
        (
            "CreateCheckpointOrg",
            [true, true, false, false, false, true, true],
        ),
        (
            "CreatePower",
            [true, false, false, false, false, false, false],
        ),
        ("ListPowers", [true, true, true, true, true, true, true]),
        (
            "CreateInvitation",
            [true, true, false, false, false, false, false],
        ),
        (
            "ListInvitations",
            [true, true, false, false, false, true, true],
        ),
        (
            "ListEmployees",
            [true, true, false, false, false, true, true],
        ),
        (
            "GetEmployeeHead",
            [true, true, false, false, false, true, true],
        ),
        ("ListGroups", [true, true, false, false, false, true, true]),
        (
            "AddGroupMember",
            [true, true, false, false, false, false, false],
        ),
        (
            "BlockEmployeeHead",
            [false, false, false, false, false, false, false],
        ),
    ];
    let mut n = 0u32;
    for (rpc, expected) in matrix {
        for (i, who) in CALLERS.iter().enumerate() {
            let mut api = match *who {
                "operator" => s.as_operator().await,
                "portal_head" => s.as_portal(&portal, head).await,
                "portal_other" => s.as_portal(&portal, other).await,
                "portal_none" => s.as_token(&portal).await,
                "vendor" => s.as_token(&vendor).await,
                "auditor_org" => s.as_token(&auditor_org).await,
                _ => s.as_token(&auditor_platform).await,
            };
            n += 1;
            let cur = op
                .orgs
                .get_organization(pb::GetOrganizationRequest { oid: org.oid })
                .await
                .unwrap()
                .into_inner();
            let person = op
                .persons
                .get_person(pb::GetPersonRequest { oid: head })
                .await
                .unwrap()
                .into_inner();
            let result: Result<(), tonic::Status> = match *rpc {
                "RegisterPerson" => api
                    .persons
                    .register_person(person_req(
                        "Новый",
                        &snils(500 + n),
                        pb::AccountLevel::Simplified,
                    ))
                    .await
                    .map(|_| ()),
                "UpdatePerson" => api
                    .persons
                    .update_person(pb::UpdatePersonRequest {
                        oid: head,
                        etag: person.etag,
                        update_mask: vec!["email".into()],
                        email: format!("h{n}@example.ru"),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "GetPerson" => api
                    .persons
                    .get_person(pb::GetPersonRequest { oid: head })
                    .await
                    .map(|_| ()),
                "SearchPersons" => api
                    .persons
                    .search_persons(pb::SearchPersonsRequest::default())
                    .await
                    .map(|_| ()),
                "RegisterOrganization" => api
                    .orgs
                    .register_organization(org_req(head))
                    .await
                    .map(|_| ()),
                "GetOrganization" => api
                    .orgs
                    .get_organization(pb::GetOrganizationRequest { oid: org.oid })
                    .await
                    .map(|_| ()),
                "SearchOrganizationsExact" => api
                    .orgs
                    .search_organizations(pb::SearchOrganizationsRequest {
                        ogrn: org.ogrn.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "SearchOrganizationsByName" => api
                    .orgs
                    .search_organizations(pb::SearchOrganizationsRequest {
                        name_prefix: "ООО".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "UpdateOrganizationName" => api
                    .orgs
                    .update_organization(pb::UpdateOrganizationRequest {
                        oid: org.oid,
                        etag: cur.etag,
                        update_mask: vec!["short_name".into()],
                        short_name: format!("ООО \"Ромашка {n}\""),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "UpdateOrganizationFlags" => api
                    .orgs
                    .update_organization(pb::UpdateOrganizationRequest {
                        oid: org.oid,
                        etag: cur.etag,
                        update_mask: vec!["consumer".into()],
                        consumer: !cur.consumer,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "ListEventsOrg" => api
                    .audit
                    .list_events(pb::ListEventsRequest {
                        organization_oid: org.oid,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "VerifyChainOrg" => api
                    .audit
                    .verify_chain(pb::VerifyChainRequest {
                        organization_oid: org.oid,
                    })
                    .await
                    .map(|_| ()),
                "ExportEventsOrg" => api
                    .audit
                    .export_events(pb::ExportEventsRequest {
                        organization_oid: org.oid,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "ExportEventsPlatform" => api
                    .audit
                    .export_events(pb::ExportEventsRequest::default())
                    .await
                    .map(|_| ()),
                "CreateCheckpointOrg" => api
                    .audit
                    .create_checkpoint(pb::CreateCheckpointRequest {
                        organization_oid: org.oid,
                    })
                    .await
                    .map(|_| ()),
                "ListEventsPlatform" => api
                    .audit
                    .list_events(pb::ListEventsRequest {
                        organization_oid: 0,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "CreateInvitation" => api
                    .invitations
                    .create_invitation(crate::invitations::invite(
                        org.oid,
                        &format!("m{n}@example.ru"),
                        "",
                        false,
                    ))
                    .await
                    .map(|_| ()),
                "ListInvitations" => api
                    .invitations
                    .list_invitations(pb::ListInvitationsRequest {
                        organization_oid: org.oid,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "ListEmployees" => api
                    .employees
                    .list_employees(pb::ListEmployeesRequest {
                        organization_oid: org.oid,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "GetEmployeeHead" => api
                    .employees
                    .get_employee(pb::GetEmployeeRequest {
                        organization_oid: org.oid,
                        person_oid: head,
                    })
                    .await
                    .map(|_| ()),
                "ListGroups" => api
                    .groups
                    .list_groups(pb::ListGroupsRequest {
                        organization_oid: org.oid,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "AddGroupMember" => api
                    .groups
                    .add_group_member(pb::GroupMemberRequest {
                        organization_oid: org.oid,
                        mnemonic: "ORG_AUDITORS".into(),
                        person_oid: head,
                    })
                    .await
                    .map(|_| ()),
                // Nobody may block the head: refused by rule (HEAD_PROTECTED) or by role.
                "BlockEmployeeHead" => match api
                    .employees
                    .block_employee(pb::ChangeEmployeeStateRequest {
                        organization_oid: org.oid,
                        person_oid: head,
                        etag: String::new(),
                    })
                    .await
                {
                    Err(e) if e.code() == Code::FailedPrecondition => {
                        assert_eq!(reason(&e), "HEAD_PROTECTED");
                        Err(tonic::Status::permission_denied("head protected"))
                    }
                    other => other.map(|_| ()),
                },
                "CreatePower" => api
                    .powers
                    .create_power(pb::CreatePowerRequest {
                        code: format!("09.000.{n:03}"),
                        name: "Полномочие".into(),
                        description: "Описание".into(),
                        context: pb::PowerContext::None as i32,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                "ListPowers" => api
                    .powers
                    .list_powers(pb::ListPowersRequest::default())
                    .await
                    .map(|_| ()),
                other => panic!("unknown rpc {other}"),
            };
            let allowed = match &result {
                Ok(()) => true,
                Err(e) if e.code() == Code::PermissionDenied => {
                    assert!(
                        !reason(e).is_empty() || *rpc == "BlockEmployeeHead",
                        "{rpc} as {who}: PERMISSION_DENIED without a reason"
                    );
                    false
                }
                // Refused for another reason (e.g. the OGRN already exists): the caller got past
                // the access check.
                Err(e) => !matches!(e.code(), Code::Unauthenticated),
            };
            assert_eq!(allowed, expected[i], "{rpc} as {who}: {result:?}");
        }
    }
    // The head may not change flags; the reason says why.
    let cur = op
        .orgs
        .get_organization(pb::GetOrganizationRequest { oid: org.oid })
        .await
        .unwrap()
        .into_inner();
    let mut head_api = s.as_portal(&portal, head).await;
    let err = head_api
        .orgs
        .update_organization(pb::UpdateOrganizationRequest {
            oid: org.oid,
            etag: cur.etag.clone(),
            update_mask: vec!["vendor".into()],
            vendor: false,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "FIELD_NOT_ALLOWED");
    // A portal cannot raise its own person's account level.
    let me = op
        .persons
        .get_person(pb::GetPersonRequest { oid: other })
        .await
        .unwrap()
        .into_inner();
    let mut other_api = s.as_portal(&portal, other).await;
    let err = other_api
        .persons
        .update_person(pb::UpdatePersonRequest {
            oid: other,
            etag: me.etag,
            update_mask: vec!["level".into()],
            level: pb::AccountLevel::Simplified as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "LEVEL_CHANGE_NOT_ALLOWED");
    // Only portals may name an acting person.
    let mut v = Api::new(s.channel().await, Some(vendor.clone()), Some(head));
    let err = v
        .orgs
        .get_organization(pb::GetOrganizationRequest { oid: org.oid })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "ACTING_PERSON_NOT_ALLOWED");
}

async fn credentials_are_checked(s: &TestServer) {
    let mut anon = s.anonymous().await;
    let err = anon
        .persons
        .search_persons(pb::SearchPersonsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason(&err), "UNAUTHENTICATED");
    let mut wrong = s
        .as_token("oa1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(
        wrong
            .persons
            .search_persons(pb::SearchPersonsRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let mut junk = s.as_token("not a token").await;
    assert_eq!(
        junk.persons
            .search_persons(pb::SearchPersonsRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let token = s.client("short-lived", Role::Operator, None).await;
    let mut api = s.as_token(&token).await;
    api.persons
        .search_persons(pb::SearchPersonsRequest::default())
        .await
        .unwrap();
    s.core.revoke_client("short-lived".into()).await.unwrap();
    let err = api
        .persons
        .search_persons(pb::SearchPersonsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
