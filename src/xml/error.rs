//! Errors of the xml module: one type, five kinds, each safe to show to the caller.

use std::fmt;

use crate::domain::error::{FieldViolation, Violations};

/// One complaint of the XSD validator: the line of the document (when libxml2 knows it) and
/// libxml2's message, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    pub line: Option<u32>,
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a document could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML, not UTF-8, truncated, mismatched tags.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Refused before any real parsing: DOCTYPE / entity declarations, or a size, depth,
    /// attribute or value limit exceeded (XML bombs, XXE, resource exhaustion).
    #[error("unsafe XML refused: {0}")]
    Unsafe(String),
    /// Well-formed, but not valid against the XSD.
    #[error("document does not match the schema: {}", first(.0))]
    SchemaViolation(Vec<SchemaViolation>),
    /// Valid against the XSD, but a variant orgadm's model does not cover (a foreign
    /// principal, several representatives, text powers, a notarised document…).
    #[error("unsupported document: {0}")]
    Unsupported(String),
    /// The values break a rule of the format or of orgadm (checksums, lengths, date order).
    #[error("invalid values: {}", fields(.0))]
    Invalid(Vec<FieldViolation>),
}

fn first(v: &[SchemaViolation]) -> String {
    match v {
        [] => "no diagnostic".to_owned(),
        [one] => one.to_string(),
        [one, rest @ ..] => format!("{one} (and {} more)", rest.len()),
    }
}

fn fields(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|f| format!("{}: {}", f.field, f.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl XmlError {
    /// A short stable name of the kind, for logs, metrics and error details.
    pub fn kind(&self) -> &'static str {
        match self {
            XmlError::Malformed(_) => "MALFORMED",
            XmlError::Unsafe(_) => "UNSAFE",
            XmlError::SchemaViolation(_) => "SCHEMA_VIOLATION",
            XmlError::Unsupported(_) => "UNSUPPORTED",
            XmlError::Invalid(_) => "INVALID",
        }
    }
}

impl From<Violations> for XmlError {
    fn from(v: Violations) -> Self {
        XmlError::Invalid(v.0)
    }
}

impl From<quick_xml::Error> for XmlError {
    fn from(e: quick_xml::Error) -> Self {
        XmlError::Malformed(e.to_string())
    }
}

/// Writing into a `Vec<u8>` cannot fail; quick-xml's signature still returns `io::Result`.
impl From<std::io::Error> for XmlError {
    fn from(e: std::io::Error) -> Self {
        XmlError::Malformed(format!("writing XML: {e}"))
    }
}
