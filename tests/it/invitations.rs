//! Invitations by e-mail: the whole flow through a real SMTP server, refusals that change
//! nothing, expiry, revocation, resend, concurrent accepts, delivery retries, `.eml` files.

use orgadm::domain::caller::Role;
use orgadm::service::Clock;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::smtp::{SmtpServer, parse, secret_after};
use crate::support::*;

both_backends!(
    head_invites_admin_who_invites_another,
    bad_invitations_change_nothing,
    bad_acceptances_change_nothing,
    expired_revoked_and_resent_links,
    concurrent_accepts_make_one_employee,
    delivered_after_smtp_comes_back,
    eml_files_when_no_smtp_and_lease_recovery,
    idempotent_create_and_one_pending_per_email,
);

/// An organisation with a confirmed head, and a portal credential.
pub struct Org {
    pub oid: i64,
    pub head: i64,
    pub portal: String,
}

pub async fn org_with_head(s: &TestServer) -> Org {
    let mut op = s.as_operator().await;
    let head = confirmed_person(&mut op, "Петров", 1).await;
    let oid = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let portal = s.client("portal", Role::Portal, None).await;
    Org { oid, head, portal }
}

pub fn invite(org: i64, email: &str, snils: &str, admin: bool) -> pb::CreateInvitationRequest {
    pb::CreateInvitationRequest {
        request_id: String::new(),
        organization_oid: org,
        email: email.into(),
        surname: "Иванов".into(),
        given_name: "Иван".into(),
        patronymic: "Иванович".into(),
        snils: snils.into(),
        position: "Инженер".into(),
        add_to_org_admin: admin,
    }
}

/// The tables an invitation use case may touch.
const TABLES: [&str; 7] = [
    "invitations",
    "employees",
    "group_members",
    "mail_outbox",
    "audit_events",
    "idempotency",
    "persons",
];

fn counts(s: &TestServer) -> Vec<i64> {
    TABLES.iter().map(|t| count_rows(&s.db, t)).collect()
}

async fn head_invites_admin_who_invites_another(s: &TestServer) {
    let smtp = SmtpServer::start().await;
    let worker = s.delivery_smtp(smtp.port);
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    let mut head = s.as_portal(&o.portal, o.head).await;

    // The head invites Иванов into the profile admins, bound to his SNILS.
    let inv = head
        .invitations
        .create_invitation(invite(o.oid, "Ivanov@Example.ru", &snils(10), true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inv.state, pb::InvitationState::Pending as i32);
    assert_eq!(inv.inviter_oid, o.head);
    assert_eq!(inv.snils, snils(10));
    let expire = inv.expire_time.unwrap().seconds - inv.create_time.unwrap().seconds;
    assert_eq!(expire, 60 * 86_400, "valid 60 days by default");

    // The e-mail arrives at the SMTP server: Russian text naming organisation and inviter.
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, ["Ivanov@Example.ru"]);
    assert!(
        mails[0].from.contains("noreply@orgadm.test"),
        "{}",
        mails[0].from
    );
    let m = parse(&mails[0].data);
    assert_eq!(m.subject, "Приглашение в организацию «ООО \"Ромашка\"»");
    assert!(m.to.contains("Ivanov@Example.ru"), "{}", m.to);
    assert!(
        m.text.contains(
            "Петров Пётр Петрович приглашает вас стать сотрудником организации «ООО \"Ромашка\"»"
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("Здравствуйте, Иванов Иван Иванович!"));
    assert!(
        m.text
            .contains("Ссылка действительна до 16.03.2026 13:00 (МСК)"),
        "{}",
        m.text
    );
    assert!(
        m.html
            .contains("<a href=\"https://lk.orgadm.test/invitation?secret=")
    );
    let secret = secret_after(&m.text, LINK_BASE);
    assert!(m.html.contains(&secret));
    // Only the secret's hash is stored, and no event or outbox row holds the secret.
    wait_rows(&s.db, "mail_outbox", "state = 'sent'", 1).await;
    assert_eq!(count_where(&s.db, "mail_attempts", "outcome = 'sent'"), 1);
    for t in [
        "invitations",
        "mail_outbox",
        "audit_events",
        "mail_attempts",
    ] {
        assert_eq!(
            count_where(
                &s.db,
                t,
                &format!("CAST({} AS TEXT) LIKE '%{secret}%'", row_text(t))
            ),
            0,
            "{t} holds the secret"
        );
    }

    // The invited person (a confirmed account with that SNILS) accepts through a portal.
    let ivanov = confirmed_person(&mut op, "Иванов", 10).await;
    let mut iv = s.as_portal(&o.portal, ivanov).await;
    let e = iv
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest {
            secret: secret.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e.person_oid, ivanov);
    assert_eq!(e.organization_oid, o.oid);
    assert_eq!(e.state, pb::EmployeeState::Active as i32);
    assert_eq!(e.work_email, "Ivanov@Example.ru");
    assert_eq!(e.position, "Инженер");
    assert!(!e.chief);
    let groups = iv
        .groups
        .list_person_groups(pb::ListPersonGroupsRequest {
            organization_oid: o.oid,
            person_oid: ivanov,
        })
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert_eq!(
        groups
            .iter()
            .map(|g| g.mnemonic.as_str())
            .collect::<Vec<_>>(),
        ["ORG_ADMIN"]
    );
    let got = head
        .invitations
        .get_invitation(pb::GetInvitationRequest {
            organization_oid: o.oid,
            id: inv.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::InvitationState::Accepted as i32);
    assert_eq!(got.accepted_person_oid, ivanov);

    // The secret is single-use.
    let err = iv
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest { secret })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INVITATION_ACCEPTED");

    // The new profile admin invites another person, who accepts.
    let inv2 = iv
        .invitations
        .create_invitation(invite(o.oid, "sidorov@example.ru", "", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inv2.inviter_oid, ivanov);
    let mails = smtp.wait_for(2).await;
    let m2 = parse(&mails[1].data);
    assert!(
        m2.text.contains("Иванов Пётр Петрович приглашает"),
        "{}",
        m2.text
    );
    let secret2 = secret_after(&m2.text, LINK_BASE);
    let sidorov = confirmed_person(&mut op, "Сидоров", 11).await;
    let mut sd = s.as_portal(&o.portal, sidorov).await;
    let e2 = sd
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest { secret: secret2 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e2.state, pb::EmployeeState::Active as i32);

    // Three employees (the head is one), all changes audited in an intact chain.
    let list = head
        .employees
        .list_employees(pb::ListEmployeesRequest {
            organization_oid: o.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let oids: Vec<i64> = list.employees.iter().map(|e| e.person_oid).collect();
    assert_eq!(oids, [o.head, ivanov, sidorov]);
    assert!(list.employees[0].chief);
    let events: Vec<String> = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: o.oid,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        events,
        [
            "organization.register",
            "invitation.create",
            "invitation.accept",
            "invitation.create",
            "invitation.accept"
        ]
    );
    let v = op
        .audit
        .verify_chain(pb::VerifyChainRequest {
            organization_oid: o.oid,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact);
    worker.stop().await;
}

/// A text rendering of a table's row for the "secret never stored" scan.
fn row_text(table: &str) -> &'static str {
    match table {
        "invitations" => "email || surname || COALESCE(CAST(secret_hash AS TEXT), '')",
        "mail_outbox" => "payload || recipient",
        "audit_events" => "details",
        _ => "COALESCE(error, '')",
    }
}

async fn bad_invitations_change_nothing(s: &TestServer) {
    let o = org_with_head(s).await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let mut op = s.as_operator().await;
    let stranger = confirmed_person(&mut op, "Чужой", 20).await;
    let before = counts(s);
    type Case = (
        fn(&mut pb::CreateInvitationRequest),
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (|r| r.email = "not-an-email".into(), &["email"]),
        (|r| r.email = String::new(), &["email"]),
        (|r| r.email = "a b@example.ru".into(), &["email"]),
        (|r| r.snils = "123-456-789 65".into(), &["snils"]),
        (|r| r.snils = "12345".into(), &["snils"]),
        (|r| r.surname = String::new(), &["surname"]),
        (|r| r.given_name = "Иван2".into(), &["given_name"]),
        (|r| r.patronymic = "<script>".into(), &["patronymic"]),
        (|r| r.position = "x".repeat(256), &["position"]),
        (|r| r.organization_oid = 0, &["organization_oid"]),
        (|r| r.request_id = "has space".into(), &["request_id"]),
        (
            |r| {
                r.email = "x".into();
                r.surname = "1".into();
                r.snils = "1".into();
            },
            &["email", "surname", "snils"],
        ),
    ];
    for (mutate, fields) in cases {
        let mut r = invite(o.oid, "new@example.ru", "", false);
        mutate(&mut r);
        let err = head.invitations.create_invitation(r).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(violations(&err), *fields, "{err:?}");
    }
    // An address lettre cannot carry is refused at the edge too.
    let err = head
        .invitations
        .create_invitation(invite(o.oid, "ivan@почта.рф@x.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["email"]);
    // Unknown organisation.
    let err = op
        .invitations
        .create_invitation(invite(987_654_321, "new@example.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // An active employee (the head, by SNILS) cannot be invited.
    let err = head
        .invitations
        .create_invitation(invite(o.oid, "head@example.ru", &snils(1), false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALREADY_EMPLOYEE");
    // A person who is not an employee may not invite.
    let mut st = s.as_portal(&o.portal, stranger).await;
    let err = st
        .invitations
        .create_invitation(invite(o.oid, "new@example.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_ACTIVE_EMPLOYEE");
    assert_eq!(
        before,
        counts(s),
        "a refused invitation changed the database"
    );
}

/// Invites `email`, delivers it to `.eml` files, and returns the link's secret.
async fn invite_and_read_secret(
    s: &TestServer,
    api: &mut Api,
    dir: &std::path::Path,
    req: pb::CreateInvitationRequest,
) -> (pb::Invitation, String) {
    let before = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let inv = api
        .invitations
        .create_invitation(req)
        .await
        .unwrap()
        .into_inner();
    s.core.outbox_wakeup.notify_one();
    for _ in 0..400 {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        if files.len() > before {
            files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
            let raw = std::fs::read_to_string(files.last().unwrap()).unwrap();
            let m = parse(&raw);
            return (inv, secret_after(&m.text, LINK_BASE));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no .eml file was written");
}

async fn bad_acceptances_change_nothing(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let (_, secret) = invite_and_read_secret(
        s,
        &mut head,
        dir.path(),
        invite(o.oid, "a@example.ru", &snils(30), true),
    )
    .await;
    let wrong = confirmed_person(&mut op, "Другой", 31).await;
    let standard = op
        .persons
        .register_person(person_req(
            "Стандартов",
            &snils(30),
            pb::AccountLevel::Standard,
        ))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let before = counts(s);
    let accept = |api: &mut Api, secret: &str| {
        let secret = secret.to_owned();
        let mut inv = api.invitations.clone();
        async move {
            inv.accept_invitation(pb::AcceptInvitationRequest { secret })
                .await
                .unwrap_err()
        }
    };
    // An unconfirmed account (whatever its SNILS).
    let err = accept(&mut s.as_portal(&o.portal, standard).await, &secret).await;
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ACCOUNT_NOT_CONFIRMED");
    // A confirmed account with another SNILS.
    let err = accept(&mut s.as_portal(&o.portal, wrong).await, &secret).await;
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "SNILS_MISMATCH");
    let pf = details(&err);
    assert_eq!(
        pf.precondition_failure().unwrap().violations[0].subject,
        format!("person/{wrong}")
    );
    // Unknown and malformed secrets.
    let err = accept(&mut s.as_portal(&o.portal, wrong).await, &"A".repeat(43)).await;
    assert_eq!(err.code(), Code::NotFound);
    let err = accept(&mut s.as_portal(&o.portal, wrong).await, "short").await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["secret"]);
    // Only a portal acting for a person may accept.
    let err = accept(&mut op, &secret).await;
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = accept(&mut s.as_token(&o.portal).await, &secret).await;
    assert_eq!(reason(&err), "ACTING_PERSON_REQUIRED");
    assert_eq!(
        before,
        counts(s),
        "a refused acceptance changed the database"
    );
    worker.stop().await;
}

async fn expired_revoked_and_resent_links(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let p = confirmed_person(&mut op, "Приглашённый", 40).await;
    let mut pp = s.as_portal(&o.portal, p).await;

    // Revoked: the link stops working, with a precise reason.
    let (inv, secret) = invite_and_read_secret(
        s,
        &mut head,
        dir.path(),
        invite(o.oid, "r@example.ru", "", false),
    )
    .await;
    let revoked = head
        .invitations
        .revoke_invitation(pb::ChangeInvitationRequest {
            organization_oid: o.oid,
            id: inv.id.clone(),
            etag: inv.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.state, pb::InvitationState::Revoked as i32);
    let before = counts(s);
    let err = pp
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest {
            secret: secret.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INVITATION_REVOKED");
    let err = head
        .invitations
        .revoke_invitation(pb::ChangeInvitationRequest {
            organization_oid: o.oid,
            id: inv.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INVITATION_REVOKED");
    assert_eq!(before, counts(s));

    // Resent: the old secret stops working, the new one works.
    let (inv, old) = invite_and_read_secret(
        s,
        &mut head,
        dir.path(),
        invite(o.oid, "r@example.ru", "", false),
    )
    .await;
    let stale = inv.etag.clone();
    head.invitations
        .resend_invitation(pb::ChangeInvitationRequest {
            organization_oid: o.oid,
            id: inv.id.clone(),
            etag: inv.etag.clone(),
        })
        .await
        .unwrap();
    let err = head
        .invitations
        .resend_invitation(pb::ChangeInvitationRequest {
            organization_oid: o.oid,
            id: inv.id.clone(),
            etag: stale,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    wait_rows(&s.db, "mail_outbox", "state = 'sent'", 3).await;
    let err = pp
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest { secret: old })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the resent invitation's old secret is void"
    );
    let newest = newest_eml(dir.path());
    let new = secret_after(&parse(&newest).text, LINK_BASE);
    // Expired: 60 days later the new link is refused as expired, and listed as expired.
    s.clock.advance(chrono::Duration::days(60));
    let before = counts(s);
    let err = pp
        .invitations
        .accept_invitation(pb::AcceptInvitationRequest { secret: new })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INVITATION_EXPIRED");
    assert_eq!(before, counts(s));
    let listed = head
        .invitations
        .list_invitations(pb::ListInvitationsRequest {
            organization_oid: o.oid,
            state: pb::InvitationState::Expired as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .invitations;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, inv.id);
    // The address may be invited again: the expired one is recorded as such.
    let again = head
        .invitations
        .create_invitation(invite(o.oid, "R@example.ru", "", false))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(again.id, inv.id);
    let all = head
        .invitations
        .list_invitations(pb::ListInvitationsRequest {
            organization_oid: o.oid,
            email: "r@EXAMPLE.ru".into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.invitations.len(), 2);
    assert!(!all.next_page_token.is_empty());
    worker.stop().await;
}

fn newest_eml(dir: &std::path::Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    std::fs::read_to_string(files.last().unwrap()).unwrap()
}

async fn concurrent_accepts_make_one_employee(s: &TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let o = org_with_head(s).await;
    let mut op = s.as_operator().await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let (_, secret) = invite_and_read_secret(
        s,
        &mut head,
        dir.path(),
        invite(o.oid, "c@example.ru", "", true),
    )
    .await;
    // A second replica on the same database (its own pool), as another process would be.
    let replica = s.replica().await;
    let mut people = Vec::new();
    for i in 0..8 {
        people.push(confirmed_person(&mut op, "Конкурент", 50 + i).await);
    }
    let mut tasks = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let mut api = if i % 2 == 0 {
            s.as_portal(&o.portal, *p).await
        } else {
            Api::new(replica.channel().await, Some(o.portal.clone()), Some(*p))
        };
        let secret = secret.clone();
        tasks.push(tokio::spawn(async move {
            api.invitations
                .accept_invitation(pb::AcceptInvitationRequest { secret })
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
                assert_eq!(reason(&e), "INVITATION_ACCEPTED");
            }
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        count_rows(&s.db, "employees"),
        2,
        "the head and exactly one new employee"
    );
    assert_eq!(count_rows(&s.db, "group_members"), 1);
    assert_eq!(
        count_where(&s.db, "audit_events", "action = 'invitation.accept'"),
        1
    );
    replica.stop().await;
    worker.stop().await;
}

async fn delivered_after_smtp_comes_back(s: &TestServer) {
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    let worker = s.delivery_smtp(smtp.port);
    let o = org_with_head(s).await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    head.invitations
        .create_invitation(invite(o.oid, "later@example.ru", "", false))
        .await
        .unwrap();
    // The first attempt fails (421) and is recorded; the retry waits for its backoff.
    wait_rows(&s.db, "mail_attempts", "outcome = 'failed'", 1).await;
    assert_eq!(smtp.count().await, 0);
    assert!(smtp.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    s.clock.advance(chrono::Duration::seconds(11));
    wait_rows(&s.db, "mail_attempts", "outcome = 'failed'", 2).await;
    assert_eq!(
        count_where(&s.db, "mail_outbox", "state = 'pending' AND attempts = 2"),
        1
    );
    // The server comes back: after the next backoff (20 s) the message goes out.
    smtp.set_down(false);
    s.clock.advance(chrono::Duration::seconds(21));
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, ["later@example.ru"]);
    wait_rows(&s.db, "mail_outbox", "state = 'sent'", 1).await;
    assert_eq!(count_rows(&s.db, "mail_attempts"), 3);
    assert_eq!(count_where(&s.db, "mail_attempts", "outcome = 'sent'"), 1);
    // Sent is final: no further attempt, however time moves.
    s.clock.advance(chrono::Duration::hours(2));
    s.core.outbox_wakeup.notify_one();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.count().await, 1);
    assert_eq!(count_rows(&s.db, "mail_attempts"), 3);
    worker.stop().await;
}

async fn eml_files_when_no_smtp_and_lease_recovery(s: &TestServer) {
    let o = org_with_head(s).await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    head.invitations
        .create_invitation(invite(o.oid, "eml@example.ru", "", false))
        .await
        .unwrap();
    // A worker claims the message and dies before sending (no outcome recorded).
    let clock = s.clock.clone();
    let claimed = s
        .core
        .db
        .write(move |c| {
            let now = clock.now();
            Ok(orgadm::storage::outbox::claim(
                c,
                "dead-worker",
                now,
                now + chrono::Duration::seconds(60),
                10,
            )?)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "leased to the dead worker"
    );
    // When the lease runs out, another worker delivers it.
    s.clock.advance(chrono::Duration::seconds(61));
    wait_rows(&s.db, "mail_outbox", "state = 'sent'", 1).await;
    let raw = newest_eml(dir.path());
    let m = parse(&raw);
    assert_eq!(m.subject, "Приглашение в организацию «ООО \"Ромашка\"»");
    assert!(raw.contains("noreply@orgadm.test"), "{raw}");
    assert!(m.text.contains(LINK_BASE));
    assert_eq!(
        count_rows(&s.db, "mail_attempts"),
        2,
        "the interrupted attempt is recorded too"
    );
    assert_eq!(
        count_where(&s.db, "mail_attempts", "outcome = 'started'"),
        1
    );
    worker.stop().await;
}

async fn idempotent_create_and_one_pending_per_email(s: &TestServer) {
    let o = org_with_head(s).await;
    let mut head = s.as_portal(&o.portal, o.head).await;
    let mut r = invite(o.oid, "idem@example.ru", "", false);
    r.request_id = "inv-1".into();
    let a = head
        .invitations
        .create_invitation(r.clone())
        .await
        .unwrap()
        .into_inner();
    let b = head
        .invitations
        .create_invitation(r.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.id, b.id);
    assert_eq!(count_rows(&s.db, "invitations"), 1);
    assert_eq!(count_rows(&s.db, "mail_outbox"), 1);
    r.surname = "Другой".into();
    let err = head.invitations.create_invitation(r).await.unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    // A second pending invitation for the same address (any case) is refused.
    let err = head
        .invitations
        .create_invitation(invite(o.oid, "IDEM@example.ru", "", false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "INVITATION_PENDING");
    assert_eq!(violations(&err), ["email"]);
    assert_eq!(count_rows(&s.db, "invitations"), 1);
}
