//! Powers of attorney (МЧД): drafts, states and the rules on their contents. The document itself
//! (FNS `EMCHD_1` XML) is made by the `xml` leaf from these values in the service layer.

use chrono::{NaiveDate, NaiveDateTime};

use super::error::{self, Violations};

/// The stored life-cycle state; what callers see also depends on the dates ([`PoaState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredState {
    Draft,
    Discarded,
    Signed,
    Revoked,
}

impl StoredState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Discarded => "discarded",
            Self::Signed => "signed",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "discarded" => Some(Self::Discarded),
            "signed" => Some(Self::Signed),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// The state a power of attorney is in on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoaState {
    Draft,
    Discarded,
    /// «Новая»: signed, the start date not yet reached.
    New,
    /// «Действующая».
    Active,
    /// «Истекла».
    Expired,
    /// «Отозвана».
    Revoked,
}

impl PoaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Discarded => "discarded",
            Self::New => "new",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The state on `today`: signed ones are «Новая» before the start date, «Действующая» from it
    /// through the end date (its last day), «Истекла» after.
    pub fn on(stored: StoredState, start: NaiveDate, end: NaiveDate, today: NaiveDate) -> Self {
        match stored {
            StoredState::Draft => Self::Draft,
            StoredState::Discarded => Self::Discarded,
            StoredState::Revoked => Self::Revoked,
            StoredState::Signed if today < start => Self::New,
            StoredState::Signed if today > end => Self::Expired,
            StoredState::Signed => Self::Active,
        }
    }
}

/// ПрПередов.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Redelegation {
    None,
    Once,
    Onward,
}

impl Redelegation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Once => "once",
            Self::Onward => "onward",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "once" => Some(Self::Once),
            "onward" => Some(Self::Onward),
            _ => None,
        }
    }
}

/// One power granted, with the information system it concerns (if its catalogue entry asks).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PowerGrant {
    pub code: String,
    pub information_system: Option<String>,
}

/// The representative's identity document as written into the document (УдЛичнФЛ).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentityDocument {
    pub kind_code: String,
    pub series_number: String,
    pub issue_date: NaiveDate,
    pub issuer: Option<String>,
    pub issuer_code: Option<String>,
}

/// A validated draft's contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DraftFields {
    pub internal_number: String,
    pub representative_person_oid: i64,
    pub representative_document: Option<IdentityDocument>,
    pub head_position: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub redelegation: Redelegation,
    pub revocable: bool,
    pub powers: Vec<PowerGrant>,
}

/// The raw identity document of a request.
#[derive(Debug, Clone, Default)]
pub struct IdentityDocumentInput {
    pub kind_code: String,
    pub series_number: String,
    pub issue_date: String,
    pub issuer: String,
    pub issuer_code: String,
}

/// A draft's contents as a request carries them.
#[derive(Debug, Clone, Default)]
pub struct DraftInput {
    pub internal_number: String,
    pub representative_person_oid: i64,
    pub representative_document: Option<IdentityDocumentInput>,
    pub head_position: String,
    pub start_date: String,
    pub end_date: String,
    pub redelegation: Option<Redelegation>,
    pub irrevocable: bool,
    /// (code, information system) pairs.
    pub powers: Vec<(String, String)>,
}

/// At most this many powers in one document.
pub const MAX_POWERS: usize = 100;

fn date(v: &mut Violations, field: &str, s: &str, required: bool) -> Option<NaiveDate> {
    let t = s.trim();
    if t.is_empty() {
        if required {
            v.add(field, "is required (YYYY-MM-DD)");
        }
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if (1900..=2999).contains(&chrono::Datelike::year(&d)) => Some(d),
        _ => {
            v.add(field, "must be a date YYYY-MM-DD");
            None
        }
    }
}

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

impl DraftInput {
    /// Checks every field and reports all problems at once. Catalogue facts (does the code
    /// exist, does it need an information system) are checked by the service.
    pub fn validate(&self) -> Result<DraftFields, Violations> {
        let mut v = Violations::new();
        let internal_number = error::text(
            &mut v,
            "contents.internal_number",
            &self.internal_number,
            true,
            50,
        );
        if self.representative_person_oid <= 0 {
            v.add("contents.representative_person_oid", "is required");
        }
        let head_position = error::text(
            &mut v,
            "contents.head_position",
            &self.head_position,
            false,
            255,
        );
        let start = date(&mut v, "contents.start_date", &self.start_date, true);
        let end = date(&mut v, "contents.end_date", &self.end_date, true);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            v.add("contents.end_date", "must not be before start_date");
        }
        if self.redelegation.is_none() {
            v.add("contents.redelegation", "is required");
        }
        let document = self.representative_document.as_ref().and_then(|d| {
            let f = "contents.representative_document";
            let kind = d.kind_code.trim();
            if kind.len() != 2 || !kind.chars().all(|c| c.is_ascii_digit()) {
                v.add(&format!("{f}.kind_code"), "must be two digits (СПДУЛ)");
            }
            let series_number = error::text(
                &mut v,
                &format!("{f}.series_number"),
                &d.series_number,
                true,
                25,
            );
            let issue_date = date(&mut v, &format!("{f}.issue_date"), &d.issue_date, true);
            let issuer = error::text(&mut v, &format!("{f}.issuer"), &d.issuer, false, 4000);
            let code = d.issuer_code.trim();
            let issuer_code = if code.is_empty() {
                None
            } else if code.len() == 7
                && code
                    .char_indices()
                    .all(|(i, c)| if i == 3 { c == '-' } else { c.is_ascii_digit() })
            {
                Some(code.to_owned())
            } else {
                v.add(&format!("{f}.issuer_code"), "must be NNN-NNN");
                None
            };
            Some(IdentityDocument {
                kind_code: kind.to_owned(),
                series_number: series_number?,
                issue_date: issue_date?,
                issuer,
                issuer_code,
            })
        });
        if self.powers.is_empty() {
            v.add("contents.powers", "at least one power is required");
        } else if self.powers.len() > MAX_POWERS {
            v.add(
                "contents.powers",
                format!("at most {MAX_POWERS} powers in one power of attorney"),
            );
        }
        let mut powers = Vec::new();
        for (i, (code, system)) in self.powers.iter().enumerate() {
            let code = super::power::code(&mut v, &format!("contents.powers[{i}].code"), code);
            let system = if system.trim().is_empty() {
                Some(None)
            } else {
                client_id(
                    &mut v,
                    &format!("contents.powers[{i}].information_system"),
                    system,
                )
                .map(Some)
            };
            if let (Some(code), Some(system)) = (code, system) {
                let g = PowerGrant {
                    code,
                    information_system: system,
                };
                if powers.contains(&g) {
                    v.add(
                        &format!("contents.powers[{i}]"),
                        "is the same grant as an earlier one",
                    );
                } else {
                    powers.push(g);
                }
            }
        }
        v.into_result()?;
        match (internal_number, start, end, self.redelegation) {
            (Some(internal_number), Some(start_date), Some(end_date), Some(redelegation)) => {
                Ok(DraftFields {
                    internal_number,
                    representative_person_oid: self.representative_person_oid,
                    representative_document: document,
                    head_position,
                    start_date,
                    end_date,
                    redelegation,
                    revocable: !self.irrevocable,
                    powers,
                })
            }
            _ => {
                let mut v = Violations::new();
                v.add("contents", "is incomplete");
                Err(v)
            }
        }
    }
}

/// A power of attorney as stored (the document bytes are read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerOfAttorney {
    /// НомДовер (a lower-case UUID).
    pub number: String,
    pub organization_oid: i64,
    pub stored_state: StoredState,
    /// Issued here or imported from elsewhere.
    pub imported: bool,
    pub internal_number: String,
    pub principal_person_oid: i64,
    pub representative_person_oid: Option<i64>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub redelegation: Redelegation,
    pub revocable: bool,
    pub powers: Vec<PowerGrant>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl PowerOfAttorney {
    pub fn state_on(&self, today: NaiveDate) -> PoaState {
        PoaState::on(self.stored_state, self.start_date, self.end_date, today)
    }

    /// `ON_EMCHD_<YYYYMMDD>_<НомДовер>.xml` (the date is the issue date).
    pub fn file_name(&self) -> String {
        format!(
            "ON_EMCHD_{}_{}.xml",
            self.start_date.format("%Y%m%d"),
            self.number
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn states_follow_dates() {
        let (s, e) = (d("2026-12-01"), d("2027-05-31"));
        let on = |t: &str| PoaState::on(StoredState::Signed, s, e, d(t));
        assert_eq!(on("2026-11-30"), PoaState::New);
        assert_eq!(on("2026-12-01"), PoaState::Active);
        assert_eq!(on("2027-05-31"), PoaState::Active);
        assert_eq!(on("2027-06-01"), PoaState::Expired);
        assert_eq!(
            PoaState::on(StoredState::Revoked, s, e, d("2026-12-05")),
            PoaState::Revoked
        );
    }

    #[test]
    fn client_ids() {
        let ok = |s: &str| client_id(&mut Violations::new(), "f", s).is_some();
        assert!(ok("ROMASHKA_CRM-2"));
        assert!(!ok("romashka"));
        assert!(!ok("MY_ESIA_APP"));
        assert!(!ok("PGU_APP"));
        assert!(!ok("APP_SMEV"));
        assert!(!ok(""));
    }

    #[test]
    fn every_problem_is_reported() {
        let input = DraftInput {
            internal_number: String::new(),
            representative_person_oid: 0,
            start_date: "2027-01-10".into(),
            end_date: "2027-01-01".into(),
            powers: vec![
                ("ORGADM_API_KEY_ISSUE".into(), "bad id".into()),
                ("ORGADM_API_KEY_ISSUE".into(), "bad id".into()),
            ],
            ..Default::default()
        };
        let v = input.validate().unwrap_err();
        let fields: Vec<_> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contents.internal_number",
                "contents.representative_person_oid",
                "contents.end_date",
                "contents.redelegation",
                "contents.powers[0].information_system",
                "contents.powers[1].information_system",
            ]
        );
    }
}
