//! XML documents of orgadm: the FNS power of attorney `EMCHD_1` (МЧД) and orgadm's revocation
//! statement — typed models, rendering with quick-xml, reading documents from outside behind
//! hard guards, and run-time XSD validation through libxml2.
//!
//! A leaf: it knows nothing of storage, gRPC or crypto. Its only dependency inside the crate is
//! `domain` (identifier checksums and the shared `FieldViolation` type).
//!
//! - [`emchd`]: [`PowerOfAttorney`], `validate`, `render`, `file_name`;
//! - [`parse()`]: EMCHD_1 bytes → [`PowerOfAttorney`] (guards, XSD, model, field rules);
//! - [`guard`]: [`Limits`] and the refusal of unsafe input (DOCTYPE, entities, sizes, depth…);
//! - [`schema`]: [`validate_against_schema`] (official XSD) and the revocation XSD;
//! - [`revocation`]: [`RevocationStatement`], its XSD, render and [`parse_revocation`];
//! - [`error`]: [`XmlError`] with its kinds.
//!
//! `docs/EMCHD.md` describes the documents and the guards.

mod check;
pub mod emchd;
pub mod error;
pub mod guard;
pub mod parse;
pub mod revocation;
pub mod schema;
mod write;

pub use emchd::{
    Address, AddressLine, EMCHD_NS, FullName, IdentityDocument, Individual,
    IrrevocableRedelegation, IrrevocableTerms, MachinePower, PowerOfAttorney, PowerRestriction,
    Principal, Redelegation, RestrictionValue, Revocability, RevocationCondition,
};
pub use error::{SchemaViolation, XmlError};
pub use guard::Limits;
pub use parse::{parse, parse_with_limits};
pub use revocation::{REVOCATION_NS, RevocationStatement, Revoker, parse_revocation};
pub use schema::{validate_against_schema, validate_revocation_against_schema};
