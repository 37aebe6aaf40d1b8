//! The `orgadm` command line: serve, check the configuration, migrate, and manage API clients.
//! Settings come from flags, `ORGADM_…` environment variables and a TOML file (`--config`), in
//! that order of precedence (see `orgadm::config` and docs/OPERATIONS.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orgadm::app;
use orgadm::config::{GlobalArgs, ParseError, ServeArgs, Settings};
use orgadm::domain::caller::Role;

#[derive(Parser)]
#[command(
    name = "orgadm",
    version,
    about = "Organisation administration for an ESIA-style identity ecosystem"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC and HTTP on one address (applies pending migrations first).
    Serve {
        #[command(flatten)]
        args: Box<ServeArgs>,
    },
    /// The settings: check them and show those in effect.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API clients (the credentials portals, vendor systems and auditors call with).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The service signing key, and signature tools for compliance officers (no database needed).
    #[command(subcommand)]
    Pki(orgadm::cli::pki::PkiCommand),
    /// Access tokens: check an ESIA-shaped GOST token offline (no database needed).
    #[command(subcommand)]
    Token(orgadm::cli::token::TokenCommand),
    /// Audit exports: verify one offline against the service certificate (no database needed).
    #[command(subcommand)]
    Audit(orgadm::cli::audit::AuditCommand),
    /// Records archives: verify one offline (no database needed).
    #[command(subcommand)]
    Records(orgadm::cli::records::RecordsCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the settings `serve` would run with (values, and the files they name: TLS, keys,
    /// trust anchors) without touching the database, and print them with their sources,
    /// secrets masked. Takes every `serve` flag.
    Check {
        #[command(flatten)]
        args: Box<ServeArgs>,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client; prints its bearer token once, alone on the last line of standard output.
    Create {
        /// A unique name for the client, shown in audit events.
        #[arg(long)]
        name: String,
        /// operator (the platform), portal (acts for a person it names), vendor (bound to a
        /// vendor organisation), auditor (reads records and audit trails).
        #[arg(long)]
        role: String,
        /// The organisation OID a vendor (required) or auditor (optional) client is bound to.
        #[arg(long)]
        organization: Option<i64>,
        /// The client's TLS certificate (PEM or DER): the client authenticates by presenting it
        /// over mutual TLS (serve --tls-client-ca) and gets no bearer token.
        #[arg(long, conflicts_with = "certificate_sha256")]
        certificate: Option<std::path::PathBuf>,
        /// The SHA-256 fingerprint of the client's TLS certificate (64 hex digits, colons
        /// allowed, as `openssl x509 -noout -fingerprint -sha256` prints it), instead of
        /// --certificate.
        #[arg(long)]
        certificate_sha256: Option<String>,
    },
    /// List clients (never their tokens).
    List,
    /// Revoke a client by name or id; its token stops working at once.
    Revoke {
        /// The client's name or id.
        name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let (cli, report) = match orgadm::config::parse::<Cli>(std::env::args_os().collect()) {
        Ok(v) => v,
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Config(e)) => {
            eprintln!("orgadm: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry_args = match &cli.command {
        Command::Serve { args } => Some(&args.telemetry),
        _ => None,
    };
    let telemetry = match orgadm::telemetry::LogFormat::parse(&cli.global.log_format)
        .and_then(|f| orgadm::telemetry::init(f, telemetry_args))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("orgadm: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Pki(cmd) => orgadm::cli::pki::run(cmd),
        Command::Token(cmd) => orgadm::cli::token::run(cmd),
        Command::Audit(cmd) => orgadm::cli::audit::run(cmd),
        Command::Records(cmd) => orgadm::cli::records::run(cmd),
        command => run(cli.global, command, report)
            .await
            .map(|()| ExitCode::SUCCESS),
    };
    telemetry.shutdown().await;
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("orgadm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    global: GlobalArgs,
    command: Command,
    mut report: orgadm::config::Report,
) -> anyhow::Result<()> {
    match command {
        Command::Serve { args } => {
            let settings = Settings::new(&global, &args, report)?;
            app::run(settings, shutdown_signal()).await
        }
        Command::Config(ConfigCommand::Check { args }) => {
            let settings = Settings::new(&global, &args, report)?;
            let prepared = app::prepare(&settings)?;
            print!("{}", settings.report.render());
            if !prepared.hash_key_exists {
                println!(
                    "# api_key_hash_key_file {} does not exist yet: serve creates it",
                    settings.serve.keys.api_key_hash_key_file.display()
                );
            }
            println!("# the settings are valid (the database was not contacted)");
            Ok(())
        }
        Command::Migrate => {
            app::open(orgadm::config::database(&global, &mut report)?, None).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(c) => client(orgadm::config::database(&global, &mut report)?, c).await,
        Command::Pki(_) | Command::Token(_) | Command::Audit(_) | Command::Records(_) => Ok(()),
    }
}

async fn client(db: orgadm::storage::DbConfig, c: ClientCommand) -> anyhow::Result<()> {
    let core = app::open(db, None).await?;
    match c {
        ClientCommand::Create {
            name,
            role,
            organization,
            certificate,
            certificate_sha256,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role must be operator, portal, vendor or auditor")
            })?;
            if let Some(fp) = certificate_fingerprint(certificate, certificate_sha256)? {
                let client = core
                    .create_certificate_client(name, role, organization, fp)
                    .await
                    .map_err(describe)?;
                println!(
                    "created client {} (id {}, role {}) for the TLS client certificate with SHA-256 {}",
                    client.name,
                    client.id,
                    client.role.as_str(),
                    hex::encode(fp)
                );
                println!(
                    "it authenticates over mutual TLS with that certificate (no bearer token)"
                );
                return Ok(());
            }
            let (client, token) = core
                .create_client(name, role, organization)
                .await
                .map_err(describe)?;
            println!(
                "created client {} (id {}, role {})",
                client.name,
                client.id,
                client.role.as_str()
            );
            println!("bearer token (shown once; store it now):");
            println!("{token}");
        }
        ClientCommand::List => {
            for c in core.list_clients().await.map_err(describe)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.id,
                    c.name,
                    c.role.as_str(),
                    c.organization_oid
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "-".into()),
                    if c.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    c.certificate_sha256
                        .as_deref()
                        .map(|f| format!("certificate sha256:{}", hex::encode(f)))
                        .unwrap_or_else(|| "bearer token".into())
                );
            }
        }
        ClientCommand::Revoke { name } => {
            let c = core.revoke_client(name).await.map_err(describe)?;
            println!("revoked client {} (id {})", c.name, c.id);
        }
    }
    Ok(())
}

/// The fingerprint of `--certificate` (PEM or DER) or `--certificate-sha256`.
fn certificate_fingerprint(
    file: Option<std::path::PathBuf>,
    hex_fp: Option<String>,
) -> anyhow::Result<Option<[u8; 32]>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    if let Some(f) = file {
        let bytes =
            std::fs::read(&f).map_err(|e| anyhow::anyhow!("--certificate {}: {e}", f.display()))?;
        let der = match CertificateDer::from_pem_slice(&bytes) {
            Ok(c) => c.as_ref().to_vec(),
            Err(_) => bytes,
        };
        x509_parser::parse_x509_certificate(&der).map_err(|e| {
            anyhow::anyhow!("--certificate {}: not a certificate: {e}", f.display())
        })?;
        return Ok(Some(
            orgadm::transport::tls::ClientCertificate::from_der(&der).sha256,
        ));
    }
    let Some(h) = hex_fp else {
        return Ok(None);
    };
    let clean: String = h.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(clean.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| anyhow::anyhow!("--certificate-sha256 must be 64 hex digits"))?;
    Ok(Some(bytes))
}

fn describe(e: orgadm::service::ServiceError) -> anyhow::Error {
    use orgadm::service::ServiceError as E;
    match e {
        E::InvalidArgument(v) => anyhow::anyhow!(
            "{}",
            v.0.iter()
                .map(|f| format!("--{}: {}", f.field, f.description))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
