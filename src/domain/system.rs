//! Vendor information systems (identified by their ESIA `CLIENT_ID` mnemonic), the grants of the
//! API-KEY power a vendor gives consumer organisations, and the employees a consumer adds to a
//! system («Добавить сотрудника»).

use chrono::NaiveDateTime;

use super::error::{self, Violations};

/// A vendor's information system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationSystem {
    /// The ESIA mnemonic (`CLIENT_ID`): unique and immutable.
    pub client_id: String,
    pub vendor_oid: i64,
    pub name: String,
    pub description: String,
    /// Whether the operator enabled the API-KEY power for the system.
    pub api_key_enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A system to register, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSystem {
    pub client_id: String,
    pub name: String,
    pub description: String,
}

impl NewSystem {
    pub fn validate(client_id: &str, name: &str, description: &str) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let client_id = self::client_id(&mut v, "client_id", client_id);
        let name = error::text(&mut v, "name", name, true, 255);
        let description = error::text(&mut v, "description", description, false, 2000);
        v.into_result()?;
        Ok(Self {
            client_id: client_id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
        })
    }
}

/// The fields of a system that can change.
pub const UPDATABLE_FIELDS: &[&str] = &["name", "description"];

/// A vendor information system's `CLIENT_ID` (ESIA's rule): `A–Z`, digits, `-`, `_`; must not
/// contain ESIA, EPGU, GOSUSLUGI or SMEV, nor start with PGU; at most 64 characters.
pub fn client_id(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let t = value.trim();
    let problem = if t.is_empty() {
        Some("is required")
    } else if t.len() > 64 {
        Some("must be at most 64 characters")
    } else if !t
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        Some("must be Latin capitals, digits, '-' and '_'")
    } else if ["ESIA", "EPGU", "GOSUSLUGI", "SMEV"]
        .iter()
        .any(|w| t.contains(w))
    {
        Some("must not contain ESIA, EPGU, GOSUSLUGI or SMEV")
    } else if t.starts_with("PGU") {
        Some("must not start with PGU")
    } else {
        None
    };
    match problem {
        Some(p) => {
            v.add(field, p);
            None
        }
        None => Some(t.to_owned()),
    }
}

/// Whether a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    Active,
    Withdrawn,
}

impl GrantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "withdrawn" => Some(Self::Withdrawn),
            _ => None,
        }
    }
}

/// A vendor's grant of the API-KEY power for its system to a consumer organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub consumer_oid: i64,
    pub state: GrantState,
    pub granted_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub version: i64,
}

/// A grant as its vendor sees it: with the consumer's names and the summary of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantView {
    pub grant: Grant,
    pub consumer_name: String,
    pub consumer_ogrn: String,
    pub active_keys: i64,
    pub last_key_use: Option<NaiveDateTime>,
}

/// An employee of a consumer organisation added to a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemMember {
    pub client_id: String,
    pub organization_oid: i64,
    pub person_oid: i64,
    pub added_by: Option<i64>,
    pub added_at: NaiveDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<String, Violations> {
        let mut v = Violations::new();
        let r = client_id(&mut v, "client_id", s);
        v.into_result().map(|_| r.unwrap())
    }

    #[test]
    fn client_id_follows_esia_rule() {
        assert_eq!(check(" VENDOR_APP-1 ").unwrap(), "VENDOR_APP-1");
        for bad in [
            "",
            "vendor",
            "APP.1",
            "МОЯ",
            "MYESIAAPP",
            "X_EPGU",
            "GOSUSLUGI2",
            "SMEVPROXY",
            "PGUAPP",
            &"A".repeat(65),
        ] {
            assert!(check(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(check("APPPGU").is_ok(), "PGU is refused only at the start");
    }
}
