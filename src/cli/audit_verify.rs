//! The offline check of an audit export (`orgadm audit verify`): no database, no service.
//!
//! In order, and reporting the first problem only: the manifest (last line) and its signature
//! by the given certificate; the signatures of the checkpoint the manifest names and of the
//! checkpoint given with `--checkpoint`; then every event in one streaming pass — its own hash,
//! its link to the previous sequence, completeness of the range (unfiltered exports), and the
//! checkpoints' hashes; then the count, first and last hashes against the manifest, and last
//! the Streebog-256 of every byte before the manifest (computed on a second thread while the
//! events are parsed, so verification runs at about the speed of hashing the file once).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use streebog::Digest;

use crate::crypto::cert::Certificate;
use crate::crypto::cms;
use crate::crypto::streebog::{Streebog256, streebog256};
use crate::domain::audit::GENESIS_HASH;
use crate::domain::audit_checkpoint::{CheckpointFile, DecodedCheckpoint, decode_parts};
use crate::domain::audit_export::{ExportFormat, Manifest};

/// The largest manifest line accepted.
const MAX_MANIFEST: u64 = 1 << 20;
const BLOCK: usize = 1 << 20;

/// The outcome of a check.
#[derive(Debug, Clone)]
pub struct Report {
    pub format: Option<ExportFormat>,
    pub manifest: Option<Manifest>,
    /// The certificate that signed the manifest (subject), once checked.
    pub signer: Option<String>,
    pub events: i64,
    pub bytes: u64,
    /// What was checked, line by line, for people.
    pub notes: Vec<String>,
    /// The first problem found; None when the export is valid.
    pub problem: Option<String>,
}

impl Report {
    pub fn valid(&self) -> bool {
        self.problem.is_none()
    }
}

/// A checkpoint to compare with the export, and whether it was reached.
struct Cp {
    label: &'static str,
    cp: DecodedCheckpoint,
    checked: bool,
}

fn fail(r: &mut Report, p: impl Into<String>) -> Result<Report, String> {
    r.problem = Some(p.into());
    Ok(r.clone())
}

/// Verifies a signature over `content` and that its signer is one of `certs`.
fn check_signature(
    what: &str,
    sig: &[u8],
    content: &[u8],
    certs: &[Certificate],
) -> Result<Certificate, String> {
    let v = cms::verify_detached(sig, content, certs)
        .map_err(|e| format!("{what} signature is not valid: {e}"))?;
    if !certs.iter().any(|c| c.der() == v.signer.der()) {
        return Err(format!(
            "{what} signature is not by the given certificate (it was made by {})",
            v.signer.describe()
        ));
    }
    Ok(v.signer)
}

/// Reads the last line: (offset where it starts, its bytes without the newline).
fn last_line(f: &mut File, len: u64) -> Result<(u64, Vec<u8>), String> {
    let tail = len.min(MAX_MANIFEST);
    f.seek(SeekFrom::Start(len - tail))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(tail as usize);
    f.take(tail)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    match buf.iter().rposition(|b| *b == b'\n') {
        Some(i) => Ok((len - tail + i as u64 + 1, buf[i + 1..].to_vec())),
        None if tail == len => Ok((0, buf)),
        None => Err("the last line is longer than any manifest".into()),
    }
}

/// Checks the export at `path` against `certs` (the service certificate; any of them may have
/// signed) and, when given, an earlier checkpoint. `Err` only when the file cannot be read.
pub fn verify_export(
    path: &Path,
    certs: &[Certificate],
    checkpoint: Option<&CheckpointFile>,
) -> Result<Report, String> {
    let mut r = Report {
        format: None,
        manifest: None,
        signer: None,
        events: 0,
        bytes: 0,
        notes: Vec::new(),
        problem: None,
    };
    let mut f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    r.bytes = len;
    if len == 0 {
        return fail(&mut r, "the file is empty: no manifest");
    }
    let (manifest_at, line) = last_line(&mut f, len)?;
    let format = ExportFormat::detect(&line);
    r.format = Some(format);
    let (m, sig) = match format.parse_manifest(&line) {
        Ok(ms) => ms,
        Err(e) => {
            return fail(
                &mut r,
                format!("the manifest is missing or unreadable: {e}"),
            );
        }
    };
    r.manifest = Some(m.clone());
    // 1. The manifest's signature.
    let signer = match check_signature("the manifest", &sig, &m.signed_bytes(), certs) {
        Ok(s) => s,
        Err(e) => return fail(&mut r, e),
    };
    r.signer = Some(signer.describe());
    if hex::encode(streebog256(signer.der())) != m.cert_fingerprint {
        return fail(
            &mut r,
            "the manifest names another certificate fingerprint than its signer's",
        );
    }
    if m.format != format {
        return fail(
            &mut r,
            format!(
                "the manifest says {} but the file is {}",
                m.format.as_str(),
                format.as_str()
            ),
        );
    }
    r.notes
        .push(format!("manifest signature: VALID ({})", signer.describe()));
    // 2. The checkpoints.
    let mut cps = Vec::new();
    if let Some(c) = &m.checkpoint {
        let d = match decode_parts(
            m.chain,
            c.seq,
            &c.hash,
            &c.time,
            &c.cert_fingerprint,
            &c.signature,
        ) {
            Ok(d) => d,
            Err(e) => return fail(&mut r, format!("the manifest's checkpoint: {e}")),
        };
        if let Err(e) = check_signature(
            "the manifest's checkpoint",
            &d.signature,
            &d.signed_bytes,
            certs,
        ) {
            return fail(&mut r, e);
        }
        cps.push(Cp {
            label: "manifest's checkpoint",
            cp: d,
            checked: false,
        });
    }
    if let Some(file) = checkpoint {
        let d = match file.decode() {
            Ok(d) => d,
            Err(e) => return fail(&mut r, format!("the given checkpoint: {e}")),
        };
        if let Err(e) =
            check_signature("the given checkpoint", &d.signature, &d.signed_bytes, certs)
        {
            return fail(&mut r, e);
        }
        if d.chain != m.chain {
            return fail(
                &mut r,
                format!(
                    "the given checkpoint is of chain {}, the export of chain {}",
                    d.chain, m.chain
                ),
            );
        }
        // The holder's own checkpoint is compared first.
        cps.insert(
            0,
            Cp {
                label: "given checkpoint",
                cp: d,
                checked: false,
            },
        );
    }
    if m.complete {
        r.notes.push(format!(
            "coverage: complete range {}..{}: every hash, every link and the range's completeness checked",
            m.from_seq, m.to_seq
        ));
    } else {
        r.notes.push(format!(
            "coverage: filtered export ({}): only each event's own hash and the links between consecutive sequences can be checked",
            m.filters
        ));
    }
    // 3. The content digest, on its own thread.
    let digest_path = path.to_owned();
    let digester = std::thread::spawn(move || -> Result<[u8; 32], String> {
        let f = File::open(&digest_path).map_err(|e| e.to_string())?;
        let mut rd = f.take(manifest_at);
        let mut h = Streebog256::new();
        let mut buf = vec![0u8; BLOCK];
        loop {
            let n = rd.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h.finalize().into())
    });
    // 4. The events, streaming.
    f.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut rd = BufReader::with_capacity(BLOCK, f.take(manifest_at));
    let problem = check_events(&mut rd, format, &m, &mut cps, &mut r);
    let digest = digester
        .join()
        .map_err(|_| "the digest thread failed".to_owned())??;
    if let Some(p) = problem {
        return fail(&mut r, p);
    }
    for c in &cps {
        if c.checked {
            r.notes.push(format!(
                "{} seq {} (signed {}): matches the export",
                c.label, c.cp.seq, c.cp.time
            ));
        } else if c.label == "given checkpoint" {
            return fail(
                &mut r,
                format!(
                    "checkpoint seq {} is not reached by the export (sequences {}..{}{}): continuity cannot be shown",
                    c.cp.seq,
                    m.from_seq,
                    m.to_seq,
                    if m.complete { "" } else { ", filtered" }
                ),
            );
        } else {
            r.notes.push(format!(
                "{} seq {}: not in the exported events, not compared",
                c.label, c.cp.seq
            ));
        }
    }
    // 5. Every byte before the manifest.
    if hex::encode(digest) != m.content_digest {
        return fail(
            &mut r,
            "the exported bytes differ from those the manifest signs (content digest mismatch)",
        );
    }
    r.notes
        .push("content digest: matches every byte before the manifest".into());
    Ok(r)
}

/// What the pass over the events remembers.
#[derive(Default)]
struct Pass {
    prev: Option<(i64, [u8; 32])>,
    first: Option<(i64, [u8; 32])>,
    /// A gap seen at the previous event: (last seq before it, seq after it); reported unless
    /// the next event shows a swapped pair instead.
    gap: Option<(i64, i64)>,
}

fn gap_message(before: i64, after: i64) -> String {
    if after == before + 2 {
        format!("seq {} missing: link from {before} to {after}", before + 1)
    } else {
        format!(
            "seq {}..{} missing: link from {before} to {after}",
            before + 1,
            after - 1
        )
    }
}

fn check_events(
    rd: &mut impl BufRead,
    format: ExportFormat,
    m: &Manifest,
    cps: &mut [Cp],
    r: &mut Report,
) -> Option<String> {
    let mut line = Vec::with_capacity(4096);
    let mut p = Pass::default();
    let mut line_no = 0u64;
    loop {
        line.clear();
        match rd.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Some(format!("cannot read the export: {e}")),
        }
        line_no += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else {
            return Some(format!("line {line_no}: the line is not terminated"));
        }
        if p.first.is_none() && p.prev.is_none() && format.is_header_line(&line) {
            continue;
        }
        let e = match format.parse_event(&line) {
            Ok(e) => e,
            Err(err) => return Some(format!("line {line_no}: {err}")),
        };
        let s = e.seq;
        if let Some((before, after)) = p.gap.take() {
            if s < after && s > before {
                return Some(format!(
                    "events out of order: seq {after} comes before seq {s}"
                ));
            }
            return Some(gap_message(before, after));
        }
        if e.chain != m.chain {
            return Some(format!(
                "event seq {s}: belongs to chain {}, not {}",
                e.chain, m.chain
            ));
        }
        if s < m.from_seq || s > m.to_seq {
            return Some(format!(
                "event seq {s}: outside the exported range {}..{}",
                m.from_seq, m.to_seq
            ));
        }
        if let Some((ps, _)) = p.prev
            && s <= ps
        {
            return Some(format!(
                "events out of order: seq {ps} comes before seq {s}"
            ));
        }
        let hash = e.compute_hash();
        if hash != e.hash {
            return Some(format!(
                "event seq {s}: content hash mismatch (the event was changed)"
            ));
        }
        match p.prev {
            Some((ps, ph)) if s == ps + 1 => {
                if e.prev_hash != ph {
                    return Some(format!(
                        "event seq {s}: prev_hash does not link to seq {ps} (an event was replaced)"
                    ));
                }
            }
            Some((ps, _)) if m.complete => p.gap = Some((ps, s)),
            Some(_) => {}
            None => {
                if m.complete && s != m.from_seq {
                    return Some(format!(
                        "seq {} missing: the export starts at {s}",
                        m.from_seq
                    ));
                }
                if s == 1 && e.prev_hash != GENESIS_HASH {
                    return Some("event seq 1: prev_hash is not the chain's zero start".into());
                }
            }
        }
        for c in cps.iter_mut() {
            if c.cp.seq == s {
                c.checked = true;
                if c.cp.hash != hash {
                    return Some(format!(
                        "checkpoint seq {s}: hash differs from the exported event — history rewritten ({})",
                        c.label
                    ));
                }
            } else if c.cp.seq == s - 1 && (p.prev.is_none() || p.prev.map(|x| x.0) != Some(s - 1))
            {
                c.checked = true;
                if c.cp.hash != e.prev_hash {
                    return Some(format!(
                        "checkpoint seq {}: hash differs from event seq {s}'s link to it — history rewritten ({})",
                        c.cp.seq, c.label
                    ));
                }
            }
        }
        if p.first.is_none() {
            p.first = Some((s, hash));
        }
        p.prev = Some((s, hash));
        r.events += 1;
    }
    if let Some((before, after)) = p.gap {
        return Some(gap_message(before, after));
    }
    let count = r.events;
    if m.complete {
        let last = p.prev.map(|x| x.0).unwrap_or(m.from_seq - 1);
        if last < m.to_seq && m.to_seq >= m.from_seq {
            return Some(if last + 1 == m.to_seq {
                format!("seq {} missing: the export ends at {last}", m.to_seq)
            } else {
                format!(
                    "seq {}..{} missing: the export ends at {last}",
                    last + 1,
                    m.to_seq
                )
            });
        }
    }
    if count != m.count {
        return Some(format!(
            "the export holds {count} events but the manifest says {}",
            m.count
        ));
    }
    let hx = |h: Option<(i64, [u8; 32])>| h.map(|(s, h)| (s, hex::encode(h)));
    if count > 0 {
        if hx(p.first) != Some((m.first_seq, m.first_hash.clone())) {
            return Some("the first event is not the one the manifest names".into());
        }
        if hx(p.prev) != Some((m.last_seq, m.last_hash.clone())) {
            return Some("the last event is not the one the manifest names".into());
        }
        if m.complete
            && m.to_seq == m.head_seq
            && Some(m.head_hash.clone()) != hx(p.prev).map(|x| x.1)
        {
            return Some("the last event's hash is not the chain head the manifest names".into());
        }
    }
    None
}
