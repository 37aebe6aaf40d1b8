//! EMCHD_1 powers of attorney: byte-exact fixtures, both schema checks, round trips.
//! `UPDATE_FIXTURES=1 cargo test xml_` rewrites `tests/fixtures/emchd/*.xml` from the models.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use orgadm::xml::{
    Address, AddressLine, FullName, IdentityDocument, Individual, IrrevocableRedelegation,
    IrrevocableTerms, MachinePower, PowerOfAttorney, PowerRestriction, Principal, Redelegation,
    RestrictionValue, Revocability, RevocationCondition, RevocationStatement, Revoker, parse,
    parse_revocation, validate_against_schema, validate_revocation_against_schema,
};
use uuid::Uuid;

pub const NUMBER: &str = "2b1c9a4e-5f7d-4c3b-9e8a-1d2f3a4b5c6d";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn name(s: &str, g: &str, p: Option<&str>) -> FullName {
    FullName {
        surname: s.into(),
        given_name: g.into(),
        patronymic: p.map(Into::into),
    }
}

fn passport() -> IdentityDocument {
    IdentityDocument {
        kind_code: "21".into(),
        series_number: "45 08 123456".into(),
        issue_date: d("2010-06-01"),
        issuer: Some("ОВД \"Хамовники\" г. Москвы".into()),
        issuer_code: Some("770-001".into()),
        expiry_date: None,
    }
}

fn api_key_power() -> MachinePower {
    MachinePower {
        code: "ORGADM_API_KEY_ISSUE".into(),
        name: "Право формирования идентификационных ключей (API-Key)".into(),
        mnemonic: None,
        restrictions: vec![],
    }
}

/// `full.xml`: the base every other variant changes.
pub fn full() -> PowerOfAttorney {
    PowerOfAttorney {
        number: Uuid::parse_str(NUMBER).unwrap(),
        internal_number: "42/2026".into(),
        issue_date: d("2026-11-23"),
        end_date: d("2027-11-22"),
        revocability: Revocability::Revocable,
        redelegation: Redelegation::None,
        status_url: format!("https://orgadm.example.test/poa/check-status?guid={NUMBER}"),
        principal: Principal {
            name: "Общество с ограниченной ответственностью \"Ромашка & Ко\"".into(),
            inn: "7707083893".into(),
            kpp: "773601001".into(),
            ogrn: "1027700132195".into(),
            address: Some(Address {
                region: "77".into(),
                fias_id: None,
                line: Some(AddressLine::Plain(
                    "г. Москва, ул. Вавилова, д. 19 <офис 1>".into(),
                )),
            }),
        },
        head: Individual {
            name: name("Иванов", "Иван", Some("Иванович")),
            inn: Some("500100732259".into()),
            snils: "11223344595".into(),
            position: Some("Генеральный директор".into()),
            birth_date: None,
            identity_document: None,
        },
        representative: Individual {
            name: name("Петрова-Д'Артаньян", "Анна", Some("Сергеевна")),
            inn: Some("136426212906".into()),
            snils: "94580730233".into(),
            position: None,
            birth_date: Some(d("1990-05-17")),
            identity_document: Some(passport()),
        },
        powers: vec![api_key_power()],
    }
}

/// Every fixture with the model it was written from.
pub fn variants() -> Vec<(&'static str, PowerOfAttorney)> {
    let mut many = full();
    many.powers = (1..=12)
        .map(|i| MachinePower {
            code: format!("ORGADM_POWER_{i:03}"),
            name: format!("Полномочие № {i} — «проверка» & <экранирование>"),
            mnemonic: (i % 2 == 0).then(|| format!("MNEMONIC_{i}")),
            restrictions: vec![],
        })
        .collect();

    let mut no_patronymic = full();
    no_patronymic.head.name.patronymic = None;
    no_patronymic.representative.name.patronymic = None;

    let mut once = full();
    once.revocability = Revocability::Irrevocable(None);
    once.redelegation = Redelegation::Once;

    let mut terms = full();
    terms.revocability = Revocability::Irrevocable(Some(IrrevocableTerms {
        redelegation: IrrevocableRedelegation::Allowed,
        condition: RevocationCondition::Conditional,
        description: Some("До исполнения договора № 7 & <приложения>".into()),
    }));

    let mut onward = full();
    onward.redelegation = Redelegation::Onward;

    let mut minimal = full();
    minimal.principal.address = None;
    minimal.head.inn = None;
    minimal.head.position = None;
    minimal.representative = Individual {
        name: minimal.representative.name.clone(),
        inn: None,
        snils: "94580730233".into(),
        position: None,
        birth_date: None,
        identity_document: None,
    };

    let mut all = full();
    all.principal.address = Some(Address {
        region: "50".into(),
        fias_id: Some(Uuid::parse_str("0c5b2444-70a0-4932-980c-b4dc0d3f02b5").unwrap()),
        line: Some(AddressLine::Fias(
            "Московская обл., г.о. Химки, ул. Ленина, д. 1".into(),
        )),
    });
    all.head.birth_date = Some(d("1975-01-31"));
    all.head.identity_document = Some(IdentityDocument {
        kind_code: "10".into(),
        series_number: "AB 1234567".into(),
        issue_date: d("2020-02-29"),
        issuer: None,
        issuer_code: None,
        expiry_date: Some(d("2030-02-28")),
    });
    all.representative.name = name("О'Коннор & \"Сыновья\"", "Мария-<Луиза>", Some("Ивановна"));
    all.representative.snils = "15736819300".into();

    vec![
        ("full", full()),
        ("many-powers", many),
        ("no-patronymic", no_patronymic),
        ("irrevocable-once", once),
        ("irrevocable-terms", terms),
        ("onward", onward),
        ("minimal", minimal),
        ("all-optional", all),
    ]
}

pub fn revocation() -> RevocationStatement {
    RevocationStatement {
        id: Uuid::parse_str("7e0d1c2b-3a49-4f58-8e67-5d4c3b2a1908").unwrap(),
        revoked_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap(),
        power_of_attorney: Uuid::parse_str(NUMBER).unwrap(),
        principal_inn: "7707083893".into(),
        principal_ogrn: "1027700132195".into(),
        revoker: Revoker {
            name: name("Иванов", "Иван", Some("Иванович")),
            snils: "11223344595".into(),
            inn: Some("500100732259".into()),
            position: Some("Генеральный директор".into()),
        },
        reason: Some("Увольнение представителя & смена \"ответственного\" <лица>".into()),
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emchd")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(format!("{name}.xml"))).unwrap()
}

/// Compares with the fixture, or rewrites it under `UPDATE_FIXTURES=1`.
fn check_fixture(name: &str, rendered: &[u8]) {
    let path = fixture_dir().join(format!("{name}.xml"));
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap();
    if want != rendered {
        panic!(
            "{name}.xml differs from the rendering (UPDATE_FIXTURES=1 rewrites it)\n--- want\n{}\n--- got\n{}",
            String::from_utf8_lossy(&want),
            String::from_utf8_lossy(rendered)
        );
    }
}

/// `xmllint --noout --schema xsd` over `bytes`; `None` when xmllint is not installed.
pub fn xmllint(xsd: &str, bytes: &[u8]) -> Option<(bool, String)> {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("xmllint not installed: skipping the xmllint check");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, bytes).unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/xml")
        .join(xsd);
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

pub const EMCHD_XSD: &str = "ON_EMCHD_1_928_00_01_01_01.xsd";
pub const REVOCATION_XSD: &str = "orgadm_revocation_1.xsd";

#[test]
fn xml_render_matches_every_fixture_byte_for_byte() {
    for (name, poa) in variants() {
        let bytes = poa.render().unwrap();
        check_fixture(name, &bytes);
    }
    check_fixture("revocation-statement", &revocation().render().unwrap());
}

#[test]
fn xml_every_rendered_document_validates_with_libxml2_and_xmllint() {
    for (name, poa) in variants() {
        let bytes = poa.render().unwrap();
        validate_against_schema(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if let Some((ok, err)) = xmllint(EMCHD_XSD, &bytes) {
            assert!(ok, "{name}: xmllint: {err}");
        }
    }
    let bytes = revocation().render().unwrap();
    validate_revocation_against_schema(&bytes).unwrap();
    if let Some((ok, err)) = xmllint(REVOCATION_XSD, &bytes) {
        assert!(ok, "revocation: xmllint: {err}");
    }
}

#[test]
fn xml_parse_of_render_gives_the_model_back() {
    for (name, poa) in variants() {
        let bytes = poa.render().unwrap();
        assert_eq!(parse(&bytes).unwrap(), poa, "{name}");
        assert_eq!(parse(&fixture(name)).unwrap(), poa, "{name} (fixture)");
    }
    let st = revocation();
    assert_eq!(parse_revocation(&st.render().unwrap()).unwrap(), st);
    assert_eq!(
        parse_revocation(&fixture("revocation-statement")).unwrap(),
        st
    );
}

#[test]
fn xml_file_name_and_id() {
    let poa = full();
    assert_eq!(poa.file_name(), format!("ON_EMCHD_20261123_{NUMBER}.xml"));
    let text = String::from_utf8(poa.render().unwrap()).unwrap();
    assert!(text.contains(&format!("ИдФайл=\"ON_EMCHD_20261123_{NUMBER}\"")));
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Доверенность "));
}

#[test]
fn xml_restrictions_render_validate_and_come_back() {
    let mut poa = full();
    poa.powers[0].mnemonic = Some("API_KEY_ISSUE".into());
    poa.powers[0].restrictions = vec![
        PowerRestriction {
            id: 1,
            code: "INFORMATION_SYSTEM".into(),
            name: "Информационная система".into(),
            value: RestrictionValue::Code("VENDOR_CRM".into()),
            value_name: Some("CRM «Поставщик»".into()),
        },
        PowerRestriction {
            id: 2,
            code: "NOTE".into(),
            name: "Примечание".into(),
            value: RestrictionValue::Text("только <тестовый> контур & стенд".into()),
            value_name: None,
        },
    ];
    let bytes = poa.render().unwrap();
    validate_against_schema(&bytes).unwrap();
    if let Some((ok, err)) = xmllint(EMCHD_XSD, &bytes) {
        assert!(ok, "{err}");
    }
    assert_eq!(parse(&bytes).unwrap(), poa);
}

#[test]
fn xml_validate_reports_every_bad_field_at_once() {
    let mut poa = full();
    poa.internal_number = String::new();
    poa.end_date = d("2026-11-01");
    poa.principal.inn = "7707083894".into();
    poa.principal.kpp = "0036010A1".into();
    poa.principal.ogrn = "102770013219".into();
    poa.principal.name = "Я".repeat(1001);
    poa.head.snils = "112-233-445 95".into();
    poa.head.inn = Some("500100732258".into());
    poa.representative.name.surname = "a\u{7}b".into();
    poa.representative.birth_date = Some(d("2027-01-01"));
    poa.powers[0].code = "SHORT".into();
    poa.powers.push(api_key_power());
    poa.powers.push(api_key_power());
    let err = poa.validate().unwrap_err();
    assert_eq!(err.kind(), "INVALID");
    let orgadm::xml::XmlError::Invalid(fields) = poa.render().unwrap_err() else {
        panic!("render must refuse an invalid model")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    for want in [
        "internal_number",
        "end_date",
        "principal.inn",
        "principal.kpp",
        "principal.ogrn",
        "principal.name",
        "head.snils",
        "head.inn",
        "representative.name.surname",
        "representative.birth_date",
        "powers[0].code",
        "powers[2].code",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(full().validate().is_ok());
}
