//! Employees and access groups: listing and search, updates with etags, block / unblock /
//! dismiss / leave, the head's protection, custom groups and members, and who may do what.

use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::invitations::{invite, org_with_head};
use crate::smtp::{parse, secret_after};
use crate::support::*;

both_backends!(employees_groups_and_rules, listing_filters_and_pages);

/// Invites person number `n` by e-mail, reads the link from the `.eml` file, accepts it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn hire(
    s: &TestServer,
    dir: &std::path::Path,
    inviter: &mut Api,
    org: i64,
    portal: &str,
    surname: &str,
    n: u32,
    admin: bool,
) -> i64 {
    let mut op = s.as_operator().await;
    let person = confirmed_person(&mut op, surname, n).await;
    hire_person(s, dir, inviter, org, portal, person, n, admin).await
}

/// Hires a person already registered (e.g. one whose SNILS a test certificate carries); `n`
/// makes the invitation's e-mail unique.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn hire_person(
    s: &TestServer,
    dir: &std::path::Path,
    inviter: &mut Api,
    org: i64,
    portal: &str,
    person: i64,
    n: u32,
    admin: bool,
) -> i64 {
    let email = format!("p{n}@example.ru");
    inviter
        .invitations
        .create_invitation(invite(org, &email, "", admin))
        .await
        .unwrap();
    s.core.outbox_wakeup.notify_one();
    let mut secret = None;
    for _ in 0..400 {
        for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
            if raw.contains(&email) {
                secret = Some(secret_after(&parse(&raw).text, LINK_BASE));
            }
        }
        if secret.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut p = s.as_portal(portal, person).await;
    p.invitations
        .accept_invitation(pb::AcceptInvitationRequest {
            secret: secret.expect("no e-mail"),
        })
        .await
        .unwrap();
    person
}

fn member(org: i64, g: &str, p: i64) -> pb::GroupMemberRequest {
    pb::GroupMemberRequest {
        organization_oid: org,
        mnemonic: g.into(),
        person_oid: p,
    }
}

fn state_req(org: i64, p: i64) -> pb::ChangeEmployeeStateRequest {
    pb::ChangeEmployeeStateRequest {
        organization_oid: org,
        person_oid: p,
        etag: String::new(),
    }
}

fn list_req(org: i64) -> pb::ListEmployeesRequest {
    pb::ListEmployeesRequest {
        organization_oid: org,
        ..Default::default()
    }
}

async fn employees_groups_and_rules(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let o = org_with_head(s).await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let admin = hire(
        s,
        dir.path(),
        &mut head,
        o.oid,
        &o.portal,
        "Админов",
        60,
        true,
    )
    .await;
    let plain = hire(
        s,
        dir.path(),
        &mut head,
        o.oid,
        &o.portal,
        "Простов",
        61,
        false,
    )
    .await;
    let mut adm = s.as_portal(&o.portal, admin).await;
    let mut pl = s.as_portal(&o.portal, plain).await;

    // Built-in groups exist from registration.
    let groups = pl
        .groups
        .list_person_groups(pb::ListPersonGroupsRequest {
            organization_oid: o.oid,
            person_oid: plain,
        })
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert!(groups.is_empty());
    let all = head
        .groups
        .list_groups(pb::ListGroupsRequest {
            organization_oid: o.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .groups;
    let names: Vec<(&str, &str, bool)> = all
        .iter()
        .map(|g| (g.mnemonic.as_str(), g.name.as_str(), g.builtin))
        .collect();
    assert_eq!(
        names,
        [
            ("ORG_ADMIN", "Администраторы профиля организации", true),
            ("ORG_AUDITORS", "Аудиторы", true),
            ("TECH_PORTAL", "Технологический портал", true)
        ]
    );

    // A plain employee neither reads the staff list nor invites.
    let err = pl
        .employees
        .list_employees(list_req(o.oid))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_ORG_READER");
    let err = pl
        .invitations
        .create_invitation(invite(o.oid, "x@example.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ORG_ADMIN");
    // The profile admin puts them into the auditors: now they read, still cannot invite.
    adm.groups
        .add_group_member(member(o.oid, "ORG_AUDITORS", plain))
        .await
        .unwrap();
    let staff = pl
        .employees
        .list_employees(list_req(o.oid))
        .await
        .unwrap()
        .into_inner()
        .employees;
    assert_eq!(staff.len(), 3);
    let err = pl
        .groups
        .add_group_member(member(o.oid, "TECH_PORTAL", plain))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ORG_ADMIN");
    // ...and the organisation's audit trail.
    pl.audit
        .list_events(pb::ListEventsRequest {
            organization_oid: o.oid,
            ..Default::default()
        })
        .await
        .unwrap();

    // Custom groups: validated, unique, mnemonic immutable; built-ins immutable.
    let g = adm
        .groups
        .create_group(pb::CreateGroupRequest {
            request_id: "g1".into(),
            organization_oid: o.oid,
            mnemonic: "SALES2".into(),
            system: String::new(),
            name: "Продажи".into(),
            description: "Отдел продаж".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.system, "ESIA");
    assert!(!g.builtin);
    // A retry under the same request id answers the same group and creates nothing; another
    // request under that id is refused.
    let retry = pb::CreateGroupRequest {
        request_id: "g1".into(),
        organization_oid: o.oid,
        mnemonic: "SALES2".into(),
        system: String::new(),
        name: "Продажи".into(),
        description: "Отдел продаж".into(),
    };
    let again = adm
        .groups
        .create_group(retry.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.mnemonic, again.name),
        (g.mnemonic.clone(), g.name.clone())
    );
    let err = adm
        .groups
        .create_group(pb::CreateGroupRequest {
            mnemonic: "SALES3".into(),
            ..retry
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let dup = pb::CreateGroupRequest {
        request_id: String::new(),
        organization_oid: o.oid,
        mnemonic: "SALES2".into(),
        system: String::new(),
        name: "Другое".into(),
        description: String::new(),
    };
    let err = adm.groups.create_group(dup.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "GROUP_EXISTS");
    let err = adm
        .groups
        .create_group(pb::CreateGroupRequest {
            mnemonic: "Продажи".into(),
            system: "lower".into(),
            name: String::new(),
            ..dup.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["mnemonic", "system", "name"]);
    let err = adm
        .groups
        .update_group(pb::UpdateGroupRequest {
            organization_oid: o.oid,
            mnemonic: "ORG_ADMIN".into(),
            etag: "v1".into(),
            update_mask: vec!["name".into()],
            name: "Иное".into(),
            description: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "GROUP_BUILTIN");
    let g2 = adm
        .groups
        .update_group(pb::UpdateGroupRequest {
            organization_oid: o.oid,
            mnemonic: "SALES2".into(),
            etag: g.etag.clone(),
            update_mask: vec!["name".into()],
            name: "Продажи и маркетинг".into(),
            description: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g2.name, "Продажи и маркетинг");
    assert_eq!(g2.description, "Отдел продаж");
    assert_eq!(g2.etag, "v2");
    let err = adm
        .groups
        .update_group(pb::UpdateGroupRequest {
            organization_oid: o.oid,
            mnemonic: "SALES2".into(),
            etag: g.etag.clone(),
            update_mask: vec![],
            name: "x".into(),
            description: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    // Updates with etags.
    let e = adm
        .employees
        .get_employee(pb::GetEmployeeRequest {
            organization_oid: o.oid,
            person_oid: plain,
        })
        .await
        .unwrap()
        .into_inner();
    let upd = |etag: &str| pb::UpdateEmployeeRequest {
        organization_oid: o.oid,
        person_oid: plain,
        etag: etag.into(),
        update_mask: vec!["position".into(), "phone".into()],
        position: "Старший инженер".into(),
        work_email: String::new(),
        phone: "+7 (999) 123-45-67".into(),
    };
    let e2 = adm
        .employees
        .update_employee(upd(&e.etag))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e2.position, "Старший инженер");
    assert_eq!(e2.phone, "+79991234567");
    assert_eq!(e2.work_email, e.work_email, "outside the mask: kept");
    let err = adm
        .employees
        .update_employee(upd(&e.etag))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let mut bad = upd(&e2.etag);
    bad.update_mask = vec!["work_email".into()];
    bad.work_email = "nope".into();
    assert_eq!(
        violations(&adm.employees.update_employee(bad).await.unwrap_err()),
        ["work_email"]
    );

    // The head can be neither blocked nor dismissed, nor leave.
    for err in [
        adm.employees
            .block_employee(state_req(o.oid, o.head))
            .await
            .unwrap_err(),
        adm.employees
            .dismiss_employee(state_req(o.oid, o.head))
            .await
            .unwrap_err(),
        head.employees
            .leave_organization(pb::LeaveOrganizationRequest {
                organization_oid: o.oid,
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(reason(&err), "HEAD_PROTECTED");
    }

    // Blocked: acts no more, cannot join groups; unblocked: acts again.
    let b = adm
        .employees
        .block_employee(state_req(o.oid, plain))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.state, pb::EmployeeState::Blocked as i32);
    let err = pl
        .employees
        .list_employees(list_req(o.oid))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ACTIVE_EMPLOYEE");
    let err = adm
        .groups
        .add_group_member(member(o.oid, "SALES2", plain))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "EMPLOYEE_NOT_ACTIVE");
    let err = adm
        .employees
        .block_employee(state_req(o.oid, plain))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "EMPLOYEE_NOT_ACTIVE");
    adm.employees
        .unblock_employee(state_req(o.oid, plain))
        .await
        .unwrap();
    pl.employees.list_employees(list_req(o.oid)).await.unwrap();

    // Dismissal removes from every group; a dismissed admin administers nothing.
    head.groups
        .add_group_member(member(o.oid, "SALES2", admin))
        .await
        .unwrap();
    assert_eq!(
        count_where(&s.db, "group_members", &format!("person_oid = {admin}")),
        2
    );
    let d = head
        .employees
        .dismiss_employee(state_req(o.oid, admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.state, pb::EmployeeState::Dismissed as i32);
    assert!(d.leave_time.is_some());
    assert_eq!(
        count_where(&s.db, "group_members", &format!("person_oid = {admin}")),
        0
    );
    let err = adm
        .invitations
        .create_invitation(invite(o.oid, "y@example.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ACTIVE_EMPLOYEE");
    // The plain employee leaves of their own accord.
    let left = pl
        .employees
        .leave_organization(pb::LeaveOrganizationRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.state, pb::EmployeeState::Dismissed as i32);
    assert_eq!(
        count_where(&s.db, "group_members", &format!("person_oid = {plain}")),
        0
    );
    // A dismissed person may be invited again and rejoins.
    let back = hire(
        s,
        dir.path(),
        &mut head,
        o.oid,
        &o.portal,
        "Вернувшийся",
        62,
        false,
    )
    .await;
    assert_ne!(back, admin);
    let actions: Vec<String> = s
        .as_operator()
        .await
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: o.oid,
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "group.add_member",
        "group.create",
        "group.update",
        "employee.update",
        "employee.block",
        "employee.unblock",
        "employee.dismiss",
        "employee.leave",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
    worker.stop().await;
}

async fn listing_filters_and_pages(s: &TestServer) {
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    // Employees made directly in the database: 30 people, every third in ORG_AUDITORS.
    let mut sql = String::new();
    for i in 0..30 {
        let oid = 2_000_000_000_i64 + i;
        sql.push_str(&format!(
            "INSERT INTO persons (oid, surname, given_name, snils, level, created_at, updated_at, version) \
             VALUES ({oid}, '{}', 'Имя', '{}', 'confirmed', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);\n\
             INSERT INTO employees (organization_oid, person_oid, work_email, email_lower, state, joined_at, updated_at, version) \
             VALUES ({}, {oid}, 'E{i}@Example.ru', 'e{i}@example.ru', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);\n",
            if i < 10 { "Алексеев" } else { "Борисов" },
            snils(100 + i as u32),
            o.oid,
            if i % 5 == 0 { "blocked" } else { "active" },
        ));
        if i % 3 == 0 {
            sql.push_str(&format!(
                "INSERT INTO group_members (organization_oid, mnemonic, person_oid, added_at) VALUES ({}, 'ORG_AUDITORS', {oid}, '2026-01-01 00:00:00');\n",
                o.oid
            ));
        }
    }
    exec_sql(&s.db, &sql).unwrap();
    let list = |r: pb::ListEmployeesRequest| {
        let mut api = op.employees.clone();
        async move { api.list_employees(r).await }
    };
    // Pages of 7 walk all 31 in OID order.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(pb::ListEmployeesRequest {
            page_size: 7,
            page_token: token.clone(),
            ..list_req(o.oid)
        })
        .await
        .unwrap()
        .into_inner();
        seen.extend(page.employees.iter().map(|e| e.person_oid));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 31);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let n =
        |r: pb::ListEmployeesRequest| async { list(r).await.unwrap().into_inner().employees.len() };
    assert_eq!(
        n(pb::ListEmployeesRequest {
            name_prefix: "Алекс".into(),
            page_size: 100,
            ..list_req(o.oid)
        })
        .await,
        10
    );
    assert_eq!(
        n(pb::ListEmployeesRequest {
            state: pb::EmployeeState::Blocked as i32,
            page_size: 100,
            ..list_req(o.oid)
        })
        .await,
        6
    );
    assert_eq!(
        n(pb::ListEmployeesRequest {
            group: "ORG_AUDITORS".into(),
            page_size: 100,
            ..list_req(o.oid)
        })
        .await,
        10
    );
    assert_eq!(
        n(pb::ListEmployeesRequest {
            email: "e7@EXAMPLE.RU".into(),
            ..list_req(o.oid)
        })
        .await,
        1
    );
    assert_eq!(
        n(pb::ListEmployeesRequest {
            snils: snils(105),
            ..list_req(o.oid)
        })
        .await,
        1
    );
    let members = op
        .groups
        .list_group_members(pb::ListGroupMembersRequest {
            organization_oid: o.oid,
            mnemonic: "ORG_AUDITORS".into(),
            page_size: 4,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(members.employees.len(), 4);
    assert!(!members.next_page_token.is_empty());
    // A token is bound to its filters; bad filters are field violations.
    let page = list(pb::ListEmployeesRequest {
        page_size: 2,
        ..list_req(o.oid)
    })
    .await
    .unwrap()
    .into_inner();
    let err = list(pb::ListEmployeesRequest {
        page_token: page.next_page_token,
        state: pb::EmployeeState::Active as i32,
        ..list_req(o.oid)
    })
    .await
    .unwrap_err();
    assert_eq!(violations(&err), ["page_token"]);
    let err = list(pb::ListEmployeesRequest {
        snils: "123".into(),
        state: 9,
        group: "bad group".into(),
        ..list_req(o.oid)
    })
    .await
    .unwrap_err();
    assert_eq!(violations(&err), ["snils", "state", "group"]);
    let err = list(pb::ListEmployeesRequest {
        group: "NOPE".into(),
        ..list_req(o.oid)
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = list(list_req(424242)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
