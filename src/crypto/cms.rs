//! CMS SignedData (RFC 5652) with GOST R 34.10-2012 / Streebog (RFC 4490, RFC 9215): verification
//! of detached and attached signatures, and CAdES-BES production.
//!
//! DER encoding and decoding use RustCrypto's `der` with the `cms` and `x509-cert` types. Two
//! structures are declared here rather than taken from `cms`: [`SignedDataRaw`] and
//! [`SignerInfoRaw`] keep the embedded certificates and the signed attributes as the raw elements
//! the sender wrote. The `cms` crate decodes a SET OF by sorting it and decodes certificates into
//! typed values, so re-encoding could differ from what the sender signed; the signature over the
//! signed attributes is checked over the sender's own element bytes under a SET tag (RFC 5652 §5.4),
//! and certificates reach x509-parser byte for byte. Producing uses the `cms` crate's types.
//!
//! Byte orders: the SignerInfo signature OCTET STRING is s‖r, each big-endian (what OpenSSL's GOST
//! engine writes; verified against the fixtures); digests are raw Streebog output. See docs/CRYPTO.md.
use chrono::{DateTime, Datelike, Utc};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData as CmsSignedData, SignerIdentifier,
    SignerInfo as CmsSignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::cert::{Certificate, oid as x509oid, verify_with_algorithm};
use super::error::{CryptoError, CryptoResult};
use super::gost3410::{ParamSet, PrivateKey};

/// OIDs used in CMS.
pub mod oid {
    pub const DATA: &str = "1.2.840.113549.1.7.1";
    pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    pub const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
    pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
    pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
    pub const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
    pub const SIGNATURE_TIMESTAMP: &str = "1.2.840.113549.1.9.16.2.14";
}

/// Largest signature input accepted by [`decode_signature_input`] (a CMS message carrying a few
/// certificates is a few kilobytes; attached content makes it larger).
pub const MAX_SIGNATURE_INPUT: usize = 16 * 1024 * 1024;

fn malformed(m: impl std::fmt::Display) -> CryptoError {
    CryptoError::Malformed(m.to_string())
}

fn const_oid(s: &str) -> CryptoResult<ObjectIdentifier> {
    ObjectIdentifier::new(s).map_err(|e| malformed(format!("bad OID {s}: {e}")))
}

/// Accepts a signature as DER, or as base64 text in the standard or URL-safe alphabet, with or
/// without padding, percent-encoded or not, with whitespace and line breaks anywhere (also PEM
/// `-----BEGIN CMS-----`/`PKCS7` armour). Returns the DER bytes.
pub fn decode_signature_input(input: &[u8]) -> CryptoResult<Vec<u8>> {
    if input.len() > MAX_SIGNATURE_INPUT {
        return Err(malformed(format!(
            "the signature is {} bytes, more than the {MAX_SIGNATURE_INPUT} accepted",
            input.len()
        )));
    }
    if input.is_empty() {
        return Err(malformed("the signature is empty"));
    }
    // DER: a SEQUENCE tag first.
    if input[0] == 0x30 {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| malformed("the signature is neither DER nor base64 text"))?;
    // PEM armour: take the body between the lines.
    let mut body = String::with_capacity(text.len());
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("-----") {
            continue;
        }
        body.push_str(l);
    }
    let mut t: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if t.contains('%') {
        t = percent_decode(&t)?;
        t.retain(|c| !c.is_whitespace());
    }
    // Form-encoded `+` that became a space was removed above; map both alphabets onto one.
    let t: String = t
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let der = engine.decode(t.as_bytes()).map_err(|e| {
        malformed(format!(
            "the signature is neither DER nor valid base64: {e}"
        ))
    })?;
    if der.first() != Some(&0x30) {
        return Err(malformed(
            "the decoded signature is not a DER SEQUENCE (a CMS ContentInfo)",
        ));
    }
    Ok(der)
}

fn percent_decode(s: &str) -> CryptoResult<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| malformed("bad percent-encoding in the signature"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| malformed("percent-decoded signature is not text"))
}

/// ContentInfo with SignedData, keeping raw certificates (see the module doc).
#[derive(Sequence)]
struct ContentInfoRaw {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: SignedDataRaw,
}

#[derive(Sequence)]
struct SignedDataRaw {
    version: CmsVersion,
    digest_algorithms: Any,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<Vec<Any>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<Vec<Any>>,
    signer_infos: Any,
}

#[derive(Sequence)]
struct SignerInfoRaw {
    version: CmsVersion,
    sid: SignerIdentifier,
    digest_alg: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    signed_attrs: Option<Vec<Any>>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: OctetString,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    unsigned_attrs: Option<Vec<Any>>,
}

/// How a SignerInfo names its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerId {
    /// The issuer Name's DER and the serial (big-endian, no leading zeros).
    IssuerSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// subjectKeyIdentifier.
    KeyId(Vec<u8>),
}

/// One signed attribute: its OID and the DER of each value.
#[derive(Clone, Debug)]
pub struct CmsAttribute {
    pub oid: String,
    pub values: Vec<Vec<u8>>,
}

/// A decoded SignerInfo.
#[derive(Clone, Debug)]
pub struct SignerInfo {
    pub sid: SignerId,
    pub digest_oid: String,
    pub signature_oid: String,
    /// The signed attributes, and the bytes the signature covers (`SET OF` with the sender's elements).
    pub signed_attrs: Option<(Vec<CmsAttribute>, Vec<u8>)>,
    pub signature: Vec<u8>,
    pub unsigned_attr_oids: Vec<String>,
}

/// A decoded CMS SignedData.
#[derive(Clone, Debug)]
pub struct SignedData {
    pub content_type: String,
    /// The encapsulated content (attached signatures); `None` when detached.
    pub content: Option<Vec<u8>>,
    pub certificates: Vec<Certificate>,
    pub signers: Vec<SignerInfo>,
}

fn decode_attrs(elems: &[Any]) -> CryptoResult<Vec<CmsAttribute>> {
    let mut out = Vec::with_capacity(elems.len());
    for e in elems {
        let der = e
            .to_der()
            .map_err(|err| malformed(format!("bad attribute: {err}")))?;
        let a =
            Attribute::from_der(&der).map_err(|err| malformed(format!("bad attribute: {err}")))?;
        let mut values = Vec::new();
        for v in a.values.iter() {
            values.push(
                v.to_der()
                    .map_err(|err| malformed(format!("bad attribute value: {err}")))?,
            );
        }
        out.push(CmsAttribute {
            oid: a.oid.to_string(),
            values,
        });
    }
    Ok(out)
}

/// `SET OF` around the sender's attribute elements: the bytes a CMS signature over signed
/// attributes covers (RFC 5652 §5.4).
fn signed_attrs_set(elems: &[Any]) -> CryptoResult<Vec<u8>> {
    let mut body = Vec::new();
    for e in elems {
        body.extend(
            e.to_der()
                .map_err(|err| malformed(format!("bad attribute: {err}")))?,
        );
    }
    let set = Any::new(Tag::Set, body).map_err(|e| malformed(format!("bad attributes: {e}")))?;
    set.to_der()
        .map_err(|e| malformed(format!("bad attributes: {e}")))
}

impl SignedData {
    /// Decodes a DER ContentInfo holding SignedData.
    pub fn from_der(der: &[u8]) -> CryptoResult<SignedData> {
        let ci = ContentInfoRaw::from_der(der)
            .map_err(|e| malformed(format!("not a DER CMS SignedData message: {e}")))?;
        if ci.content_type.to_string() != oid::SIGNED_DATA {
            return Err(malformed(format!(
                "the CMS message holds {}, not SignedData",
                ci.content_type
            )));
        }
        let sd = ci.content;
        let content = match &sd.encap_content_info.econtent {
            None => None,
            Some(any) if any.tag() == Tag::OctetString => Some(any.value().to_vec()),
            Some(any) => {
                return Err(malformed(format!(
                    "the encapsulated content is a {}, expected OCTET STRING",
                    any.tag()
                )));
            }
        };
        let mut certificates = Vec::new();
        for c in sd.certificates.as_deref().unwrap_or(&[]) {
            // Only plain certificates (tag SEQUENCE); attribute/other certificate formats are skipped.
            if c.tag() != Tag::Sequence {
                continue;
            }
            let der = c
                .to_der()
                .map_err(|e| malformed(format!("bad embedded certificate: {e}")))?;
            certificates.push(
                Certificate::from_der(&der).map_err(|e| {
                    malformed(format!("an embedded certificate does not parse: {e}"))
                })?,
            );
        }
        if sd.signer_infos.tag() != Tag::Set {
            return Err(malformed("signerInfos is not a SET"));
        }
        let mut reader = SliceReader::new(sd.signer_infos.value())
            .map_err(|e| malformed(format!("bad signerInfos: {e}")))?;
        let mut signers = Vec::new();
        while !reader.is_finished() {
            let si = SignerInfoRaw::decode(&mut reader)
                .map_err(|e| malformed(format!("bad SignerInfo: {e}")))?;
            let sid = match &si.sid {
                SignerIdentifier::IssuerAndSerialNumber(ias) => SignerId::IssuerSerial {
                    issuer: ias
                        .issuer
                        .to_der()
                        .map_err(|e| malformed(format!("bad signer issuer: {e}")))?,
                    serial: super::encoding::trim_be(ias.serial_number.as_bytes()).to_vec(),
                },
                SignerIdentifier::SubjectKeyIdentifier(k) => {
                    SignerId::KeyId(k.0.as_bytes().to_vec())
                }
            };
            let signed_attrs = match &si.signed_attrs {
                None => None,
                Some(elems) => Some((decode_attrs(elems)?, signed_attrs_set(elems)?)),
            };
            let mut unsigned_attr_oids = Vec::new();
            for a in decode_attrs(si.unsigned_attrs.as_deref().unwrap_or(&[]))? {
                unsigned_attr_oids.push(a.oid);
            }
            signers.push(SignerInfo {
                sid,
                digest_oid: si.digest_alg.oid.to_string(),
                signature_oid: si.signature_algorithm.oid.to_string(),
                signed_attrs,
                signature: si.signature.into_bytes(),
                unsigned_attr_oids,
            });
        }
        if signers.is_empty() {
            return Err(malformed("the CMS message has no signer"));
        }
        Ok(SignedData {
            content_type: sd.encap_content_info.econtent_type.to_string(),
            content,
            certificates,
            signers,
        })
    }
}

/// The outcome of a verified signature. The chain is not checked here: pass `signer` to
/// [`super::trust::TrustStore::verify_chain`] with `certificates` as the extra certificates.
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    pub signer: Certificate,
    /// The certificates embedded in the message.
    pub certificates: Vec<Certificate>,
    pub signing_time: Option<DateTime<Utc>>,
    /// The signed content (attached signatures; for detached ones, the content that was passed).
    pub content: Option<Vec<u8>>,
    pub digest_oid: String,
    /// True when an unsigned signature timestamp (CAdES-T) is present. Its token is not verified.
    pub has_timestamp: bool,
    /// True when the signed attributes include signingCertificateV2 (CAdES-BES).
    pub has_signing_certificate: bool,
}

/// Verifies a detached signature `der` over `content`. `extra_certs` are used, in addition to
/// the certificates inside the message, to find the signer.
pub fn verify_detached(
    der: &[u8],
    content: &[u8],
    extra_certs: &[Certificate],
) -> CryptoResult<VerifiedSignature> {
    let sd = SignedData::from_der(der)?;
    if sd.content.is_some() {
        // An attached signature whose content is also given: the two must agree.
        if sd.content.as_deref() != Some(content) {
            return Err(CryptoError::BadSignature(
                "the signature carries content that differs from the given content".into(),
            ));
        }
    }
    verify_signed_data(&sd, content, extra_certs)
}

/// Verifies an attached signature; the content comes out in [`VerifiedSignature::content`].
pub fn verify_attached(der: &[u8], extra_certs: &[Certificate]) -> CryptoResult<VerifiedSignature> {
    let sd = SignedData::from_der(der)?;
    let content = sd.content.clone().ok_or_else(|| {
        malformed("the signature is detached: it carries no content (give the signed file too)")
    })?;
    verify_signed_data(&sd, &content, extra_certs)
}

/// Detached when `content` is given, attached otherwise.
pub fn verify_any(
    der: &[u8],
    content: Option<&[u8]>,
    extra_certs: &[Certificate],
) -> CryptoResult<VerifiedSignature> {
    match content {
        Some(c) => verify_detached(der, c, extra_certs),
        None => verify_attached(der, extra_certs),
    }
}

fn digest_with(oid_s: &str, data: &[u8]) -> CryptoResult<Vec<u8>> {
    match oid_s {
        x509oid::STREEBOG_256 => Ok(super::streebog::streebog256(data).to_vec()),
        x509oid::STREEBOG_512 => Ok(super::streebog::streebog512(data).to_vec()),
        other => Err(malformed(format!(
            "digest algorithm {other} is not Streebog (GOST R 34.11-2012)"
        ))),
    }
}

fn find_signer<'a>(
    sid: &SignerId,
    certs: impl Iterator<Item = &'a Certificate>,
) -> Option<&'a Certificate> {
    let mut certs = certs;
    certs.find(|c| match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            c.issuer_der() == issuer.as_slice() && c.serial() == serial.as_slice()
        }
        SignerId::KeyId(k) => c.subject_key_id() == Some(k.as_slice()),
    })
}

fn one_value<'a>(
    attrs: &'a [CmsAttribute],
    oid_s: &str,
    name: &str,
) -> CryptoResult<Option<&'a [u8]>> {
    let mut found = attrs.iter().filter(|a| a.oid == oid_s);
    let Some(a) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || a.values.len() != 1 {
        return Err(malformed(format!(
            "the signed attribute {name} must appear once with one value"
        )));
    }
    Ok(a.values.first().map(Vec::as_slice))
}

fn verify_signed_data(
    sd: &SignedData,
    content: &[u8],
    extra_certs: &[Certificate],
) -> CryptoResult<VerifiedSignature> {
    let mut first: Option<VerifiedSignature> = None;
    for si in &sd.signers {
        let v = verify_signer(sd, si, content, extra_certs)?;
        first.get_or_insert(v);
    }
    first.ok_or_else(|| malformed("the CMS message has no signer"))
}

fn verify_signer(
    sd: &SignedData,
    si: &SignerInfo,
    content: &[u8],
    extra_certs: &[Certificate],
) -> CryptoResult<VerifiedSignature> {
    let signer = find_signer(&si.sid, sd.certificates.iter().chain(extra_certs.iter()))
        .ok_or_else(|| {
            let who = match &si.sid {
                SignerId::IssuerSerial { serial, .. } => {
                    format!("serial {}", super::encoding::hex_colon(serial))
                }
                SignerId::KeyId(k) => format!("key identifier {}", super::encoding::hex_colon(k)),
            };
            CryptoError::Untrusted(format!(
                "the signer's certificate ({who}) is neither in the message nor among the supplied certificates"
            ))
        })?
        .clone();
    let key = signer.public_key()?;
    let ps: ParamSet = key.param_set();
    let expected_digest = if ps.is_512() {
        x509oid::STREEBOG_512
    } else {
        x509oid::STREEBOG_256
    };
    if si.digest_oid != expected_digest {
        return Err(malformed(format!(
            "digest algorithm {} does not fit the signer's {}-bit GOST key (expected {expected_digest})",
            si.digest_oid,
            ps.size() * 8
        )));
    }
    let digest = digest_with(&si.digest_oid, content)?;
    let what = format!("signature of {}", signer.describe());
    let mut signing_time = None;
    let mut has_signing_certificate = false;
    match &si.signed_attrs {
        Some((attrs, set_der)) => {
            let md = one_value(attrs, oid::MESSAGE_DIGEST, "messageDigest")?
                .ok_or_else(|| malformed("the signed attributes lack messageDigest"))?;
            let md = OctetString::from_der(md)
                .map_err(|e| malformed(format!("bad messageDigest: {e}")))?;
            if md.as_bytes() != digest.as_slice() {
                return Err(CryptoError::BadSignature(
                    "the content does not match the signature (messageDigest differs): the file was changed or is not the one signed".into(),
                ));
            }
            let ct = one_value(attrs, oid::CONTENT_TYPE, "contentType")?
                .ok_or_else(|| malformed("the signed attributes lack contentType"))?;
            let ct = ObjectIdentifier::from_der(ct)
                .map_err(|e| malformed(format!("bad contentType: {e}")))?;
            if ct.to_string() != sd.content_type {
                return Err(CryptoError::BadSignature(format!(
                    "the signed contentType {ct} differs from the message's {}",
                    sd.content_type
                )));
            }
            if let Some(t) = one_value(attrs, oid::SIGNING_TIME, "signingTime")? {
                let t = x509_cert::time::Time::from_der(t)
                    .map_err(|e| malformed(format!("bad signingTime: {e}")))?;
                let d = t.to_unix_duration();
                signing_time = Some(super::encoding::from_unix(
                    i64::try_from(d.as_secs())
                        .map_err(|_| malformed("signingTime out of range"))?,
                )?);
            }
            has_signing_certificate = attrs.iter().any(|a| a.oid == oid::SIGNING_CERTIFICATE_V2);
            verify_with_algorithm(&key, &si.signature_oid, set_der, &si.signature, &what)?;
        }
        None => {
            if sd.content_type != oid::DATA {
                return Err(malformed(
                    "a signature without signed attributes must cover id-data content",
                ));
            }
            check_alg_fits(&si.signature_oid, ps, &what)?;
            if si.signature.len() != 2 * ps.size() {
                return Err(CryptoError::BadSignature(format!(
                    "{what}: signature of {} bytes, expected {}",
                    si.signature.len(),
                    2 * ps.size()
                )));
            }
            key.verify_digest(&digest, &si.signature)
                .map_err(|e| match e {
                    CryptoError::BadSignature(m) => {
                        CryptoError::BadSignature(format!("{what}: does not verify ({m})"))
                    }
                    other => other,
                })?;
        }
    }
    signer.check_signing_usage()?;
    Ok(VerifiedSignature {
        signer,
        certificates: sd.certificates.clone(),
        signing_time,
        content: Some(content.to_vec()),
        digest_oid: si.digest_oid.clone(),
        has_timestamp: si
            .unsigned_attr_oids
            .iter()
            .any(|o| o == oid::SIGNATURE_TIMESTAMP),
        has_signing_certificate,
    })
}

fn check_alg_fits(alg: &str, ps: ParamSet, what: &str) -> CryptoResult<()> {
    let is_512 = match alg {
        x509oid::GOST_SIG_256 | x509oid::GOST_KEY_256 => false,
        x509oid::GOST_SIG_512 | x509oid::GOST_KEY_512 => true,
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
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Producing CAdES-BES

/// ESSCertIDv2 (RFC 5035) with the issuerSerial.
#[derive(Sequence)]
struct EssCertIdV2 {
    hash_algorithm: AlgorithmIdentifierOwned,
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<x509_cert::ext::pkix::name::GeneralName>,
    serial_number: x509_cert::serial_number::SerialNumber,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn attribute(oid_s: &str, value: Any) -> CryptoResult<Attribute> {
    let mut values = SetOfVec::new();
    values
        .insert(value)
        .map_err(|e| malformed(format!("attribute {oid_s}: {e}")))?;
    Ok(Attribute {
        oid: const_oid(oid_s)?,
        values,
    })
}

fn any_of(v: &impl Encode) -> CryptoResult<Any> {
    let der = v
        .to_der()
        .map_err(|e| malformed(format!("encoding: {e}")))?;
    Any::from_der(&der).map_err(|e| malformed(format!("encoding: {e}")))
}

fn signing_time_value(t: DateTime<Utc>) -> CryptoResult<Any> {
    let d = std::time::Duration::from_secs(
        u64::try_from(t.timestamp()).map_err(|_| malformed("signing time before 1970"))?,
    );
    // RFC 5652: UTCTime for 1950–2049, GeneralizedTime otherwise.
    if (1950..2050).contains(&t.year()) {
        any_of(
            &UtcTime::from_unix_duration(d).map_err(|e| malformed(format!("signing time: {e}")))?,
        )
    } else {
        any_of(
            &GeneralizedTime::from_unix_duration(d)
                .map_err(|e| malformed(format!("signing time: {e}")))?,
        )
    }
}

fn alg(oid_s: &str, null_params: bool) -> CryptoResult<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid: const_oid(oid_s)?,
        parameters: if null_params { Some(Any::null()) } else { None },
    })
}

/// A detached CAdES-BES signature (DER) over `content`: signed attributes contentType (id-data),
/// signingTime, messageDigest and signingCertificateV2 (Streebog-256 of the certificate); the
/// certificate is embedded.
pub fn sign_detached(
    key: &PrivateKey,
    cert: &Certificate,
    content: &[u8],
    signing_time: DateTime<Utc>,
) -> CryptoResult<Vec<u8>> {
    sign(key, cert, content, signing_time, false)
}

/// Like [`sign_detached`] with the content inside the message.
pub fn sign_attached(
    key: &PrivateKey,
    cert: &Certificate,
    content: &[u8],
    signing_time: DateTime<Utc>,
) -> CryptoResult<Vec<u8>> {
    sign(key, cert, content, signing_time, true)
}

fn sign(
    key: &PrivateKey,
    cert: &Certificate,
    content: &[u8],
    signing_time: DateTime<Utc>,
    attached: bool,
) -> CryptoResult<Vec<u8>> {
    let ps = key.param_set();
    let cert_key = cert.public_key()?;
    if cert_key.to_le_bytes() != key.public_key().to_le_bytes() || cert_key.param_set() != ps {
        return Err(malformed(format!(
            "the private key does not belong to certificate {}",
            cert.describe()
        )));
    }
    cert.check_signing_usage()?;
    let x509 = x509_cert::Certificate::from_der(cert.der())
        .map_err(|e| malformed(format!("the certificate does not re-encode: {e}")))?;
    let issuer = x509.tbs_certificate.issuer.clone();
    let serial = x509.tbs_certificate.serial_number.clone();
    let digest_oid = ps.digest_oid();
    let digest = ps.digest(content);

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: alg(x509oid::STREEBOG_256, false)?,
            cert_hash: OctetString::new(super::streebog::streebog256(cert.der()).to_vec())
                .map_err(|e| malformed(format!("encoding: {e}")))?,
            issuer_serial: IssuerSerial {
                issuer: vec![x509_cert::ext::pkix::name::GeneralName::DirectoryName(
                    issuer.clone(),
                )],
                serial_number: serial.clone(),
            },
        }],
    };
    let mut attrs: SetOfVec<Attribute> = SetOfVec::new();
    for a in [
        attribute(oid::CONTENT_TYPE, any_of(&const_oid(oid::DATA)?)?)?,
        attribute(oid::SIGNING_TIME, signing_time_value(signing_time)?)?,
        attribute(
            oid::MESSAGE_DIGEST,
            any_of(&OctetString::new(digest).map_err(|e| malformed(format!("encoding: {e}")))?)?,
        )?,
        attribute(oid::SIGNING_CERTIFICATE_V2, any_of(&ess)?)?,
    ] {
        attrs
            .insert(a)
            .map_err(|e| malformed(format!("signed attributes: {e}")))?;
    }
    let attrs_der = attrs
        .to_der()
        .map_err(|e| malformed(format!("signed attributes: {e}")))?;
    let signature = key.sign_digest(&ps.digest(&attrs_der))?;

    let si = CmsSignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }),
        digest_alg: alg(digest_oid, true)?,
        signed_attrs: Some(attrs),
        signature_algorithm: alg(ps.public_key_oid(), true)?,
        signature: OctetString::new(signature).map_err(|e| malformed(format!("encoding: {e}")))?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(alg(digest_oid, true)?)
        .map_err(|e| malformed(format!("encoding: {e}")))?;
    let mut certs = SetOfVec::new();
    certs
        .insert(cms::cert::CertificateChoices::Certificate(x509))
        .map_err(|e| malformed(format!("encoding: {e}")))?;
    let mut signer_infos = SetOfVec::new();
    signer_infos
        .insert(si)
        .map_err(|e| malformed(format!("encoding: {e}")))?;
    let econtent = if attached {
        Some(any_of(
            &OctetString::new(content.to_vec()).map_err(|e| malformed(format!("encoding: {e}")))?,
        )?)
    } else {
        None
    };
    let sd = CmsSignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: const_oid(oid::DATA)?,
            econtent,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let ci = ContentInfo {
        content_type: const_oid(oid::SIGNED_DATA)?,
        content: any_of(&sd)?,
    };
    ci.to_der().map_err(|e| malformed(format!("encoding: {e}")))
}
