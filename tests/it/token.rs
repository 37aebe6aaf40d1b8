//! The token exchange end to end, over real sockets on both backends and both transports: the
//! whole world of the API-KEY issue (vendor, grant, power of attorney, key issuer, holders),
//! keys signed with the test PKI's certificates (impersonal, the holder's employee certificate,
//! the 512-bit employee) → tokens whose GOST signature our verifier and OpenSSL's GOST engine
//! both accept with the published certificate; every refusal with its ESIA code and recorded;
//! verification that sees a key blocked after issuance; rate limits; no secret in the database.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use orgadm::service::Clock;
use orgadm::service::token_limit::{Limits, Rate};
use orgadm::transport::grpc::pb;
use tonic::Code;

use crate::api_keys::{
    SYSTEM, assert_no_secret, by_ogrn, change, create, group, member, register, sign_key_power,
    world,
};
use crate::both_backends;
use crate::employees::{hire, hire_person};
use crate::support::*;

both_backends!(exchange_and_every_refusal);

/// SNILS of the test PKI's `employee` and `employee512` certificates (manifest.tsv).
const EMPLOYEE_SNILS: &str = "987-654-321 83";
const EMPLOYEE512_SNILS: &str = "201-301-401 60";

fn pki(name: &str, ext: &str) -> String {
    format!(
        "{}/tests/fixtures/pki/{name}.{ext}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A CAdES-BES signature by test certificate `name` over `content`, made at `at`.
pub(crate) fn sign(
    name: &str,
    content: &str,
    at: chrono::NaiveDateTime,
    attached: bool,
) -> Vec<u8> {
    let key = orgadm::crypto::keys::private_key_from_pem(
        &std::fs::read_to_string(pki(name, "key.pem")).unwrap(),
    )
    .unwrap();
    let cert = orgadm::crypto::cert::Certificate::from_pem(
        &std::fs::read_to_string(pki(name, "cert.pem")).unwrap(),
    )
    .unwrap();
    if attached {
        orgadm::crypto::cms::sign_attached(&key, &cert, content.as_bytes(), at.and_utc()).unwrap()
    } else {
        orgadm::crypto::cms::sign_detached(&key, &cert, content.as_bytes(), at.and_utc()).unwrap()
    }
}

/// Standard base64, percent-encoded as ESIA's own example sends it.
fn b64_pct(der: &[u8]) -> String {
    STANDARD
        .encode(der)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

pub(crate) fn b64url(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(der)
}

/// The public HTTP exchange: (status, JSON body, response head).
pub(crate) async fn http_exchange(
    s: &TestServer,
    key: &str,
    sig: &str,
) -> (u16, serde_json::Value, String) {
    let url = format!(
        "http://{}/esia-rs/api/public/v1/orgs/ext-app/{key}/tkn?signature={sig}",
        s.addr
    );
    let (status, head, body) = http_get(&url, &[]).await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json, head)
}

async fn grpc(
    s: &TestServer,
) -> pb::token_service_client::TokenServiceClient<tonic::transport::Channel> {
    pb::token_service_client::TokenServiceClient::new(s.channel().await)
}

pub(crate) async fn grpc_exchange(
    s: &TestServer,
    key: &str,
    sig: Vec<u8>,
) -> Result<String, tonic::Status> {
    grpc(s)
        .await
        .exchange_api_key(pb::ExchangeApiKeyRequest {
            api_key: key.into(),
            signature: sig,
        })
        .await
        .map(|r| r.into_inner().access_token)
}

fn claims_of(token: &str) -> serde_json::Value {
    let c = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).unwrap()).unwrap()
}

/// Verifies the token's signature with OpenSSL's GOST engine and the published certificate;
/// None when the engine is not installed (with a message).
fn openssl_verifies(token: &str, cert_pem: &str) -> Option<bool> {
    let engine = std::process::Command::new("openssl")
        .args(["engine", "gost"])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        println!(
            "SKIPPED: OpenSSL's GOST engine is not available: token checked by our verifier only"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let pubkey = dir.path().join("pub.pem");
    let input = dir.path().join("input");
    let sig = dir.path().join("sig");
    std::fs::write(&cert, cert_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .env("OPENSSL_CONF", "/dev/null")
        .args(["x509", "-engine", "gost", "-pubkey", "-noout", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&pubkey)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (signed, s64) = token.rsplit_once('.').unwrap();
    std::fs::write(&input, signed).unwrap();
    std::fs::write(&sig, URL_SAFE_NO_PAD.decode(s64).unwrap()).unwrap();
    let out = std::process::Command::new("openssl")
        .env("OPENSSL_CONF", "/dev/null")
        .args(["dgst", "-engine", "gost", "-md_gost12_256", "-verify"])
        .arg(&pubkey)
        .arg("-signature")
        .arg(&sig)
        .arg(&input)
        .output()
        .unwrap();
    Some(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK"))
}

/// `openssl cms -sign -nodetach` of `content` by test certificate `name` (DER), or None
/// without the GOST engine.
fn openssl_sign_attached(name: &str, content: &str) -> Option<Vec<u8>> {
    let engine = std::process::Command::new("openssl")
        .args(["engine", "gost"])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key.txt");
    std::fs::write(&f, content).unwrap();
    let out = std::process::Command::new("openssl")
        .env("OPENSSL_CONF", "/dev/null")
        .args([
            "cms",
            "-sign",
            "-engine",
            "gost",
            "-binary",
            "-nodetach",
            "-md",
            "md_gost12_256",
            "-outform",
            "DER",
            "-in",
        ])
        .arg(&f)
        .arg("-signer")
        .arg(pki(name, "cert.pem"))
        .arg("-inkey")
        .arg(pki(name, "key.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// The reversed signature (CryptoPro's raw layout) of a token.
fn reversed(token: &str) -> String {
    let (signed, s64) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(s64).unwrap();
    sig.reverse();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

pub(crate) struct Keys {
    pub(crate) consumer: i64,
    /// Held by the person of the `employee` certificate.
    pub(crate) holder: i64,
    pub(crate) secret: String,
    pub(crate) key_id: String,
    /// Held by the person of the `employee512` certificate.
    pub(crate) holder512: i64,
    pub(crate) secret512: String,
    pub(crate) issuer: i64,
    pub(crate) poa: String,
    pub(crate) head: i64,
    pub(crate) portal: String,
    pub(crate) vendor_client: String,
    pub(crate) vendor: i64,
}

/// The API-KEY issue's world with two working keys.
pub(crate) async fn keys(s: &TestServer) -> Keys {
    let w = world(s).await;
    let dir = tempfile::tempdir().unwrap();
    let worker = s.delivery_files(dir.path());
    let mut op = s.as_operator().await;
    let mut vendor = s.as_token(&w.vendor_client).await;
    let mut head = s.as_portal(&w.portal, w.head).await;
    vendor
        .systems
        .register_system(register(w.vendor))
        .await
        .unwrap();
    op.systems
        .set_api_key_power(pb::SetApiKeyPowerRequest {
            client_id: SYSTEM.into(),
            enabled: true,
        })
        .await
        .unwrap();
    vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap();
    let issuer = hire(
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
    let reg = |surname: &str, snils: &str| person_req(surname, snils, pb::AccountLevel::Confirmed);
    let p1 = op
        .persons
        .register_person(reg("Сидорова", EMPLOYEE_SNILS))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let p2 = op
        .persons
        .register_person(reg("Длинноключева", EMPLOYEE512_SNILS))
        .await
        .unwrap()
        .into_inner()
        .oid;
    let holder = hire_person(
        s,
        dir.path(),
        &mut head,
        w.consumer,
        &w.portal,
        p1,
        71,
        false,
    )
    .await;
    let holder512 = hire_person(
        s,
        dir.path(),
        &mut head,
        w.consumer,
        &w.portal,
        p2,
        72,
        false,
    )
    .await;
    for g in ["TECH_PORTAL", "ORG_ADMIN"] {
        head.groups
            .add_group_member(group(w.consumer, g, issuer))
            .await
            .unwrap();
    }
    let poa = sign_key_power(&mut head, w.consumer, issuer).await;
    let mut r = s.as_portal(&w.portal, issuer).await;
    for p in [holder, holder512] {
        r.systems
            .add_system_member(member(w.consumer, p))
            .await
            .unwrap();
    }
    let k1 = r
        .keys
        .create_api_key(create(w.consumer, holder, ""))
        .await
        .unwrap()
        .into_inner();
    let k2 = r
        .keys
        .create_api_key(create(w.consumer, holder512, ""))
        .await
        .unwrap()
        .into_inner();
    worker.stop().await;
    Keys {
        consumer: w.consumer,
        holder,
        key_id: k1.key.unwrap().id,
        secret: k1.secret,
        holder512,
        secret512: k2.secret,
        issuer,
        poa,
        head: w.head,
        portal: w.portal,
        vendor_client: w.vendor_client,
        vendor: w.vendor,
    }
}

/// Asserts an HTTP refusal: status, ESIA code, and that it was recorded with that code.
async fn refused_http(s: &TestServer, key: &str, sig: &str, status: u16, code: &str, reason: &str) {
    let before = count_where(
        &s.db,
        "token_refusals",
        &format!("esia_code = '{code}' AND reason = '{reason}'"),
    );
    let (st, body, _) = http_exchange(s, key, sig).await;
    assert_eq!(
        (st, body["code"].as_str().unwrap_or("")),
        (status, code),
        "{reason}: {body}"
    );
    assert!(!body["message"].as_str().unwrap_or("").is_empty());
    assert!(body.get("accessTkn").is_none());
    assert_eq!(
        count_where(
            &s.db,
            "token_refusals",
            &format!("esia_code = '{code}' AND reason = '{reason}'")
        ),
        before + 1,
        "{reason} not recorded"
    );
}

/// `storage::tokens::insert_issuance` as the exchange uses it: on PostgreSQL, with the head this
/// process last wrote, the event is appended by the issuance's own statement; with a stale head
/// (an append rolled back after it moved the hint) the issuance is still written, the event is
/// appended after the real head by the usual path, and nothing is written twice. On SQLite the
/// event always goes the usual path. Either way: one row, one event, an intact chain.
async fn issuance_and_event_in_one_statement(s: &TestServer, k: &Keys) {
    use orgadm::domain::audit::NewEvent;
    use orgadm::domain::token::Issuance;
    use orgadm::service::ServiceError;
    let now = s.clock.now();
    let (org, key_id) = (k.consumer, k.key_id.clone());
    let event = move |sid: &str| NewEvent {
        chain: org,
        actor_client: "test".into(),
        actor_person: None,
        action: "token.issue",
        target_type: "api_key",
        target_id: key_id.clone(),
        request_id: sid.into(),
        details: serde_json::json!({ "sid": sid }),
    };
    let issuance = |sid: &str| Issuance {
        sid: sid.into(),
        key_id: k.key_id.clone(),
        client_id: SYSTEM.into(),
        organization_oid: org,
        holder_oid: k.holder,
        issued_at: now,
        expires_at: now,
        client_addr: "127.0.0.1".into(),
        signer_serial: "01".into(),
        signer_thumbprint: "00".into(),
        signer_kind: "organization".into(),
        signing_time: now,
    };
    let issue = |sid: &str| {
        let (i, e) = (issuance(sid), event(sid));
        s.core.db.write(move |c| {
            let by_statement = orgadm::storage::tokens::insert_issuance(c, &i, &e, now)?;
            if by_statement.is_none() {
                orgadm::storage::audit::append(c, &e, now)?;
            }
            Ok(by_statement.is_some())
        })
    };
    let pg = s.db.url.starts_with("postgres");
    // Hints are per process and keyed by chain number, and tests running in parallel on their
    // own databases may share a number: a few tries, until the hint is this database's head.
    let (mut sids, mut by_statement) = (Vec::new(), false);
    for n in 0..5 {
        let sid = format!("one-statement-{n}");
        by_statement = issue(&sid).await.unwrap();
        sids.push(sid);
        if by_statement {
            break;
        }
    }
    assert_eq!(by_statement, pg, "{sids:?}");
    // Moves this process's hint for the chain, then rolls back: the hint is now stale.
    let e = event("rolled-back");
    let _ = s
        .core
        .db
        .write(move |c| -> Result<(), ServiceError> {
            orgadm::storage::audit::append(c, &e, now)?;
            Err(ServiceError::Internal("roll back".into()))
        })
        .await;
    assert!(!issue("stale-hint").await.unwrap());
    sids.push("stale-hint".into());
    for sid in &sids {
        let one = |table: &str, cond: String| count_where(&s.db, table, &cond);
        assert_eq!(one("token_issuances", format!("sid = '{sid}'")), 1, "{sid}");
        assert_eq!(
            one("audit_events", format!("request_id = '{sid}'")),
            1,
            "{sid}"
        );
    }
    assert_eq!(
        count_where(&s.db, "audit_events", "request_id = 'rolled-back'"),
        0
    );
    let v = s.chain_verdict(org).await;
    assert!(v.intact, "{v:?}");
}

async fn exchange_and_every_refusal(s: &TestServer) {
    let k = keys(s).await;
    let now = || s.clock.now();
    let hour_ago = || now() - chrono::Duration::hours(1);

    // 1. The organisation's impersonal certificate, detached, base64url without padding (HTTP).
    let sig = sign("impersonal", &k.secret, hour_ago(), false);
    let (st, body, head) = http_exchange(s, &k.secret, &b64url(&sig)).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: no-store")
    );
    let token = body["accessTkn"].as_str().unwrap().to_owned();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        serde_json::json!({"ver":1,"typ":"JWT","sbt":"access","alg":"GOST3410_2012_256"})
    );
    let c = claims_of(&token);
    assert_eq!(c["urn:esia:sbj_id"], k.holder);
    assert_eq!(c["client_id"], SYSTEM);
    assert_eq!(
        c["scope"].as_str().unwrap(),
        format!("http://esia.gosuslugi.ru/org_inf?org_oid={}", k.consumer)
    );
    assert_eq!(c["iat"].as_i64().unwrap(), now().and_utc().timestamp());
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86_400
    );
    assert!(c["iss"].as_str().is_some_and(|i| !i.is_empty()));
    let sid = c["urn:esia:sid"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&sid).is_ok());
    // Recorded with its audit event before it was returned.
    assert_eq!(
        count_where(
            &s.db,
            "token_issuances",
            &format!(
                "sid = '{sid}' AND key_id = '{}' AND signer_kind = 'organization' AND client_addr = '127.0.0.1'",
                k.key_id
            )
        ),
        1
    );
    assert_eq!(
        count_where(
            &s.db,
            "audit_events",
            &format!(
                "chain = {} AND action = 'token.issue' AND details LIKE '%{sid}%'",
                k.consumer
            )
        ),
        1
    );

    // The published certificate verifies it: ours always, OpenSSL's GOST engine when present;
    // the reversed (CryptoPro raw) byte order does not.
    let (st, _, pem) = http_get(&format!("http://{}/v1/token/certificates", s.addr), &[]).await;
    assert_eq!(st, 200);
    let pem = String::from_utf8(pem).unwrap();
    let published = orgadm::crypto::cert::Certificate::all_from_bytes(pem.as_bytes()).unwrap();
    assert_eq!(published.len(), 1);
    let key = published[0].public_key().unwrap();
    orgadm::crypto::jwt::verify_jwt_signature(&token, &key).unwrap();
    assert!(orgadm::crypto::jwt::verify_jwt_signature(&reversed(&token), &key).is_err());
    if let Some(ok) = openssl_verifies(&token, &pem) {
        assert!(ok, "OpenSSL's GOST engine refused our token");
        assert_eq!(openssl_verifies(&reversed(&token), &pem), Some(false));
    }
    // Offline: `orgadm token verify --cert … [--at …] TOKEN`.
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("signer.pem");
    std::fs::write(&cert_file, &pem).unwrap();
    let iat = c["iat"].as_i64().unwrap();
    let at = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .to_rfc3339()
    };
    let cli = |t: &str, when: String| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgadm"))
            .args(["token", "verify", "--cert"])
            .arg(&cert_file)
            .args(["--at", &when, t])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (ok, out) = cli(&token, at(iat + 60));
    assert!(ok, "{out}");
    assert!(
        out.contains("verdict: VALID") && out.contains(&sid),
        "{out}"
    );
    let (ok, out) = cli(&token, at(iat + 86_400));
    assert!(!ok && out.contains("NOT VALID (EXPIRED)"), "{out}");
    let (ok, out) = cli(&reversed(&token), at(iat + 60));
    assert!(
        !ok && out.contains("NOT VALID (SIGNATURE_INVALID)"),
        "{out}"
    );
    let certs = grpc(s)
        .await
        .get_signing_certificates(pb::GetSigningCertificatesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(certs.certificates, vec![published[0].der().to_vec()]);

    // 2. The holder's employee certificate, attached, standard base64 percent-encoded (HTTP),
    // the key in upper case in the path.
    let sig = sign("employee", &k.secret, hour_ago(), true);
    let (st, body, _) = http_exchange(s, &k.secret.to_uppercase(), &b64_pct(&sig)).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        claims_of(body["accessTkn"].as_str().unwrap())["urn:esia:sbj_id"],
        k.holder
    );

    // 3. The 512-bit employee for their own key, over gRPC (DER).
    let t512 = grpc_exchange(
        s,
        &k.secret512,
        sign("employee512", &k.secret512, hour_ago(), false),
    )
    .await
    .unwrap();
    assert_eq!(claims_of(&t512)["urn:esia:sbj_id"], k.holder512);
    // Standard base64 text with padding, over gRPC.
    let sig = sign("impersonal", &k.secret512, hour_ago(), false);
    grpc_exchange(s, &k.secret512, STANDARD.encode(&sig).into_bytes())
        .await
        .unwrap();

    // VerifyToken and introspection: valid.
    let v = grpc(s)
        .await
        .verify_token(pb::VerifyTokenRequest {
            token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.valid, "{v:?}");
    assert!(v.claims_json.contains(&sid));
    let (st, _, body) = http_get(
        &format!("http://{}/v1/token/introspect?token={token}", s.addr),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["active"], true, "{j}");

    // Refusals, each with its ESIA code, each recorded.
    let at = hour_ago();
    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        (
            "private person",
            sign("private", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_NOT_ORGANIZATION",
        ),
        (
            "individual entrepreneur",
            sign("ip", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_NOT_ORGANIZATION",
        ),
        (
            "other organisation",
            sign("vendor_head", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_OTHER_ORGANIZATION",
        ),
        (
            "the head is not the holder",
            sign("head", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_NOT_HOLDER",
        ),
        (
            "expired",
            sign("expired", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_EXPIRED",
        ),
        (
            "untrusted",
            sign("rogue", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_UNTRUSTED",
        ),
        (
            "revoked",
            sign("revoked", &k.secret, at, false),
            401,
            "ESIA-005002",
            "CERTIFICATE_REVOKED",
        ),
        (
            "over another key",
            sign("impersonal", &k.secret512, at, false),
            401,
            "ESIA-005002",
            "SIGNATURE_INVALID",
        ),
        (
            "attached another key",
            sign("impersonal", &k.secret512, at, true),
            401,
            "ESIA-005002",
            "SIGNED_KEY_MISMATCH",
        ),
        (
            "older than 24 h",
            sign(
                "impersonal",
                &k.secret,
                now() - chrono::Duration::hours(25),
                false,
            ),
            401,
            "ESIA-005002",
            "SIGNATURE_TOO_OLD",
        ),
        (
            "in the future",
            sign(
                "impersonal",
                &k.secret,
                now() + chrono::Duration::hours(1),
                false,
            ),
            401,
            "ESIA-005002",
            "SIGNING_TIME_IN_FUTURE",
        ),
    ];
    for (what, sig, status, code, reason) in &cases {
        let _ = what;
        refused_http(s, &k.secret, &b64url(sig), *status, code, reason).await;
    }
    // A colleague's employee certificate (the `employee` person) for someone else's key.
    refused_http(
        s,
        &k.secret512,
        &b64url(&sign("employee", &k.secret512, at, false)),
        401,
        "ESIA-005002",
        "CERTIFICATE_NOT_HOLDER",
    )
    .await;
    // The same refusals over gRPC carry the code as the ErrorInfo reason.
    let err = grpc_exchange(s, &k.secret, sign("private", &k.secret, at, false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason(&err), "ESIA-005002");
    assert_eq!(
        details(&err)
            .error_info()
            .unwrap()
            .metadata
            .get("reason")
            .map(String::as_str),
        Some("CERTIFICATE_NOT_ORGANIZATION")
    );
    // A tampered signature: one bit of the signature value flipped.
    let mut sig = sign("impersonal", &k.secret, at, false);
    let n = sig.len();
    sig[n - 5] ^= 0x01;
    refused_http(
        s,
        &k.secret,
        &b64url(&sig),
        401,
        "ESIA-005002",
        "SIGNATURE_INVALID",
    )
    .await;
    // Garbage, and a key that is not a UUID.
    refused_http(
        s,
        &k.secret,
        "!!!not-base64***",
        400,
        "ESIA-020000",
        "SIGNATURE_MALFORMED",
    )
    .await;
    refused_http(
        s,
        &k.secret,
        "AAAA",
        400,
        "ESIA-020000",
        "SIGNATURE_MALFORMED",
    )
    .await;
    let err = grpc_exchange(s, &k.secret, b"\x30\x03\x02\x01\x00".to_vec())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "ESIA-020000")
    );
    let good = b64url(&sign("impersonal", &k.secret, at, false));
    refused_http(
        s,
        "not-a-key",
        &good,
        400,
        "ESIA-020000",
        "API_KEY_MALFORMED",
    )
    .await;
    let (st, body, _) = http_exchange(s, &k.secret, "").await;
    assert_eq!((st, body["code"].as_str()), (400, Some("ESIA-020000")));
    // Size limits: 32 KiB for the signature parameter (hyper refuses URIs of 64 KiB and more
    // with 414 before any handler), 64 KiB for the gRPC message.
    let (st, body, _) = http_exchange(s, &k.secret, &"A".repeat(40_000)).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (400, Some("ESIA-020000")),
        "{body}"
    );
    let (st, _, _) = http_exchange(s, &k.secret, &"A".repeat(70_000)).await;
    assert_eq!(st, 414);
    let err = grpc_exchange(s, &k.secret, vec![0x30; 70_000])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    // An unknown key, properly signed.
    let unknown = uuid::Uuid::new_v4().to_string();
    let sig = b64url(&sign("impersonal", &unknown, at, false));
    refused_http(s, &unknown, &sig, 404, "ESIA-037218", "API_KEY_NOT_FOUND").await;

    // The key's conditions, each broken in turn (and restored).
    let mut iss = s.as_portal(&k.portal, k.issuer).await;
    let mut head = s.as_portal(&k.portal, k.head).await;
    let sig = || {
        b64url(&sign(
            "impersonal",
            &k.secret,
            s.clock.now() - chrono::Duration::minutes(1),
            false,
        ))
    };

    iss.keys.block_api_key(change(&k.key_id)).await.unwrap();
    refused_http(s, &k.secret, &sig(), 403, "ESIA-037214", "API_KEY_BLOCKED").await;
    // The token issued earlier is now reported as not valid: its key was blocked.
    let v = grpc(s)
        .await
        .verify_token(pb::VerifyTokenRequest {
            token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!v.valid);
    assert_eq!(
        (v.reason.as_str(), v.esia_code.as_str()),
        ("KEY_NOT_USABLE", "ESIA-037214"),
        "{v:?}"
    );
    let (_, _, body) = http_get(
        &format!("http://{}/v1/token/introspect?token={token}", s.addr),
        &[],
    )
    .await;
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (j["active"].as_bool(), j["code"].as_str()),
        (Some(false), Some("ESIA-037214")),
        "{j}"
    );
    iss.keys.unblock_api_key(change(&k.key_id)).await.unwrap();

    let state = |p: i64| pb::ChangeEmployeeStateRequest {
        organization_oid: k.consumer,
        person_oid: p,
        etag: String::new(),
    };
    head.employees
        .block_employee(state(k.holder))
        .await
        .unwrap();
    refused_http(
        s,
        &k.secret,
        &sig(),
        403,
        "ESIA-037216",
        "HOLDER_NOT_ACTIVE",
    )
    .await;
    head.employees
        .unblock_employee(state(k.holder))
        .await
        .unwrap();
    head.employees
        .block_employee(state(k.issuer))
        .await
        .unwrap();
    refused_http(
        s,
        &k.secret,
        &sig(),
        403,
        "ESIA-037215",
        "ISSUER_NOT_ACTIVE",
    )
    .await;
    head.employees
        .unblock_employee(state(k.issuer))
        .await
        .unwrap();

    let mut vendor = s.as_token(&k.vendor_client).await;
    vendor
        .systems
        .withdraw_grant(pb::WithdrawGrantRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap();
    refused_http(s, &k.secret, &sig(), 403, "ESIA-037214", "GRANT_WITHDRAWN").await;
    vendor
        .systems
        .grant_system(pb::GrantSystemRequest {
            client_id: SYSTEM.into(),
            consumer: by_ogrn("1037800000017"),
        })
        .await
        .unwrap();

    exec_sql(
        &s.db,
        &format!(
            "UPDATE powers_of_attorney SET state = 'revoked' WHERE number = '{}'",
            k.poa
        ),
    )
    .unwrap();
    refused_http(
        s,
        &k.secret,
        &sig(),
        403,
        "ESIA-037217",
        "NO_ACTIVE_POWER_OF_ATTORNEY",
    )
    .await;
    exec_sql(
        &s.db,
        &format!(
            "UPDATE powers_of_attorney SET state = 'signed' WHERE number = '{}'",
            k.poa
        ),
    )
    .unwrap();

    exec_sql(
        &s.db,
        &format!(
            "UPDATE api_keys SET valid_until = '2026-11-01 00:00:00' WHERE id = '{}'",
            k.key_id
        ),
    )
    .unwrap();
    refused_http(s, &k.secret, &sig(), 403, "ESIA-037213", "API_KEY_EXPIRED").await;
    exec_sql(
        &s.db,
        &format!(
            "UPDATE api_keys SET valid_until = '2027-06-01 00:00:00' WHERE id = '{}'",
            k.key_id
        ),
    )
    .unwrap();

    // Working again after every restoration.
    let (st, body, _) = http_exchange(s, &k.secret, &sig()).await;
    assert_eq!(st, 200, "{body}");

    // Rate limits (per replica): per key, then per address; the refusal carries a retry hint.
    s.core.token_limits.configure(Limits {
        per_key: Rate {
            per_second: 0.01,
            burst: 1.0,
        },
        per_address: Rate::OFF,
    });
    let (st, _, _) = http_exchange(s, &k.secret, &sig()).await;
    assert_eq!(st, 200);
    let (st, body, head_text) = http_exchange(s, &k.secret, &sig()).await;
    assert_eq!(
        (st, body["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{body}"
    );
    assert!(
        head_text.to_ascii_lowercase().contains("retry-after: 100"),
        "{head_text}"
    );
    let err = grpc_exchange(s, &k.secret, sign("impersonal", &k.secret, at, false))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(details(&err).retry_info().is_some());
    s.core.token_limits.configure(Limits {
        per_key: Rate::OFF,
        per_address: Rate {
            per_second: 0.01,
            burst: 2.0,
        },
    });
    http_exchange(s, &k.secret, &sig()).await;
    http_exchange(s, &k.secret512, "x").await;
    let (st, _, _) = http_exchange(s, &k.secret, &sig()).await;
    assert_eq!(st, 429);
    s.core.token_limits.configure(Limits::default());

    // Deleted: not found.
    iss.keys.delete_api_key(change(&k.key_id)).await.unwrap();
    refused_http(s, &k.secret, &sig(), 404, "ESIA-037218", "API_KEY_DELETED").await;

    // A signature made by OpenSSL's GOST engine (attached, as in the worked example): OpenSSL
    // signs at the wall-clock time, so the test clock moves there first.
    let wall = orgadm::service::SystemClock.now();
    if wall > s.clock.now() {
        s.clock.advance(wall - s.clock.now());
    }
    if let Some(sig) = openssl_sign_attached("impersonal", &k.secret512) {
        let (st, body, _) = http_exchange(s, &k.secret512, &b64_pct(&sig)).await;
        assert_eq!(st, 200, "OpenSSL's signature refused: {body}");
    }

    // A replica without a signing key answers 503 with a clear message.
    let replica = s.replica().await;
    let url = format!(
        "http://{}/esia-rs/api/public/v1/orgs/ext-app/{}/tkn?signature={}",
        replica.addr,
        k.secret512,
        sig()
    );
    let (st, _, body) = http_get(&url, &[]).await;
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (st, j["code"].as_str()),
        (503, Some("NOT_CONFIGURED")),
        "{j}"
    );
    assert!(j["message"].as_str().unwrap().contains("signing key"));
    replica.stop().await;

    // Every issuance recorded with its event; every refusal recorded; no secret anywhere.
    let issued = count_rows(&s.db, "token_issuances");
    let with_openssl = if openssl_sign_attached("impersonal", "x").is_some() {
        1
    } else {
        0
    };
    assert_eq!(issued, 7 + with_openssl, "issuances");
    assert_eq!(
        count_where(
            &s.db,
            "audit_events",
            &format!("chain = {} AND action = 'token.issue'", k.consumer)
        ),
        issued
    );
    // ... and the chain they were appended to is intact (on PostgreSQL an issuance and its event
    // are usually one statement, guarded by the head this process last wrote).
    let v = s.chain_verdict(k.consumer).await;
    assert!(v.intact, "{v:?}");
    assert!(v.events_checked >= issued, "{v:?}");
    issuance_and_event_in_one_statement(s, &k).await;
    let refused = count_rows(&s.db, "token_refusals");
    assert!(refused >= 28, "{refused} refusals recorded");
    assert_eq!(
        count_where(&s.db, "token_refusals", "reason = 'RATE_LIMITED'"),
        0
    );
    assert_no_secret(s, &[&k.secret, &k.secret512]);
    // Failed attempts are counted in the metrics, by outcome and ESIA code.
    let (st, _, m) = http_get(&format!("http://{}/metrics", s.addr), &[]).await;
    let m = String::from_utf8(m).unwrap();
    assert_eq!(st, 200);
    let counted = |outcome: &str| -> i64 {
        m.lines()
            .filter(|l| {
                l.starts_with("orgadm_token_exchanges_total{")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!(counted("refused"), refused, "{m}");
    assert_eq!(counted("rate_limited"), 3, "{m}");
}
