//! orgadm's revocation statement (`urn://orgadm/revocation/1`, version `ORGADM_REVOCATION_1`,
//! XSD `orgadm_revocation_1.xsd`): the head (or the issuer) states that a power of attorney is
//! revoked from a moment on, and signs the exact bytes with a detached CMS signature, like the
//! power of attorney itself. The public FNS material at hand has no general revocation format
//! for the EMCHD registry (the FNS order ЕД-7-26/946@ of 11 December 2023 covers revocation of
//! powers of attorney for tax relations only), hence this documented format of our own.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use uuid::Uuid;

use super::check;
use super::emchd::FullName;
use super::error::XmlError;
use super::guard::{self, Limits};
use super::parse::{Node, child, opt_child, read_name, unsupported};
use super::schema::{self, Xsd};
use super::write::{XmlOut, attrs};
use crate::domain::error::Violations;
use crate::domain::ids::format_snils;

/// Namespace of the statement.
pub const REVOCATION_NS: &str = "urn://orgadm/revocation/1";
/// `ВерсФорм`.
pub const REVOCATION_VERSION: &str = "ORGADM_REVOCATION_1";

/// `ЗаявлениеОбОтмене`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationStatement {
    /// `@ИдЗаяв`: the statement's own id.
    pub id: Uuid,
    /// `@ДатаВремОтмены`: the moment the power of attorney stops counting, UTC, whole seconds.
    pub revoked_at: DateTime<Utc>,
    /// `Доверенность/@НомДовер`.
    pub power_of_attorney: Uuid,
    /// `Доверенность/@ИННЮЛ` of the principal.
    pub principal_inn: String,
    /// `Доверенность/@ОГРН` of the principal.
    pub principal_ogrn: String,
    /// `Отзывающий`: who revokes.
    pub revoker: Revoker,
    /// `Причина`, 1–1000 characters.
    pub reason: Option<String>,
}

/// `Отзывающий`: the person who revokes (and signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoker {
    /// `ФИО`.
    pub name: FullName,
    /// `@СНИЛС`: 11 digits here, rendered `NNN-NNN-NNN NN`.
    pub snils: String,
    /// `@ИННФЛ`.
    pub inn: Option<String>,
    /// `@Должность`, 1–255 characters.
    pub position: Option<String>,
}

impl RevocationStatement {
    /// Every field problem at once.
    pub fn validate(&self) -> Result<(), XmlError> {
        let mut v = Violations::new();
        if self.revoked_at.nanosecond() != 0 {
            v.add("revoked_at", "must be whole seconds");
        }
        check::inn10(&mut v, "principal_inn", &self.principal_inn);
        check::ogrn(&mut v, "principal_ogrn", &self.principal_ogrn);
        let r = &self.revoker;
        check::text(&mut v, "revoker.name.surname", &r.name.surname, 1, 200);
        check::text(
            &mut v,
            "revoker.name.given_name",
            &r.name.given_name,
            1,
            200,
        );
        check::opt_text(
            &mut v,
            "revoker.name.patronymic",
            r.name.patronymic.as_deref(),
            1,
            200,
        );
        check::snils(&mut v, "revoker.snils", &r.snils);
        if let Some(inn) = &r.inn {
            check::inn12(&mut v, "revoker.inn", inn);
        }
        check::opt_text(&mut v, "revoker.position", r.position.as_deref(), 1, 255);
        check::opt_text(&mut v, "reason", self.reason.as_deref(), 1, 1000);
        v.into_result().map_err(XmlError::from)
    }

    /// Validates, then writes the statement (UTF-8, two-space indentation, final newline).
    pub fn render(&self) -> Result<Vec<u8>, XmlError> {
        self.validate()?;
        let mut o = XmlOut::new(1024)?;
        let id = self.id.hyphenated().to_string();
        let at = self.revoked_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        o.open(
            "ЗаявлениеОбОтмене",
            &[
                ("xmlns", REVOCATION_NS),
                ("ВерсФорм", REVOCATION_VERSION),
                ("ИдЗаяв", &id),
                ("ДатаВремОтмены", &at),
            ],
        )?;
        let number = self.power_of_attorney.hyphenated().to_string();
        o.empty(
            "Доверенность",
            &[
                ("НомДовер", &number),
                ("ИННЮЛ", &self.principal_inn),
                ("ОГРН", &self.principal_ogrn),
            ],
        )?;
        let r = &self.revoker;
        let snils = format_snils(&r.snils);
        o.open(
            "Отзывающий",
            &attrs(&[
                ("СНИЛС", Some(snils.as_str())),
                ("ИННФЛ", r.inn.as_deref()),
                ("Должность", r.position.as_deref()),
            ]),
        )?;
        o.empty(
            "ФИО",
            &attrs(&[
                ("Фамилия", Some(r.name.surname.as_str())),
                ("Имя", Some(r.name.given_name.as_str())),
                ("Отчество", r.name.patronymic.as_deref()),
            ]),
        )?;
        o.end("Отзывающий")?;
        if let Some(reason) = &self.reason {
            o.text("Причина", &[], reason)?;
        }
        o.end("ЗаявлениеОбОтмене")?;
        Ok(o.finish())
    }
}

/// Parses and checks a revocation statement: guards, its XSD, the model, field rules.
pub fn parse_revocation(bytes: &[u8]) -> Result<RevocationStatement, XmlError> {
    let root = guard::scan(bytes, &Limits::default())?;
    if root.ns != REVOCATION_NS || root.name != "ЗаявлениеОбОтмене" {
        return Err(XmlError::SchemaViolation(vec![
            super::error::SchemaViolation {
                line: Some(root.line),
                message: format!(
                    "root element {{{}}}{} is not {{{REVOCATION_NS}}}ЗаявлениеОбОтмене",
                    root.ns, root.name
                ),
            },
        ]));
    }
    schema::check(Xsd::Revocation, bytes)?;

    let mut n = Node::new(&root);
    n.fixed("ВерсФорм", REVOCATION_VERSION, REVOCATION_VERSION)?;
    let id = n.uuid("ИдЗаяв")?;
    let at = n.req("ДатаВремОтмены")?;
    let revoked_at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| unsupported(&root, format!("ДатаВремОтмены=\"{at}\"")))?
        .with_timezone(&Utc);
    let kids = n.children(&["Доверенность", "Отзывающий", "Причина"])?;

    let d = child(&root, &kids, "Доверенность", "one power of attorney")?;
    let mut dn = Node::new(d);
    let power_of_attorney = dn.uuid("НомДовер")?;
    let principal_inn = dn.req("ИННЮЛ")?.to_owned();
    let principal_ogrn = dn.req("ОГРН")?.to_owned();
    dn.children(&[])?;

    let r = child(&root, &kids, "Отзывающий", "one revoker")?;
    let mut rn = Node::new(r);
    let snils = rn
        .req("СНИЛС")?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let inn = rn.string("ИННФЛ");
    let position = rn.string("Должность");
    let rk = rn.children(&["ФИО"])?;
    let name = read_name(child(r, &rk, "ФИО", "ФИО")?)?;

    let reason = match opt_child(&kids, "Причина", "one reason")? {
        None => None,
        Some(p) => {
            Node::new(p).children(&[])?;
            Some(p.text.clone())
        }
    };
    let st = RevocationStatement {
        id,
        revoked_at,
        power_of_attorney,
        principal_inn,
        principal_ogrn,
        revoker: Revoker {
            name,
            snils,
            inn,
            position,
        },
        reason,
    };
    st.validate()?;
    Ok(st)
}
