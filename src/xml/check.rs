//! Field checks shared by [`PowerOfAttorney::validate`](super::PowerOfAttorney::validate) and
//! the revocation statement: the XSD's lengths and patterns, plus orgadm's checksums
//! (`domain::ids`) and date rules. Every check records its problem and carries on, so the
//! caller learns every bad field at once.

use chrono::{Datelike, NaiveDate};

use crate::domain::error::Violations;
use crate::domain::ids;

/// Characters XML 1.0 cannot carry, or cannot carry unchanged through attribute-value
/// normalisation (tab, CR, LF become spaces): refused in every value.
fn bad_char(c: char) -> bool {
    (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// A string of `min..=max` characters (the XSD counts characters, not bytes) without
/// control characters.
pub fn text(v: &mut Violations, field: &str, value: &str, min: usize, max: usize) {
    let n = value.chars().count();
    if n < min {
        if min == 1 {
            v.add(field, "is required");
        } else {
            v.add(field, format!("must be at least {min} characters"));
        }
    } else if n > max {
        v.add(field, format!("must be at most {max} characters (has {n})"));
    }
    if value.chars().any(bad_char) {
        v.add(field, "must not contain control characters");
    }
}

/// An optional string: checked like [`text`] when present.
pub fn opt_text(v: &mut Violations, field: &str, value: Option<&str>, min: usize, max: usize) {
    if let Some(s) = value {
        text(v, field, s, min, max);
    }
}

/// Exactly `n` ASCII digits.
pub fn digits(v: &mut Violations, field: &str, value: &str, n: usize) {
    if value.len() != n || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.add(field, format!("must be exactly {n} digits"));
    }
}

/// INN of a legal entity (ИННЮЛ): 10 digits, not starting with 00, checksum.
pub fn inn10(v: &mut Violations, field: &str, value: &str) {
    v.check(field, ids::parse_inn10(value));
}

/// Personal INN (ИННФЛ): 12 digits, not starting with 00, checksums.
pub fn inn12(v: &mut Violations, field: &str, value: &str) {
    v.check(field, ids::parse_inn12(value));
}

/// OGRN (ОГРН): 13 digits, checksum.
pub fn ogrn(v: &mut Violations, field: &str, value: &str) {
    v.check(field, ids::parse_ogrn(value));
}

/// KPP (КПП): the XSD pattern.
pub fn kpp(v: &mut Violations, field: &str, value: &str) {
    v.check(field, ids::parse_kpp(value));
}

/// SNILS as the model keeps it: 11 plain digits (rendered `NNN-NNN-NNN NN`), checksum.
pub fn snils(v: &mut Violations, field: &str, value: &str) {
    if value.len() != 11 || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.add(field, "must be 11 digits (rendered as NNN-NNN-NNN NN)");
        return;
    }
    v.check(field, ids::parse_snils(value));
}

/// Dates the documents carry: years 1900–2100 (the XSD's bounds where it has any; outside them
/// a date is a typing error).
pub fn date(v: &mut Violations, field: &str, d: NaiveDate) {
    if !(1900..=2100).contains(&d.year()) {
        v.add(field, "must be between 1900-01-01 and 2100-12-31");
    }
}

/// `a` must not come after `b`.
pub fn not_after(v: &mut Violations, field: &str, a: NaiveDate, b: NaiveDate, what: &str) {
    if a > b {
        v.add(field, format!("must not be after {what} ({b})"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let mut v = Violations::new();
        text(&mut v, "x", &"Ж".repeat(200), 1, 200);
        assert!(v.is_empty());
        text(&mut v, "x", &"Ж".repeat(201), 1, 200);
        text(&mut v, "y", "", 1, 200);
        text(&mut v, "z", "a\nb", 1, 200);
        let fields: Vec<_> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["x", "y", "z"]);
    }

    #[test]
    fn identifiers() {
        let mut v = Violations::new();
        inn10(&mut v, "a", "7707083893");
        inn12(&mut v, "b", "500100732259");
        ogrn(&mut v, "c", "1027700132195");
        kpp(&mut v, "d", "773601001");
        snils(&mut v, "e", "11223344595");
        assert!(v.is_empty(), "{v:?}");
        snils(&mut v, "f", "112-233-445 95");
        inn10(&mut v, "g", "7707083894");
        assert_eq!(v.0.len(), 2);
    }
}
