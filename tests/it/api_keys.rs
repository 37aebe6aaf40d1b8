//! Information systems, grants and API-KEYs through real gRPC on both backends: the whole seed
//! flow (vendor registers → operator enables → vendor grants by OGRN → head signs a power of
//! attorney for the responsible employee → head puts them in both groups → they add a colleague
//! → form a key shown once), each missing precondition refused with nothing created, each
//! "when a key works" condition broken in turn through the validity check the token exchange
//! uses, and no key secret anywhere in the database afterwards.

use orgadm::domain::api_key::KeyRefusal;
use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::both_backends;
use crate::employees::hire;
pub(crate) use crate::poa::sign_as;
use crate::support::*;

both_backends!(seed_flow_and_every_condition, systems_grants_and_access);

pub(crate) const SYSTEM: &str = "VENDOR_CRM";

/// The tables forming keys may touch.
const TABLES: [&str; 5] = [
    "api_keys",
    "system_members",
    "system_grants",
    "audit_events",
    "idempotency",
];

fn counts(s: &TestServer) -> Vec<i64> {
    TABLES.iter().map(|t| count_rows(&s.db, t)).collect()
}

pub(crate) struct World {
    pub vendor: i64,
    pub consumer: i64,
    pub head: i64,
    pub portal: String,
    pub vendor_client: String,
}

fn vendor_req(head: i64) -> pb::RegisterOrganizationRequest {
    pb::RegisterOrganizationRequest {
        full_name: "Акционерное общество \"Вендор Софт\"".into(),
        short_name: "АО \"Вендор Софт\"".into(),
        ogrn: "1207700000012".into(),
        inn: "7701000019".into(),
        kpp: "770101001".into(),
        consumer: false,
        vendor: true,
        ..org_req(head)
    }
}

/// The vendor (with its client) and the consumer whose head is the test PKI's head
/// certificate's person (Петров Пётр Петрович), on 2026-11-25 (the certificates' validity).
pub(crate) async fn world(s: &TestServer) -> World {
    s.clock
        .advance(chrono::Duration::days(314) + chrono::Duration::hours(2));
    let mut op = s.as_operator().await;
    let vendor_head = confirmed_person(&mut op, "Вендоров", 90).await;
    let vendor = op
        .orgs
        .register_organization(vendor_req(vendor_head))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let mut req = person_req("Петров", "123-456-789 64", pb::AccountLevel::Confirmed);
    req.inn = "771234567859".into();
    let head = op
        .persons
        .register_person(req)
        .await
        .unwrap()
        .into_inner()
        .oid;
    let consumer = op
        .orgs
        .register_organization(org_req(head))
        .await
        .unwrap()
        .into_inner()
        .oid;
    World {
        vendor,
        consumer,
        head,
        portal: s.client("portal", Role::Portal, None).await,
        vendor_client: s.client("vendor", Role::Vendor, Some(vendor)).await,
    }
}

pub(crate) fn register(vendor: i64) -> pb::RegisterSystemRequest {
    pb::RegisterSystemRequest {
        vendor_oid: vendor,
        client_id: SYSTEM.into(),
        name: "CRM «Вендор»".into(),
        description: "Учёт клиентов".into(),
    }
}

pub(crate) fn by_ogrn(ogrn: &str) -> Option<pb::ConsumerRef> {
    Some(pb::ConsumerRef {
        by: Some(pb::consumer_ref::By::Ogrn(ogrn.into())),
    })
}

pub(crate) fn member(org: i64, p: i64) -> pb::SystemMemberRequest {
    pb::SystemMemberRequest {
        client_id: SYSTEM.into(),
        organization_oid: org,
        person_oid: p,
    }
}

pub(crate) fn group(org: i64, g: &str, p: i64) -> pb::GroupMemberRequest {
    pb::GroupMemberRequest {
        organization_oid: org,
        mnemonic: g.into(),
        person_oid: p,
    }
}

pub(crate) fn create(org: i64, holder: i64, rid: &str) -> pb::CreateApiKeyRequest {
    pb::CreateApiKeyRequest {
        request_id: rid.into(),
        client_id: SYSTEM.into(),
        organization_oid: org,
        holder_oid: holder,
        // 200 days: beyond the power of attorney's end, so its expiry is seen first.
        validity: Some(prost_types::Duration {
            seconds: 200 * 86_400,
            nanos: 0,
        }),
    }
}

pub(crate) fn change(id: &str) -> pb::ChangeApiKeyRequest {
    pb::ChangeApiKeyRequest {
        id: id.into(),
        etag: String::new(),
    }
}

/// The head drafts and signs (with the head's certificate) a power of attorney granting
/// `rep` the API-KEY power for the system from today to 2027-05-31.
pub(crate) async fn sign_key_power(head: &mut Api, org: i64, rep: i64) -> String {
    let d = head
        .poa
        .create_draft(pb::CreateDraftRequest {
            request_id: String::new(),
            organization_oid: org,
            contents: Some(pb::DraftContents {
                internal_number: "API-1".into(),
                representative_person_oid: rep,
                representative_document: Some(pb::IdentityDocument {
                    kind_code: "21".into(),
                    series_number: "45 08 123456".into(),
                    issue_date: "2010-06-01".into(),
                    issuer: "ОВД \"Хамовники\" г. Москвы".into(),
                    issuer_code: "770-001".into(),
                }),
                head_position: "Генеральный директор".into(),
                start_date: "2026-11-25".into(),
                end_date: "2027-05-31".into(),
                redelegation: pb::Redelegation::None as i32,
                irrevocable: false,
                powers: vec![pb::PowerGrant {
                    code: "ORGADM_API_KEY_ISSUE".into(),
                    information_system: SYSTEM.into(),
                }],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let doc = head
        .poa
        .get_document(pb::GetDocumentRequest {
            number: d.number.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .content;
    head.poa
        .submit_signature(pb::SubmitSignatureRequest {
            number: d.number.clone(),
            etag: d.etag.clone(),
            signature: sign_as("head", &doc),
        })
        .await
        .unwrap();
    d.number
}

/// The refusal the token exchange's validity check gives, or None when the key works.
async fn refusal(s: &TestServer, secret: &str) -> Option<KeyRefusal> {
    s.core
        .check_api_key(secret)
        .await
        .unwrap()
        .err()
        .map(|e| e.0)
}

async fn seed_flow_and_every_condition(s: &TestServer) {
    let w = world(s).await;
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let mut op = s.as_operator().await;
    let mut vendor = s.as_token(&w.vendor_client).await;
    let mut head = s.as_portal(&w.portal, w.head).await;

    // Vendor registers the system; the API-KEY power starts disabled, so no grant yet.
    let sys = vendor
        .systems
        .register_system(register(w.vendor))
        .await
        .unwrap()
        .into_inner();
    assert!(!sys.api_key_enabled);
    let err = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "API_KEY_POWER_DISABLED", "{err:?}");
    // Only the operator enables it.
    let err = vendor
        .systems
        .set_api_key_power(pb::SetApiKeyPowerRequest {
            client_id: SYSTEM.into(),
            enabled: true,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    op.systems
        .set_api_key_power(pb::SetApiKeyPowerRequest {
            client_id: SYSTEM.into(),
            enabled: true,
        })
        .await
        .unwrap();
    let g = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.consumer_oid, w.consumer);
    assert_eq!(g.state, pb::GrantState::Active as i32);

    // The consumer sees it among «Мои системы».
    let mine = head
        .systems
        .list_systems(pb::ListSystemsRequest {
            consumer_oid: w.consumer,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.systems.len(), 1);
    assert_eq!(mine.systems[0].client_id, SYSTEM);

    // The responsible employee and a colleague join the consumer.
    let resp = hire(
        s,
        dir.path(),
        &mut head,
        w.consumer,
        &w.portal,
        "Ответственный",
        70,
        false,
    )
    .await;
    let colleague = hire(
        s,
        dir.path(),
        &mut head,
        w.consumer,
        &w.portal,
        "Коллегов",
        71,
        false,
    )
    .await;
    let mut r = s.as_portal(&w.portal, resp).await;
    let mut col = s.as_portal(&w.portal, colleague).await;

    // Each missing precondition, in turn: refused, nothing created.
    let before = counts(s);
    let err = r
        .systems
        .add_system_member(member(w.consumer, colleague))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_IN_REQUIRED_GROUPS");
    assert!(err.message().contains("TECH_PORTAL"), "{}", err.message());
    head.groups
        .add_group_member(group(w.consumer, "TECH_PORTAL", resp))
        .await
        .unwrap();
    let before = {
        let _ = before;
        counts(s)
    };
    let err = r
        .keys
        .create_api_key(create(w.consumer, resp, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_IN_REQUIRED_GROUPS");
    assert!(err.message().contains("ORG_ADMIN"), "{}", err.message());
    head.groups
        .add_group_member(group(w.consumer, "ORG_ADMIN", resp))
        .await
        .unwrap();
    let before = {
        let _ = before;
        counts(s)
    };
    let err = r
        .systems
        .add_system_member(member(w.consumer, colleague))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NO_ACTIVE_POWER_OF_ATTORNEY");
    assert_eq!(counts(s), before, "a refusal changed something");

    let poa = sign_key_power(&mut head, w.consumer, resp).await;
    r.systems
        .add_system_member(member(w.consumer, colleague))
        .await
        .unwrap();
    let err = r
        .systems
        .add_system_member(member(w.consumer, colleague))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    // The holder must be a member of the system; the validity within the maximum.
    let before = counts(s);
    let err = r
        .keys
        .create_api_key(create(w.consumer, w.head, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "HOLDER_NOT_IN_SYSTEM");
    let mut long = create(w.consumer, colleague, "");
    long.validity = Some(prost_types::Duration {
        seconds: 400 * 86_400,
        nanos: 0,
    });
    let err = r.keys.create_api_key(long).await.unwrap_err();
    assert_eq!(violations(&err), ["validity"]);
    // A colleague without the groups and power cannot form keys, nor can the head.
    for api in [&mut col, &mut head] {
        let err = api
            .keys
            .create_api_key(create(w.consumer, colleague, ""))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    }
    assert_eq!(counts(s), before, "a refusal changed something");

    // The key: shown once.
    let created = r
        .keys
        .create_api_key(create(w.consumer, colleague, "key-1"))
        .await
        .unwrap()
        .into_inner();
    let secret = created.secret.clone();
    let key = created.key.unwrap();
    assert!(uuid::Uuid::parse_str(&secret).is_ok());
    assert_eq!(uuid::Uuid::parse_str(&secret).unwrap().get_version_num(), 4);
    assert_eq!(key.prefix, secret[..8]);
    assert_eq!(key.power_of_attorney_number, poa);
    assert_eq!(key.issuer_oid, resp);
    assert_eq!(key.holder_oid, colleague);
    // A retry with the same request id cannot show the secret again.
    let err = r
        .keys
        .create_api_key(create(w.consumer, colleague, "key-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "KEY_ALREADY_FORMED");
    assert!(err.message().contains(&key.id));
    // Reads never carry it.
    let got = col
        .keys
        .get_api_key(pb::GetApiKeyRequest { id: key.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{got:?}").contains(&secret));
    let listed = vendor
        .keys
        .list_api_keys(pb::ListApiKeysRequest {
            vendor_oid: w.vendor,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.keys.len(), 1);
    assert!(!format!("{listed:?}").contains(&secret));

    // It works, and its use shows in the vendor's view after the flush.
    assert_eq!(refusal(s, &secret).await, None);
    assert_eq!(
        refusal(s, &secret.to_uppercase()).await,
        None,
        "a key is a UUID in any case"
    );
    assert_eq!(
        refusal(s, &uuid::Uuid::new_v4().to_string()).await,
        Some(KeyRefusal::NotFound)
    );
    assert_eq!(refusal(s, "garbage").await, Some(KeyRefusal::NotFound));
    assert!(s.core.flush_key_uses().await.unwrap() >= 1);
    let grants = vendor
        .systems
        .list_grants(pb::ListGrantsRequest {
            client_id: SYSTEM.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(grants.grants.len(), 1);
    assert_eq!(grants.grants[0].active_keys, 1);
    assert!(grants.grants[0].last_key_use_time.is_some());

    // Each condition broken in turn stops the key at once; restoring it restores the key.
    col.keys.block_api_key(change(&key.id)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::Blocked));
    let err = col.keys.unblock_api_key(change(&key.id)).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "the holder cannot unblock"
    );
    r.keys.unblock_api_key(change(&key.id)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    let state = |p: i64| pb::ChangeEmployeeStateRequest {
        organization_oid: w.consumer,
        person_oid: p,
        etag: String::new(),
    };
    head.employees
        .block_employee(state(colleague))
        .await
        .unwrap();
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::HolderNotActive));
    head.employees
        .unblock_employee(state(colleague))
        .await
        .unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    head.employees.block_employee(state(resp)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::IssuerNotActive));
    head.employees.unblock_employee(state(resp)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    r.systems
        .remove_system_member(member(w.consumer, colleague))
        .await
        .unwrap();
    assert_eq!(
        refusal(s, &secret).await,
        Some(KeyRefusal::HolderNotInSystem)
    );
    r.systems
        .add_system_member(member(w.consumer, colleague))
        .await
        .unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    let power = |enabled| pb::SetApiKeyPowerRequest {
        client_id: SYSTEM.into(),
        enabled,
    };
    op.systems.set_api_key_power(power(false)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::SystemDisabled));
    let before = counts(s);
    let err = r
        .keys
        .create_api_key(create(w.consumer, colleague, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "API_KEY_POWER_DISABLED");
    assert_eq!(counts(s), before);
    op.systems.set_api_key_power(power(true)).await.unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    vendor
        .systems
        .withdraw_grant(pb::WithdrawGrantRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap();
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::GrantWithdrawn));
    let before = counts(s);
    let err = r
        .keys
        .create_api_key(create(w.consumer, colleague, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SYSTEM_NOT_GRANTED");
    assert_eq!(counts(s), before);
    let mine = head
        .systems
        .list_systems(pb::ListSystemsRequest {
            consumer_oid: w.consumer,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(mine.systems.is_empty(), "a withdrawn grant is not «мои»");
    vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    // The power of attorney stops counting (revoked in storage here; the revocation use case
    // sets the same stored state).
    exec_sql(
        &s.db,
        &format!("UPDATE powers_of_attorney SET state = 'revoked' WHERE number = '{poa}'"),
    )
    .unwrap();
    assert_eq!(
        refusal(s, &secret).await,
        Some(KeyRefusal::NoActivePowerOfAttorney)
    );
    exec_sql(
        &s.db,
        &format!("UPDATE powers_of_attorney SET state = 'signed' WHERE number = '{poa}'"),
    )
    .unwrap();
    assert_eq!(refusal(s, &secret).await, None);

    // A second key for the holder, then time: the power of attorney ends 2027-05-31, the key
    // 200 days after 2026-11-25 (2027-06-13).
    let second = r
        .keys
        .create_api_key(create(w.consumer, colleague, ""))
        .await
        .unwrap()
        .into_inner();
    r.keys
        .delete_api_key(change(&second.key.as_ref().unwrap().id))
        .await
        .unwrap();
    assert_eq!(
        refusal(s, &second.secret).await,
        Some(KeyRefusal::Deleted),
        "deleted"
    );
    let err = r
        .keys
        .unblock_api_key(change(&second.key.unwrap().id))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "API_KEY_DELETED");

    s.clock.advance(chrono::Duration::days(188));
    assert_eq!(
        refusal(s, &secret).await,
        Some(KeyRefusal::NoActivePowerOfAttorney),
        "the power of attorney ended"
    );
    s.clock.advance(chrono::Duration::days(13));
    assert_eq!(refusal(s, &secret).await, Some(KeyRefusal::Expired));

    // Every change left its event on the consumer's chain, and none carries a secret.
    for action in [
        "api_key.create",
        "api_key.block",
        "api_key.unblock",
        "api_key.delete",
        "system.add_member",
        "system.remove_member",
        "system.grant.received",
        "system.withdraw.received",
    ] {
        assert!(
            count_where(
                &s.db,
                "audit_events",
                &format!("chain = {} AND action = '{action}'", w.consumer)
            ) >= 1,
            "no {action} event"
        );
    }
    for action in [
        "system.register",
        "system.api_key_power.enable",
        "system.grant",
    ] {
        assert!(
            count_where(
                &s.db,
                "audit_events",
                &format!("chain = {} AND action = '{action}'", w.vendor)
            ) >= 1,
            "no {action} event"
        );
    }
    worker.stop().await;
    assert_no_secret(s, &[&secret, &second.secret]);
}

/// Scans the whole database for the secrets: the SQLite files byte by byte, or every row of
/// every PostgreSQL table as text.
pub(crate) fn assert_no_secret(s: &TestServer, secrets: &[&str]) {
    if s.db.url.starts_with("postgres") {
        use diesel::{Connection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Text)]
            table_name: String,
        }
        let mut c = diesel::PgConnection::establish(&s.db.url).unwrap();
        let tables: Vec<T> = diesel::sql_query(
            "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .load(&mut c)
        .unwrap();
        assert!(tables.len() > 10);
        for t in tables {
            for secret in secrets {
                for form in [secret.to_string(), secret.replace('-', "")] {
                    let n = count_where(
                        &s.db,
                        &format!("{0} AS t", t.table_name),
                        &format!(
                            "lower(t::text) LIKE '%{form}%' OR encode(convert_to(t::text, 'UTF8'), 'hex') LIKE '%{}%'",
                            hex::encode(&form)
                        ),
                    );
                    assert_eq!(n, 0, "a secret is in table {}", t.table_name);
                }
            }
        }
    } else {
        let path = s.db.url.trim_start_matches("sqlite://");
        let mut scanned = 0;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) else {
                continue;
            };
            scanned += bytes.len();
            for secret in secrets {
                let raw = uuid::Uuid::parse_str(secret).unwrap();
                for needle in [
                    secret.as_bytes().to_vec(),
                    secret.replace('-', "").into_bytes(),
                    raw.as_bytes().to_vec(),
                ] {
                    assert!(
                        !bytes.windows(needle.len()).any(|w| w == needle),
                        "a secret is in {path}{suffix}"
                    );
                }
            }
        }
        assert!(scanned > 0);
    }
}

async fn systems_grants_and_access(s: &TestServer) {
    let w = world(s).await;
    let mut op = s.as_operator().await;
    let mut vendor = s.as_token(&w.vendor_client).await;
    let mut head = s.as_portal(&w.portal, w.head).await;

    // CLIENT_ID follows ESIA's rule; every bad field is reported.
    let mut bad = register(w.vendor);
    bad.client_id = "MY-ESIA-APP".into();
    bad.name = String::new();
    let err = vendor.systems.register_system(bad).await.unwrap_err();
    assert_eq!(violations(&err), ["client_id", "name"]);
    for id in ["pgu_app", "PGUAPP", "APP.1", "SMEV_PROXY"] {
        let mut bad = register(w.vendor);
        bad.client_id = id.into();
        let err = vendor.systems.register_system(bad).await.unwrap_err();
        assert_eq!(violations(&err), ["client_id"], "{id}");
    }
    // A consumer organisation is not a vendor; another organisation's head cannot register.
    let mut as_consumer = register(w.consumer);
    as_consumer.client_id = "ROMASHKA_APP".into();
    let err = head.systems.register_system(as_consumer).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_A_VENDOR");
    let err = head
        .systems
        .register_system(register(w.vendor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(count_rows(&s.db, "information_systems"), 0);

    // Registering again identically returns the system; differently, ALREADY_EXISTS.
    let a = vendor
        .systems
        .register_system(register(w.vendor))
        .await
        .unwrap()
        .into_inner();
    let b = vendor
        .systems
        .register_system(register(w.vendor))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a, b);
    let mut other = register(w.vendor);
    other.name = "Другая".into();
    let err = vendor.systems.register_system(other).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "CLIENT_ID_TAKEN");
    assert_eq!(
        count_where(&s.db, "audit_events", "action = 'system.register'"),
        1
    );

    // Update with etag; CLIENT_ID stays.
    let u = vendor
        .systems
        .update_system(pb::UpdateSystemRequest {
            client_id: SYSTEM.into(),
            etag: a.etag.clone(),
            update_mask: vec!["name".into()],
            name: "CRM 2".into(),
            description: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(u.name, "CRM 2");
    assert_eq!(u.description, a.description);
    let err = vendor
        .systems
        .update_system(pb::UpdateSystemRequest {
            client_id: SYSTEM.into(),
            etag: a.etag.clone(),
            update_mask: vec![],
            name: "CRM 3".into(),
            description: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    // Grants: to consumers only, found by OGRN or INN; a vendor-only organisation is not one.
    op.systems
        .set_api_key_power(pb::SetApiKeyPowerRequest {
            client_id: SYSTEM.into(),
            enabled: true,
        })
        .await
        .unwrap();
    let err = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1207700000012"),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_A_CONSUMER");
    let err = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000018"),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["consumer.ogrn"]);
    let err = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["consumer"]);
    let g = vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: Some(pb::ConsumerRef {
                by: Some(pb::consumer_ref::By::Inn("7810010017".into())),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.consumer_oid, w.consumer);
    assert_eq!(g.consumer_ogrn, "1037800000017");

    // The consumer may not manage the vendor's grants nor read them; another vendor's client
    // may not either (nor the consumer's auditor client); the vendor cannot list a consumer's systems.
    let err = head
        .systems
        .withdraw_grant(pb::WithdrawGrantRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = s.client("auditor", Role::Auditor, Some(w.consumer)).await;
    let mut stranger = s.as_token(&stranger).await;
    let err = stranger
        .systems
        .list_grants(pb::ListGrantsRequest {
            client_id: SYSTEM.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = vendor
        .systems
        .list_systems(pb::ListSystemsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let all = op
        .systems
        .list_systems(pb::ListSystemsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.systems.len(), 1);
    let own = vendor
        .systems
        .list_systems(pb::ListSystemsRequest {
            vendor_oid: w.vendor,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.systems.len(), 1);
    // The vendor's head manages through a portal too.
    let vendor_head = {
        let mut v = s.as_operator().await;
        v.orgs
            .get_organization(pb::GetOrganizationRequest { oid: w.vendor })
            .await
            .unwrap()
            .into_inner()
            .head_oid
    };
    let mut vh = s.as_portal(&w.portal, vendor_head).await;
    let g = vh
        .systems
        .withdraw_grant(pb::WithdrawGrantRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.state, pb::GrantState::Withdrawn as i32);
    let err = vh
        .systems
        .withdraw_grant(pb::WithdrawGrantRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Anyone authenticated reads a system; nobody unauthenticated does.
    head.systems
        .get_system(pb::GetSystemRequest {
            client_id: SYSTEM.into(),
        })
        .await
        .unwrap();
    let err = s
        .anonymous()
        .await
        .systems
        .get_system(pb::GetSystemRequest {
            client_id: SYSTEM.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
