//! `orgadm records verify ARCHIVE`: checks a records archive offline — the manifest's signature
//! against the service certificate, every file's Streebog-256 (none missing, none extra), and
//! every power of attorney's КЭП (with `--trust-dir`, also the chains at signing time) — and
//! prints the verdict and the first problem found. No database, no running service.
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::crypto::cert::Certificate;
use crate::crypto::trust::TrustStore;
use crate::service::records_verify::{VerifyOptions, verify_archive};
use crate::service::{Clock, SystemClock};

#[derive(Subcommand, Debug)]
pub enum RecordsCommand {
    /// Verify a records archive (.tar) exported by RecordsService.ExportRecords or
    /// `GET /v1/organizations/{oid}/records.tar`. Exits non-zero when anything fails.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The service's certificate (PEM or DER; a PEM file may hold several, e.g. during a
    /// rotation: the manifest must be signed by one of them).
    #[arg(long)]
    pub cert: PathBuf,
    /// Trust anchors and CRLs (the directory `serve --trust-dir` uses): also check every
    /// КЭП's chain, revocation, validity and key usage at its signing time.
    #[arg(long)]
    pub trust_dir: Option<PathBuf>,
    /// Check signing times against this moment (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// The archive, or `-` for standard input.
    pub archive: PathBuf,
}

pub fn run(cmd: RecordsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RecordsCommand::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let now = match &a.at {
        None => SystemClock.now(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| anyhow::anyhow!("--at {t:?} is not an RFC 3339 time: {e}"))?
            .with_timezone(&Utc)
            .naive_utc(),
    };
    let bytes = std::fs::read(&a.cert)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.cert.display()))?;
    let certs = Certificate::all_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.cert.display()))?;
    let trust = a
        .trust_dir
        .as_ref()
        .map(|d| TrustStore::from_dir(d).map_err(|e| anyhow::anyhow!("{}: {e}", d.display())))
        .transpose()?;
    let opts = VerifyOptions {
        certificates: &certs,
        trust: trust.as_ref(),
        now,
    };
    let report = if a.archive.as_os_str() == "-" {
        verify_archive(std::io::stdin().lock(), &opts)
    } else {
        let f = std::fs::File::open(&a.archive)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", a.archive.display()))?;
        verify_archive(std::io::BufReader::with_capacity(256 * 1024, f), &opts)
    };
    if let Some(m) = &report.manifest {
        let c = &m.counts;
        println!(
            "organisation: {} (OID {}, OGRN {}, INN {})",
            m.organization.name, m.organization.oid, m.organization.ogrn, m.organization.inn
        );
        println!(
            "period: {} .. {}",
            m.period
                .from
                .map(|t| t.and_utc().to_rfc3339())
                .unwrap_or_else(|| "the beginning".into()),
            m.period
                .to
                .map(|t| t.and_utc().to_rfc3339())
                .unwrap_or_else(|| "the export".into())
        );
        println!("generated: {}", m.generated_at.and_utc().to_rfc3339());
        println!(
            "signed by: {} (serial {})",
            m.service_certificate.subject, m.service_certificate.serial
        );
        println!(
            "records: {} powers of attorney ({} revoked, {} imported), {} API-KEYs, {} token issuances",
            c.powers_of_attorney, c.revocations, c.imports, c.api_keys, c.token_issuances
        );
    }
    println!(
        "checked: {} files, {} КЭП signatures{}",
        report.files,
        report.signatures,
        if trust.is_some() {
            " with their chains"
        } else {
            " (signatures and signers; no --trust-dir, so no chains)"
        }
    );
    match &report.problem {
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
