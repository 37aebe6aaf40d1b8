//! Trust anchors, intermediate certificates and CRLs from one directory, and path validation.
//!
//! [`TrustStore::from_dir`] reads every file of the directory: certificates (PEM, possibly several
//! per file, or DER) and CRLs (`*.crl`, or PEM `X509 CRL` blocks, or DER that parses as a CRL). A
//! self-signed certificate is a trust anchor; any other is an intermediate that may be used to build
//! a path. [`TrustStore::verify_chain`] builds the path from the end-entity certificate to an anchor,
//! checking at every step: the issuer's signature, validity at the given time, that issuers are CAs
//! (basicConstraints cA, keyCertSign when keyUsage is present), and the issuer's CRL (a listed serial
//! is `Revoked`; a CRL whose signature does not verify is ignored with `Untrusted`).
use std::path::Path;

use chrono::{DateTime, Utc};
use x509_parser::prelude::{CertificateRevocationList, FromDer};

use super::cert::{Certificate, name_to_string, verify_with_algorithm};
use super::encoding::{from_unix, hex_colon, looks_like_pem, pem_blocks, trim_be};
use super::error::{CryptoError, CryptoResult};

/// The longest path accepted (end entity, intermediates, anchor).
const MAX_PATH: usize = 8;

/// A parsed certificate revocation list.
#[derive(Clone, Debug)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Vec<u8>,
    signature_algorithm: String,
    signature: Vec<u8>,
    issuer: String,
    issuer_raw: Vec<u8>,
    this_update: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    revoked: Vec<(Vec<u8>, DateTime<Utc>)>,
}

impl Crl {
    pub fn from_der(der: &[u8]) -> CryptoResult<Crl> {
        let (rest, crl) = CertificateRevocationList::from_der(der)
            .map_err(|e| CryptoError::Malformed(format!("not a CRL: {e}")))?;
        if !rest.is_empty() {
            return Err(CryptoError::Malformed(format!(
                "{} bytes follow the CRL",
                rest.len()
            )));
        }
        let tbs = &crl.tbs_cert_list;
        let mut revoked = Vec::new();
        for r in tbs.revoked_certificates.iter() {
            revoked.push((
                trim_be(r.raw_serial()).to_vec(),
                from_unix(r.revocation_date.timestamp())?,
            ));
        }
        Ok(Crl {
            der: crl.as_raw().to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature_algorithm: crl.signature_algorithm.algorithm.to_id_string(),
            signature: crl.signature_value.data.to_vec(),
            issuer: name_to_string(&tbs.issuer),
            issuer_raw: tbs.issuer.as_raw().to_vec(),
            this_update: from_unix(tbs.this_update.timestamp())?,
            next_update: tbs
                .next_update
                .map(|t| from_unix(t.timestamp()))
                .transpose()?,
            revoked,
        })
    }

    /// Every CRL in a file's bytes (PEM `X509 CRL` blocks, or one DER CRL).
    pub fn all_from_bytes(data: &[u8]) -> CryptoResult<Vec<Crl>> {
        if looks_like_pem(data) {
            let text = std::str::from_utf8(data)
                .map_err(|_| CryptoError::Malformed("PEM text is not valid UTF-8".into()))?;
            pem_blocks(text, "X509 CRL")?
                .iter()
                .map(|d| Crl::from_der(d))
                .collect()
        } else {
            Ok(vec![Crl::from_der(data)?])
        }
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn this_update(&self) -> DateTime<Utc> {
        self.this_update
    }
    pub fn next_update(&self) -> Option<DateTime<Utc>> {
        self.next_update
    }
    /// When the serial (big-endian) is listed, its revocation date.
    pub fn revoked_at(&self, serial: &[u8]) -> Option<DateTime<Utc>> {
        let serial = trim_be(serial);
        self.revoked
            .iter()
            .find(|(s, _)| s.as_slice() == serial)
            .map(|(_, t)| *t)
    }
    /// Verifies the CRL's signature with the issuer's key.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> CryptoResult<()> {
        if self.issuer_raw != issuer.subject_der() {
            return Err(CryptoError::Untrusted(format!(
                "the CRL of «{}» is not issued by «{}»",
                self.issuer,
                issuer.subject()
            )));
        }
        if issuer.key_usage().is_some_and(|ku| !ku.crl_sign) {
            return Err(CryptoError::KeyUsage(format!(
                "certificate {} may not sign CRLs (keyUsage lacks cRLSign)",
                issuer.describe()
            )));
        }
        let key = issuer.public_key()?;
        verify_with_algorithm(
            &key,
            &self.signature_algorithm,
            &self.tbs,
            &self.signature,
            &format!("CRL of «{}»", self.issuer),
        )
    }
}

/// Root and intermediate certificates and CRLs.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
    intermediates: Vec<Certificate>,
    crls: Vec<Crl>,
}

impl TrustStore {
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Loads every certificate and CRL from the files of `dir` (not recursive). A file that is
    /// neither is an error naming the file, so a typo in the directory does not go unnoticed.
    pub fn from_dir(dir: impl AsRef<Path>) -> CryptoResult<TrustStore> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            CryptoError::Malformed(format!(
                "cannot read the trust directory {}: {e}",
                dir.display()
            ))
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut store = TrustStore::new();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.')
                || name.ends_with(".key.pem")
                || name.ends_with(".key")
                || name.ends_with(".md")
                || name.ends_with(".tsv")
                || name.ends_with(".txt")
            {
                continue;
            }
            let data = std::fs::read(&path).map_err(|e| {
                CryptoError::Malformed(format!("cannot read {}: {e}", path.display()))
            })?;
            store
                .add_bytes(&data)
                .map_err(|e| CryptoError::Malformed(format!("{}: {e}", path.display())))?;
        }
        if store.anchors.is_empty() {
            return Err(CryptoError::Untrusted(format!(
                "the trust directory {} holds no self-signed root certificate",
                dir.display()
            )));
        }
        Ok(store)
    }

    /// Adds the certificates and CRLs found in one file's bytes (PEM or DER).
    pub fn add_bytes(&mut self, data: &[u8]) -> CryptoResult<()> {
        if looks_like_pem(data) {
            let text = std::str::from_utf8(data)
                .map_err(|_| CryptoError::Malformed("PEM text is not valid UTF-8".into()))?;
            let certs = pem_blocks(text, "CERTIFICATE")?;
            let crls = pem_blocks(text, "X509 CRL")?;
            if certs.is_empty() && crls.is_empty() {
                return Err(CryptoError::Malformed(
                    "no CERTIFICATE or X509 CRL PEM block".into(),
                ));
            }
            for c in certs {
                self.add_certificate(Certificate::from_der(&c)?);
            }
            for c in crls {
                self.crls.push(Crl::from_der(&c)?);
            }
            return Ok(());
        }
        match Certificate::from_der(data) {
            Ok(c) => {
                self.add_certificate(c);
                Ok(())
            }
            Err(cert_err) => match Crl::from_der(data) {
                Ok(crl) => {
                    self.crls.push(crl);
                    Ok(())
                }
                Err(_) => Err(cert_err),
            },
        }
    }

    /// A self-issued certificate becomes an anchor, any other an intermediate.
    pub fn add_certificate(&mut self, cert: Certificate) {
        let list = if cert.is_self_issued() {
            &mut self.anchors
        } else {
            &mut self.intermediates
        };
        if !list.contains(&cert) {
            list.push(cert);
        }
    }

    pub fn add_crl(&mut self, crl: Crl) {
        self.crls.push(crl);
    }

    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// Builds and checks the path from `cert` to a trust anchor, returning it (end entity first,
    /// anchor last). `extra` are untrusted certificates that may serve as intermediates (e.g. those
    /// embedded in a CMS message).
    pub fn verify_chain(
        &self,
        cert: &Certificate,
        extra: &[Certificate],
        at: DateTime<Utc>,
    ) -> CryptoResult<Vec<Certificate>> {
        let mut path = vec![cert.clone()];
        let mut current = cert.clone();
        // The first failure seen on a candidate issuer, reported when no other candidate works.
        loop {
            current.check_validity(at)?;
            if path.len() > 1 && current.is_self_issued() && self.anchors.contains(&current) {
                // reached an anchor through an intermediate equal to it
                return Ok(path);
            }
            // Is `current` itself an anchor (a root given as the end entity)?
            if path.len() == 1 && self.anchors.contains(&current) {
                return Ok(path);
            }
            if path.len() >= MAX_PATH {
                return Err(CryptoError::Untrusted(format!(
                    "no path to a trust anchor within {MAX_PATH} certificates for {}",
                    cert.describe()
                )));
            }
            let mut first_err: Option<CryptoError> = None;
            let mut next: Option<Certificate> = None;
            let candidates = self
                .anchors
                .iter()
                .chain(self.intermediates.iter())
                .chain(extra.iter())
                .filter(|c| c.subject_der() == current.issuer_der())
                .filter(|c| *c != &current);
            for cand in candidates {
                if let (Some(aki), Some(ski)) = (current.authority_key_id(), cand.subject_key_id())
                    && aki != ski
                {
                    continue;
                }
                match current.verify_signed_by(cand) {
                    Ok(()) => {
                        next = Some(cand.clone());
                        break;
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            let Some(issuer) = next else {
                if let Some(e) = first_err {
                    return Err(e);
                }
                return Err(CryptoError::Untrusted(format!(
                    "certificate {} was issued by «{}», which is not among the trusted certificates",
                    current.describe(),
                    current.issuer()
                )));
            };
            check_issuer(&issuer)?;
            self.check_revocation(&current, &issuer, at)?;
            path.push(issuer.clone());
            if self.anchors.contains(&issuer) {
                issuer.check_validity(at)?;
                return Ok(path);
            }
            if issuer.is_self_issued() {
                return Err(CryptoError::Untrusted(format!(
                    "certificate {} chains to the root «{}», which is not a configured trust anchor",
                    cert.describe(),
                    issuer.subject()
                )));
            }
            current = issuer;
        }
    }

    /// Looks `cert` up in the CRLs issued by `issuer` (only CRLs whose signature verifies count).
    fn check_revocation(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: DateTime<Utc>,
    ) -> CryptoResult<()> {
        for crl in self
            .crls
            .iter()
            .filter(|c| c.issuer_raw == issuer.subject_der())
        {
            crl.verify_signed_by(issuer).map_err(|e| {
                CryptoError::Untrusted(format!(
                    "the CRL of «{}» in the trust directory does not verify: {e}",
                    crl.issuer
                ))
            })?;
            if let Some(when) = crl.revoked_at(cert.serial()).filter(|w| *w <= at) {
                return Err(CryptoError::Revoked(format!(
                    "certificate {} was revoked at {} (CRL of «{}», serial {})",
                    cert.describe(),
                    when.to_rfc3339(),
                    crl.issuer,
                    hex_colon(cert.serial())
                )));
            }
        }
        Ok(())
    }
}

/// An issuer must be a CA: basicConstraints cA=TRUE and, when keyUsage is present, keyCertSign.
fn check_issuer(issuer: &Certificate) -> CryptoResult<()> {
    if issuer.is_ca() != Some(true) {
        return Err(CryptoError::Untrusted(format!(
            "certificate {} issued another certificate but is not a CA (basicConstraints cA is not set)",
            issuer.describe()
        )));
    }
    if issuer.key_usage().is_some_and(|ku| !ku.key_cert_sign) {
        return Err(CryptoError::KeyUsage(format!(
            "certificate {} may not sign certificates (keyUsage lacks keyCertSign)",
            issuer.describe()
        )));
    }
    Ok(())
}
