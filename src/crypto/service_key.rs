//! The service's own GOST signing key: creation (`orgadm pki init`: key, self-signed certificate,
//! PKCS#10 request) and loading at start (`serve --signing-key --signing-cert`).
//!
//! Certificates and requests are built from `x509-cert` types and DER-encoded by `der`; only the
//! GOST signature itself comes from this crate. The key is written PKCS#8 PEM with mode 0600 and
//! never leaves [`ServiceSigner`] (whose `Debug` prints no secret).
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use der::asn1::{BitString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Encode};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate as X509, TbsCertificate};

use super::cert::Certificate;
use super::error::{CryptoError, CryptoResult};
use super::gost3410::{ParamSet, PrivateKey};
use super::keys::{private_key_from_pem, private_key_to_pem};

fn malformed(m: impl std::fmt::Display) -> CryptoError {
    CryptoError::Malformed(m.to_string())
}

fn enc(e: der::Error) -> CryptoError {
    malformed(format!("encoding: {e}"))
}

/// Parameter-set names accepted by `--param-set` (OpenSSL's `paramset:` spellings in brackets).
pub fn param_set_by_name(name: &str) -> Option<ParamSet> {
    Some(match name.to_ascii_lowercase().as_str() {
        "tc26-256-a" | "tca" => ParamSet::Tc26_256A,
        "tc26-256-b" | "tcb" | "cryptopro-a" | "a" | "xcha" | "xa" => ParamSet::Tc26_256B,
        "tc26-256-c" | "tcc" | "cryptopro-b" | "b" => ParamSet::Tc26_256C,
        "tc26-256-d" | "tcd" | "cryptopro-c" | "c" | "xchb" | "xb" => ParamSet::Tc26_256D,
        "tc26-512-a" => ParamSet::Tc26_512A,
        "tc26-512-b" => ParamSet::Tc26_512B,
        "tc26-512-c" => ParamSet::Tc26_512C,
        _ => return None,
    })
}

/// The names `--param-set` accepts, for help and error texts.
pub const PARAM_SET_NAMES: &str = "tc26-256-a, tc26-256-b (cryptopro-a), tc26-256-c (cryptopro-b), tc26-256-d (cryptopro-c), tc26-512-a, tc26-512-b, tc26-512-c";

fn spki(key: &PrivateKey) -> CryptoResult<SubjectPublicKeyInfoOwned> {
    let ps = key.param_set();
    #[derive(der::Sequence)]
    struct Params {
        public_key_param_set: ObjectIdentifier,
    }
    let params = Params {
        public_key_param_set: ObjectIdentifier::new(ps.oid()).map_err(malformed)?,
    };
    let point = OctetString::new(key.public_key().to_le_bytes()).map_err(enc)?;
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new(ps.public_key_oid()).map_err(malformed)?,
            parameters: Some(Any::encode_from(&params).map_err(enc)?),
        },
        subject_public_key: BitString::from_bytes(&point.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// RFC 9215: the signature AlgorithmIdentifier has no parameters.
fn sig_alg(ps: ParamSet) -> CryptoResult<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new(ps.signature_oid()).map_err(malformed)?,
        parameters: None,
    })
}

fn sign_der(key: &PrivateKey, tbs: &[u8]) -> CryptoResult<BitString> {
    let digest = key.param_set().digest(tbs);
    let sig = key.sign_digest(&digest)?;
    BitString::from_bytes(&sig).map_err(enc)
}

/// Parses `CN=orgadm,O=Example,C=RU` (RFC 4514; dotted OIDs allowed, e.g. `1.2.643.100.1=…`).
pub fn parse_subject(subject: &str) -> CryptoResult<Name> {
    subject.parse::<Name>().map_err(|e| {
        malformed(format!(
            "--subject {subject:?} is not a distinguished name like `CN=orgadm,O=Example`: {e}"
        ))
    })
}

fn ext<T: AsExtension>(v: &T, subject: &Name) -> CryptoResult<Extension> {
    v.to_extension(subject, &[]).map_err(enc)
}

/// A self-signed certificate for `key`, valid from `now` for `days`, keyUsage digitalSignature
/// and nonRepudiation.
pub fn self_signed_certificate(
    key: &PrivateKey,
    subject: &Name,
    now: DateTime<Utc>,
    days: i64,
) -> CryptoResult<Certificate> {
    let ps = key.param_set();
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| malformed(format!("OS random generator: {e}")))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let to_time = |t: DateTime<Utc>| -> CryptoResult<Time> {
        let secs = u64::try_from(t.timestamp()).map_err(|_| malformed("time before 1970"))?;
        Time::try_from(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .map_err(enc)
    };
    let spki = spki(key)?;
    let key_id = super::streebog::streebog256(&key.public_key().to_le_bytes());
    let extensions = vec![
        ext(
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
            subject,
        )?,
        ext(
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            subject,
        )?,
        ext(
            &SubjectKeyIdentifier(OctetString::new(key_id[..20].to_vec()).map_err(enc)?),
            subject,
        )?,
    ];
    let tbs = TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(enc)?,
        signature: sig_alg(ps)?,
        issuer: subject.clone(),
        validity: Validity {
            not_before: to_time(now - Duration::minutes(5))?,
            not_after: to_time(now + Duration::days(days))?,
        },
        subject: subject.clone(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = sign_der(key, &tbs.to_der().map_err(enc)?)?;
    let cert = X509 {
        tbs_certificate: tbs,
        signature_algorithm: sig_alg(ps)?,
        signature,
    };
    Certificate::from_der(&cert.to_der().map_err(enc)?)
}

/// A PKCS#10 certification request (PEM `CERTIFICATE REQUEST`) for an external CA.
pub fn certificate_request_pem(key: &PrivateKey, subject: &Name) -> CryptoResult<String> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: subject.clone(),
        public_key: spki(key)?,
        attributes: SetOfVec::new(),
    };
    let signature = sign_der(key, &info.to_der().map_err(enc)?)?;
    let req = CertReq {
        info,
        algorithm: sig_alg(key.param_set())?,
        signature,
    };
    let der = req.to_der().map_err(enc)?;
    der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
        .map_err(|e| malformed(format!("PEM: {e}")))
}

/// Writes `data` to a new file readable by the owner only (mode 0600 on Unix). Refuses to
/// overwrite an existing file.
pub fn write_secret_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Generates a key, writes it (0600) and either a self-signed certificate or a CSR.
pub struct InitOutcome {
    pub certificate: Option<Certificate>,
    pub csr_pem: Option<String>,
}

/// The service key and its certificate, loaded at start.
pub struct ServiceSigner {
    key: PrivateKey,
    cert: Certificate,
}

impl std::fmt::Debug for ServiceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSigner")
            .field("certificate", &self.cert.describe())
            .finish_non_exhaustive()
    }
}

impl ServiceSigner {
    /// Pairs a key with its certificate, refusing a key that does not match the certificate.
    pub fn new(key: PrivateKey, cert: Certificate) -> CryptoResult<ServiceSigner> {
        let cert_key = cert.public_key()?;
        if cert_key.param_set() != key.param_set()
            || cert_key.to_le_bytes() != key.public_key().to_le_bytes()
        {
            return Err(malformed(format!(
                "the signing key does not match the signing certificate {}: give the key the certificate was issued for",
                cert.describe()
            )));
        }
        cert.check_signing_usage()?;
        Ok(ServiceSigner { key, cert })
    }

    /// Reads the PKCS#8 PEM key and the certificate (PEM or DER) from files.
    pub fn load(key_path: &Path, cert_path: &Path) -> CryptoResult<ServiceSigner> {
        let key_pem = std::fs::read_to_string(key_path).map_err(|e| {
            malformed(format!(
                "cannot read the signing key {}: {e}",
                key_path.display()
            ))
        })?;
        let key = private_key_from_pem(&key_pem)
            .map_err(|e| malformed(format!("the signing key {}: {e}", key_path.display())))?;
        let cert_bytes = std::fs::read(cert_path).map_err(|e| {
            malformed(format!(
                "cannot read the signing certificate {}: {e}",
                cert_path.display()
            ))
        })?;
        let cert = Certificate::from_bytes(&cert_bytes).map_err(|e| {
            malformed(format!(
                "the signing certificate {}: {e}",
                cert_path.display()
            ))
        })?;
        ServiceSigner::new(key, cert)
    }

    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// A detached CAdES-BES signature over `content`.
    pub fn sign_detached(&self, content: &[u8], at: DateTime<Utc>) -> CryptoResult<Vec<u8>> {
        super::cms::sign_detached(&self.key, &self.cert, content, at)
    }

    /// An attached CAdES-BES signature (the content inside).
    pub fn sign_attached(&self, content: &[u8], at: DateTime<Utc>) -> CryptoResult<Vec<u8>> {
        super::cms::sign_attached(&self.key, &self.cert, content, at)
    }

    /// A JWT signed with the service key.
    pub fn sign_jwt(
        &self,
        header_extra: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> CryptoResult<String> {
        super::jwt::sign_jwt(&self.key, header_extra, claims)
    }
}

/// `pki init`: a fresh key for `ps` written to `key_path` (0600, must not exist), and a
/// self-signed certificate (or, with `csr`, a request) for `subject`.
pub fn init(
    ps: ParamSet,
    subject: &str,
    key_path: &Path,
    now: DateTime<Utc>,
    days: i64,
    csr: bool,
) -> CryptoResult<(PrivateKey, InitOutcome)> {
    let name = parse_subject(subject)?;
    let key = PrivateKey::generate(ps)?;
    // Build the outputs before writing anything, so a failure leaves no half-made key behind.
    let outcome = if csr {
        InitOutcome {
            certificate: None,
            csr_pem: Some(certificate_request_pem(&key, &name)?),
        }
    } else {
        InitOutcome {
            certificate: Some(self_signed_certificate(&key, &name, now, days)?),
            csr_pem: None,
        }
    };
    write_secret_file(key_path, private_key_to_pem(&key).as_bytes()).map_err(|e| {
        malformed(format!(
            "cannot create the key file {}: {e}",
            key_path.display()
        ))
    })?;
    Ok((key, outcome))
}

/// Reads a PKCS#8 PEM private key file.
pub fn load_private_key(path: &Path) -> CryptoResult<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| malformed(format!("cannot read the key {}: {e}", path.display())))?;
    private_key_from_pem(&pem).map_err(|e| malformed(format!("the key {}: {e}", path.display())))
}
