//! The power of attorney in the FNS unified format `EMCHD_1` (МЧД, format 003): a typed model
//! of the shape orgadm issues — one Russian legal entity as principal acting through its head
//! without a power of attorney, one natural person as representative, machine-readable powers —
//! its field rules ([`PowerOfAttorney::validate`]) and its rendering
//! ([`PowerOfAttorney::render`]). The element and attribute names of the document are given
//! with each field; `docs/EMCHD.md` shows the whole shape.

use chrono::NaiveDate;
use uuid::Uuid;

use super::check;
use super::error::XmlError;
use super::write::{XmlOut, attrs};
use crate::domain::error::Violations;
use crate::domain::ids::format_snils;

/// Namespace of the format.
pub const EMCHD_NS: &str = "urn://x-artefacts/EMCHD_1";
/// `ВерсФорм`.
pub const EMCHD_VERSION: &str = "EMCHD_1";
/// `ПрЭлФорм`: flags of the optional element groups; orgadm sets none.
pub const EMCHD_FLAGS: &str = "00000000";

/// A power of attorney as orgadm issues and imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerOfAttorney {
    /// `СвДов/@НомДовер`: the registration number, a UUID (rendered lower-case).
    pub number: Uuid,
    /// `СвДов/@ВнНомДовер`: the principal's own number, 1–50 characters.
    pub internal_number: String,
    /// `СвДов/@ДатаВыдДовер`.
    pub issue_date: NaiveDate,
    /// `СвДов/@СрокДейст`: last day of validity, not before the issue date.
    pub end_date: NaiveDate,
    /// `СвДов/@ВидДовер` and `СвДов/Безотзыв`.
    pub revocability: Revocability,
    /// `СвДов/@ПрПередов`.
    pub redelegation: Redelegation,
    /// `СвДов/СведСист`: where the status of this power of attorney can be checked (orgadm's
    /// public status page for `НомДовер`), 1–1000 characters.
    pub status_url: String,
    /// `СвДоверит[@ТипДоверит=1]/Доверит/РосОргДовер/СвРосОрг`.
    pub principal: Principal,
    /// `РосОргДовер/ЛицоБезДов[@ПолнЮЛ=1]/СвФЛ`: the head, acting without a power of attorney.
    pub head: Individual,
    /// `СвУпПред[@ТипПред=3]/Пред/СведФизЛ`: the representative, a natural person.
    pub representative: Individual,
    /// `СвПолн[@ТипПолн=1]/МашПолн`: at least one machine-readable power.
    pub powers: Vec<MachinePower>,
}

/// `ВидДовер`: 1 revocable, 2 irrevocable (optionally with `Безотзыв`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocability {
    Revocable,
    Irrevocable(Option<IrrevocableTerms>),
}

/// `Безотзыв`: the terms of an irrevocable power of attorney.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrrevocableTerms {
    /// `@ПрПерБезДов` (1 or 2).
    pub redelegation: IrrevocableRedelegation,
    /// `@УслОтзыва` (1 or 2).
    pub condition: RevocationCondition,
    /// `ОписУслОт`: the condition in words, 1–1000 characters.
    pub description: Option<String>,
}

/// `Безотзыв/@ПрПерБезДов`: whether the irrevocable power may be re-delegated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrrevocableRedelegation {
    /// Code 1.
    NotAllowed,
    /// Code 2.
    Allowed,
}

/// `Безотзыв/@УслОтзыва`: whether revocation is tied to a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCondition {
    /// Code 1: revocable when the condition (`ОписУслОт`) is met.
    Conditional,
    /// Code 2.
    Unconditional,
}

/// `ПрПередов`: may the representative re-delegate?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelegation {
    /// 1: without re-delegation.
    None,
    /// 2: re-delegation once.
    Once,
    /// 3: re-delegation onward (further re-delegation allowed).
    Onward,
}

/// `СвРосОрг`: the principal, a Russian legal entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `@НаимОрг`, 1–1000 characters.
    pub name: String,
    /// `@ИННЮЛ`, 10 digits with checksum.
    pub inn: String,
    /// `@КПП`, the XSD pattern.
    pub kpp: String,
    /// `@ОГРН`, 13 digits with checksum.
    pub ogrn: String,
    /// `АдрРег`.
    pub address: Option<Address>,
}

/// `АдрТип`: region code, optional FIAS id, optional address line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `@Регион`: two digits (code of the subject of the Russian Federation).
    pub region: String,
    /// `@ИдФИАС`.
    pub fias_id: Option<Uuid>,
    pub line: Option<AddressLine>,
}

/// The address in words: `АдрРФ` or `ФИАСАдрРФ`, 1–1000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressLine {
    Plain(String),
    Fias(String),
}

/// `СвФЛТип`: a natural person (the head, or the representative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Individual {
    /// `СведФЛ/ФИО`.
    pub name: FullName,
    /// `@ИННФЛ`, 12 digits with checksums.
    pub inn: Option<String>,
    /// `@СНИЛС`: 11 digits here, rendered `NNN-NNN-NNN NN`.
    pub snils: String,
    /// `@Должность`, 1–255 characters.
    pub position: Option<String>,
    /// `СведФЛ/@ДатаРожд`.
    pub birth_date: Option<NaiveDate>,
    /// `СведФЛ/УдЛичнФЛ`.
    pub identity_document: Option<IdentityDocument>,
}

/// `ФИОТип`: each part 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName {
    /// `@Фамилия`.
    pub surname: String,
    /// `@Имя`.
    pub given_name: String,
    /// `@Отчество`.
    pub patronymic: Option<String>,
}

/// `УдЛичнФЛ`: an identity document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDocument {
    /// `@КодВидДок`: two digits from the СПДУЛ classifier (21 passport of a citizen of the RF).
    pub kind_code: String,
    /// `@СерНомДок`, 1–25 characters.
    pub series_number: String,
    /// `@ДатаДок`.
    pub issue_date: NaiveDate,
    /// `@ВыдДок`, 1–4000 characters.
    pub issuer: Option<String>,
    /// `@КодВыдДок`, exactly 7 characters (`NNN-NNN`).
    pub issuer_code: Option<String>,
    /// `expDate`.
    pub expiry_date: Option<NaiveDate>,
}

/// `МашПолн`: one machine-readable power.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachinePower {
    /// `@КодПолн`, 6–255 characters (classifier code).
    pub code: String,
    /// `@НаимПолн`, 1–255 characters.
    pub name: String,
    /// `@МнПолн`: mnemonic, 6–255 characters.
    pub mnemonic: Option<String>,
    /// `ОгрСвПолн`: restrictions, e.g. the vendor information system the power concerns.
    pub restrictions: Vec<PowerRestriction>,
}

/// `ОгрСвПолн`: a restriction of a power.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerRestriction {
    /// `@ИдОгр`: 1–999.
    pub id: u16,
    /// `@КодОгр`, 1–255 characters.
    pub code: String,
    /// `@НаимОгр`, 1–255 characters.
    pub name: String,
    /// `КодЗначОгр` or `ТексЗначОгр`.
    pub value: RestrictionValue,
    /// `@НаимЗначОгр`, 1–255 characters.
    pub value_name: Option<String>,
}

/// The value of a restriction: a code (`КодЗначОгр`) or free text (`ТексЗначОгр`), 1–255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestrictionValue {
    Code(String),
    Text(String),
}

impl Redelegation {
    pub fn code(self) -> &'static str {
        match self {
            Redelegation::None => "1",
            Redelegation::Once => "2",
            Redelegation::Onward => "3",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "1" => Some(Redelegation::None),
            "2" => Some(Redelegation::Once),
            "3" => Some(Redelegation::Onward),
            _ => None,
        }
    }
}

impl IrrevocableRedelegation {
    pub fn code(self) -> &'static str {
        match self {
            IrrevocableRedelegation::NotAllowed => "1",
            IrrevocableRedelegation::Allowed => "2",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "1" => Some(IrrevocableRedelegation::NotAllowed),
            "2" => Some(IrrevocableRedelegation::Allowed),
            _ => None,
        }
    }
}

impl RevocationCondition {
    pub fn code(self) -> &'static str {
        match self {
            RevocationCondition::Conditional => "1",
            RevocationCondition::Unconditional => "2",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "1" => Some(RevocationCondition::Conditional),
            "2" => Some(RevocationCondition::Unconditional),
            _ => None,
        }
    }
}

/// Dates as `xs:date` writes them.
pub(crate) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl PowerOfAttorney {
    /// `ИдФайл`: `ON_EMCHD_<YYYYMMDD>_<НомДовер>` (the issue date).
    pub fn file_id(&self) -> String {
        format!(
            "ON_EMCHD_{}_{}",
            self.issue_date.format("%Y%m%d"),
            self.number.hyphenated()
        )
    }

    /// The file name of the document: `ON_EMCHD_<YYYYMMDD>_<НомДовер>.xml`.
    pub fn file_name(&self) -> String {
        format!("{}.xml", self.file_id())
    }

    /// Every field problem at once (XSD lengths and patterns, identifier checksums, date
    /// order), as `field: description` pairs named after the model's fields.
    pub fn validate(&self) -> Result<(), XmlError> {
        let mut v = Violations::new();
        check::text(&mut v, "internal_number", &self.internal_number, 1, 50);
        check::date(&mut v, "issue_date", self.issue_date);
        check::date(&mut v, "end_date", self.end_date);
        if self.end_date < self.issue_date {
            v.add(
                "end_date",
                format!("must not be before the issue date ({})", self.issue_date),
            );
        }
        check::text(&mut v, "status_url", &self.status_url, 1, 1000);
        if let Revocability::Irrevocable(Some(t)) = &self.revocability {
            check::opt_text(
                &mut v,
                "revocability.description",
                t.description.as_deref(),
                1,
                1000,
            );
        }

        let p = &self.principal;
        check::text(&mut v, "principal.name", &p.name, 1, 1000);
        check::inn10(&mut v, "principal.inn", &p.inn);
        check::kpp(&mut v, "principal.kpp", &p.kpp);
        check::ogrn(&mut v, "principal.ogrn", &p.ogrn);
        if let Some(a) = &p.address {
            check::digits(&mut v, "principal.address.region", &a.region, 2);
            match &a.line {
                Some(AddressLine::Plain(s)) | Some(AddressLine::Fias(s)) => {
                    check::text(&mut v, "principal.address.line", s, 1, 1000)
                }
                None => {}
            }
        }

        self.validate_individual(&mut v, "head", &self.head);
        self.validate_individual(&mut v, "representative", &self.representative);

        if self.powers.is_empty() {
            v.add("powers", "at least one power is required");
        }
        for (i, pw) in self.powers.iter().enumerate() {
            let f = |s: &str| format!("powers[{i}].{s}");
            check::text(&mut v, &f("code"), &pw.code, 6, 255);
            check::text(&mut v, &f("name"), &pw.name, 1, 255);
            check::opt_text(&mut v, &f("mnemonic"), pw.mnemonic.as_deref(), 6, 255);
            if self.powers[..i].iter().any(|o| o.code == pw.code) {
                v.add(&f("code"), "appears more than once");
            }
            for (j, r) in pw.restrictions.iter().enumerate() {
                let g = |s: &str| format!("powers[{i}].restrictions[{j}].{s}");
                if !(1..=999).contains(&r.id) {
                    v.add(&g("id"), "must be 1–999");
                }
                check::text(&mut v, &g("code"), &r.code, 1, 255);
                check::text(&mut v, &g("name"), &r.name, 1, 255);
                check::opt_text(&mut v, &g("value_name"), r.value_name.as_deref(), 1, 255);
                let (RestrictionValue::Code(s) | RestrictionValue::Text(s)) = &r.value;
                check::text(&mut v, &g("value"), s, 1, 255);
            }
        }
        v.into_result().map_err(XmlError::from)
    }

    fn validate_individual(&self, v: &mut Violations, who: &str, p: &Individual) {
        let f = |s: &str| format!("{who}.{s}");
        check::text(v, &f("name.surname"), &p.name.surname, 1, 200);
        check::text(v, &f("name.given_name"), &p.name.given_name, 1, 200);
        check::opt_text(
            v,
            &f("name.patronymic"),
            p.name.patronymic.as_deref(),
            1,
            200,
        );
        if let Some(inn) = &p.inn {
            check::inn12(v, &f("inn"), inn);
        }
        check::snils(v, &f("snils"), &p.snils);
        check::opt_text(v, &f("position"), p.position.as_deref(), 1, 255);
        if let Some(b) = p.birth_date {
            check::date(v, &f("birth_date"), b);
            check::not_after(v, &f("birth_date"), b, self.issue_date, "the issue date");
        }
        if let Some(d) = &p.identity_document {
            let g = |s: &str| format!("{who}.identity_document.{s}");
            check::digits(v, &g("kind_code"), &d.kind_code, 2);
            check::text(v, &g("series_number"), &d.series_number, 1, 25);
            check::date(v, &g("issue_date"), d.issue_date);
            check::not_after(
                v,
                &g("issue_date"),
                d.issue_date,
                self.issue_date,
                "the issue date of the power of attorney",
            );
            if let Some(b) = p.birth_date {
                check::not_after(
                    v,
                    &f("birth_date"),
                    b,
                    d.issue_date,
                    "the issue date of the identity document",
                );
            }
            check::opt_text(v, &g("issuer"), d.issuer.as_deref(), 1, 4000);
            if let Some(c) = &d.issuer_code {
                if c.chars().count() != 7 {
                    v.add(&g("issuer_code"), "must be exactly 7 characters (NNN-NNN)");
                }
                check::text(v, &g("issuer_code"), c, 1, 7);
            }
            if let Some(e) = d.expiry_date {
                check::date(v, &g("expiry_date"), e);
                check::not_after(v, &g("issue_date"), d.issue_date, e, "the expiry date");
            }
        }
    }

    /// Validates, then writes the document: UTF-8, XML declaration, two-space indentation,
    /// a final newline. These bytes are what the head signs.
    pub fn render(&self) -> Result<Vec<u8>, XmlError> {
        self.validate()?;
        let mut o = XmlOut::new(4096)?;
        let file_id = self.file_id();
        o.open(
            "Доверенность",
            &[
                ("xmlns", EMCHD_NS),
                ("ВерсФорм", EMCHD_VERSION),
                ("ПрЭлФорм", EMCHD_FLAGS),
                ("ИдФайл", &file_id),
            ],
        )?;
        o.open("Документ", &[])?;
        o.open("Довер", &[])?;

        let number = self.number.hyphenated().to_string();
        let issue = fmt_date(self.issue_date);
        let end = fmt_date(self.end_date);
        let kind = match self.revocability {
            Revocability::Revocable => "1",
            Revocability::Irrevocable(_) => "2",
        };
        o.open(
            "СвДов",
            &[
                ("ВидДовер", kind),
                ("ПрПередов", self.redelegation.code()),
                ("ВнНомДовер", &self.internal_number),
                ("НомДовер", &number),
                ("ДатаВыдДовер", &issue),
                ("СрокДейст", &end),
            ],
        )?;
        o.text("СведСист", &[], &self.status_url)?;
        if let Revocability::Irrevocable(Some(t)) = &self.revocability {
            let a = [
                ("ПрПерБезДов", t.redelegation.code()),
                ("УслОтзыва", t.condition.code()),
            ];
            match &t.description {
                Some(d) => {
                    o.open("Безотзыв", &a)?;
                    o.text("ОписУслОт", &[], d)?;
                    o.end("Безотзыв")?;
                }
                None => o.empty("Безотзыв", &a)?,
            }
        }
        o.end("СвДов")?;

        o.open("СвДоверит", &[("ТипДоверит", "1")])?;
        o.open("Доверит", &[])?;
        o.open(
            "РосОргДовер",
            &[("ЕИОУК", "0"), ("ЕИОФЛ", "1"), ("ЕИОИП", "0")],
        )?;
        let p = &self.principal;
        let org = [
            ("НаимОрг", p.name.as_str()),
            ("ИННЮЛ", &p.inn),
            ("КПП", &p.kpp),
            ("ОГРН", &p.ogrn),
        ];
        match &p.address {
            None => o.empty("СвРосОрг", &org)?,
            Some(a) => {
                o.open("СвРосОрг", &org)?;
                let fias = a.fias_id.map(|u| u.hyphenated().to_string());
                let aa = attrs(&[
                    ("Регион", Some(a.region.as_str())),
                    ("ИдФИАС", fias.as_deref()),
                ]);
                match &a.line {
                    None => o.empty("АдрРег", &aa)?,
                    Some(line) => {
                        o.open("АдрРег", &aa)?;
                        match line {
                            AddressLine::Plain(s) => o.text("АдрРФ", &[], s)?,
                            AddressLine::Fias(s) => o.text("ФИАСАдрРФ", &[], s)?,
                        }
                        o.end("АдрРег")?;
                    }
                }
                o.end("СвРосОрг")?;
            }
        }
        o.open("ЛицоБезДов", &[("ПолнЮЛ", "1")])?;
        write_individual(&mut o, "СвФЛ", &self.head)?;
        o.end("ЛицоБезДов")?;
        o.end("РосОргДовер")?;
        o.end("Доверит")?;
        o.end("СвДоверит")?;

        o.open("СвУпПред", &[("ТипПред", "3")])?;
        o.open("Пред", &[])?;
        write_individual(&mut o, "СведФизЛ", &self.representative)?;
        o.end("Пред")?;
        o.end("СвУпПред")?;

        o.open("СвПолн", &[("ТипПолн", "1"), ("ПрСовмПолн", "1")])?;
        for pw in &self.powers {
            let a = attrs(&[
                ("МнПолн", pw.mnemonic.as_deref()),
                ("КодПолн", Some(pw.code.as_str())),
                ("НаимПолн", Some(pw.name.as_str())),
            ]);
            if pw.restrictions.is_empty() {
                o.empty("МашПолн", &a)?;
                continue;
            }
            o.open("МашПолн", &a)?;
            for r in &pw.restrictions {
                let id = r.id.to_string();
                let ra = attrs(&[
                    ("ИдОгр", Some(id.as_str())),
                    ("КодОгр", Some(r.code.as_str())),
                    ("НаимОгр", Some(r.name.as_str())),
                    ("НаимЗначОгр", r.value_name.as_deref()),
                ]);
                o.open("ОгрСвПолн", &ra)?;
                match &r.value {
                    RestrictionValue::Code(s) => o.text("КодЗначОгр", &[], s)?,
                    RestrictionValue::Text(s) => o.text("ТексЗначОгр", &[], s)?,
                }
                o.end("ОгрСвПолн")?;
            }
            o.end("МашПолн")?;
        }
        o.end("СвПолн")?;

        o.end("Довер")?;
        o.end("Документ")?;
        o.end("Доверенность")?;
        Ok(o.finish())
    }
}

fn write_individual(o: &mut XmlOut, element: &str, p: &Individual) -> Result<(), XmlError> {
    let snils = format_snils(&p.snils);
    o.open(
        element,
        &attrs(&[
            ("ИННФЛ", p.inn.as_deref()),
            ("СНИЛС", Some(snils.as_str())),
            ("Должность", p.position.as_deref()),
        ]),
    )?;
    let birth = p.birth_date.map(fmt_date);
    o.open("СведФЛ", &attrs(&[("ДатаРожд", birth.as_deref())]))?;
    o.empty(
        "ФИО",
        &attrs(&[
            ("Фамилия", Some(p.name.surname.as_str())),
            ("Имя", Some(p.name.given_name.as_str())),
            ("Отчество", p.name.patronymic.as_deref()),
        ]),
    )?;
    if let Some(d) = &p.identity_document {
        let issued = fmt_date(d.issue_date);
        let a = attrs(&[
            ("КодВидДок", Some(d.kind_code.as_str())),
            ("СерНомДок", Some(d.series_number.as_str())),
            ("ДатаДок", Some(issued.as_str())),
            ("ВыдДок", d.issuer.as_deref()),
            ("КодВыдДок", d.issuer_code.as_deref()),
        ]);
        match d.expiry_date {
            None => o.empty("УдЛичнФЛ", &a)?,
            Some(e) => {
                o.open("УдЛичнФЛ", &a)?;
                o.text("expDate", &[], &fmt_date(e))?;
                o.end("УдЛичнФЛ")?;
            }
        }
    }
    o.end("СведФЛ")?;
    o.end(element)
}
