//! Employees (membership of a person in an organisation), invitations that bring people in, and
//! access groups.

use chrono::NaiveDateTime;

use super::error::{self, Violations};
use super::ids;

/// The built-in access groups every organisation has: (mnemonic, name, description).
pub const BUILTIN_GROUPS: [(&str, &str, &str); 3] = [
    (
        TECH_PORTAL,
        "Технологический портал",
        "Управление информационными системами и API-ключами организации в кабинете партнёров",
    ),
    (
        ORG_ADMIN,
        "Администраторы профиля организации",
        "Приглашение сотрудников и управление группами доступа",
    ),
    (
        ORG_AUDITORS,
        "Аудиторы",
        "Чтение сведений организации и журнала аудита, выгрузка",
    ),
];
/// «Технологический портал»: manages the organisation's information systems and API keys.
pub const TECH_PORTAL: &str = "TECH_PORTAL";
/// «Администраторы профиля организации» (ESIA's own mnemonic): invites, manages groups.
pub const ORG_ADMIN: &str = "ORG_ADMIN";
/// Read-only access to the organisation's records and audit trail (our addition).
pub const ORG_AUDITORS: &str = "ORG_AUDITORS";
/// The system the built-in groups belong to.
pub const ESIA_SYSTEM: &str = "ESIA";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmployeeState {
    Active,
    Blocked,
    Dismissed,
}

impl EmployeeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Blocked => "blocked",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "blocked" => Some(Self::Blocked),
            "dismissed" => Some(Self::Dismissed),
            _ => None,
        }
    }
}

/// An employee as read: the membership and the person's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub organization_oid: i64,
    pub person_oid: i64,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    pub snils: Option<String>,
    pub position: Option<String>,
    pub work_email: Option<String>,
    pub phone: Option<String>,
    pub state: EmployeeState,
    /// The organisation's head (ESIA: `chief`).
    pub chief: bool,
    pub joined_at: NaiveDateTime,
    pub left_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// The fields of an employee an administrator may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeChanges {
    pub position: Option<String>,
    pub work_email: Option<String>,
    pub phone: Option<String>,
}

pub const EMPLOYEE_UPDATABLE_FIELDS: &[&str] = &["position", "work_email", "phone"];

/// Raw employee fields from the edge.
#[derive(Debug, Clone, Default)]
pub struct EmployeeInput {
    pub position: String,
    pub work_email: String,
    pub phone: String,
}

impl EmployeeInput {
    pub fn validate(&self) -> Result<EmployeeChanges, Violations> {
        let mut v = Violations::new();
        let position = error::text(&mut v, "position", &self.position, false, 255);
        let work_email = error::email(&mut v, "work_email", &self.work_email, false);
        let phone = error::phone(&mut v, "phone", &self.phone);
        v.into_result()?;
        Ok(EmployeeChanges {
            position,
            work_email,
            phone,
        })
    }
}

/// The comparison key of an e-mail address (one pending invitation per address).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "declined" => Some(Self::Declined),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub organization_oid: i64,
    pub email: String,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    pub snils: Option<String>,
    pub position: Option<String>,
    pub add_to_org_admin: bool,
    /// As stored; see [`Invitation::state_at`] for the state a reader sees.
    pub stored_state: InvitationState,
    pub inviter_oid: Option<i64>,
    pub accepted_by: Option<i64>,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl Invitation {
    /// A pending invitation past its expiry is expired, whether or not a writer has recorded it.
    pub fn state_at(&self, now: NaiveDateTime) -> InvitationState {
        if self.stored_state == InvitationState::Pending && now >= self.expires_at {
            InvitationState::Expired
        } else {
            self.stored_state
        }
    }

    pub fn full_name(&self) -> String {
        match &self.patronymic {
            Some(p) => format!("{} {} {}", self.surname, self.given_name, p),
            None => format!("{} {}", self.surname, self.given_name),
        }
    }
}

/// A validated invitation («Новый сотрудник»).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewInvitation {
    pub organization_oid: i64,
    pub email: String,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    /// 11 digits.
    pub snils: Option<String>,
    pub position: Option<String>,
    pub add_to_org_admin: bool,
}

/// Raw invitation input from the edge.
#[derive(Debug, Clone, Default)]
pub struct InvitationInput {
    pub organization_oid: i64,
    pub email: String,
    pub surname: String,
    pub given_name: String,
    pub patronymic: String,
    pub snils: String,
    pub position: String,
    pub add_to_org_admin: bool,
}

impl InvitationInput {
    pub fn validate(&self) -> Result<NewInvitation, Violations> {
        let mut v = Violations::new();
        if self.organization_oid <= 0 {
            v.add("organization_oid", "is required");
        }
        let email = error::email(&mut v, "email", &self.email, true);
        let surname = error::name(&mut v, "surname", &self.surname, true);
        let given_name = error::name(&mut v, "given_name", &self.given_name, true);
        let patronymic = error::name(&mut v, "patronymic", &self.patronymic, false);
        let snils = if self.snils.trim().is_empty() {
            None
        } else {
            v.check("snils", ids::parse_snils(self.snils.trim()))
        };
        let position = error::text(&mut v, "position", &self.position, false, 255);
        v.into_result()?;
        match (email, surname, given_name) {
            (Some(email), Some(surname), Some(given_name)) => Ok(NewInvitation {
                organization_oid: self.organization_oid,
                email,
                surname,
                given_name,
                patronymic,
                snils,
                position,
                add_to_org_admin: self.add_to_org_admin,
            }),
            _ => {
                let mut v = Violations::new();
                v.add("email", "is required");
                Err(v)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGroup {
    pub organization_oid: i64,
    pub mnemonic: String,
    pub system: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A validated custom group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewGroup {
    pub organization_oid: i64,
    pub mnemonic: String,
    pub system: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub organization_oid: i64,
    pub mnemonic: String,
    pub system: String,
    pub name: String,
    pub description: String,
}

/// A group mnemonic: Latin letters, digits and `_`, starting with a letter, at most 64.
pub fn parse_mnemonic(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be 1 to 64 Latin letters, digits or underscores, starting with a letter".into())
    }
}

/// A system mnemonic (ESIA's CLIENT_ID rule): capital Latin letters, digits, `-`, `_`.
fn parse_system(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be 1 to 64 capital Latin letters, digits, '-' or '_'".into())
    }
}

impl GroupInput {
    pub fn validate(&self) -> Result<NewGroup, Violations> {
        let mut v = Violations::new();
        if self.organization_oid <= 0 {
            v.add("organization_oid", "is required");
        }
        let mnemonic = v.check("mnemonic", parse_mnemonic(self.mnemonic.trim()));
        let system = if self.system.trim().is_empty() {
            Some(ESIA_SYSTEM.to_owned())
        } else {
            v.check("system", parse_system(self.system.trim()))
        };
        let name = error::text(&mut v, "name", &self.name, true, 255);
        let description =
            error::text(&mut v, "description", &self.description, false, 2000).unwrap_or_default();
        v.into_result()?;
        match (mnemonic, system, name) {
            (Some(mnemonic), Some(system), Some(name)) => Ok(NewGroup {
                organization_oid: self.organization_oid,
                mnemonic,
                system,
                name,
                description,
            }),
            _ => {
                let mut v = Violations::new();
                v.add("mnemonic", "is required");
                Err(v)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn invitation_validation_reports_every_field() {
        let bad = InvitationInput {
            organization_oid: 0,
            email: "nope".into(),
            surname: "".into(),
            given_name: "Пётр1".into(),
            patronymic: "".into(),
            snils: "123-456-789 65".into(),
            position: "".into(),
            add_to_org_admin: false,
        };
        let f: Vec<_> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            f,
            [
                "organization_oid",
                "email",
                "surname",
                "given_name",
                "snils"
            ]
        );
        let good = InvitationInput {
            organization_oid: 1,
            email: " Ivan@Example.ru ".into(),
            surname: "Иванов".into(),
            given_name: "Иван".into(),
            snils: "123-456-789 64".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(good.email, "Ivan@Example.ru");
        assert_eq!(good.snils.as_deref(), Some("12345678964"));
        assert_eq!(email_key(&good.email), "ivan@example.ru");
    }

    #[test]
    fn mnemonics() {
        assert!(parse_mnemonic("ORG_ADMIN").is_ok());
        assert!(parse_mnemonic("Sales2").is_ok());
        assert!(parse_mnemonic("2SALES").is_err());
        assert!(parse_mnemonic("ПРОДАЖИ").is_err());
        assert!(parse_mnemonic("A-B").is_err());
        assert!(parse_system("MY-IS_1").is_ok());
        assert!(parse_system("my").is_err());
    }

    #[test]
    fn expiry_is_seen_by_readers() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let i = Invitation {
            id: "x".into(),
            organization_oid: 1,
            email: "a@b.ru".into(),
            surname: "А".into(),
            given_name: "Б".into(),
            patronymic: None,
            snils: None,
            position: None,
            add_to_org_admin: false,
            stored_state: InvitationState::Pending,
            inviter_oid: None,
            accepted_by: None,
            expires_at: t,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        assert_eq!(
            i.state_at(t - chrono::Duration::seconds(1)),
            InvitationState::Pending
        );
        assert_eq!(i.state_at(t), InvitationState::Expired);
    }
}
