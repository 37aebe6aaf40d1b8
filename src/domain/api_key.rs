//! API-KEYs: a UUID v4 that is itself the secret, formed in a consumer organisation for one of
//! its employees (the holder) to use one vendor information system; and the rule deciding
//! whether a key works at a given moment.
//!
//! The rule is evaluated from facts read at the moment of use ([`KeyFacts`]), so anything that
//! stops holding — the key blocked, the holder dismissed, the power of attorney revoked, the
//! grant withdrawn, the system disabled — stops the key at once, with no batch job.

use chrono::NaiveDateTime;

/// A key's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Blocked,
    /// Deleted keys are kept as tombstones for the record; they never work again.
    Deleted,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Blocked => "blocked",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "blocked" => Some(Self::Blocked),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A key's metadata: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's public identifier (a UUID unrelated to the secret).
    pub id: String,
    /// The first characters of the secret, to recognise it by.
    pub prefix: String,
    pub client_id: String,
    pub organization_oid: i64,
    pub holder_oid: i64,
    pub issuer_oid: i64,
    /// The НомДовер of the power of attorney the issuer formed it under.
    pub poa_number: String,
    pub state: KeyState,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl ApiKey {
    /// Whether the key is past its validity at `now`.
    pub fn expired_at(&self, now: NaiveDateTime) -> bool {
        now >= self.valid_until
    }
}

/// How many characters of the secret are kept to recognise a key by (`1b4e28ba`): 32 bits of
/// the 122 random ones, too few to help a guess.
pub const PREFIX_CHARS: usize = 8;

/// Parses an API-KEY as presented (a UUID in its canonical hyphenated form, any case) into its
/// canonical lower-case form; None when it is not one.
pub fn parse_key(s: &str) -> Option<String> {
    let t = s.trim();
    if t.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(t)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Everything the "does this key work" rule needs, read in one query at the moment of use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub key: ApiKey,
    pub system_enabled: bool,
    pub grant_active: bool,
    pub holder_active: bool,
    pub holder_in_system: bool,
    pub issuer_active: bool,
    /// The issuer holds an active power of attorney with the API-KEY power for this system today.
    pub issuer_authorised: bool,
}

/// Why a key does not work, each with ESIA's error code (DESIGN.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    NotFound,
    Deleted,
    Blocked,
    NotYetValid,
    Expired,
    IssuerNotActive,
    HolderNotActive,
    HolderNotInSystem,
    NoActivePowerOfAttorney,
    GrantWithdrawn,
    SystemDisabled,
}

impl KeyRefusal {
    /// ESIA's code for the refusal.
    pub fn esia_code(self) -> &'static str {
        match self {
            Self::NotFound | Self::Deleted => "ESIA-037218",
            Self::Expired | Self::NotYetValid => "ESIA-037213",
            Self::Blocked | Self::GrantWithdrawn | Self::SystemDisabled => "ESIA-037214",
            Self::IssuerNotActive => "ESIA-037215",
            Self::HolderNotActive | Self::HolderNotInSystem => "ESIA-037216",
            Self::NoActivePowerOfAttorney => "ESIA-037217",
        }
    }

    /// orgadm's own reason, finer than ESIA's code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotFound => "API_KEY_NOT_FOUND",
            Self::Deleted => "API_KEY_DELETED",
            Self::Blocked => "API_KEY_BLOCKED",
            Self::NotYetValid => "API_KEY_NOT_YET_VALID",
            Self::Expired => "API_KEY_EXPIRED",
            Self::IssuerNotActive => "ISSUER_NOT_ACTIVE",
            Self::HolderNotActive => "HOLDER_NOT_ACTIVE",
            Self::HolderNotInSystem => "HOLDER_NOT_IN_SYSTEM",
            Self::NoActivePowerOfAttorney => "NO_ACTIVE_POWER_OF_ATTORNEY",
            Self::GrantWithdrawn => "GRANT_WITHDRAWN",
            Self::SystemDisabled => "SYSTEM_DISABLED",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "no such API-KEY",
            Self::Deleted => "the API-KEY was deleted",
            Self::Blocked => "the API-KEY is blocked",
            Self::NotYetValid => "the API-KEY is not valid yet",
            Self::Expired => "the API-KEY has expired",
            Self::IssuerNotActive => "the employee who formed the API-KEY is not active",
            Self::HolderNotActive => "the employee holding the API-KEY is not active",
            Self::HolderNotInSystem => {
                "the employee holding the API-KEY was removed from the information system"
            }
            Self::NoActivePowerOfAttorney => {
                "the employee who formed the API-KEY has no active power of attorney for the system"
            }
            Self::GrantWithdrawn => "the vendor withdrew the system's grant to the organisation",
            Self::SystemDisabled => "the API-KEY power is disabled for the information system",
        }
    }
}

impl KeyFacts {
    /// Whether the key works at `now`: the first condition that fails, in a fixed order (the
    /// key's own state and validity, then the people, then the authority behind it).
    pub fn verdict(&self, now: NaiveDateTime) -> Result<(), KeyRefusal> {
        let k = &self.key;
        match k.state {
            KeyState::Deleted => return Err(KeyRefusal::Deleted),
            KeyState::Blocked => return Err(KeyRefusal::Blocked),
            KeyState::Active => {}
        }
        if now < k.valid_from {
            return Err(KeyRefusal::NotYetValid);
        }
        if k.expired_at(now) {
            return Err(KeyRefusal::Expired);
        }
        if !self.holder_active {
            return Err(KeyRefusal::HolderNotActive);
        }
        if !self.issuer_active {
            return Err(KeyRefusal::IssuerNotActive);
        }
        if !self.holder_in_system {
            return Err(KeyRefusal::HolderNotInSystem);
        }
        if !self.issuer_authorised {
            return Err(KeyRefusal::NoActivePowerOfAttorney);
        }
        if !self.system_enabled {
            return Err(KeyRefusal::SystemDisabled);
        }
        if !self.grant_active {
            return Err(KeyRefusal::GrantWithdrawn);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn facts() -> KeyFacts {
        KeyFacts {
            key: ApiKey {
                id: "k".into(),
                prefix: "1b4e28ba".into(),
                client_id: "APP".into(),
                organization_oid: 1,
                holder_oid: 2,
                issuer_oid: 3,
                poa_number: "n".into(),
                state: KeyState::Active,
                valid_from: at(1),
                valid_until: at(10),
                last_used_at: None,
                created_at: at(1),
                updated_at: at(1),
                version: 1,
            },
            system_enabled: true,
            grant_active: true,
            holder_active: true,
            holder_in_system: true,
            issuer_active: true,
            issuer_authorised: true,
        }
    }

    #[test]
    fn every_condition_stops_the_key() {
        assert_eq!(facts().verdict(at(5)), Ok(()));
        assert_eq!(facts().verdict(at(0)), Err(KeyRefusal::NotYetValid));
        assert_eq!(facts().verdict(at(10)), Err(KeyRefusal::Expired));
        type Break = fn(&mut KeyFacts);
        let cases: [(Break, KeyRefusal); 8] = [
            (|f| f.key.state = KeyState::Blocked, KeyRefusal::Blocked),
            (|f| f.key.state = KeyState::Deleted, KeyRefusal::Deleted),
            (|f| f.holder_active = false, KeyRefusal::HolderNotActive),
            (|f| f.issuer_active = false, KeyRefusal::IssuerNotActive),
            (
                |f| f.holder_in_system = false,
                KeyRefusal::HolderNotInSystem,
            ),
            (
                |f| f.issuer_authorised = false,
                KeyRefusal::NoActivePowerOfAttorney,
            ),
            (|f| f.system_enabled = false, KeyRefusal::SystemDisabled),
            (|f| f.grant_active = false, KeyRefusal::GrantWithdrawn),
        ];
        for (break_it, want) in cases {
            let mut f = facts();
            break_it(&mut f);
            assert_eq!(f.verdict(at(5)), Err(want));
        }
    }

    #[test]
    fn keys_parse_only_as_canonical_uuids() {
        let k = "1B4E28BA-2FA1-41D2-883F-0016D3CCA427";
        assert_eq!(
            parse_key(k).as_deref(),
            Some("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
        );
        assert_eq!(parse_key("1b4e28ba2fa141d2883f0016d3cca427"), None);
        assert_eq!(parse_key("not-a-key"), None);
        assert_eq!(parse_key(""), None);
    }

    #[test]
    fn refusals_carry_esia_codes() {
        assert_eq!(KeyRefusal::Expired.esia_code(), "ESIA-037213");
        assert_eq!(KeyRefusal::Blocked.esia_code(), "ESIA-037214");
        assert_eq!(KeyRefusal::IssuerNotActive.esia_code(), "ESIA-037215");
        assert_eq!(KeyRefusal::HolderNotActive.esia_code(), "ESIA-037216");
        assert_eq!(
            KeyRefusal::NoActivePowerOfAttorney.esia_code(),
            "ESIA-037217"
        );
        assert_eq!(KeyRefusal::NotFound.esia_code(), "ESIA-037218");
    }
}
