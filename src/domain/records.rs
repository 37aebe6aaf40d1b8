//! The records archive of an organisation (`docs/RECORDS.md`): its layout, and the manifest that
//! lists every file with its size and Streebog-256. Pure: the service writes archives with it and
//! the offline verifier (`orgadm records verify`) reads them with it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// The manifest's `format`.
pub const FORMAT: &str = "orgadm-records-v1";
/// The manifest, last but one in the archive.
pub const MANIFEST: &str = "manifest.json";
/// Its detached CAdES-BES signature by the service key (DER), last in the archive.
pub const MANIFEST_SIG: &str = "manifest.json.sig";
/// One JSON object per power of attorney: its stored facts and the files that hold it.
pub const POA_INDEX: &str = "powers-of-attorney.jsonl";
/// The folder of the powers of attorney, one sub-folder per НомДовер.
pub const POA_DIR: &str = "powers-of-attorney";
/// The API-KEY register: metadata, never a secret or its hash.
pub const API_KEYS: &str = "api-keys.jsonl";
/// The token issuance log of the period.
pub const TOKEN_ISSUANCES: &str = "token-issuances.jsonl";
/// In the folder of an imported power of attorney: the result of its import.
pub const IMPORT_RESULT: &str = "import.json";

/// `powers-of-attorney/<НомДовер>/<file>`.
pub fn poa_path(number: &str, file: &str) -> String {
    format!("{POA_DIR}/{number}/{file}")
}

/// The detached signature beside a file: `<file>.sig`.
pub fn sig_path(path: &str) -> String {
    format!("{path}.sig")
}

/// The period of the token issuance log: `[from, to)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// None: from the beginning.
    pub from: Option<NaiveDateTime>,
    /// None: up to the export's snapshot.
    pub to: Option<NaiveDateTime>,
}

/// The organisation an archive is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestOrganization {
    pub oid: i64,
    pub ogrn: String,
    pub inn: String,
    pub name: String,
}

/// The audit chain head the export's snapshot saw: the archive holds the records as of this
/// event; the export's own `records.export` event follows it on the same chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub audit_sequence: i64,
    /// Streebog-256 of that event, hex.
    pub audit_hash: String,
}

/// The certificate of the service key that signed the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSigner {
    pub subject: String,
    pub serial: String,
    /// Streebog-256 of the certificate's DER, hex.
    pub streebog256: String,
}

/// How many records of each kind the archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub powers_of_attorney: u64,
    pub revocations: u64,
    pub imports: u64,
    pub api_keys: u64,
    pub token_issuances: u64,
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    /// Streebog-256 (GOST R 34.11-2012, 256 bits) of the file's bytes, hex.
    pub streebog256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub organization: ManifestOrganization,
    pub period: Period,
    pub generated_at: NaiveDateTime,
    pub snapshot: Option<Snapshot>,
    pub service_certificate: ManifestSigner,
    pub counts: Counts,
    /// Every file of the archive except the manifest and its signature, in archive order.
    pub files: Vec<ManifestFile>,
}

/// Whether `path` is one the archive may hold: relative, `/`-separated, no empty, `.` or `..`
/// part, printable ASCII only (every name the service writes is).
pub fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 255
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// What a path in `powers-of-attorney/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoaFile<'a> {
    /// `ON_EMCHD_<date>_<number>.xml`, the signed document.
    Document {
        number: &'a str,
    },
    /// Its detached signature.
    DocumentSignature {
        number: &'a str,
    },
    /// `ORGADM_REVOCATION_<date>_<number>.xml`, the signed revocation statement.
    Revocation {
        number: &'a str,
    },
    RevocationSignature {
        number: &'a str,
    },
    /// `import.json`.
    ImportResult {
        number: &'a str,
    },
}

impl<'a> PoaFile<'a> {
    /// Recognises a file of a power of attorney's folder; None for any other path.
    pub fn of(path: &'a str) -> Option<PoaFile<'a>> {
        let rest = path.strip_prefix(POA_DIR)?.strip_prefix('/')?;
        let (number, file) = rest.split_once('/')?;
        if file.contains('/') {
            return None;
        }
        let (stem, sig) = match file.strip_suffix(".sig") {
            Some(s) => (s, true),
            None => (file, false),
        };
        if !sig && file == IMPORT_RESULT {
            return Some(PoaFile::ImportResult { number });
        }
        let named = |prefix: &str| {
            stem.strip_prefix(prefix)
                .and_then(|s| s.strip_suffix(".xml"))
                .and_then(|s| s.split_once('_'))
                .is_some_and(|(date, n)| {
                    date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) && n == number
                })
        };
        match (named("ON_EMCHD_"), named("ORGADM_REVOCATION_"), sig) {
            (true, _, false) => Some(PoaFile::Document { number }),
            (true, _, true) => Some(PoaFile::DocumentSignature { number }),
            (_, true, false) => Some(PoaFile::Revocation { number }),
            (_, true, true) => Some(PoaFile::RevocationSignature { number }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "0b3c39b4-6a53-4ff7-8a1b-6d3c4f0e9b10";

    #[test]
    fn poa_files_are_recognised_by_name_and_folder() {
        let doc = poa_path(N, &format!("ON_EMCHD_20260115_{N}.xml"));
        assert_eq!(PoaFile::of(&doc), Some(PoaFile::Document { number: N }));
        assert_eq!(
            PoaFile::of(&sig_path(&doc)),
            Some(PoaFile::DocumentSignature { number: N })
        );
        let rev = poa_path(N, &format!("ORGADM_REVOCATION_20260201_{N}.xml"));
        assert_eq!(PoaFile::of(&rev), Some(PoaFile::Revocation { number: N }));
        assert_eq!(
            PoaFile::of(&sig_path(&rev)),
            Some(PoaFile::RevocationSignature { number: N })
        );
        assert_eq!(
            PoaFile::of(&poa_path(N, IMPORT_RESULT)),
            Some(PoaFile::ImportResult { number: N })
        );
        // A document in another power of attorney's folder, or a stray file, is not one.
        let other = poa_path("x", &format!("ON_EMCHD_20260115_{N}.xml"));
        assert_eq!(PoaFile::of(&other), None);
        assert_eq!(PoaFile::of(&poa_path(N, "notes.txt")), None);
        assert_eq!(PoaFile::of(API_KEYS), None);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(safe_path("powers-of-attorney/a/b.xml"));
        for p in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a//b",
            "a\\b",
            "a b",
            "a/",
        ] {
            assert!(!safe_path(p), "{p:?}");
        }
    }
}
