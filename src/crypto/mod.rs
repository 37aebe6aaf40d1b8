//! GOST cryptography (a leaf module: knows nothing of gRPC or storage).
//!
//! No well-kept Rust crate implements GOST R 34.10-2012, so the signature scheme is written here on
//! `crypto-bigint`; hashing comes from the `streebog` crate, certificate parsing from `x509-parser`.
pub mod cert;
pub mod cms;
mod curve;
mod ec;
mod edwards;
pub mod encoding;
pub mod error;
mod field;
#[cfg(target_arch = "x86_64")]
mod field_asm4;
#[cfg(target_arch = "x86_64")]
mod field_asm8;
pub mod gost3410;
pub mod jwt;
pub mod keyed_hash;
pub mod keys;
pub mod service_key;
pub mod streebog;
pub mod trust;

pub use error::{CryptoError, CryptoResult};
