//! `orgadm audit verify`: checks an audit export offline (see [`super::audit_verify`]) against
//! the service certificate and, optionally, an earlier signed checkpoint, and prints a verdict.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::crypto::cert::Certificate;
use crate::domain::audit_checkpoint::CheckpointFile;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify an audit export (JSON Lines or XML): the manifest's signature by the service
    /// certificate, every event's hash and link, completeness, the checkpoints, and every byte.
    /// Exits non-zero at the first problem, which it names.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The service's certificate (PEM or DER; a PEM file may hold several, e.g. across a key
    /// rotation: any of them may have signed).
    #[arg(long)]
    pub cert: PathBuf,
    /// An earlier signed checkpoint (the JSON file from GetCheckpoint or
    /// `/v1/audit/{oid}/checkpoints/{seq}`): the export must agree with it.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The export file.
    pub export: PathBuf,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&a.cert)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.cert.display()))?;
    let certs = Certificate::all_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.cert.display()))?;
    let checkpoint = match &a.checkpoint {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
            Some(
                CheckpointFile::from_json(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
    };
    let r = super::audit_verify::verify_export(&a.export, &certs, checkpoint.as_ref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "export: {} ({}, {} bytes)",
        a.export.display(),
        r.format.map(|f| f.as_str()).unwrap_or("?"),
        r.bytes
    );
    if let Some(m) = &r.manifest {
        println!(
            "chain: {} sequences {}..{} ({} events by the manifest; head {} when exported)",
            if m.chain == 0 {
                "platform (0),".to_owned()
            } else {
                format!("organisation {},", m.chain)
            },
            m.from_seq,
            m.to_seq,
            m.count,
            m.head_seq
        );
        println!("exported: {} by {}", m.exported_at, m.exported_by);
    }
    for n in &r.notes {
        println!("{n}");
    }
    println!("events checked: {}", r.events);
    match &r.problem {
        None => {
            println!("verdict: VALID");
            Ok(ExitCode::SUCCESS)
        }
        Some(p) => {
            println!("verdict: NOT VALID");
            println!("problem: {p}");
            Ok(ExitCode::FAILURE)
        }
    }
}
