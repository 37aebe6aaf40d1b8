//! Writing a records archive (`docs/RECORDS.md`): POSIX ustar through the `tar` crate into an
//! anonymous temporary file, one file at a time, each hashed with Streebog-256 as it is written,
//! so memory stays bounded whatever the organisation's size. Files too large to hold (the JSON
//! Lines logs) are written to a spool file first, because a tar header needs the size before the
//! content. Headers are deterministic: mode 0644, owner 0, the export's time.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use chrono::NaiveDateTime;

use crate::crypto::streebog::{Streebog256Stream, streebog256};
use crate::domain::records::{MANIFEST, MANIFEST_SIG, ManifestFile};

const BUFFER: usize = 256 * 1024;

/// A file written a piece at a time, hashed as it goes.
pub struct Spool {
    out: BufWriter<File>,
    hash: Streebog256Stream,
    size: u64,
}

impl Spool {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::with_capacity(BUFFER, tempfile::tempfile()?),
            hash: Streebog256Stream::new(),
            size: 0,
        })
    }

    /// Writes one JSON value and a newline (JSON Lines).
    pub fn json_line(&mut self, v: &serde_json::Value) -> io::Result<()> {
        serde_json::to_writer(&mut *self, v)?;
        self.write_all(b"\n")
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn header(size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h
}

/// The archive being written, and the manifest entries of the files written so far.
pub struct ArchiveWriter {
    tar: tar::Builder<BufWriter<File>>,
    mtime: u64,
    files: Vec<ManifestFile>,
}

impl ArchiveWriter {
    pub fn new(generated_at: NaiveDateTime) -> io::Result<Self> {
        let out = BufWriter::with_capacity(BUFFER, tempfile::tempfile()?);
        Ok(Self {
            tar: tar::Builder::new(out),
            mtime: generated_at.and_utc().timestamp().max(0) as u64,
            files: Vec::new(),
        })
    }

    fn append(&mut self, path: &str, size: u64, data: impl Read) -> io::Result<()> {
        let mut h = header(size, self.mtime);
        self.tar.append_data(&mut h, path, data)
    }

    /// A file held in memory (a document, a signature).
    pub fn add(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.append(path, bytes.len() as u64, bytes)?;
        self.files.push(ManifestFile {
            path: path.to_owned(),
            size: bytes.len() as u64,
            streebog256: hex::encode(streebog256(bytes)),
        });
        Ok(())
    }

    /// A file written to a spool.
    pub fn add_spooled(&mut self, path: &str, spool: Spool) -> io::Result<()> {
        let Spool { out, hash, size } = spool;
        let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.seek(SeekFrom::Start(0))?;
        self.append(path, size, (&mut file).take(size))?;
        self.files.push(ManifestFile {
            path: path.to_owned(),
            size,
            streebog256: hex::encode(hash.finish()),
        });
        Ok(())
    }

    /// The manifest entries so far, in archive order.
    pub fn files(&self) -> &[ManifestFile] {
        &self.files
    }

    /// Appends the manifest and its signature, ends the archive, and returns the file rewound
    /// to its start with its size.
    pub fn finish(mut self, manifest: &[u8], signature: &[u8]) -> io::Result<(File, u64)> {
        self.append(MANIFEST, manifest.len() as u64, manifest)?;
        self.append(MANIFEST_SIG, signature.len() as u64, signature)?;
        let out = self.tar.into_inner()?;
        let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        let size = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        Ok((file, size))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_come_back_from_the_tar_with_the_manifest_hashes() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(3, 0, 0)
            .unwrap();
        let mut w = ArchiveWriter::new(at).unwrap();
        let long = format!(
            "powers-of-attorney/{n}/ON_EMCHD_20261201_{n}.xml.sig",
            n = uuid::Uuid::nil()
        );
        w.add(&long, b"<x/>").unwrap();
        let mut s = Spool::new().unwrap();
        for i in 0..1000 {
            s.json_line(&serde_json::json!({ "i": i })).unwrap();
        }
        w.add_spooled("log.jsonl", s).unwrap();
        let files = w.files().to_vec();
        let (file, size) = w.finish(b"{}", b"sig").unwrap();
        assert_eq!(size % 512, 0);
        let mut a = tar::Archive::new(file);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            assert_eq!(e.header().mtime().unwrap(), at.and_utc().timestamp() as u64);
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            seen.push((path, hex::encode(streebog256(&b))));
        }
        assert_eq!(seen.len(), 4);
        for (f, (p, h)) in files.iter().zip(&seen) {
            assert_eq!((&f.path, &f.streebog256), (p, h));
        }
        assert_eq!(seen[2].0, MANIFEST);
        assert_eq!(seen[3].0, MANIFEST_SIG);
    }
}
