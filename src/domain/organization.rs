//! Organisations (ЮЛ — legal entities, ИП — individual entrepreneurs).

use chrono::NaiveDateTime;

use super::error::{self, Violations};
use super::ids;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    /// Legal entity: OGRN (13), INN (10), KPP (9).
    LegalEntity,
    /// Individual entrepreneur: OGRNIP (15), personal INN (12), no KPP.
    IndividualEntrepreneur,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LegalEntity => "legal_entity",
            Self::IndividualEntrepreneur => "individual_entrepreneur",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "legal_entity" => Some(Self::LegalEntity),
            "individual_entrepreneur" => Some(Self::IndividualEntrepreneur),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub oid: i64,
    pub kind: OrgKind,
    pub full_name: String,
    pub short_name: String,
    pub ogrn: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub address: String,
    pub head_oid: i64,
    pub consumer: bool,
    pub vendor: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// Validated registration of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewOrganization {
    #[serde(serialize_with = "ser_kind")]
    pub kind: OrgKind,
    pub full_name: String,
    pub short_name: String,
    pub ogrn: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub address: String,
    pub head_oid: i64,
    pub consumer: bool,
    pub vendor: bool,
}

fn ser_kind<S: serde::Serializer>(k: &OrgKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// Raw registration input from the edge.
#[derive(Debug, Clone, Default)]
pub struct OrganizationInput {
    pub kind: Option<OrgKind>,
    pub full_name: String,
    pub short_name: String,
    pub ogrn: String,
    pub inn: String,
    pub kpp: String,
    pub address: String,
    pub head_oid: i64,
    pub consumer: bool,
    pub vendor: bool,
}

impl OrganizationInput {
    pub fn validate(&self) -> Result<NewOrganization, Violations> {
        let mut v = Violations::new();
        let full_name = error::text(&mut v, "full_name", &self.full_name, true, 1000);
        let short_name = error::text(&mut v, "short_name", &self.short_name, true, 500);
        let address = error::text(&mut v, "address", &self.address, true, 1000);
        let (ogrn, inn, kpp) = match self.kind {
            Some(OrgKind::LegalEntity) => {
                let ogrn = v.check("ogrn", ids::parse_ogrn(self.ogrn.trim()));
                let inn = v.check("inn", ids::parse_inn10(self.inn.trim()));
                let kpp = v.check("kpp", ids::parse_kpp(self.kpp.trim()));
                (ogrn, inn, kpp)
            }
            Some(OrgKind::IndividualEntrepreneur) => {
                let ogrn = v.check("ogrn", ids::parse_ogrnip(self.ogrn.trim()));
                let inn = v.check("inn", ids::parse_inn12(self.inn.trim()));
                if !self.kpp.trim().is_empty() {
                    v.add("kpp", "an individual entrepreneur has no KPP");
                }
                (ogrn, inn, None)
            }
            None => {
                v.add("kind", "must be legal entity or individual entrepreneur");
                (None, None, None)
            }
        };
        if self.head_oid <= 0 {
            v.add(
                "head_oid",
                "is required: the OID of a person with a confirmed account",
            );
        }
        v.into_result()?;
        match (self.kind, full_name, short_name, address, ogrn, inn) {
            (
                Some(kind),
                Some(full_name),
                Some(short_name),
                Some(address),
                Some(ogrn),
                Some(inn),
            ) => Ok(NewOrganization {
                kind,
                full_name,
                short_name,
                ogrn,
                inn,
                kpp,
                address,
                head_oid: self.head_oid,
                consumer: self.consumer,
                vendor: self.vendor,
            }),
            _ => {
                let mut v = Violations::new();
                v.add("kind", "is required");
                Err(v)
            }
        }
    }
}

/// Fields an update may change; OGRN, INN and kind are immutable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrganizationChanges {
    pub full_name: String,
    pub short_name: String,
    pub address: String,
    pub head_oid: i64,
    pub consumer: bool,
    pub vendor: bool,
}

pub const UPDATABLE_FIELDS: &[&str] = &[
    "full_name",
    "short_name",
    "address",
    "head_oid",
    "consumer",
    "vendor",
];

/// Fields the organisation's head may change through a portal.
pub const HEAD_UPDATABLE_FIELDS: &[&str] = &["full_name", "short_name", "address"];

impl OrganizationChanges {
    pub fn validate(&self) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let full_name = error::text(&mut v, "full_name", &self.full_name, true, 1000);
        let short_name = error::text(&mut v, "short_name", &self.short_name, true, 500);
        let address = error::text(&mut v, "address", &self.address, true, 1000);
        if self.head_oid <= 0 {
            v.add("head_oid", "is required");
        }
        v.into_result()?;
        Ok(Self {
            full_name: full_name.unwrap_or_default(),
            short_name: short_name.unwrap_or_default(),
            address: address.unwrap_or_default(),
            ..self.clone()
        })
    }
}

/// `format` of orgadm's registration statement.
pub const REGISTRATION_FORMAT: &str = "ORGADM_ORG_REGISTRATION_1";
/// At most this many bytes of a registration statement.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;

/// The registration statement a head signs with a КЭП (`RegisterWithSignature`): a UTF-8 JSON
/// object with exactly these keys, all strings (docs/API.md). The signature covers the bytes as
/// sent, so no canonical re-serialisation is involved; the keys only need to be there once.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationJson {
    format: String,
    ogrn: String,
    inn: String,
    kpp: String,
    full_name: String,
    short_name: String,
    address: String,
    head_snils: String,
}

/// A checked registration statement: the legal entity to create (the caller as head) and the
/// head's SNILS it names (11 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationStatement {
    pub org: NewOrganization,
    pub head_snils: String,
}

/// Reads and checks a registration statement; every problem is reported on `statement.<key>`.
pub fn parse_registration(
    bytes: &[u8],
    head_oid: i64,
) -> Result<RegistrationStatement, Violations> {
    let mut v = Violations::new();
    if bytes.len() > MAX_REGISTRATION_BYTES {
        v.add(
            "statement",
            format!("must be at most {MAX_REGISTRATION_BYTES} bytes"),
        );
        return Err(v);
    }
    let json: RegistrationJson = match serde_json::from_slice(bytes) {
        Ok(j) => j,
        Err(e) => {
            v.add(
                "statement",
                format!("is not an {REGISTRATION_FORMAT} JSON statement: {e}"),
            );
            return Err(v);
        }
    };
    if json.format != REGISTRATION_FORMAT {
        v.add("statement.format", format!("must be {REGISTRATION_FORMAT}"));
    }
    let head_snils = v.check(
        "statement.head_snils",
        ids::parse_snils(json.head_snils.trim()),
    );
    let input = OrganizationInput {
        kind: Some(OrgKind::LegalEntity),
        full_name: json.full_name,
        short_name: json.short_name,
        ogrn: json.ogrn,
        inn: json.inn,
        kpp: json.kpp,
        address: json.address,
        head_oid,
        consumer: false,
        vendor: false,
    };
    let org = match input.validate() {
        Ok(o) => Some(o),
        Err(e) => {
            for f in e.0 {
                v.add(&format!("statement.{}", f.field), f.description);
            }
            None
        }
    };
    v.into_result()?;
    match (org, head_snils) {
        (Some(org), Some(head_snils)) => Ok(RegistrationStatement { org, head_snils }),
        _ => {
            let mut v = Violations::new();
            v.add("statement", "is incomplete");
            Err(v)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn legal() -> OrganizationInput {
        OrganizationInput {
            kind: Some(OrgKind::LegalEntity),
            full_name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
            short_name: "ООО \"Ромашка\"".into(),
            ogrn: "1037800000017".into(),
            inn: "7810010017".into(),
            kpp: "781001001".into(),
            address: "г. Санкт-Петербург".into(),
            head_oid: 1000000001,
            consumer: true,
            vendor: false,
        }
    }

    #[test]
    fn legal_entity() {
        assert!(legal().validate().is_ok());
        let mut bad = legal();
        bad.inn = "7810010018".into();
        bad.kpp = String::new();
        let v = bad.validate().unwrap_err();
        let f: Vec<_> = v.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(f, ["inn", "kpp"]);
    }

    #[test]
    fn entrepreneur() {
        let ip = OrganizationInput {
            kind: Some(OrgKind::IndividualEntrepreneur),
            ogrn: "304770000000127".into(),
            inn: "770512345650".into(),
            kpp: String::new(),
            ..legal()
        };
        assert!(ip.validate().is_ok());
        let wrong = OrganizationInput {
            ogrn: "1037800000017".into(),
            ..ip
        };
        assert_eq!(wrong.validate().unwrap_err().0[0].field, "ogrn");
    }

    #[test]
    fn registration_statements() {
        let good = r#"{"format":"ORGADM_ORG_REGISTRATION_1","ogrn":"1037800000017","inn":"7810010017","kpp":"781001001","full_name":"ООО Ромашка","short_name":"Ромашка","address":"СПб","head_snils":"123-456-789 64"}"#;
        let st = parse_registration(good.as_bytes(), 7).unwrap();
        assert_eq!(st.head_snils, "12345678964");
        assert_eq!(st.org.head_oid, 7);
        assert_eq!(st.org.kpp.as_deref(), Some("781001001"));
        assert!(!st.org.consumer && !st.org.vendor);
        let fields = |b: &[u8]| -> Vec<String> {
            parse_registration(b, 7)
                .unwrap_err()
                .0
                .into_iter()
                .map(|f| f.field)
                .collect()
        };
        let extra = br#"{"format":"ORGADM_ORG_REGISTRATION_1","ogrn":"1037800000017","inn":"7810010017","kpp":"781001001","full_name":"x","short_name":"x","address":"x","head_snils":"12345678964","vendor":"true"}"#;
        assert_eq!(fields(extra), ["statement"]);
        assert_eq!(fields(b"not json"), ["statement"]);
        let bad = br#"{"format":"V2","ogrn":"1037800000018","inn":"7810010017","kpp":"1","full_name":"","short_name":"x","address":"x","head_snils":"12345678965"}"#;
        assert_eq!(
            fields(bad),
            [
                "statement.format",
                "statement.head_snils",
                "statement.full_name",
                "statement.ogrn",
                "statement.kpp"
            ]
        );
    }
}
