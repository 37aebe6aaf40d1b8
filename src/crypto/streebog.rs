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

/// Streebog-256 computed piece by piece, for data hashed while it is written or read.
#[derive(Clone, Default)]
pub struct Streebog256Stream(Streebog256);

impl Streebog256Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        Digest::update(&mut self.0, data);
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6986 §10 examples. The RFC prints numbers big-endian; byte implementations (this crate,
    // OpenSSL) hash the bytes in the reverse order and print the digest reversed, as below.
    const M1: &[u8] = b"012345678901234567890123456789012345678901234567890123456789012";
    const M2_HEX: &str = "d1e520e2e5f2f0e82c20d1f2f0e8e1eee6e820e2edf3f6e82c20e2e5fef2fa20f120eceef0ff20f1f2f0e5ebe0ece820ede020f5f0e0e1f0fbff20efebfaeafb20c8e3eef0e5e2fb";

    #[test]
    fn rfc6986_m1() {
        assert_eq!(
            hex::encode(streebog512(M1)),
            "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"
        );
        assert_eq!(
            hex::encode(streebog256(M1)),
            "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"
        );
    }

    #[test]
    fn stream_equals_one_shot() {
        let mut s = Streebog256Stream::new();
        for part in M1.chunks(7) {
            s.update(part);
        }
        assert_eq!(s.finish(), streebog256(M1));
    }

    #[test]
    fn rfc6986_m2() {
        let m2 = hex::decode(M2_HEX).unwrap_or_default();
        assert_eq!(
            hex::encode(streebog512(&m2)),
            "1e88e62226bfca6f9994f1f2d51569e0daf8475a3b0fe61a5300eee46d961376035fe83549ada2b8620fcd7c496ce5b33f0cb9dddc2b6460143b03dabac9fb28"
        );
        assert_eq!(
            hex::encode(streebog256(&m2)),
            "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50"
        );
    }
}
