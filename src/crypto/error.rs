//! The outcomes of every cryptographic check: malformed input, bad signature, untrusted or unknown
//! issuer, expired / not yet valid, revoked, wrong key usage. Each carries a message a person can act on.

/// Why a key, certificate or signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The input could not be decoded (bad DER/PEM/base64, wrong lengths, unknown algorithm).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The input decoded but the signature does not verify (or a digest does not match).
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The signer's certificate does not chain to a configured trust anchor, or the signer is unknown.
    #[error("cannot validate: {0}")]
    Untrusted(String),
    /// A certificate in the chain has expired at the time of the check.
    #[error("expired: {0}")]
    Expired(String),
    /// A certificate in the chain is not yet valid at the time of the check.
    #[error("not yet valid: {0}")]
    NotYetValid(String),
    /// A certificate in the chain is listed on its issuer's CRL.
    #[error("revoked: {0}")]
    Revoked(String),
    /// The certificate's key usage or extended key usage forbids this use.
    #[error("wrong key usage: {0}")]
    KeyUsage(String),
}

impl CryptoError {
    /// A stable machine-readable name for the outcome (used in gRPC error reasons and CLI output).
    pub fn kind(&self) -> &'static str {
        match self {
            CryptoError::Malformed(_) => "MALFORMED",
            CryptoError::BadSignature(_) => "BAD_SIGNATURE",
            CryptoError::Untrusted(_) => "UNTRUSTED",
            CryptoError::Expired(_) => "EXPIRED",
            CryptoError::NotYetValid(_) => "NOT_YET_VALID",
            CryptoError::Revoked(_) => "REVOKED",
            CryptoError::KeyUsage(_) => "KEY_USAGE",
        }
    }
}

pub type CryptoResult<T> = Result<T, CryptoError>;
