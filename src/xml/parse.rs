//! Reading EMCHD_1 documents issued elsewhere: guards ([`guard`](super::guard)), the official
//! XSD ([`schema`](super::schema)), then the model, then [`PowerOfAttorney::validate`].
//!
//! Every shape the model covers is accepted, whatever the prefixes, attribute order, indentation
//! or escaping. Anything the XSD allows but the model does not cover (another kind of
//! principal or representative, several of them, re-delegated documents (`Передов`), text
//! powers, notarisation, optional details orgadm does not keep…) is refused as
//! [`XmlError::Unsupported`] naming the element or attribute, never dropped silently: the model
//! must say everything the signed bytes say.

use chrono::NaiveDate;
use uuid::Uuid;

use super::emchd::*;
use super::error::XmlError;
use super::guard::{self, Element, Limits};
use super::schema::{self, Xsd};

/// Parses and checks an EMCHD_1 document with the default [`Limits`].
pub fn parse(bytes: &[u8]) -> Result<PowerOfAttorney, XmlError> {
    parse_with_limits(bytes, &Limits::default())
}

/// Parses and checks an EMCHD_1 document: guards, XSD, model, field rules.
pub fn parse_with_limits(bytes: &[u8], limits: &Limits) -> Result<PowerOfAttorney, XmlError> {
    let root = guard::scan(bytes, limits)?;
    if root.ns != EMCHD_NS || root.name != "Доверенность" {
        return Err(XmlError::SchemaViolation(vec![
            super::error::SchemaViolation {
                line: Some(root.line),
                message: format!(
                    "root element {{{}}}{} is not {{{EMCHD_NS}}}Доверенность",
                    root.ns, root.name
                ),
            },
        ]));
    }
    schema::check(Xsd::Emchd, bytes)?;
    let poa = read_document(&root)?;
    poa.validate()?;
    Ok(poa)
}

/// Attribute and child access on a guarded element that remembers what was read, so that
/// whatever is left over is reported as unsupported.
pub(crate) struct Node<'a> {
    el: &'a Element,
    used: Vec<bool>,
}

pub(crate) fn unsupported(el: &Element, what: impl std::fmt::Display) -> XmlError {
    XmlError::Unsupported(format!("{what} (element {} at line {})", el.name, el.line))
}

impl<'a> Node<'a> {
    pub fn new(el: &'a Element) -> Self {
        Node {
            el,
            used: vec![false; el.attrs.len()],
        }
    }

    pub fn attr(&mut self, name: &str) -> Option<&'a str> {
        let i = self.el.attrs.iter().position(|(k, _)| k == name)?;
        self.used[i] = true;
        Some(self.el.attrs[i].1.as_str())
    }

    pub fn req(&mut self, name: &str) -> Result<&'a str, XmlError> {
        self.attr(name)
            .ok_or_else(|| unsupported(self.el, format!("attribute {name} is missing")))
    }

    /// A fixed-value attribute: anything else is a variant the model does not cover.
    pub fn fixed(&mut self, name: &str, value: &str, meaning: &str) -> Result<(), XmlError> {
        let v = self.req(name)?;
        if v != value {
            return Err(unsupported(
                self.el,
                format!("{name}=\"{v}\" is not supported: orgadm covers {meaning}"),
            ));
        }
        Ok(())
    }

    pub fn date(&mut self, name: &str) -> Result<Option<NaiveDate>, XmlError> {
        self.attr(name)
            .map(|s| parse_date(self.el, name, s))
            .transpose()
    }

    pub fn uuid(&mut self, name: &str) -> Result<Uuid, XmlError> {
        let s = self.req(name)?;
        Uuid::parse_str(s).map_err(|_| unsupported(self.el, format!("{name} is not a UUID")))
    }

    pub fn string(&mut self, name: &str) -> Option<String> {
        self.attr(name).map(str::to_owned)
    }

    /// The children, each of whose names must be in `allowed`; leftover attributes are
    /// reported here too.
    pub fn children(&self, allowed: &[&str]) -> Result<Vec<&'a Element>, XmlError> {
        self.done()?;
        for c in &self.el.children {
            if !allowed.contains(&c.name.as_str()) {
                return Err(unsupported(
                    c,
                    format!(
                        "element {} inside {} is not supported",
                        c.name, self.el.name
                    ),
                ));
            }
        }
        Ok(self.el.children.iter().collect())
    }

    pub fn done(&self) -> Result<(), XmlError> {
        if let Some((k, _)) = self
            .el
            .attrs
            .iter()
            .zip(&self.used)
            .find(|(_, u)| !**u)
            .map(|(a, _)| a)
        {
            return Err(unsupported(
                self.el,
                format!("attribute {k} is not supported"),
            ));
        }
        if let Some(k) = self.el.qualified_attrs.first() {
            return Err(unsupported(
                self.el,
                format!("attribute {k} is not supported"),
            ));
        }
        Ok(())
    }
}

pub(crate) fn parse_date(el: &Element, name: &str, s: &str) -> Result<NaiveDate, XmlError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        unsupported(
            el,
            format!("{name}=\"{s}\" is not a plain date (YYYY-MM-DD)"),
        )
    })
}

/// The single child called `name`, if any; a second one is unsupported.
pub(crate) fn opt_child<'a>(
    kids: &[&'a Element],
    name: &str,
    what: &str,
) -> Result<Option<&'a Element>, XmlError> {
    let mut it = kids.iter().filter(|c| c.name == name);
    let first = it.next().copied();
    if let Some(second) = it.next() {
        return Err(unsupported(
            second,
            format!("more than one {name}: orgadm covers {what}"),
        ));
    }
    Ok(first)
}

pub(crate) fn child<'a>(
    parent: &Element,
    kids: &[&'a Element],
    name: &str,
    what: &str,
) -> Result<&'a Element, XmlError> {
    opt_child(kids, name, what)?
        .ok_or_else(|| unsupported(parent, format!("{name} is missing: orgadm covers {what}")))
}

fn leaf_text(el: &Element) -> Result<String, XmlError> {
    Node::new(el).children(&[])?;
    Ok(el.text.clone())
}

fn read_document(root: &Element) -> Result<PowerOfAttorney, XmlError> {
    let mut r = Node::new(root);
    r.fixed("ВерсФорм", EMCHD_VERSION, "EMCHD_1")?;
    r.req("ПрЭлФорм")?;
    r.req("ИдФайл")?;
    let kids = r.children(&["Документ"])?;
    let doc = child(root, &kids, "Документ", "one document")?;
    let d = Node::new(doc);
    let kids = d.children(&["Довер"])?;
    let dov = child(
        doc,
        &kids,
        "Довер",
        "an original power of attorney (not Передов)",
    )?;
    let kids = Node::new(dov).children(&["СвДов", "СвДоверит", "СвУпПред", "СвПолн"])?;

    // СвДов
    let sv = child(dov, &kids, "СвДов", "СвДов")?;
    let mut n = Node::new(sv);
    let kind = n.req("ВидДовер")?;
    let redelegation = Redelegation::from_code(n.req("ПрПередов")?)
        .ok_or_else(|| unsupported(sv, "ПрПередов must be 1, 2 or 3"))?;
    let internal_number = n.req("ВнНомДовер")?.to_owned();
    let number = n.uuid("НомДовер")?;
    let issue_date = parse_date(sv, "ДатаВыдДовер", n.req("ДатаВыдДовер")?)?;
    let end_date = parse_date(sv, "СрокДейст", n.req("СрокДейст")?)?;
    let sv_kids = n.children(&["СведСист", "Безотзыв"])?;
    let status_url = leaf_text(child(sv, &sv_kids, "СведСист", "СведСист")?)?;
    let terms = match opt_child(&sv_kids, "Безотзыв", "one Безотзыв")? {
        None => None,
        Some(b) => {
            let mut bn = Node::new(b);
            let redelegation = IrrevocableRedelegation::from_code(bn.req("ПрПерБезДов")?)
                .ok_or_else(|| unsupported(b, "ПрПерБезДов must be 1 or 2"))?;
            let condition = RevocationCondition::from_code(bn.req("УслОтзыва")?)
                .ok_or_else(|| unsupported(b, "УслОтзыва must be 1 or 2"))?;
            let bk = bn.children(&["ОписУслОт"])?;
            let description = opt_child(&bk, "ОписУслОт", "one ОписУслОт")?
                .map(leaf_text)
                .transpose()?;
            Some(IrrevocableTerms {
                redelegation,
                condition,
                description,
            })
        }
    };
    let revocability = match (kind, terms) {
        ("1", None) => Revocability::Revocable,
        ("1", Some(_)) => {
            return Err(unsupported(
                sv,
                "Безотзыв in a revocable power of attorney (ВидДовер=\"1\")",
            ));
        }
        ("2", t) => Revocability::Irrevocable(t),
        (other, _) => return Err(unsupported(sv, format!("ВидДовер=\"{other}\""))),
    };

    // СвДоверит
    let pr = child(dov, &kids, "СвДоверит", "one principal")?;
    let mut n = Node::new(pr);
    n.fixed(
        "ТипДоверит",
        "1",
        "a Russian legal entity as principal (ТипДоверит=\"1\")",
    )?;
    let k = n.children(&["Доверит"])?;
    let dv = child(pr, &k, "Доверит", "Доверит")?;
    let k = Node::new(dv).children(&["РосОргДовер"])?;
    let ros = child(
        dv,
        &k,
        "РосОргДовер",
        "a Russian legal entity (РосОргДовер)",
    )?;
    let mut n = Node::new(ros);
    n.fixed("ЕИОУК", "0", "a head who is a natural person (ЕИОУК=\"0\")")?;
    n.fixed("ЕИОФЛ", "1", "a head who is a natural person (ЕИОФЛ=\"1\")")?;
    n.fixed("ЕИОИП", "0", "a head who is a natural person (ЕИОИП=\"0\")")?;
    let k = n.children(&["СвРосОрг", "ЛицоБезДов"])?;
    let principal = read_org(child(ros, &k, "СвРосОрг", "СвРосОрг")?)?;
    let lbd = child(
        ros,
        &k,
        "ЛицоБезДов",
        "one head acting without a power of attorney",
    )?;
    let mut n = Node::new(lbd);
    n.fixed("ПолнЮЛ", "1", "a head acting alone (ПолнЮЛ=\"1\")")?;
    let k = n.children(&["СвФЛ"])?;
    let head = read_individual(child(
        lbd,
        &k,
        "СвФЛ",
        "a head who is a natural person (СвФЛ)",
    )?)?;

    // СвУпПред
    let up = child(dov, &kids, "СвУпПред", "one representative")?;
    let mut n = Node::new(up);
    n.fixed(
        "ТипПред",
        "3",
        "a natural person as representative (ТипПред=\"3\")",
    )?;
    let k = n.children(&["Пред"])?;
    let pred = child(up, &k, "Пред", "Пред")?;
    let k = Node::new(pred).children(&["СведФизЛ"])?;
    let representative =
        read_individual(child(pred, &k, "СведФизЛ", "a natural person (СведФизЛ)")?)?;

    // СвПолн
    let sp = child(dov, &kids, "СвПолн", "СвПолн")?;
    let mut n = Node::new(sp);
    n.fixed("ТипПолн", "1", "machine-readable powers (ТипПолн=\"1\")")?;
    n.fixed(
        "ПрСовмПолн",
        "1",
        "powers exercised alone (ПрСовмПолн=\"1\")",
    )?;
    let k = n.children(&["МашПолн"])?;
    let mut powers = Vec::with_capacity(k.len());
    for m in k {
        powers.push(read_power(m)?);
    }
    if powers.is_empty() {
        return Err(unsupported(
            sp,
            "no МашПолн: orgadm covers machine-readable powers",
        ));
    }

    Ok(PowerOfAttorney {
        number,
        internal_number,
        issue_date,
        end_date,
        revocability,
        redelegation,
        status_url,
        principal,
        head,
        representative,
        powers,
    })
}

fn read_org(el: &Element) -> Result<Principal, XmlError> {
    let mut n = Node::new(el);
    let name = n.req("НаимОрг")?.to_owned();
    let inn = n
        .attr("ИННЮЛ")
        .ok_or_else(|| unsupported(el, "a principal without ИННЮЛ"))?
        .to_owned();
    let kpp = n.req("КПП")?.to_owned();
    let ogrn = n
        .attr("ОГРН")
        .ok_or_else(|| unsupported(el, "a principal without ОГРН"))?
        .to_owned();
    let k = n.children(&["АдрРег"])?;
    let address = match opt_child(&k, "АдрРег", "one address")? {
        None => None,
        Some(a) => {
            let mut an = Node::new(a);
            let region = an.req("Регион")?.to_owned();
            let fias_id = match an.attr("ИдФИАС") {
                None => None,
                Some(s) => {
                    Some(Uuid::parse_str(s).map_err(|_| unsupported(a, "ИдФИАС is not a UUID"))?)
                }
            };
            let ak = an.children(&["АдрРФ", "ФИАСАдрРФ"])?;
            let line = match ak.as_slice() {
                [] => None,
                [l] if l.name == "АдрРФ" => Some(AddressLine::Plain(leaf_text(l)?)),
                [l] => Some(AddressLine::Fias(leaf_text(l)?)),
                [_, second, ..] => return Err(unsupported(second, "more than one address line")),
            };
            Some(Address {
                region,
                fias_id,
                line,
            })
        }
    };
    Ok(Principal {
        name,
        inn,
        kpp,
        ogrn,
        address,
    })
}

/// `NNN-NNN-NNN NN` or `NNN-NNN-NNN-NN` (the XSD's forms) → 11 digits.
fn snils_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

pub(crate) fn read_name(el: &Element) -> Result<FullName, XmlError> {
    let mut n = Node::new(el);
    let name = FullName {
        surname: n.req("Фамилия")?.to_owned(),
        given_name: n.req("Имя")?.to_owned(),
        patronymic: n.string("Отчество"),
    };
    n.children(&[])?;
    Ok(name)
}

fn read_individual(el: &Element) -> Result<Individual, XmlError> {
    let mut n = Node::new(el);
    let inn = n.string("ИННФЛ");
    let snils = n
        .attr("СНИЛС")
        .map(snils_digits)
        .ok_or_else(|| unsupported(el, "a person without СНИЛС: orgadm matches people by SNILS"))?;
    let position = n.string("Должность");
    let k = n.children(&["СведФЛ"])?;
    let sf = child(el, &k, "СведФЛ", "СведФЛ")?;
    let mut sn = Node::new(sf);
    let birth_date = sn.date("ДатаРожд")?;
    let k = sn.children(&["ФИО", "УдЛичнФЛ"])?;
    let name = read_name(child(sf, &k, "ФИО", "ФИО")?)?;
    let identity_document = match opt_child(&k, "УдЛичнФЛ", "one identity document")? {
        None => None,
        Some(u) => {
            let mut un = Node::new(u);
            let kind_code = un.req("КодВидДок")?.to_owned();
            let series_number = un.req("СерНомДок")?.to_owned();
            let issue_date = parse_date(u, "ДатаДок", un.req("ДатаДок")?)?;
            let issuer = un.string("ВыдДок");
            let issuer_code = un.string("КодВыдДок");
            let uk = un.children(&["expDate"])?;
            let expiry_date = match opt_child(&uk, "expDate", "one expDate")? {
                None => None,
                Some(e) => Some(parse_date(e, "expDate", leaf_text(e)?.trim())?),
            };
            Some(IdentityDocument {
                kind_code,
                series_number,
                issue_date,
                issuer,
                issuer_code,
                expiry_date,
            })
        }
    };
    Ok(Individual {
        name,
        inn,
        snils,
        position,
        birth_date,
        identity_document,
    })
}

fn read_power(el: &Element) -> Result<MachinePower, XmlError> {
    let mut n = Node::new(el);
    let mnemonic = n.string("МнПолн");
    let code = n.req("КодПолн")?.to_owned();
    let name = n.req("НаимПолн")?.to_owned();
    let k = n.children(&["ОгрСвПолн"])?;
    let mut restrictions = Vec::with_capacity(k.len());
    for r in k {
        let mut rn = Node::new(r);
        let id_s = rn.req("ИдОгр")?;
        let id = id_s
            .trim()
            .trim_start_matches('+')
            .parse::<u16>()
            .map_err(|_| unsupported(r, format!("ИдОгр=\"{id_s}\"")))?;
        let code = rn.req("КодОгр")?.to_owned();
        let name = rn.req("НаимОгр")?.to_owned();
        let value_name = rn.string("НаимЗначОгр");
        let rk = rn.children(&["КодЗначОгр", "ТексЗначОгр"])?;
        let value = match rk.as_slice() {
            [v] if v.name == "КодЗначОгр" => RestrictionValue::Code(leaf_text(v)?),
            [v] => RestrictionValue::Text(leaf_text(v)?),
            _ => return Err(unsupported(r, "a restriction needs exactly one value")),
        };
        restrictions.push(PowerRestriction {
            id,
            code,
            name,
            value,
            value_name,
        });
    }
    Ok(MachinePower {
        code,
        name,
        mnemonic,
        restrictions,
    })
}
