//! X.509 certificates with GOST R 34.10-2012 keys: parsing (x509-parser), signature verification,
//! key usage, and the qualified-certificate attributes of order 795 of the FSB.
//!
//! A [`Certificate`] is parsed once and keeps owned copies of what the checks need, together with
//! its DER. Byte orders (docs/CRYPTO.md): the public key is an OCTET STRING of LE(X)‖LE(Y) inside
//! the subjectPublicKey BIT STRING; the signature BIT STRING is s‖r, each big-endian (as OpenSSL's
//! GOST engine and CryptoPro write it); the TBS digest is Streebog-256/512 per the signature OID.
use chrono::{DateTime, Utc};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use super::encoding::{from_unix, hex_colon, looks_like_pem, pem_blocks, trim_be};
use super::error::{CryptoError, CryptoResult};
use super::gost3410::{ParamSet, PublicKey};

/// Qualified-certificate subject attribute OIDs (order 795 of the FSB) and X.520 names.
pub mod oid {
    pub const OGRN: &str = "1.2.643.100.1";
    pub const SNILS: &str = "1.2.643.100.3";
    pub const INNLE: &str = "1.2.643.100.4";
    pub const OGRNIP: &str = "1.2.643.100.5";
    pub const INN: &str = "1.2.643.3.131.1.1";
    pub const COMMON_NAME: &str = "2.5.4.3";
    pub const SURNAME: &str = "2.5.4.4";
    pub const COUNTRY: &str = "2.5.4.6";
    pub const LOCALITY: &str = "2.5.4.7";
    pub const STATE: &str = "2.5.4.8";
    pub const STREET: &str = "2.5.4.9";
    pub const ORGANIZATION: &str = "2.5.4.10";
    pub const ORGANIZATIONAL_UNIT: &str = "2.5.4.11";
    pub const TITLE: &str = "2.5.4.12";
    pub const GIVEN_NAME: &str = "2.5.4.42";
    pub const EMAIL: &str = "1.2.840.113549.1.9.1";
    /// GOST R 34.10-2012 public keys.
    pub const GOST_KEY_256: &str = "1.2.643.7.1.1.1.1";
    pub const GOST_KEY_512: &str = "1.2.643.7.1.1.1.2";
    /// GOST R 34.10-2012 with GOST R 34.11-2012 signatures.
    pub const GOST_SIG_256: &str = "1.2.643.7.1.1.3.2";
    pub const GOST_SIG_512: &str = "1.2.643.7.1.1.3.3";
    /// Streebog digests.
    pub const STREEBOG_256: &str = "1.2.643.7.1.1.2.2";
    pub const STREEBOG_512: &str = "1.2.643.7.1.1.2.3";
}

/// The subject attributes a qualified certificate carries (order 795), as found. The old form that
/// put the organisation's INN zero-padded to 12 digits into the INN attribute is read as `innle`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QualifiedAttributes {
    pub ogrn: Option<String>,
    pub ogrnip: Option<String>,
    pub innle: Option<String>,
    pub snils: Option<String>,
    /// The personal INN (12 digits).
    pub inn: Option<String>,
    pub surname: Option<String>,
    /// Given name and patronymic, as the certificate has them (`Пётр Петрович`).
    pub given_name: Option<String>,
    pub title: Option<String>,
    pub organization: Option<String>,
    pub common_name: Option<String>,
}

/// Who a qualified certificate belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateKind {
    /// A person acting for an organisation: organisation attributes (OGRN/INNLE) and a person (SNILS or name).
    Employee,
    /// The organisation's impersonal certificate: organisation attributes, no SNILS and no person name.
    Organization,
    /// An individual entrepreneur (OGRNIP).
    IndividualEntrepreneur,
    /// A private person: SNILS, no organisation attributes.
    PrivatePerson,
    /// Neither a person nor an organisation is named (e.g. a CA or a non-qualified certificate).
    Unidentified,
}

impl CertificateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateKind::Employee => "employee of an organisation",
            CertificateKind::Organization => "organisation (impersonal)",
            CertificateKind::IndividualEntrepreneur => "individual entrepreneur",
            CertificateKind::PrivatePerson => "private person",
            CertificateKind::Unidentified => "unidentified (no person or organisation attributes)",
        }
    }
}

/// The keyUsage bits the checks use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUsageBits {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

/// A parsed X.509 certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Vec<u8>,
    signature_algorithm: String,
    signature: Vec<u8>,
    subject: String,
    issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    serial: Vec<u8>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    key_algorithm: String,
    key_param_set: Option<String>,
    key_octets: Option<Vec<u8>>,
    key_usage: Option<KeyUsageBits>,
    ca: Option<bool>,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    attributes: QualifiedAttributes,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

fn malformed(what: impl std::fmt::Display) -> CryptoError {
    CryptoError::Malformed(what.to_string())
}

/// A directory string value as text (UTF8String, PrintableString, NumericString, IA5String,
/// BMPString); `None` for other types.
fn attr_text(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::NumericString
        | Tag::Ia5String
        | Tag::VisibleString
        | Tag::TeletexString => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        oid::COMMON_NAME => "CN",
        oid::SURNAME => "SN",
        oid::GIVEN_NAME => "GN",
        oid::COUNTRY => "C",
        oid::LOCALITY => "L",
        oid::STATE => "ST",
        oid::STREET => "STREET",
        oid::ORGANIZATION => "O",
        oid::ORGANIZATIONAL_UNIT => "OU",
        oid::TITLE => "T",
        oid::EMAIL => "E",
        oid::OGRN => "OGRN",
        oid::OGRNIP => "OGRNIP",
        oid::SNILS => "SNILS",
        oid::INNLE => "INNLE",
        oid::INN => "INN",
        _ => return None,
    })
}

/// `CN=…, O=…, OGRN=…` in the certificate's order, with the Russian attribute names spelled out.
pub(crate) fn name_to_string(name: &X509Name<'_>) -> String {
    let mut parts = Vec::new();
    for rdn in name.iter_rdn() {
        for atv in rdn.iter() {
            let oid = atv.attr_type().to_id_string();
            let key = short_name(&oid).map(str::to_owned).unwrap_or(oid);
            let value = attr_text(atv.attr_value().tag(), atv.attr_value().data)
                .unwrap_or_else(|| format!("#{}", hex::encode(atv.attr_value().data)));
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

fn qualified_attributes(name: &X509Name<'_>) -> QualifiedAttributes {
    let mut q = QualifiedAttributes::default();
    let mut inn_attr: Option<String> = None;
    for rdn in name.iter_rdn() {
        for atv in rdn.iter() {
            let Some(v) = attr_text(atv.attr_value().tag(), atv.attr_value().data) else {
                continue;
            };
            let v = v.trim().to_owned();
            let slot = match atv.attr_type().to_id_string().as_str() {
                oid::OGRN => &mut q.ogrn,
                oid::OGRNIP => &mut q.ogrnip,
                oid::INNLE => &mut q.innle,
                oid::SNILS => &mut q.snils,
                oid::INN => &mut inn_attr,
                oid::SURNAME => &mut q.surname,
                oid::GIVEN_NAME => &mut q.given_name,
                oid::TITLE => &mut q.title,
                oid::ORGANIZATION => &mut q.organization,
                oid::COMMON_NAME => &mut q.common_name,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
    }
    if let Some(inn) = inn_attr {
        // The old form: the organisation's 10-digit INN zero-padded to 12 in the INN attribute. A
        // personal INN never starts with `00`.
        if inn.len() == 12 && inn.starts_with("00") {
            if q.innle.is_none() {
                q.innle = Some(inn[2..].to_owned());
            }
        } else {
            q.inn = Some(inn);
        }
    }
    q
}

/// The GOST key parameters: `SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL }`
/// (OpenSSL may include a digestParamSet that RFC 9215 says to omit: tolerated).
#[derive(der::Sequence)]
struct GostKeyParams {
    public_key_param_set: der::asn1::ObjectIdentifier,
    digest_param_set: Option<der::asn1::ObjectIdentifier>,
}

fn parse_key_params(raw_params: &[u8]) -> Option<String> {
    use der::Decode;
    GostKeyParams::from_der(raw_params)
        .ok()
        .map(|p| p.public_key_param_set.to_string())
}

impl Certificate {
    /// Parses one DER certificate (nothing may follow it).
    pub fn from_der(der: &[u8]) -> CryptoResult<Certificate> {
        let (rest, c) = X509Certificate::from_der(der)
            .map_err(|e| malformed(format!("not an X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(malformed(format!(
                "{} bytes follow the certificate",
                rest.len()
            )));
        }
        let tbs = &c.tbs_certificate;
        let spki = &tbs.subject_pki;
        let key_algorithm = spki.algorithm.algorithm.to_id_string();
        let key_param_set = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| {
                use x509_parser::der_parser::asn1_rs::ToDer;
                p.to_der_vec().ok()
            })
            .and_then(|raw| parse_key_params(&raw));
        let key_octets = {
            use der::Decode;
            der::asn1::OctetString::from_der(&spki.subject_public_key.data)
                .ok()
                .map(|o| o.into_bytes())
        };
        let mut key_usage = None;
        let mut ca = None;
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) => {
                    key_usage = Some(KeyUsageBits {
                        digital_signature: ku.digital_signature(),
                        non_repudiation: ku.non_repudiation(),
                        key_cert_sign: ku.key_cert_sign(),
                        crl_sign: ku.crl_sign(),
                    })
                }
                ParsedExtension::BasicConstraints(bc) => ca = Some(bc.ca),
                ParsedExtension::SubjectKeyIdentifier(k) => subject_key_id = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    authority_key_id = a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => {}
            }
        }
        Ok(Certificate {
            der: c.as_raw().to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature_algorithm: c.signature_algorithm.algorithm.to_id_string(),
            signature: c.signature_value.data.to_vec(),
            subject: name_to_string(&tbs.subject),
            issuer: name_to_string(&tbs.issuer),
            subject_raw: tbs.subject.as_raw().to_vec(),
            issuer_raw: tbs.issuer.as_raw().to_vec(),
            serial: trim_be(tbs.raw_serial()).to_vec(),
            not_before: from_unix(tbs.validity.not_before.timestamp())?,
            not_after: from_unix(tbs.validity.not_after.timestamp())?,
            key_algorithm,
            key_param_set,
            key_octets,
            key_usage,
            ca,
            subject_key_id,
            authority_key_id,
            attributes: qualified_attributes(&tbs.subject),
        })
    }

    /// The first `CERTIFICATE` block of a PEM text.
    pub fn from_pem(pem: &str) -> CryptoResult<Certificate> {
        let blocks = pem_blocks(pem, "CERTIFICATE")?;
        let first = blocks
            .first()
            .ok_or_else(|| malformed("no `BEGIN CERTIFICATE` block in the PEM text"))?;
        Certificate::from_der(first)
    }

    /// Every certificate in a file's bytes: PEM (any number of blocks) or one DER certificate.
    pub fn all_from_bytes(data: &[u8]) -> CryptoResult<Vec<Certificate>> {
        if looks_like_pem(data) {
            let text =
                std::str::from_utf8(data).map_err(|_| malformed("PEM text is not valid UTF-8"))?;
            pem_blocks(text, "CERTIFICATE")?
                .iter()
                .map(|d| Certificate::from_der(d))
                .collect()
        } else {
            Ok(vec![Certificate::from_der(data)?])
        }
    }

    /// One certificate from a file's bytes, PEM or DER.
    pub fn from_bytes(data: &[u8]) -> CryptoResult<Certificate> {
        Self::all_from_bytes(data)?
            .into_iter()
            .next()
            .ok_or_else(|| malformed("no certificate found"))
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// `-----BEGIN CERTIFICATE-----` PEM.
    pub fn to_pem(&self) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.der)
            .unwrap_or_default()
    }
    /// The subject as `CN=…, O=…, OGRN=…`.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The subject Name's DER (compared byte for byte when matching issuers).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_raw
    }
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_raw
    }
    /// The serial number, big-endian without leading zeros.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }
    /// The serial as people read it (`e5:e3:…`).
    pub fn serial_hex(&self) -> String {
        hex_colon(&self.serial)
    }
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }
    pub fn key_usage(&self) -> Option<KeyUsageBits> {
        self.key_usage
    }
    /// basicConstraints cA (None when the extension is absent).
    pub fn is_ca(&self) -> Option<bool> {
        self.ca
    }
    pub fn is_self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }
    pub fn qualified_attributes(&self) -> QualifiedAttributes {
        self.attributes.clone()
    }
    /// A short description for messages: the common name (or the subject) and the serial.
    pub fn describe(&self) -> String {
        let who = self
            .attributes
            .common_name
            .clone()
            .unwrap_or_else(|| self.subject.clone());
        format!("«{who}» (serial {})", self.serial_hex())
    }

    /// Classifies the certificate from its subject attributes.
    pub fn kind(&self) -> CertificateKind {
        let q = &self.attributes;
        if q.ogrnip.is_some() {
            return CertificateKind::IndividualEntrepreneur;
        }
        let org = q.ogrn.is_some() || q.innle.is_some();
        let person = q.snils.is_some() || q.surname.is_some() || q.given_name.is_some();
        match (org, person) {
            (true, true) => CertificateKind::Employee,
            (true, false) => CertificateKind::Organization,
            (false, true) if q.snils.is_some() => CertificateKind::PrivatePerson,
            _ => CertificateKind::Unidentified,
        }
    }

    /// The GOST parameter set of the subject key.
    pub fn param_set(&self) -> CryptoResult<ParamSet> {
        let is_512 = match self.key_algorithm.as_str() {
            oid::GOST_KEY_256 => false,
            oid::GOST_KEY_512 => true,
            other => {
                return Err(malformed(format!(
                    "certificate {} has a key of algorithm {other}, not GOST R 34.10-2012",
                    self.describe()
                )));
            }
        };
        let ps_oid = self.key_param_set.as_deref().ok_or_else(|| {
            malformed(format!(
                "certificate {} names no GOST key parameter set",
                self.describe()
            ))
        })?;
        let ps = ParamSet::from_oid(ps_oid).ok_or_else(|| {
            malformed(format!(
                "certificate {}: unknown GOST parameter set {ps_oid}",
                self.describe()
            ))
        })?;
        if ps.is_512() != is_512 {
            return Err(malformed(format!(
                "certificate {}: parameter set {ps_oid} does not fit key algorithm {}",
                self.describe(),
                self.key_algorithm
            )));
        }
        Ok(ps)
    }

    /// The subject's GOST public key (the OCTET STRING LE(X)‖LE(Y) checked to be on the curve).
    pub fn public_key(&self) -> CryptoResult<PublicKey> {
        let ps = self.param_set()?;
        let octets = self.key_octets.as_deref().ok_or_else(|| {
            malformed(format!(
                "certificate {}: the public key is not an OCTET STRING",
                self.describe()
            ))
        })?;
        if octets.len() != 2 * ps.size() {
            return Err(malformed(format!(
                "certificate {}: public key of {} bytes, expected {}",
                self.describe(),
                octets.len(),
                2 * ps.size()
            )));
        }
        PublicKey::from_le_bytes(ps, octets)
    }

    /// Verifies this certificate's signature with `issuer`'s key (TBS hashed with Streebog per the
    /// signature algorithm; signature s‖r big-endian). Also checks that the names chain.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> CryptoResult<()> {
        if self.issuer_raw != issuer.subject_raw {
            return Err(CryptoError::Untrusted(format!(
                "certificate {} was issued by «{}», not by «{}»",
                self.describe(),
                self.issuer,
                issuer.subject
            )));
        }
        let key = issuer.public_key()?;
        verify_with_algorithm(
            &key,
            &self.signature_algorithm,
            &self.tbs,
            &self.signature,
            &format!("certificate {}", self.describe()),
        )
    }

    /// Refuses a certificate whose keyUsage allows neither digitalSignature nor nonRepudiation
    /// (a certificate without keyUsage may sign, RFC 5280).
    pub fn check_signing_usage(&self) -> CryptoResult<()> {
        match self.key_usage {
            Some(ku) if !ku.digital_signature && !ku.non_repudiation => {
                Err(CryptoError::KeyUsage(format!(
                    "certificate {} does not allow signing (keyUsage has neither digitalSignature nor nonRepudiation)",
                    self.describe()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Expired / NotYetValid at `at`.
    pub fn check_validity(&self, at: DateTime<Utc>) -> CryptoResult<()> {
        if at < self.not_before {
            return Err(CryptoError::NotYetValid(format!(
                "certificate {} is valid from {} (checked at {})",
                self.describe(),
                self.not_before.to_rfc3339(),
                at.to_rfc3339()
            )));
        }
        if at > self.not_after {
            return Err(CryptoError::Expired(format!(
                "certificate {} expired at {} (checked at {})",
                self.describe(),
                self.not_after.to_rfc3339(),
                at.to_rfc3339()
            )));
        }
        Ok(())
    }
}

/// Verifies a GOST signature `sig` (s‖r big-endian) over `data` with `key`, where `alg` is the
/// signature OID (1.2.643.7.1.1.3.2/.3.3) or, as CMS often writes it, the key OID. The algorithm
/// must fit the key size.
pub(crate) fn verify_with_algorithm(
    key: &PublicKey,
    alg: &str,
    data: &[u8],
    sig: &[u8],
    what: &str,
) -> CryptoResult<()> {
    let ps = key.param_set();
    let is_512 = match alg {
        oid::GOST_SIG_256 | oid::GOST_KEY_256 => false,
        oid::GOST_SIG_512 | oid::GOST_KEY_512 => true,
        other => {
            return Err(malformed(format!(
                "{what}: signature algorithm {other} is not GOST R 34.10-2012"
            )));
        }
    };
    if is_512 != ps.is_512() {
        return Err(CryptoError::BadSignature(format!(
            "{what}: signature algorithm {alg} does not fit the signer's {}-bit key",
            ps.size() * 8
        )));
    }
    if sig.len() != 2 * ps.size() {
        return Err(CryptoError::BadSignature(format!(
            "{what}: signature of {} bytes, expected {}",
            sig.len(),
            2 * ps.size()
        )));
    }
    let digest = ps.digest(data);
    key.verify_digest(&digest, sig).map_err(|e| match e {
        CryptoError::BadSignature(m) => {
            CryptoError::BadSignature(format!("{what}: signature does not verify ({m})"))
        }
        other => other,
    })
}
