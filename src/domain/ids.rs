//! Russian identifiers and their checksums: INN (10 and 12 digits), OGRN, OGRNIP, SNILS, KPP.
//!
//! Each `parse_*` function takes user input and returns the canonical stored form or an
//! [`IdError`] whose text is safe to show to the caller. The rules are those of DESIGN.md §1.

use std::fmt;

/// Why an identifier was refused; the text is shown to callers as a field violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError(pub String);

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn digits(s: &str, n: usize, what: &str) -> Result<Vec<u32>, IdError> {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != n || s.len() != n {
        return Err(IdError(format!("{what} must be exactly {n} digits")));
    }
    Ok(d)
}

fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(a, b)| a * b).sum::<u32>() % 11 % 10
}

fn no_leading_double_zero(s: &str, what: &str) -> Result<(), IdError> {
    if s.starts_with("00") {
        return Err(IdError(format!("{what} must not start with 00")));
    }
    Ok(())
}

/// INN of a legal entity: 10 digits, control digit 10.
pub fn parse_inn10(s: &str) -> Result<String, IdError> {
    let d = digits(s, 10, "INN of a legal entity")?;
    no_leading_double_zero(s, "INN")?;
    if weighted(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) != d[9] {
        return Err(IdError("INN checksum does not match".into()));
    }
    Ok(s.to_owned())
}

/// INN of a person or individual entrepreneur: 12 digits, control digits 11 and 12.
pub fn parse_inn12(s: &str) -> Result<String, IdError> {
    let d = digits(s, 12, "personal INN")?;
    no_leading_double_zero(s, "INN")?;
    let c11 = weighted(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    let c12 = weighted(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    if c11 != d[10] || c12 != d[11] {
        return Err(IdError("INN checksum does not match".into()));
    }
    Ok(s.to_owned())
}

fn mod_check(s: &str, n: usize, modulus: u64, what: &str) -> Result<String, IdError> {
    let d = digits(s, n, what)?;
    let body: u64 = s[..n - 1]
        .parse()
        .map_err(|_| IdError(format!("{what} must be digits")))?;
    if (body % modulus % 10) as u32 != d[n - 1] {
        return Err(IdError(format!("{what} checksum does not match")));
    }
    Ok(s.to_owned())
}

/// OGRN (ОГРН) of a legal entity: 13 digits; the first 12 as a number mod 11 mod 10 is digit 13.
pub fn parse_ogrn(s: &str) -> Result<String, IdError> {
    mod_check(s, 13, 11, "OGRN")
}

/// OGRNIP (ОГРНИП) of an individual entrepreneur: 15 digits; first 14 mod 13 mod 10 is digit 15.
pub fn parse_ogrnip(s: &str) -> Result<String, IdError> {
    mod_check(s, 15, 13, "OGRNIP")
}

/// KPP (КПП): 9 characters, no checksum; the FNS XSD pattern
/// `([0-9][1-9]|[1-9][0-9])([0-9]{2})([0-9A-Z]{2})([0-9]{3})`.
pub fn parse_kpp(s: &str) -> Result<String, IdError> {
    let b = s.as_bytes();
    let ok = b.len() == 9
        && b[..4].iter().all(u8::is_ascii_digit)
        && !(b[0] == b'0' && b[1] == b'0')
        && b[4..6]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[6..].iter().all(u8::is_ascii_digit);
    if !ok {
        return Err(IdError(
            "KPP must be 9 characters: 4 digits (not starting with 00), 2 digits or capital Latin letters, 3 digits".into(),
        ));
    }
    Ok(s.to_owned())
}

/// SNILS (СНИЛС): accepts `NNN-NNN-NNN NN`, `NNN-NNN-NNN-NN` or 11 plain digits and returns
/// the 11 digits. The control number is checked for numbers above 001-001-998.
pub fn parse_snils(s: &str) -> Result<String, IdError> {
    let b = s.as_bytes();
    let plain: String = match b.len() {
        11 if b.iter().all(u8::is_ascii_digit) => s.to_owned(),
        14 if b[3] == b'-' && b[7] == b'-' && (b[11] == b' ' || b[11] == b'-') => {
            let mut out = String::with_capacity(11);
            for (i, c) in s.chars().enumerate() {
                if matches!(i, 3 | 7 | 11) {
                    continue;
                }
                if !c.is_ascii_digit() {
                    return Err(snils_format());
                }
                out.push(c);
            }
            out
        }
        _ => return Err(snils_format()),
    };
    let d: Vec<u32> = plain.chars().filter_map(|c| c.to_digit(10)).collect();
    let number: u32 = plain[..9].parse().map_err(|_| snils_format())?;
    if number > 1_001_998 {
        let sum: u32 = d[..9]
            .iter()
            .enumerate()
            .map(|(i, v)| v * (9 - i as u32))
            .sum();
        let check = match sum {
            s if s < 100 => s,
            100 | 101 => 0,
            s => match s % 101 {
                100 => 0,
                r => r,
            },
        };
        if check != d[9] * 10 + d[10] {
            return Err(IdError("SNILS checksum does not match".into()));
        }
    }
    Ok(plain)
}

fn snils_format() -> IdError {
    IdError("SNILS must be NNN-NNN-NNN NN, NNN-NNN-NNN-NN or 11 digits".into())
}

/// SNILS in the display form the FNS XSD uses: `NNN-NNN-NNN NN`.
pub fn format_snils(eleven: &str) -> String {
    if eleven.len() != 11 || !eleven.is_ascii() {
        return eleven.to_owned();
    }
    format!(
        "{}-{}-{} {}",
        &eleven[0..3],
        &eleven[3..6],
        &eleven[6..9],
        &eleven[9..11]
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inn10() {
        assert_eq!(parse_inn10("7810010017").unwrap(), "7810010017");
        assert_eq!(parse_inn10("7701000019").unwrap(), "7701000019");
        assert_eq!(parse_inn10("7707083893").unwrap(), "7707083893"); // Sberbank
        assert!(parse_inn10("7810010018").is_err());
        assert!(parse_inn10("781001001").is_err());
        assert!(parse_inn10("78100100a7").is_err());
        assert!(parse_inn10("0010010010").is_err());
        assert_eq!(
            parse_inn10("7810010018").unwrap_err().0,
            "INN checksum does not match"
        );
    }

    #[test]
    fn inn12() {
        for good in [
            "771234567859",
            "660123456729",
            "540987654367",
            "500100732259",
        ] {
            assert_eq!(parse_inn12(good).unwrap(), good);
        }
        assert!(parse_inn12("771234567858").is_err());
        assert!(parse_inn12("771234567849").is_err());
        assert!(parse_inn12("77123456785").is_err());
        assert!(parse_inn12("７71234567859").is_err());
    }

    #[test]
    fn ogrn_and_ogrnip() {
        assert_eq!(parse_ogrn("1037800000017").unwrap(), "1037800000017");
        assert_eq!(parse_ogrn("1207700000012").unwrap(), "1207700000012");
        assert_eq!(parse_ogrn("1027700132195").unwrap(), "1027700132195"); // Sberbank
        assert!(parse_ogrn("1037800000018").is_err());
        assert!(parse_ogrn("103780000001").is_err());
        assert_eq!(parse_ogrnip("304770000000127").unwrap(), "304770000000127");
        assert!(parse_ogrnip("304770000000128").is_err());
        assert!(parse_ogrnip("1037800000017").is_err());
    }

    #[test]
    fn kpp() {
        assert!(parse_kpp("781001001").is_ok());
        assert!(parse_kpp("7710AB001").is_ok());
        assert!(parse_kpp("001001001").is_err());
        assert!(parse_kpp("7810010011").is_err());
        assert!(parse_kpp("7810ab001").is_err());
    }

    #[test]
    fn snils_forms_and_checksum() {
        assert_eq!(parse_snils("123-456-789 64").unwrap(), "12345678964");
        assert_eq!(parse_snils("123-456-789-64").unwrap(), "12345678964");
        assert_eq!(parse_snils("12345678964").unwrap(), "12345678964");
        for good in ["98765432183", "13579246894", "11223344595", "20130140160"] {
            assert_eq!(parse_snils(good).unwrap(), good);
        }
        assert!(parse_snils("12345678965").is_err());
        assert!(parse_snils("123 456 789 64").is_err());
        assert!(parse_snils("1234567896").is_err());
        // Numbers up to 001-001-998 carry no checked control number.
        assert!(parse_snils("00100199800").is_ok());
        assert_eq!(format_snils("12345678964"), "123-456-789 64");
    }

    #[test]
    fn snils_sum_edge_cases() {
        // sum 100 or 101 -> 00; sum >101 -> mod 101, where 100 -> 00.
        // 112-233-445 95: sum = 1*9+1*8+2*7+2*6+3*5+3*4+4*3+4*2+5*1 = 95.
        assert!(parse_snils("11223344595").is_ok());
        // 000-000-011 -> too small to check: accepted whatever the control digits are.
        assert!(parse_snils("00000001199").is_ok());
    }
}
