//! Field-level validation errors shared by every command.

/// One bad field: the proto field name and a message the caller can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Collects every violation of a command so a caller learns all bad fields at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
    }

    /// Runs a parser and records its error under `field`; returns the parsed value if any.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the violations.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// Text fields: trimmed, non-empty when required, bounded, no control characters.
pub fn text(
    v: &mut Violations,
    field: &str,
    value: &str,
    required: bool,
    max_chars: usize,
) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        if required {
            v.add(field, "is required");
        }
        return None;
    }
    if t.chars().count() > max_chars {
        v.add(field, format!("must be at most {max_chars} characters"));
        return None;
    }
    if t.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
        return None;
    }
    Some(t.to_owned())
}

/// A person's name part: letters (Cyrillic or Latin), spaces, hyphens, apostrophes, dots.
pub fn name(v: &mut Violations, field: &str, value: &str, required: bool) -> Option<String> {
    let t = text(v, field, value, required, 100)?;
    if !t.chars().any(char::is_alphabetic)
        || !t
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’'))
    {
        v.add(
            field,
            "must contain only letters, spaces, hyphens, apostrophes and dots",
        );
        return None;
    }
    Some(t)
}

/// E-mail: a pragmatic check (one `@`, non-empty local part, a dotted domain, no spaces).
pub fn email(v: &mut Violations, field: &str, value: &str, required: bool) -> Option<String> {
    let t = text(v, field, value, required, 254)?;
    let ok = match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !t.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        v.add(field, "must be an e-mail address such as name@example.ru");
        return None;
    }
    Some(t)
}

/// Phone: `+` and 10–15 digits after removing spaces, hyphens and brackets.
pub fn phone(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let t = text(v, field, value, false, 32)?;
    let cleaned: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if !(10..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        v.add(field, "must be a phone number such as +7 999 123-45-67");
        return None;
    }
    Some(format!("+{digits}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        let mut v = Violations::new();
        assert_eq!(name(&mut v, "surname", " Петров ", true).unwrap(), "Петров");
        assert!(name(&mut v, "surname", "Петров1", true).is_none());
        assert!(email(&mut v, "email", "a@b.ru", true).is_some());
        assert!(email(&mut v, "email", "a@b", true).is_none());
        assert_eq!(
            phone(&mut v, "phone", "+7 (999) 123-45-67").unwrap(),
            "+79991234567"
        );
        assert!(phone(&mut v, "phone", "12").is_none());
        assert_eq!(v.0.len(), 3);
        assert_eq!(v.0[0].field, "surname");
    }
}
