//! The keyed hash API-KEYs are stored under: HMAC_GOSTR3411_2012_256 (RFC 7836) with a secret key
//! of the service, so a database dump alone cannot be used to test guesses of a key.
//!
//! The hash key lives in a file (64 hexadecimal digits, mode 0600), shared by every replica.
//! Each stored hash names the key it was made with (`key_id`, the first 8 bytes of the
//! Streebog-256 of the key, in hex); during a rotation the previous keys stay loaded so keys
//! hashed under them still match, and a lookup tries each loaded key.

use std::path::Path;

use zeroize::Zeroizing;

use super::streebog::{hmac_streebog256, streebog256};

/// One hash key and its public identifier.
#[derive(Clone)]
struct HashKey {
    id: String,
    key: Zeroizing<Vec<u8>>,
}

/// The current API-KEY hash key and the previous ones still accepted.
#[derive(Clone)]
pub struct ApiKeyHasher {
    current: HashKey,
    previous: Vec<HashKey>,
}

impl std::fmt::Debug for ApiKeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("ApiKeyHasher")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a hash key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HashKeyError {
    #[error("cannot read the API-KEY hash key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the API-KEY hash key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the OS random generator failed: {0}")]
    Random(String),
    #[error(
        "the API-KEY hash key file {0} must hold at least 64 hexadecimal digits (32 bytes) and nothing else"
    )]
    Format(String),
}

impl HashKey {
    fn new(key: Vec<u8>) -> Self {
        let mut tagged = b"orgadm api-key hash key id\0".to_vec();
        tagged.extend_from_slice(&key);
        let id = hex::encode(&streebog256(&tagged)[..8]);
        Self {
            id,
            key: Zeroizing::new(key),
        }
    }
}

impl ApiKeyHasher {
    /// A hasher with the given key (at least 32 bytes).
    pub fn new(key: &[u8]) -> Self {
        Self {
            current: HashKey::new(key.to_vec()),
            previous: Vec::new(),
        }
    }

    /// A hasher with a fresh random key (tests; a service restarted with it loses every key).
    pub fn random() -> Result<Self, HashKeyError> {
        let mut k = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut k).map_err(|e| HashKeyError::Random(e.to_string()))?;
        Ok(Self::new(&k))
    }

    /// Reads a key file (64+ hex digits).
    pub fn from_file(path: &Path) -> Result<Self, HashKeyError> {
        Ok(Self {
            current: read_key(path)?,
            previous: Vec::new(),
        })
    }

    /// Reads the key file, creating it with a fresh random key (mode 0600) when it does not
    /// exist yet. Returns whether it was created.
    pub fn open_or_create(path: &Path) -> Result<(Self, bool), HashKeyError> {
        if path.exists() {
            return Ok((Self::from_file(path)?, false));
        }
        let mut k = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut k).map_err(|e| HashKeyError::Random(e.to_string()))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(&*k)));
        write_private(path, text.as_bytes()).map_err(|source| HashKeyError::Write {
            path: path.display().to_string(),
            source,
        })?;
        Ok((Self::new(&k), true))
    }

    /// Adds a previous key (read from its file) still accepted for lookups.
    pub fn with_previous(mut self, path: &Path) -> Result<Self, HashKeyError> {
        self.previous.push(read_key(path)?);
        Ok(self)
    }

    /// The current key's identifier.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// The hash of `secret` under the current key.
    pub fn hash(&self, secret: &[u8]) -> [u8; 32] {
        hmac_streebog256(&self.current.key, secret)
    }

    /// The hashes of `secret` under every loaded key, current first.
    pub fn candidates(&self, secret: &[u8]) -> Vec<[u8; 32]> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| hmac_streebog256(&k.key, secret))
            .collect()
    }
}

fn read_key(path: &Path) -> Result<HashKey, HashKeyError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| HashKeyError::Read {
                path: path.display().to_string(),
                source,
            })?,
        );
    let t = text.trim();
    let key = hex::decode(t).map_err(|_| HashKeyError::Format(path.display().to_string()))?;
    if key.len() < 32 {
        return Err(HashKeyError::Format(path.display().to_string()));
    }
    Ok(HashKey::new(key))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_keyed_and_rotation_keeps_old_hashes_findable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k1");
        let (a, created) = ApiKeyHasher::open_or_create(&p).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = ApiKeyHasher::open_or_create(&p).unwrap();
        assert!(!created);
        assert_eq!(a.hash(b"x"), again.hash(b"x"));
        assert_eq!(a.key_id(), again.key_id());

        let b = ApiKeyHasher::random().unwrap();
        assert_ne!(a.hash(b"x"), b.hash(b"x"), "another key, another hash");
        assert_ne!(a.hash(b"x"), streebog256(b"x"), "not a bare hash");

        let rotated = b.clone().with_previous(&p).unwrap();
        let c = rotated.candidates(b"x");
        assert_eq!(c, vec![b.hash(b"x"), a.hash(b"x")]);
        assert!(!format!("{rotated:?}").contains(&hex::encode(&*a.current.key)));
    }

    #[test]
    fn bad_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "abcd\n").unwrap();
        assert!(matches!(
            ApiKeyHasher::from_file(&p),
            Err(HashKeyError::Format(_))
        ));
        std::fs::write(&p, "zz".repeat(32)).unwrap();
        assert!(ApiKeyHasher::from_file(&p).is_err());
        assert!(matches!(
            ApiKeyHasher::from_file(&dir.path().join("none")),
            Err(HashKeyError::Read { .. })
        ));
    }
}
