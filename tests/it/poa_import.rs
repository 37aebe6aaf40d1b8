//! Importing a power of attorney issued elsewhere: a committed EMCHD_1 document signed by the
//! test PKI's head with OpenSSL's GOST engine (`tests/fixtures/emchd/import/`, README there) and
//! one signed live with the engine when it is present are VALID and stored unchanged; a schema
//! error, an unexpected element, an over-long value, broken XML and an XML bomb are INVALID
//! (quickly), an unknown issuer is CANNOT_VALIDATE, a wrong signer or changed bytes INVALID —
//! and nothing is stored in any refused case.

use std::time::{Duration, Instant};

use orgadm::transport::grpc::pb;
use orgadm::xml::{MachinePower, PowerOfAttorney, PowerRestriction, RestrictionValue};
use tonic::Code;

use crate::both_backends;
use crate::poa::{openssl_sign, sign_as};
use crate::poa_revoke::signing_world;
use crate::support::*;
use crate::xml_emchd::{EMCHD_XSD, full, xmllint};

both_backends!(import_answers_valid_invalid_or_cannot_validate);

pub const IMPORTED: &str = "7d3e2f10-8a4b-4c5d-9e6f-a1b2c3d4e5f6";

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emchd/import")
}

/// A power of attorney of ООО «Ромашка» (the test PKI's org A) by its head Петров Пётр
/// Петрович, as another system would have issued it, for the representative of `full.xml`.
pub fn external(number: &str) -> PowerOfAttorney {
    let mut p = full();
    p.number = uuid::Uuid::parse_str(number).unwrap();
    p.internal_number = "EXT-7".into();
    p.issue_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    p.end_date = chrono::NaiveDate::from_ymd_opt(2027, 5, 31).unwrap();
    p.status_url = format!("https://m4d.example.test/check-status?guid={number}");
    p.principal.name = "Общество с ограниченной ответственностью \"Ромашка\"".into();
    p.principal.inn = "7810010017".into();
    p.principal.kpp = "781001001".into();
    p.principal.ogrn = "1037800000017".into();
    p.principal.address = None;
    p.head.name.surname = "Петров".into();
    p.head.name.given_name = "Пётр".into();
    p.head.name.patronymic = Some("Петрович".into());
    p.head.snils = "12345678964".into();
    p.head.inn = Some("771234567859".into());
    p.powers = vec![MachinePower {
        code: "ORGADM_API_KEY_ISSUE".into(),
        name: "Право формирования идентификационных ключей (API-Key)".into(),
        mnemonic: None,
        restrictions: vec![PowerRestriction {
            id: 1,
            code: "INFORMATION_SYSTEM".into(),
            name: "Информационная система".into(),
            value: RestrictionValue::Code("ROMASHKA_CRM".into()),
            value_name: None,
        }],
    }];
    p
}

/// The committed document and its signature (made by OpenSSL's GOST engine); rewritten with
/// `UPDATE_FIXTURES=1` (then sign it again, see the README).
pub(crate) fn committed() -> (Vec<u8>, Vec<u8>) {
    let doc = external(IMPORTED).render().unwrap();
    let path = fixture_dir().join(format!("ON_EMCHD_20261125_{IMPORTED}.xml"));
    if std::env::var("UPDATE_FIXTURES").is_ok() {
        std::fs::create_dir_all(fixture_dir()).unwrap();
        std::fs::write(&path, &doc).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), doc, "the fixture is stale");
    let sig = std::fs::read(path.with_extension("xml.sig")).unwrap();
    (doc, sig)
}

fn problems(r: &pb::ImportDocumentResponse) -> Vec<&str> {
    r.problems.iter().map(|p| p.reason.as_str()).collect()
}

async fn import_answers_valid_invalid_or_cannot_validate(s: &TestServer) {
    let w = signing_world(s).await;
    let mut op = s.as_operator().await;
    // The representative the document names has an account here.
    let rep = op
        .persons
        .register_person(person_req(
            "Петрова-Д'Артаньян",
            "945-807-302 33",
            pb::AccountLevel::Confirmed,
        ))
        .await
        .unwrap()
        .into_inner()
        .oid;
    // The committed signature was made on 2026-12-01 00:04 UTC: import at 12:00 that day.
    s.clock.advance(chrono::Duration::days(6));
    let mut api = s.as_portal(&w.portal, w.head).await;
    let (doc, sig) = committed();
    if let Some((ok, msg)) = xmllint(EMCHD_XSD, &doc) {
        assert!(ok, "{msg}");
    }
    let text = String::from_utf8(doc.clone()).unwrap();
    let with = |from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1).into_bytes()
    };
    let events = count_rows(&s.db, "audit_events");
    let import = |document: Vec<u8>, signature: Vec<u8>| pb::ImportDocumentRequest {
        document,
        signature,
    };

    // Bad documents: INVALID with the kind of problem, quickly, nothing stored.
    let mut bomb_dtd = String::from("<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        bomb_dtd.push_str(&format!(
            "<!ENTITY l{i} \"{}\">",
            format!("&l{};", i - 1).repeat(10)
        ));
    }
    let bomb = text
        .replacen(
            "<Доверенность ",
            &format!("<!DOCTYPE Доверенность [{bomb_dtd}]>\n<Доверенность "),
            1,
        )
        .replacen("EXT-7", "&l9;", 1)
        .into_bytes();
    for (bad, want) in [
        (
            with("ВидДовер=\"1\"", "ВидДовер=\"7\""),
            "XML_SCHEMA_VIOLATION",
        ),
        (
            with("</СведСист>", "</СведСист>\n<Лишний/>"),
            "XML_SCHEMA_VIOLATION",
        ),
        (
            with(
                "ВнНомДовер=\"EXT-7\"",
                &format!("ВнНомДовер=\"{}\"", "7".repeat(51)),
            ),
            "XML_SCHEMA_VIOLATION",
        ),
        (with("</Документ>", "</Документ"), "XML_MALFORMED"),
        (doc[..doc.len() / 2].to_vec(), "XML_MALFORMED"),
        (bomb, "XML_UNSAFE"),
        (
            with("ИННЮЛ=\"7810010017\"", "ИННЮЛ=\"7810010018\""),
            "FIELD_INVALID",
        ),
    ] {
        let sig = sign_as("head", &bad);
        let t = Instant::now();
        let r = api
            .poa
            .import_document(import(bad, sig))
            .await
            .unwrap()
            .into_inner();
        assert!(t.elapsed() < Duration::from_secs(2), "{want}: slow");
        assert_eq!(
            r.verdict,
            pb::ImportVerdict::Invalid as i32,
            "{want}: {r:?}"
        );
        assert_eq!(problems(&r)[0], want, "{r:?}");
        assert!(r.power_of_attorney.is_none());
    }
    // The schema problem names its line.
    let r = api
        .poa
        .import_document(import(
            with("ВидДовер=\"1\"", "ВидДовер=\"7\""),
            sig.clone(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(r.problems[0].line > 0, "{r:?}");
    assert!(r.problems[0].message.contains("ВидДовер"), "{r:?}");

    // Bad signatures: the issuer unknown here is CANNOT_VALIDATE; the rest INVALID.
    let mut changed = doc.clone();
    let at = text.find("EXT-7").unwrap();
    changed[at + 4] = b'8';
    for (sig, verdict, want) in [
        (
            sign_as("rogue", &doc),
            pb::ImportVerdict::CannotValidate,
            "CERTIFICATE_UNTRUSTED",
        ),
        (
            sign_as("employee", &doc),
            pb::ImportVerdict::Invalid,
            "SIGNER_MISMATCH",
        ),
        (
            sign_as("vendor_head", &doc),
            pb::ImportVerdict::Invalid,
            "SIGNER_MISMATCH",
        ),
        (
            sign_as("expired", &doc),
            pb::ImportVerdict::Invalid,
            "CERTIFICATE_NOT_VALID",
        ),
        (
            b"garbage".to_vec(),
            pb::ImportVerdict::Invalid,
            "SIGNATURE_MALFORMED",
        ),
    ] {
        let r = api
            .poa
            .import_document(import(doc.clone(), sig))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.verdict, verdict as i32, "{want}: {r:?}");
        assert_eq!(problems(&r), [want], "{r:?}");
    }
    let r = api
        .poa
        .import_document(import(changed, sig.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(problems(&r), ["SIGNATURE_INVALID"], "{r:?}");

    // Callers and principals: only the principal's head (or the operator), of an organisation
    // registered here.
    let err = s
        .as_portal(&w.portal, rep)
        .await
        .poa
        .import_document(import(doc.clone(), sig.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let elsewhere = orgadm::xml::parse(&crate::xml_emchd::fixture("full")).unwrap();
    let elsewhere = elsewhere.render().unwrap();
    let err = api
        .poa
        .import_document(import(elsewhere.clone(), sign_as("head", &elsewhere)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "PRINCIPAL_UNKNOWN");
    let err = api
        .poa
        .import_document(import(Vec::new(), Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["document", "signature"]);
    assert_eq!(count_rows(&s.db, "powers_of_attorney"), 0);
    assert_eq!(count_rows(&s.db, "poa_signatures"), 0);
    assert_eq!(count_rows(&s.db, "audit_events"), events);

    // The committed document with its OpenSSL signature: VALID, stored unchanged, in force.
    let r = api
        .poa
        .import_document(import(doc.clone(), sig.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.verdict, pb::ImportVerdict::Valid as i32, "{r:?}");
    assert!(r.problems.is_empty());
    let p = r.power_of_attorney.unwrap();
    assert_eq!(p.number, IMPORTED);
    assert_eq!(p.state, pb::PowerOfAttorneyState::Active as i32);
    assert_eq!(p.organization_oid, w.org.oid);
    assert_eq!(p.principal_person_oid, w.head);
    assert_eq!(p.representative_person_oid, rep);
    assert_eq!(p.internal_number, "EXT-7");
    assert_eq!(p.powers[0].information_system, "ROMASHKA_CRM");
    let got = api
        .poa
        .get_document(pb::GetDocumentRequest {
            number: IMPORTED.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.content, doc);
    assert_eq!(got.signature, sig);
    assert_eq!(got.file_name, format!("ON_EMCHD_20261125_{IMPORTED}.xml"));
    let yes = api
        .poa
        .is_authorised(pb::IsAuthorisedRequest {
            person_oid: rep,
            organization_oid: w.org.oid,
            power_code: "ORGADM_API_KEY_ISSUE".into(),
            information_system: "ROMASHKA_CRM".into(),
            on: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(yes.authorised);
    assert_eq!(yes.number, IMPORTED);
    let (status, _, body) = http_get(
        &format!(
            "http://{}/poa/check-status?guid={IMPORTED}&format=json",
            s.addr
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "ACTIVE");
    // Importing it again: ALREADY_EXISTS, nothing more stored.
    let err = op
        .poa
        .import_document(import(doc.clone(), sig.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "POA_EXISTS");
    assert_eq!(count_rows(&s.db, "powers_of_attorney"), 1);
    let ev = op
        .audit
        .list_events(pb::ListEventsRequest {
            organization_oid: w.org.oid,
            action: "poa.import".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(ev.len(), 1);
    assert!(
        ev[0].details_json.contains("Петров"),
        "{}",
        ev[0].details_json
    );

    // The operator imports one signed live by OpenSSL's GOST engine (when installed).
    let number = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let live_doc = external(number).render().unwrap();
    let Some(live_sig) = openssl_sign("head", &live_doc) else {
        return;
    };
    // The engine signs at the real time: move the clock past it (still within the dates).
    s.clock.advance(chrono::Duration::days(150));
    let r = op
        .poa
        .import_document(import(live_doc, live_sig))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.verdict, pb::ImportVerdict::Valid as i32, "{r:?}");
    assert_eq!(r.power_of_attorney.unwrap().number, number);
}
