//! `orgadm pki …`: the service signing key (`init`), and signature tools for people who check
//! signatures (`verify`, `sign`). None of these commands opens the database.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::crypto::CryptoError;
use crate::crypto::cert::Certificate;
use crate::crypto::cms;
use crate::crypto::service_key::{self, PARAM_SET_NAMES, ServiceSigner, param_set_by_name};
use crate::crypto::trust::TrustStore;
use crate::service::{Clock, SystemClock};

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Create the service's GOST signing key (file mode 0600) and a self-signed certificate, or a
    /// PKCS#10 request (--csr) for an external CA.
    Init(InitArgs),
    /// Verify a CMS/CAdES signature: prints the signer's attributes, its kind, the signing time
    /// and the outcome. Exits non-zero when the signature is not valid.
    Verify(VerifyArgs),
    /// Make a detached CAdES-BES signature (DER) of FILE on standard output.
    Sign(SignArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600). Must not exist.
    #[arg(long)]
    pub key: PathBuf,
    /// Where to write the self-signed certificate (PEM).
    #[arg(long, required_unless_present = "csr")]
    pub cert: Option<PathBuf>,
    /// Write a PKCS#10 certification request (PEM) here instead of a self-signed certificate.
    #[arg(long)]
    pub csr: Option<PathBuf>,
    /// The subject, RFC 4514 style: `CN=orgadm,O=Example,C=RU` (dotted OIDs allowed).
    #[arg(long, default_value = "CN=orgadm service signing key")]
    pub subject: String,
    /// GOST R 34.10-2012 parameter set: tc26-256-a, tc26-256-b (cryptopro-a), tc26-256-c
    /// (cryptopro-b), tc26-256-d (cryptopro-c), tc26-512-a, tc26-512-b, tc26-512-c.
    #[arg(long, default_value = "tc26-256-a")]
    pub param_set: String,
    /// Validity of the self-signed certificate, in days.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signed file (leave out for an attached signature, which carries its content).
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// The signature: DER, or base64 / base64url text (PEM armour and percent-encoding accepted).
    #[arg(long)]
    pub signature: PathBuf,
    /// A directory of trusted root and intermediate certificates and CRLs (PEM or DER). Without
    /// it the signature is checked on its own and the chain is reported as not checked.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Check the chain at this time (RFC 3339, e.g. 2026-11-30T12:00:00Z) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Extra certificates (PEM or DER) to find the signer or intermediates in; repeatable.
    #[arg(long = "cert")]
    pub certs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The signer's private key (PKCS#8 PEM, as OpenSSL's GOST engine writes it).
    #[arg(long)]
    pub key: PathBuf,
    /// The signer's certificate (PEM or DER).
    #[arg(long)]
    pub cert: PathBuf,
    /// Put the content inside the signature (attached) instead of a detached signature.
    #[arg(long)]
    pub attached: bool,
    /// The file to sign.
    pub file: PathBuf,
}

fn now() -> DateTime<Utc> {
    SystemClock.now().and_utc()
}

/// Runs a `pki` command; the exit code is non-zero when a signature is not valid.
pub fn run(cmd: PkiCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PkiCommand::Init(a) => init(a).map(|()| ExitCode::SUCCESS),
        PkiCommand::Verify(a) => verify(a),
        PkiCommand::Sign(a) => sign(a).map(|()| ExitCode::SUCCESS),
    }
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let ps = param_set_by_name(&a.param_set).ok_or_else(|| {
        anyhow::anyhow!(
            "--param-set {:?} is unknown; use one of: {PARAM_SET_NAMES}",
            a.param_set
        )
    })?;
    if a.days < 1 {
        anyhow::bail!("--days must be at least 1");
    }
    for p in [Some(&a.key), a.cert.as_ref(), a.csr.as_ref()]
        .into_iter()
        .flatten()
    {
        if p.exists() {
            anyhow::bail!(
                "{} already exists; refusing to overwrite it (move it away first)",
                p.display()
            );
        }
    }
    let csr = a.csr.is_some();
    let (_key, out) = service_key::init(ps, &a.subject, &a.key, now(), a.days, csr)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "private key written to {} (mode 0600, parameter set {})",
        a.key.display(),
        ps.oid()
    );
    if let (Some(path), Some(pem)) = (&a.csr, &out.csr_pem) {
        write_new(path, pem.as_bytes())?;
        println!("certification request written to {}", path.display());
    }
    if let (Some(path), Some(cert)) = (&a.cert, &out.certificate) {
        write_new(path, cert.to_pem().as_bytes())?;
        println!(
            "self-signed certificate written to {}: {} valid until {}",
            path.display(),
            cert.describe(),
            cert.not_after().to_rfc3339()
        );
    }
    Ok(())
}

fn write_new(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", path.display()))
}

fn sign(a: SignArgs) -> anyhow::Result<()> {
    let signer = ServiceSigner::load(&a.key, &a.cert).map_err(|e| anyhow::anyhow!("{e}"))?;
    let content = read(&a.file, "the file to sign")?;
    let sig = if a.attached {
        signer.sign_attached(&content, now())
    } else {
        signer.sign_detached(&content, now())
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&sig)?;
    out.flush()?;
    Ok(())
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let at = match &a.at {
        None => now(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| {
                anyhow::anyhow!("--at {t:?} is not an RFC 3339 time like 2026-11-30T12:00:00Z: {e}")
            })?
            .with_timezone(&Utc),
    };
    let raw = read(&a.signature, "the signature")?;
    let content = a
        .content
        .as_ref()
        .map(|p| read(p, "the signed file"))
        .transpose()?;
    let mut extra = Vec::new();
    for p in &a.certs {
        extra.extend(
            Certificate::all_from_bytes(&read(p, "the certificate")?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        );
    }
    let trust = a
        .trust
        .as_ref()
        .map(TrustStore::from_dir)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = cms::decode_signature_input(&raw)
        .and_then(|der| cms::verify_any(&der, content.as_deref(), &extra));
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            println!("signature: NOT VALID ({})", e.kind());
            println!("reason: {}", describe(&e));
            return Ok(ExitCode::FAILURE);
        }
    };
    let c = &v.signer;
    let q = c.qualified_attributes();
    println!("signer: {}", c.subject());
    println!("issuer: {}", c.issuer());
    println!("serial: {}", c.serial_hex());
    println!("kind: {}", c.kind().as_str());
    for (label, value) in [
        ("common name", &q.common_name),
        ("surname", &q.surname),
        ("given name", &q.given_name),
        ("title", &q.title),
        ("organisation", &q.organization),
        ("OGRN", &q.ogrn),
        ("OGRNIP", &q.ogrnip),
        ("INNLE", &q.innle),
        ("INN", &q.inn),
        ("SNILS", &q.snils),
    ] {
        if let Some(v) = value {
            println!("{label}: {v}");
        }
    }
    println!(
        "certificate valid: {} .. {}",
        c.not_before().to_rfc3339(),
        c.not_after().to_rfc3339()
    );
    match v.signing_time {
        Some(t) => println!("signing time: {}", t.to_rfc3339()),
        None => println!("signing time: not stated"),
    }
    println!(
        "format: {}{}",
        if v.has_signing_certificate {
            "CAdES-BES"
        } else {
            "CMS"
        },
        if v.has_timestamp {
            " with a signature timestamp (CAdES-T; the timestamp is not checked)"
        } else {
            ""
        }
    );
    if a.content.is_none() {
        println!(
            "content: attached, {} bytes",
            v.content.as_ref().map_or(0, Vec::len)
        );
    }
    println!("signature: valid (the content matches and the signature verifies)");
    match trust {
        None => {
            println!("chain: not checked (no --trust directory given)");
            println!("outcome: SIGNATURE VALID, CHAIN NOT CHECKED");
            Ok(ExitCode::SUCCESS)
        }
        Some(store) => match store.verify_chain(c, &v.certificates, at) {
            Ok(path) => {
                let names: Vec<String> = path.iter().map(Certificate::describe).collect();
                println!("chain: valid at {}: {}", at.to_rfc3339(), names.join(" ← "));
                println!("outcome: VALID");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("chain: NOT VALID ({}) at {}", e.kind(), at.to_rfc3339());
                println!("reason: {}", describe(&e));
                println!("outcome: NOT VALID");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

fn describe(e: &CryptoError) -> String {
    e.to_string()
}
