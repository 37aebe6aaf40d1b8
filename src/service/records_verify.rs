//! Offline verification of a records archive (`orgadm records verify`, `docs/RECORDS.md`): no
//! database, no running service. One pass over the tar reads every file, hashing it with
//! Streebog-256 as it streams and keeping in memory only the manifest and the files of one power
//! of attorney at a time; then, in this order, the first problem is reported:
//!
//! 1. the archive's structure (readable tar, safe paths, regular files, no duplicates);
//! 2. the manifest's detached CAdES-BES signature, by one of the given service certificates;
//! 3. every file against the manifest (archive order: not listed, or a different hash), then
//!    every listed file present;
//! 4. every power of attorney's КЭП: the head's detached CMS over the document's exact bytes,
//!    its signer matched with the principal and head the document names (and likewise each
//!    revocation statement with its revoker); with trust anchors also the chain, CRLs, validity
//!    and key usage at the signing time — the same check (`service::signer`) the service ran
//!    when it accepted them.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::NaiveDateTime;

use crate::crypto::cert::Certificate;
use crate::crypto::cms;
use crate::crypto::streebog::{Streebog256Stream, streebog256};
use crate::crypto::trust::TrustStore;
use crate::domain::records::{
    FORMAT, MANIFEST, MANIFEST_SIG, Manifest, PoaFile, safe_path, sig_path,
};
use crate::xml;

use super::signer::{self, ExpectedSigner, Refusal, ValidAt};

/// Files larger than this are hashed but not held (no document or signature is near it).
const MAX_HELD: u64 = 8 * 1024 * 1024;
/// The manifest lists every file; 64 MiB holds several hundred thousand entries.
const MAX_MANIFEST: u64 = 64 * 1024 * 1024;

/// What to check against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The service's certificates: the manifest must be signed by one of them.
    pub certificates: &'a [Certificate],
    /// Trust anchors and CRLs: with them, each КЭП's chain is checked at its signing time.
    pub trust: Option<&'a TrustStore>,
    /// Signing times after this (plus the usual skew) are refused when chains are checked.
    pub now: NaiveDateTime,
}

/// The outcome: what was checked, and the first problem found, if any.
#[derive(Debug, Default)]
pub struct Report {
    /// The manifest, once its signature verified.
    pub manifest: Option<Manifest>,
    /// Files read from the archive (manifest and signature included).
    pub files: usize,
    /// КЭП signatures checked (documents and revocation statements).
    pub signatures: usize,
    pub problem: Option<String>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }
}

struct Found {
    size: u64,
    streebog256: String,
}

/// The held files of one power of attorney's folder until their pairs are complete.
#[derive(Default)]
struct Folder {
    doc: Option<(String, Vec<u8>)>,
    doc_sig: Option<(String, Vec<u8>)>,
    rev: Option<(String, Vec<u8>)>,
    rev_sig: Option<(String, Vec<u8>)>,
}

/// Maps a signature check's refusal to the message the verifier prints.
fn signature_problem(sig: &str, who: &str, what: &str, r: Refusal) -> String {
    match r.reason {
        "SIGNATURE_MALFORMED" | "SIGNATURE_INVALID" => format!(
            "{sig}: the {who}'s signature does not verify over this {what} ({})",
            r.message
        ),
        "SIGNER_MISMATCH" => format!("{sig}: {}", r.message),
        _ => format!(
            "{sig}: the signer's certificate does not hold at the signing time ({}): {}",
            r.reason, r.message
        ),
    }
}

fn check_signature(
    opts: &VerifyOptions<'_>,
    sig: &[u8],
    content: &[u8],
    expected: &ExpectedSigner,
) -> Result<(), Refusal> {
    match opts.trust {
        Some(t) => {
            signer::verify(t, opts.now, sig, content, expected, ValidAt::SigningTime).map(|_| ())
        }
        None => {
            let der = cms::decode_signature_input(sig)?;
            let v = cms::verify_detached(&der, content, &[])?;
            signer::match_signer(&v.signer, expected)
        }
    }
}

fn check_document(
    opts: &VerifyOptions<'_>,
    number: &str,
    (path, bytes): &(String, Vec<u8>),
    (sig_path, sig): &(String, Vec<u8>),
) -> Result<(), String> {
    let doc = xml::parse(bytes)
        .map_err(|e| format!("{path}: not a valid EMCHD_1 document ({}): {e}", e.kind()))?;
    let n = doc.number.hyphenated().to_string();
    if n != number {
        return Err(format!(
            "{path}: the document's НомДовер is {n}, not its folder's {number}"
        ));
    }
    if !path.ends_with(&format!("/{}", doc.file_name())) {
        return Err(format!(
            "{path}: the file is not named after the document's ИдФайл ({})",
            doc.file_name()
        ));
    }
    let h = &doc.head;
    let expected = ExpectedSigner::new(
        &doc.principal.ogrn,
        &doc.principal.inn,
        &h.snils,
        h.inn.as_deref(),
        &h.name.surname,
        &h.name.given_name,
        h.name.patronymic.as_deref(),
    );
    check_signature(opts, sig, bytes, &expected)
        .map_err(|r| signature_problem(sig_path, "head", "document", r))
}

fn check_revocation(
    opts: &VerifyOptions<'_>,
    number: &str,
    (path, bytes): &(String, Vec<u8>),
    (sig_path, sig): &(String, Vec<u8>),
) -> Result<(), String> {
    let st = xml::parse_revocation(bytes).map_err(|e| {
        format!(
            "{path}: not a valid revocation statement ({}): {e}",
            e.kind()
        )
    })?;
    let n = st.power_of_attorney.hyphenated().to_string();
    if n != number {
        return Err(format!(
            "{path}: the statement revokes {n}, not its folder's {number}"
        ));
    }
    let r = &st.revoker;
    let expected = ExpectedSigner::new(
        &st.principal_ogrn,
        &st.principal_inn,
        &r.snils,
        r.inn.as_deref(),
        &r.name.surname,
        &r.name.given_name,
        r.name.patronymic.as_deref(),
    );
    check_signature(opts, sig, bytes, &expected)
        .map_err(|r| signature_problem(sig_path, "revoker", "statement", r))
}

impl Folder {
    /// Checks the pairs that are complete and drops their bytes; the first problem is kept.
    fn check(
        &mut self,
        opts: &VerifyOptions<'_>,
        number: &str,
        report: &mut Report,
        first: &mut Option<String>,
    ) {
        if let (Some(d), Some(s)) = (&self.doc, &self.doc_sig) {
            report.signatures += 1;
            if let Err(p) = check_document(opts, number, d, s) {
                first.get_or_insert(p);
            }
            self.doc = None;
            self.doc_sig = None;
        }
        if let (Some(d), Some(s)) = (&self.rev, &self.rev_sig) {
            report.signatures += 1;
            if let Err(p) = check_revocation(opts, number, d, s) {
                first.get_or_insert(p);
            }
            self.rev = None;
            self.rev_sig = None;
        }
    }
}

/// Verifies the manifest's signature: returns the signer when it is one of `certs`.
fn check_manifest_signature(
    manifest: &[u8],
    sig: &[u8],
    certs: &[Certificate],
) -> Result<Certificate, String> {
    let der = cms::decode_signature_input(sig)
        .map_err(|e| format!("{MANIFEST_SIG} is not a CMS signature: {e}"))?;
    let v = cms::verify_detached(&der, manifest, certs)
        .map_err(|e| format!("manifest signature does not verify over {MANIFEST}: {e}"))?;
    if !certs.contains(&v.signer) {
        return Err(format!(
            "manifest signature is not by the given certificate: it was made by {}",
            v.signer.describe()
        ));
    }
    Ok(v.signer)
}

/// Reads one entry fully, hashing it; holds its bytes when `hold` and not beyond `limit`.
fn read_entry(
    entry: &mut impl Read,
    hold: bool,
    limit: u64,
) -> std::io::Result<(Found, Option<Vec<u8>>)> {
    let mut hash = Streebog256Stream::new();
    let mut held = hold.then(Vec::new);
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
        if size > limit {
            held = None;
        }
        if let Some(h) = held.as_mut() {
            h.extend_from_slice(&buf[..n]);
        }
    }
    Ok((
        Found {
            size,
            streebog256: hex::encode(hash.finish()),
        },
        held,
    ))
}

/// Verifies an archive read from `input`.
pub fn verify_archive(input: impl Read, opts: &VerifyOptions<'_>) -> Report {
    let mut report = Report::default();
    match run(input, opts, &mut report) {
        Ok(()) => {}
        Err(p) => report.problem = Some(p),
    }
    report
}

fn run(input: impl Read, opts: &VerifyOptions<'_>, report: &mut Report) -> Result<(), String> {
    let mut found: HashMap<String, Found> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut manifest_sig: Option<Vec<u8>> = None;
    let mut folders: HashMap<String, Folder> = HashMap::new();
    let mut first_kep: Option<String> = None;

    let mut archive = tar::Archive::new(input);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the archive is damaged: {e}"))?;
        let path = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| "a file in the archive has a name that is not UTF-8".to_owned())?;
        if !safe_path(&path) {
            return Err(format!("unsafe path in the archive: {path:?}"));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(format!("not a regular file in the archive: {path}"));
        }
        if found.contains_key(&path) {
            return Err(format!("file appears twice in the archive: {path}"));
        }
        let poa = PoaFile::of(&path);
        let is_manifest = path == MANIFEST || path == MANIFEST_SIG;
        let hold =
            is_manifest || matches!(poa, Some(ref p) if !matches!(p, PoaFile::ImportResult { .. }));
        let limit = if is_manifest { MAX_MANIFEST } else { MAX_HELD };
        let (f, held) = read_entry(&mut entry, hold, limit)
            .map_err(|e| format!("the archive is damaged at {path}: {e}"))?;
        report.files += 1;
        if is_manifest && held.is_none() {
            return Err(format!("{path} is larger than {MAX_MANIFEST} bytes"));
        }
        if path == MANIFEST {
            manifest_bytes = held;
        } else if path == MANIFEST_SIG {
            manifest_sig = held;
        } else if let (Some(p), Some(bytes)) = (poa, held) {
            let (number, slot) = match p {
                PoaFile::Document { number } => (number, 0),
                PoaFile::DocumentSignature { number } => (number, 1),
                PoaFile::Revocation { number } => (number, 2),
                PoaFile::RevocationSignature { number } => (number, 3),
                PoaFile::ImportResult { number } => (number, 4),
            };
            let folder = folders.entry(number.to_owned()).or_default();
            let item = Some((path.clone(), bytes));
            match slot {
                0 => folder.doc = item,
                1 => folder.doc_sig = item,
                2 => folder.rev = item,
                3 => folder.rev_sig = item,
                _ => {}
            }
            folder.check(opts, number, report, &mut first_kep);
        }
        order.push(path.clone());
        found.insert(path, f);
    }

    let manifest_bytes = manifest_bytes.ok_or_else(|| format!("the archive has no {MANIFEST}"))?;
    let manifest_sig = manifest_sig
        .ok_or_else(|| format!("the archive has no {MANIFEST_SIG}: the manifest is not signed"))?;
    let signer = check_manifest_signature(&manifest_bytes, &manifest_sig, opts.certificates)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| format!("{MANIFEST} is not a records manifest: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!(
            "{MANIFEST} has format {:?}; this verifier reads {FORMAT}",
            manifest.format
        ));
    }
    let fingerprint = hex::encode(streebog256(signer.der()));
    if manifest.service_certificate.streebog256 != fingerprint {
        return Err(format!(
            "{MANIFEST} names the service certificate {}, but {fingerprint} signed it",
            manifest.service_certificate.streebog256
        ));
    }
    report.manifest = Some(manifest.clone());
    let mut listed = HashMap::new();
    for m in &manifest.files {
        if listed.insert(m.path.as_str(), m).is_some() {
            return Err(format!("{MANIFEST} lists {} twice", m.path));
        }
    }
    for path in &order {
        if path == MANIFEST || path == MANIFEST_SIG {
            continue;
        }
        let f = &found[path];
        let Some(m) = listed.get(path.as_str()) else {
            return Err(format!("file not in the manifest: {path}"));
        };
        if m.streebog256 != f.streebog256 {
            return Err(format!("{path}: Streebog-256 differs from the manifest"));
        }
        if m.size != f.size {
            return Err(format!(
                "{path}: {} bytes, the manifest says {}",
                f.size, m.size
            ));
        }
    }
    for m in &manifest.files {
        if !found.contains_key(&m.path) {
            return Err(format!(
                "file listed in the manifest is missing: {}",
                m.path
            ));
        }
    }
    // Every document and revocation statement comes with its signature.
    let paths: HashSet<&str> = listed.keys().copied().collect();
    for m in &manifest.files {
        if matches!(
            PoaFile::of(&m.path),
            Some(PoaFile::Document { .. } | PoaFile::Revocation { .. })
        ) && !paths.contains(sig_path(&m.path).as_str())
        {
            return Err(format!("{}: its signature is not in the archive", m.path));
        }
    }
    match first_kep {
        Some(p) => Err(p),
        None => Ok(()),
    }
}
