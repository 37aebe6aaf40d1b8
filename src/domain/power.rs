//! The catalogue of powers (полномочия) that a power of attorney (МЧД) can grant.
//!
//! A power is what `СвПолн/МашПолн` carries in the FNS `EMCHD_1` document: a code (`КодПолн`,
//! 6–255 characters) and a name (`НаимПолн`, 1–255). Some powers concern one vendor information
//! system (the API-KEY powers): their power of attorney must name the system as context.

use chrono::NaiveDateTime;

use super::error::{self, Violations};

/// The code of the seeded power that allows forming API-KEYs for a vendor information system.
pub const API_KEY_POWER: &str = "ORGADM_API_KEY_ISSUE";

/// What a power's context must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextKind {
    /// The power stands on its own.
    None,
    /// The power concerns one vendor information system (named by its `CLIENT_ID`).
    InformationSystem,
}

impl ContextKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::InformationSystem => "information_system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "information_system" => Some(Self::InformationSystem),
            _ => None,
        }
    }
}

/// Where a power's code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerSource {
    /// A code of orgadm's own (prefix `ORGADM_`).
    Orgadm,
    /// A code of the FNS classifier of powers (Классификатор полномочий).
    Fns,
}

impl PowerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Orgadm => "orgadm",
            Self::Fns => "fns",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "orgadm" => Some(Self::Orgadm),
            "fns" => Some(Self::Fns),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Power {
    pub code: String,
    pub name: String,
    /// The «Подробнее» text shown to the head before signing.
    pub description: String,
    pub context: ContextKind,
    pub source: PowerSource,
    /// An inactive power stays valid in documents already signed but cannot be put in new drafts.
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A validated new catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewPower {
    pub code: String,
    pub name: String,
    pub description: String,
    pub context: ContextKind,
    pub source: PowerSource,
}

/// The fields of an entry that can change (the code and source cannot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerChanges {
    pub name: String,
    pub description: String,
    pub context: ContextKind,
    pub active: bool,
}

pub const UPDATABLE_FIELDS: &[&str] = &["name", "description", "context", "active"];

/// `КодПолн`: 6–255 characters of Latin capitals, digits, `_`, `.`, `-`, starting with a
/// letter or digit (the FNS classifier's codes and orgadm's `ORGADM_…` codes both fit).
pub fn code(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let t = value.trim();
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    let ok_first = t
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if t.is_empty() {
        v.add(field, "is required");
        None
    } else if !(6..=255).contains(&t.len()) {
        v.add(field, "must be 6 to 255 characters (КодПолн)");
        None
    } else if !ok_chars || !ok_first {
        v.add(
            field,
            "must be Latin capitals, digits, '_', '.', '-', starting with a letter or digit",
        );
        None
    } else {
        Some(t.to_owned())
    }
}

impl NewPower {
    pub fn validate(
        code_in: &str,
        name: &str,
        description: &str,
        context: Option<ContextKind>,
        source: Option<PowerSource>,
    ) -> Result<NewPower, Violations> {
        let mut v = Violations::new();
        let code = code(&mut v, "code", code_in);
        let name = error::text(&mut v, "name", name, true, 255);
        let description = error::text(&mut v, "description", description, true, 4000);
        if context.is_none() {
            v.add("context", "is required");
        }
        let source = source.unwrap_or(PowerSource::Fns);
        if let Some(c) = &code {
            match source {
                PowerSource::Orgadm if !c.starts_with("ORGADM_") => {
                    v.add("code", "orgadm's own codes start with ORGADM_")
                }
                PowerSource::Fns if c.starts_with("ORGADM_") => v.add(
                    "code",
                    "the prefix ORGADM_ is reserved for orgadm's own codes",
                ),
                _ => {}
            }
        }
        v.into_result()?;
        match (code, name, description, context) {
            (Some(code), Some(name), Some(description), Some(context)) => Ok(NewPower {
                code,
                name,
                description,
                context,
                source,
            }),
            _ => Err(Violations::new()),
        }
    }
}

impl PowerChanges {
    pub fn validate(self) -> Result<PowerChanges, Violations> {
        let mut v = Violations::new();
        let name = error::text(&mut v, "name", &self.name, true, 255);
        let description = error::text(&mut v, "description", &self.description, true, 4000);
        v.into_result()?;
        Ok(PowerChanges {
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let ok = |s: &str| code(&mut Violations::new(), "code", s).is_some();
        assert!(ok("ORGADM_API_KEY_ISSUE"));
        assert!(ok("02.001.01"));
        assert!(!ok("SHORT"));
        assert!(!ok("lower_case"));
        assert!(!ok("_LEADING"));
        assert!(!ok("WITH SPACE"));
        assert!(!ok(&"A".repeat(256)));
    }

    #[test]
    fn reserved_prefix() {
        let r = NewPower::validate(
            "ORGADM_X_Y",
            "n",
            "d",
            Some(ContextKind::None),
            Some(PowerSource::Fns),
        );
        assert!(r.is_err());
        let r = NewPower::validate(
            "ORGADM_X_Y",
            "n",
            "d",
            Some(ContextKind::None),
            Some(PowerSource::Orgadm),
        );
        assert!(r.is_ok());
    }
}
