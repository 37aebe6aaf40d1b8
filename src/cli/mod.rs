//! Command-line tools of the `orgadm` binary that live in the library so tests can reach them.
pub mod audit;
pub mod audit_verify;
pub mod pki;
pub mod records;
pub mod token;
