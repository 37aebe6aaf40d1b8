//! Pure types and rules: no I/O, no tonic, no diesel. Everything here is unit-testable.
pub mod api_key;
pub mod audit;
pub mod audit_checkpoint;
pub mod audit_export;
pub mod caller;
pub mod employee;
pub mod error;
pub mod ids;
pub mod organization;
pub mod page;
pub mod person;
pub mod poa;
pub mod power;
pub mod records;
pub mod system;
pub mod token;

pub use error::{FieldViolation, Violations};
