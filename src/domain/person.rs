//! Persons (ФЛ): ESIA-style accounts with a numeric OID and an account level.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::error::{self, Violations};
use super::ids;

/// ESIA account level. Only `Confirmed` accounts may join an organisation, head one or hold a
/// power of attorney; one SNILS belongs to at most one `Standard`-or-`Confirmed` account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLevel {
    Simplified,
    Standard,
    Confirmed,
}

impl AccountLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simplified => "simplified",
            Self::Standard => "standard",
            Self::Confirmed => "confirmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "simplified" => Some(Self::Simplified),
            "standard" => Some(Self::Standard),
            "confirmed" => Some(Self::Confirmed),
            _ => None,
        }
    }

    /// Standard and confirmed accounts have a checked SNILS, which must then be unique.
    pub fn needs_snils(self) -> bool {
        !matches!(self, Self::Simplified)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub oid: i64,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    pub snils: Option<String>,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub level: AccountLevel,
    pub birth_date: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl Person {
    pub fn full_name(&self) -> String {
        match &self.patronymic {
            Some(p) => format!("{} {} {}", self.surname, self.given_name, p),
            None => format!("{} {}", self.surname, self.given_name),
        }
    }
}

/// The validated fields of a person, for registration and (after merging) for updates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonFields {
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    pub snils: Option<String>,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(serialize_with = "ser_level")]
    pub level: AccountLevel,
    pub birth_date: Option<NaiveDate>,
}

fn ser_level<S: serde::Serializer>(l: &AccountLevel, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(l.as_str())
}

/// Raw input as it arrives from the edge (strings not yet checked).
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub surname: String,
    pub given_name: String,
    pub patronymic: String,
    pub snils: String,
    pub inn: String,
    pub email: String,
    pub phone: String,
    pub level: Option<AccountLevel>,
    pub birth_date: String,
}

impl PersonInput {
    /// Checks every field and returns all violations at once.
    pub fn validate(&self) -> Result<PersonFields, Violations> {
        let mut v = Violations::new();
        let surname = error::name(&mut v, "surname", &self.surname, true);
        let given_name = error::name(&mut v, "given_name", &self.given_name, true);
        let patronymic = error::name(&mut v, "patronymic", &self.patronymic, false);
        let snils = if self.snils.trim().is_empty() {
            None
        } else {
            v.check("snils", ids::parse_snils(self.snils.trim()))
        };
        let inn = if self.inn.trim().is_empty() {
            None
        } else {
            v.check("inn", ids::parse_inn12(self.inn.trim()))
        };
        let email = error::email(&mut v, "email", &self.email, false);
        let phone = error::phone(&mut v, "phone", &self.phone);
        let level = match self.level {
            Some(l) => Some(l),
            None => {
                v.add("level", "must be simplified, standard or confirmed");
                None
            }
        };
        if let Some(l) = level
            && l.needs_snils()
            && self.snils.trim().is_empty()
        {
            v.add("snils", format!("is required for a {} account", l.as_str()));
        }
        let birth_date = parse_date(&mut v, "birth_date", &self.birth_date);
        v.into_result()?;
        match (surname, given_name, level) {
            (Some(surname), Some(given_name), Some(level)) => Ok(PersonFields {
                surname,
                given_name,
                patronymic,
                snils,
                inn,
                email,
                phone,
                level,
                birth_date,
            }),
            _ => {
                let mut v = Violations::new();
                v.add("surname", "is required");
                Err(v)
            }
        }
    }

    /// The input form of an existing person, used to merge a partial update.
    pub fn from_person(p: &Person) -> Self {
        Self {
            surname: p.surname.clone(),
            given_name: p.given_name.clone(),
            patronymic: p.patronymic.clone().unwrap_or_default(),
            snils: p.snils.clone().unwrap_or_default(),
            inn: p.inn.clone().unwrap_or_default(),
            email: p.email.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            level: Some(p.level),
            birth_date: p
                .birth_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        }
    }
}

/// The fields of a person an update may name in its mask.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "surname",
    "given_name",
    "patronymic",
    "snils",
    "inn",
    "email",
    "phone",
    "level",
    "birth_date",
];

/// Optional `YYYY-MM-DD`, not in the future and not before 1900.
pub fn parse_date(v: &mut Violations, field: &str, s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if d.year() >= 1900 => Some(d),
        _ => {
            v.add(field, "must be a date YYYY-MM-DD from 1900 on");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn good() -> PersonInput {
        PersonInput {
            surname: "Петров".into(),
            given_name: "Пётр".into(),
            patronymic: "Петрович".into(),
            snils: "123-456-789 64".into(),
            inn: "771234567859".into(),
            email: "petrov@example.ru".into(),
            phone: "+7 999 000-00-00".into(),
            level: Some(AccountLevel::Confirmed),
            birth_date: "1980-02-03".into(),
        }
    }

    #[test]
    fn valid_person() {
        let f = good().validate().unwrap();
        assert_eq!(f.snils.as_deref(), Some("12345678964"));
        assert_eq!(f.phone.as_deref(), Some("+79990000000"));
    }

    #[test]
    fn every_bad_field_reported() {
        let mut p = good();
        p.snils = "123-456-789 65".into();
        p.inn = "771234567858".into();
        p.surname = "".into();
        p.birth_date = "03.02.1980".into();
        let v = p.validate().unwrap_err();
        let fields: Vec<_> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["surname", "snils", "inn", "birth_date"]);
    }

    #[test]
    fn confirmed_needs_snils() {
        let mut p = good();
        p.snils = String::new();
        let v = p.validate().unwrap_err();
        assert_eq!(v.0[0].field, "snils");
        p.level = Some(AccountLevel::Simplified);
        assert!(p.validate().is_ok());
    }
}
