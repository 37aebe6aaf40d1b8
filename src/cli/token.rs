//! `orgadm token verify`: checks an ESIA-shaped GOST access token (orgadm's or ESIA's own)
//! offline against a certificate, and prints its header, claims and verdict. No database.
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::crypto::cert::Certificate;
use crate::service::{Clock, SystemClock};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Verify a token's GOST signature with a certificate, then its header (typ JWT, sbt
    /// access, ver 1), claims and times. Exits non-zero when it is not valid.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The issuer's certificate (PEM or DER; a PEM file may hold several, e.g. during a
    /// rotation: any of them may have signed).
    #[arg(long)]
    pub cert: PathBuf,
    /// Check the times at this moment (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// The expected `iss` claim (not checked when left out).
    #[arg(long)]
    pub iss: Option<String>,
    /// The token, a file holding it, or `-` for standard input.
    pub token: String,
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Verify(a) => verify(a),
    }
}

fn time(secs: Option<i64>) -> String {
    secs.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "-".into())
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let at = match &a.at {
        None => SystemClock.now().and_utc(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| anyhow::anyhow!("--at {t:?} is not an RFC 3339 time: {e}"))?
            .with_timezone(&Utc),
    };
    let token = if a.token == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else if std::path::Path::new(&a.token).is_file() {
        std::fs::read_to_string(&a.token)?
    } else {
        a.token.clone()
    };
    let token = token.trim();
    let bytes = std::fs::read(&a.cert)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.cert.display()))?;
    let certs = Certificate::all_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.cert.display()))?;
    let (header, claims) = match crate::service::tokens::verify_with_any(token, &certs) {
        Ok(hc) => hc,
        Err((reason, message)) => {
            println!("verdict: NOT VALID ({reason})");
            println!("reason: {message}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("header: {header}");
    println!(
        "claims: {}",
        serde_json::to_string_pretty(&claims).unwrap_or_default()
    );
    println!(
        "issued: {}",
        time(claims.get("iat").and_then(Value::as_i64))
    );
    println!(
        "expires: {}",
        time(claims.get("exp").and_then(Value::as_i64))
    );
    println!(
        "signature: VALID ({})",
        header.get("alg").and_then(Value::as_str).unwrap_or("?")
    );
    match crate::domain::token::check_esia_token(&header, &claims, at.timestamp(), a.iss.as_deref())
    {
        Ok(()) => {
            println!("verdict: VALID at {}", at.to_rfc3339());
            Ok(ExitCode::SUCCESS)
        }
        Err((reason, message)) => {
            println!("verdict: NOT VALID ({reason})");
            println!("reason: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}
