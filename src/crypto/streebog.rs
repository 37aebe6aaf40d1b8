//! GOST R 34.11-2012 "Streebog" through the RustCrypto `streebog` crate.
use hmac::{Hmac, Mac};
use streebog::Digest;
pub use streebog::{Streebog256, Streebog512};

pub fn streebog256(data: &[u8]) -> [u8; 32] {
    Streebog256::digest(data).into()
}

pub fn streebog512(data: &[u8]) -> [u8; 64] {
    Streebog512::digest(data).into()
}

/// HMAC_GOSTR3411_2012_256 (RFC 7836).
pub fn hmac_streebog256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Streebog256>::new_from_slice(key) else {
        // HMAC accepts keys of any length; this branch cannot be taken.
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}
