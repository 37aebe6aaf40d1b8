//! Documents from outside: each bad one refused with the right kind, quickly and safely;
//! other spellings of a good one accepted; property-style round trips over awkward text.

use orgadm::xml::{
    AddressLine, Limits, Revocability, XmlError, parse, parse_revocation, parse_with_limits,
    validate_against_schema,
};

use super::xml_emchd::{fixture, full, revocation};

fn full_text() -> String {
    String::from_utf8(fixture("full")).unwrap()
}

fn kind(r: Result<impl std::fmt::Debug, XmlError>) -> &'static str {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e.kind(),
    }
}

fn with(from: &str, to: &str) -> Vec<u8> {
    let t = full_text();
    assert!(t.contains(from), "{from}");
    t.replacen(from, to, 1).into_bytes()
}

#[test]
fn xml_import_schema_error_is_a_schema_violation_with_its_line() {
    let err = parse(&with("ВидДовер=\"1\"", "ВидДовер=\"7\"")).unwrap_err();
    let XmlError::SchemaViolation(v) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(v[0].line, Some(5), "{v:?}");
    assert!(v[0].message.contains("ВидДовер"), "{v:?}");
    // a required attribute missing
    assert_eq!(
        kind(parse(&with(" КПП=\"773601001\"", ""))),
        "SCHEMA_VIOLATION"
    );
}

#[test]
fn xml_import_unexpected_element_is_refused() {
    let err = parse(&with("</СведСист>", "</СведСист>\n<Лишний/>")).unwrap_err();
    let XmlError::SchemaViolation(v) = &err else {
        panic!("{err:?}")
    };
    assert!(v[0].message.contains("Лишний"), "{v:?}");
    // another document altogether
    assert_eq!(
        kind(parse(&fixture("revocation-statement"))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(kind(parse_revocation(&fixture("full"))), "SCHEMA_VIOLATION");
}

#[test]
fn xml_import_valid_but_unsupported_variants_are_named() {
    // Пол is valid EMCHD_1 but not in the model: refused, not dropped.
    let err = parse(&with("<СведФЛ ДатаРожд=", "<СведФЛ Пол=\"2\" ДатаРожд=")).unwrap_err();
    let XmlError::Unsupported(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("Пол"), "{msg}");
    let err = parse(&with(
        "<Документ>",
        "<ИнСвед>что-то ещё</ИнСвед>\n  <Документ>",
    ))
    .unwrap_err();
    let XmlError::Unsupported(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("ИнСвед"), "{msg}");
    let err = parse(&with("ПолнЮЛ=\"1\"", "ПолнЮЛ=\"2\"")).unwrap_err();
    assert_eq!(err.kind(), "UNSUPPORTED", "{err}");
}

#[test]
fn xml_import_over_long_values_are_refused() {
    // over the XSD's maxLength: a schema violation
    let long = "Я".repeat(1001);
    assert_eq!(
        kind(parse(&with(
            "ВнНомДовер=\"42/2026\"",
            &format!("ВнНомДовер=\"{}\"", &long[..102])
        ))),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        kind(parse(&with("НаимОрг=\"", &format!("НаимОрг=\"{long}")))),
        "SCHEMA_VIOLATION"
    );
    // over the guard's limit: refused before parsing
    let huge = "x".repeat(100_000);
    let err = parse(&with("НаимОрг=\"", &format!("НаимОрг=\"{huge}"))).unwrap_err();
    assert_eq!(err.kind(), "UNSAFE", "{err}");
    assert_eq!(
        kind(parse(&with(
            "<АдрРФ>",
            &format!("<АдрРФ>{}", "y".repeat(70_000))
        ))),
        "UNSAFE"
    );
    // a whole document over the size limit
    let mut big = full_text().into_bytes();
    big.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    assert_eq!(kind(parse(&big)), "UNSAFE");
}

#[test]
fn xml_import_broken_xml_is_malformed() {
    let t = full_text();
    assert_eq!(kind(parse(&t.as_bytes()[..t.len() / 2])), "MALFORMED");
    assert_eq!(kind(parse(&with("</СвДов>", "</СвДоверит>"))), "MALFORMED");
    assert_eq!(kind(parse(b"")), "MALFORMED");
    assert_eq!(kind(parse(b"not xml at all")), "MALFORMED");
    assert_eq!(kind(parse(&with("&amp;", "&nbsp;"))), "MALFORMED");
    // not UTF-8: «Ромашка» in windows-1251
    let t = full_text();
    let at = t.find("Ромашка").unwrap();
    let mut cp = t.as_bytes()[..at].to_vec();
    cp.extend_from_slice(&[0xD0, 0xEE, 0xEC, 0xE0, 0xF8, 0xEA, 0xE0]);
    cp.extend_from_slice(&t.as_bytes()[at + "Ромашка".len()..]);
    assert_eq!(kind(parse(&cp)), "MALFORMED");
    let cp1251 = full_text().replacen("encoding=\"UTF-8\"", "encoding=\"windows-1251\"", 1);
    assert_eq!(kind(parse(cp1251.as_bytes())), "UNSUPPORTED");
}

#[test]
fn xml_import_billion_laughs_is_refused_before_expansion() {
    let mut dtd = String::from("<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        dtd.push_str(&format!(
            "<!ENTITY l{i} \"{}\">",
            format!("&l{};", i - 1).repeat(10)
        ));
    }
    let bomb = full_text().replacen(
        "<Доверенность ",
        &format!("<!DOCTYPE Доверенность [{dtd}]>\n<Доверенность "),
        1,
    );
    let bomb = bomb.replacen("42/2026", "&l9;", 1);
    let err = parse(bomb.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), "UNSAFE", "{err}");
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    // the public schema check guards too
    let v = validate_against_schema(bomb.as_bytes()).unwrap_err();
    assert!(v[0].message.contains("DOCTYPE"), "{v:?}");
}

#[test]
fn xml_import_external_entity_is_refused() {
    let xxe = full_text()
        .replacen(
            "<Доверенность ",
            "<!DOCTYPE Доверенность [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<Доверенность ",
            1,
        )
        .replacen("42/2026", "&xxe;", 1);
    assert_eq!(kind(parse(xxe.as_bytes())), "UNSAFE");
    let external_dtd = full_text().replacen(
        "<Доверенность ",
        "<!DOCTYPE Доверенность SYSTEM \"http://127.0.0.1:1/evil.dtd\">\n<Доверенность ",
        1,
    );
    assert_eq!(kind(parse(external_dtd.as_bytes())), "UNSAFE");
}

#[test]
fn xml_import_deep_nesting_is_refused() {
    let deep = full_text().replacen(
        "<Документ>",
        &format!("{}<Документ>", "<x>".repeat(100_000)),
        1,
    );
    assert_eq!(kind(parse(deep.as_bytes())), "UNSAFE");
    let tight = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    assert_eq!(kind(parse_with_limits(&fixture("full"), &tight)), "UNSAFE");
    let few = Limits {
        max_elements: 10,
        ..Limits::default()
    };
    assert_eq!(kind(parse_with_limits(&fixture("full"), &few)), "UNSAFE");
}

#[test]
fn xml_import_schema_valid_but_bad_checksums_are_invalid_fields() {
    let err = parse(&with("ИННЮЛ=\"7707083893\"", "ИННЮЛ=\"7707083894\"")).unwrap_err();
    let XmlError::Invalid(v) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(v[0].field, "principal.inn");
    let err = parse(&with(
        "СрокДейст=\"2027-11-22\"",
        "СрокДейст=\"2025-11-22\"",
    ))
    .unwrap_err();
    let XmlError::Invalid(v) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(v[0].field, "end_date");
}

/// Prefixed names in every element (`e:`).
fn prefixed(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len() + 4096);
    let mut chars = doc.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<' {
            match chars.peek() {
                Some('?') | Some('!') => {}
                Some('/') => {
                    out.push('/');
                    chars.next();
                    out.push_str("e:");
                }
                _ => out.push_str("e:"),
            }
        }
    }
    out.replacen("xmlns=", "xmlns:e=", 1)
}

#[test]
fn xml_import_accepts_other_spellings_of_the_same_document() {
    let want = full();
    // no indentation, no declaration, CRLF, attributes in another order, other escapes
    let t = full_text();
    let compact: String = t.lines().map(str::trim_start).collect::<Vec<_>>().join("");
    let compact = compact.replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1);
    assert_eq!(parse(compact.as_bytes()).unwrap(), want);
    assert_eq!(parse(t.replace('\n', "\r\n").as_bytes()).unwrap(), want);
    let reordered = t.replacen(
        "КПП=\"773601001\" ОГРН=\"1027700132195\"",
        "ОГРН=\"1027700132195\" КПП=\"773601001\"",
        1,
    );
    assert_eq!(parse(reordered.as_bytes()).unwrap(), want);
    let escaped = t
        .replacen(
            "&quot;Ромашка &amp; Ко&quot;",
            "&#34;Ромашка &#x26; Ко\"",
            1,
        )
        .replacen("НаимОрг=\"", "НаимОрг='", 1)
        .replacen("Ко\"\" ИННЮЛ", "Ко\"' ИННЮЛ", 1)
        .replacen("&lt;офис 1&gt;", "<![CDATA[<офис 1>]]>", 1);
    assert_eq!(parse(escaped.as_bytes()).unwrap(), want);
    assert_eq!(parse(prefixed(&t).as_bytes()).unwrap(), want);
    // SNILS in the XSD's other form
    let dashed = t.replacen("945-807-302 33", "945-807-302-33", 1);
    assert_eq!(parse(dashed.as_bytes()).unwrap(), want);
    // a UTF-8 byte order mark
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(t.as_bytes());
    assert_eq!(parse(&bom).unwrap(), want);
}

/// xorshift64*: deterministic, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn text(&mut self, min: usize, max: usize) -> String {
        const ALPHABET: &[char] = &[
            '«', '»', '&', '<', '>', '"', '\'', ' ', '-', '—', '№', ';', '#', '%', ']', '=', 'Ж',
            'ё', 'Я', 'щ', 'Ъ', 'ы', 'a', 'Z', '0', '7', '€', 'ß', '中', '😀', '\u{a0}',
        ];
        let n = min + self.below(max - min + 1);
        (0..n)
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }
}

#[test]
fn xml_property_round_trips_over_awkward_text() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..150 {
        let mut poa = full();
        poa.internal_number = rng.text(1, 50);
        poa.principal.name = rng.text(1, 300);
        poa.head.name.surname = rng.text(1, 40);
        poa.head.name.given_name = rng.text(1, 40);
        poa.head.name.patronymic = (i % 3 != 0).then(|| rng.text(1, 40));
        poa.head.position = Some(rng.text(1, 100));
        poa.representative.name.surname = rng.text(1, 200);
        poa.representative.name.given_name = rng.text(1, 40);
        if let Some(doc) = poa.representative.identity_document.as_mut() {
            doc.issuer = Some(rng.text(1, 120));
            doc.series_number = rng.text(1, 25);
        }
        if let Some(a) = poa.principal.address.as_mut() {
            a.line = Some(if i % 2 == 0 {
                AddressLine::Plain(rng.text(1, 200))
            } else {
                AddressLine::Fias(rng.text(1, 200))
            });
        }
        if i % 4 == 1 {
            poa.revocability = Revocability::Irrevocable(Some(orgadm::xml::IrrevocableTerms {
                redelegation: orgadm::xml::IrrevocableRedelegation::NotAllowed,
                condition: orgadm::xml::RevocationCondition::Unconditional,
                description: Some(rng.text(1, 300)),
            }));
        }
        poa.powers[0].name = rng.text(1, 255);
        let bytes = poa.render().unwrap();
        validate_against_schema(&bytes)
            .unwrap_or_else(|e| panic!("case {i}: {e:?}\n{}", String::from_utf8_lossy(&bytes)));
        assert_eq!(parse(&bytes).unwrap(), poa, "case {i}");
        assert_eq!(poa.render().unwrap(), bytes, "rendering is deterministic");

        let mut st = revocation();
        st.reason = Some(rng.text(1, 300));
        st.revoker.name.surname = rng.text(1, 60);
        st.revoker.position = Some(rng.text(1, 60));
        assert_eq!(
            parse_revocation(&st.render().unwrap()).unwrap(),
            st,
            "revocation case {i}"
        );
    }
}
