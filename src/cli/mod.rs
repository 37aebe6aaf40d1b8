//! Command-line tools of the `orgadm` binary that live in the library so tests can reach them.
pub mod pki;
pub mod token;
