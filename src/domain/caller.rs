//! Who is calling: an authenticated API client and, for portals, the person it acts for.

/// The role of an API client (DESIGN.md §3 "Callers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The platform operator: administers everything.
    Operator,
    /// An admin portal acting for a person it names in request metadata.
    Portal,
    /// A vendor system bound to its vendor organisation.
    Vendor,
    /// A compliance client: reads records and the audit trail.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Portal, Role::Vendor, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Portal => "portal",
            Self::Vendor => "vendor",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A registered API client (its credential is stored only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The organisation a vendor (required) or auditor (optional) client is bound to.
    pub organization_oid: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
    pub revoked_at: Option<chrono::NaiveDateTime>,
    /// SHA-256 of the TLS client certificate it authenticates with, if any.
    pub certificate_sha256: Option<Vec<u8>>,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub client_name: String,
    pub role: Role,
    pub organization_oid: Option<i64>,
    /// For portals: the OID of the person the portal acts for, if it named one.
    pub acting_person: Option<i64>,
    /// The request id used for tracing and in audit events.
    pub request_id: String,
}
