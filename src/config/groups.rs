//! The settings groups of `serve` (this file: the listener, TLS, signatures; `api_keys`: API-KEYs
//! and the token exchange; `mail`: invitations and their delivery). Each group is one
//! `clap::Args` struct: its fields are the settings (flag `--smtp-host`, environment
//! `ORGADM_SMTP_HOST`, file key `smtp_host`), its doc comments their documentation, and its
//! methods check the values and apply them.

use std::path::PathBuf;

use clap::Args;

/// The listener and the service's public address.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to listen on, for gRPC and HTTP alike.
    #[arg(long, env = "ORGADM_LISTEN", default_value = crate::app::DEFAULT_LISTEN)]
    pub listen: String,
    /// The service's public base URL: powers of attorney name their status page under it
    /// (`<URL>/poa/check-status?guid=…`).
    #[arg(long, env = "ORGADM_PUBLIC_BASE_URL", default_value = crate::service::DEFAULT_PUBLIC_BASE_URL)]
    pub public_base_url: String,
    /// On SIGTERM or Ctrl-C: how long requests in flight may take to finish, in seconds, before
    /// their connections are closed.
    #[arg(long, env = "ORGADM_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

impl ServerArgs {
    pub fn validate(&self) -> anyhow::Result<()> {
        let u = &self.public_base_url;
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            anyhow::bail!("public_base_url must be an http:// or https:// URL, not {u:?}");
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() && !self.listen.contains(':') {
            anyhow::bail!("listen must be HOST:PORT, not {:?}", self.listen);
        }
        Ok(())
    }
}

/// TLS and mutual TLS on the listener (rustls). With a certificate and key the listener speaks
/// only TLS, for gRPC and HTTP alike (ALPN `h2` and `http/1.1`).
#[derive(Args, Debug, Clone)]
pub struct TlsArgs {
    /// The server certificate chain (PEM, the server's certificate first).
    #[arg(long, env = "ORGADM_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ORGADM_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates are accepted (mutual TLS). A client
    /// certificate registered with `orgadm client create --certificate` authenticates its client
    /// without a bearer token.
    #[arg(long, env = "ORGADM_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// With --tls-client-ca: `optional` (a caller may present a client certificate or use a
    /// bearer token) or `required` (the handshake fails without a client certificate).
    #[arg(long, env = "ORGADM_TLS_CLIENT_AUTH", default_value = "optional", value_parser = ["optional", "required"])]
    pub tls_client_auth: String,
}

impl TlsArgs {
    /// The TLS settings, or None for plain TCP.
    pub fn settings(&self) -> anyhow::Result<Option<crate::transport::tls::TlsSettings>> {
        use crate::transport::tls::{ClientAuth, TlsSettings};
        let required = self.tls_client_auth == "required";
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => {
                if self.tls_client_ca.is_some() {
                    anyhow::bail!("tls_client_ca needs tls_cert and tls_key");
                }
                Ok(None)
            }
            (Some(_), None) | (None, Some(_)) => {
                anyhow::bail!("tls_cert and tls_key go together: set both or neither")
            }
            (Some(cert), Some(key)) => Ok(Some(TlsSettings {
                cert: cert.clone(),
                key: key.clone(),
                client_auth: match &self.tls_client_ca {
                    None if required => {
                        anyhow::bail!("tls_client_auth = required needs tls_client_ca")
                    }
                    None => ClientAuth::None,
                    Some(ca) if required => ClientAuth::Required(ca.clone()),
                    Some(ca) => ClientAuth::Optional(ca.clone()),
                },
            })),
        }
    }
}

/// The service signing key (tokens, revocations) and the trust anchors of qualified signatures.
#[derive(Args, Debug, Clone)]
pub struct SigningArgs {
    /// The service's GOST signing key (PKCS#8 PEM, made by `orgadm pki init`); with
    /// --signing-cert. Refused at start when it does not match the certificate.
    #[arg(long, env = "ORGADM_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// The certificate of the signing key (PEM or DER).
    #[arg(long, env = "ORGADM_SIGNING_CERT")]
    pub signing_cert: Option<PathBuf>,
    /// Directory of trust anchors (root and intermediate CA certificates, PEM or DER) and
    /// their CRLs (`*.crl`) for the qualified signatures of powers of attorney.
    #[arg(long, env = "ORGADM_TRUST_DIR")]
    pub trust_dir: Option<PathBuf>,
    /// Every this many seconds, sign a checkpoint of each audit chain whose head moved (needs
    /// the signing key); 0 turns the periodic checkpoints off.
    #[arg(long, env = "ORGADM_CHECKPOINT_INTERVAL_SECS", default_value_t = 3600)]
    pub checkpoint_interval_secs: u64,
}

impl SigningArgs {
    /// Loads the signing key (None without one); a key that does not match its certificate is
    /// refused.
    pub fn signer(&self) -> anyhow::Result<Option<crate::crypto::service_key::ServiceSigner>> {
        match (&self.signing_key, &self.signing_cert) {
            (Some(k), Some(c)) => Ok(Some(crate::app::load_signer(k, c)?)),
            (None, None) => Ok(None),
            _ => anyhow::bail!("signing_key and signing_cert go together: set both or neither"),
        }
    }

    /// Loads the trust directory (None without one).
    pub fn trust(&self) -> anyhow::Result<Option<crate::crypto::trust::TrustStore>> {
        let Some(dir) = &self.trust_dir else {
            return Ok(None);
        };
        let trust = crate::crypto::trust::TrustStore::from_dir(dir).map_err(|e| {
            anyhow::anyhow!("cannot use the trust directory {}: {e}", dir.display())
        })?;
        Ok(Some(trust))
    }
}
