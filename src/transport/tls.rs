//! TLS and mutual TLS on the one listener (rustls with the ring provider, which lettre's rustls
//! already brings). Handshakes run in their own tasks, so a slow or silent client never holds up
//! the accept loop; finished connections reach axum through [`TlsListener`], which axum serves
//! (and shuts down gracefully) like a plain TCP listener.
//!
//! A client certificate, when presented and valid under the client CAs, is carried into every
//! request of its connection as a [`ClientCertificate`] extension; authentication maps its
//! SHA-256 fingerprint to a registered API client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS settings of the listener (paths; loaded by [`server_config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_auth: ClientAuth,
}

/// Whether clients present certificates, and the CAs that issue them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Optional(PathBuf),
    Required(PathBuf),
}

/// The verified certificate a client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-256 of the certificate's DER (`openssl x509 -noout -fingerprint -sha256`).
    pub sha256: [u8; 32],
    /// The subject, for logs.
    pub subject: String,
}

impl ClientCertificate {
    pub fn from_der(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        let subject = x509_parser::parse_x509_certificate(der)
            .map(|(_, c)| c.subject().to_string())
            .unwrap_or_default();
        Self { sha256, subject }
    }
}

/// The remote end of a connection: its address and, over mutual TLS, its certificate.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub certificate: Option<ClientCertificate>,
}

fn read_certs(what: &str, path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{what} {}: no PEM certificate in it", path.display());
    }
    Ok(certs)
}

/// Loads the certificate, key and client CAs; every problem is named with its file.
pub fn server_config(s: &TlsSettings) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certs("tls_cert", &s.cert)?;
    let key = PrivateKeyDer::from_pem_file(&s.key)
        .map_err(|e| anyhow::anyhow!("tls_key {}: {e}", s.key.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    let builder = match &s.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional(ca) | ClientAuth::Required(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs("tls_client_ca", ca)? {
                roots
                    .add(c)
                    .map_err(|e| anyhow::anyhow!("tls_client_ca {}: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if matches!(s.client_auth, ClientAuth::Optional(_)) {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| anyhow::anyhow!("tls_client_ca {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        anyhow::anyhow!(
            "tls_cert {} and tls_key {}: {e}",
            s.cert.display(),
            s.key.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener whose connections come out TLS-terminated, handshakes done in the background.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, addr) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let certificate = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| ClientCertificate::from_der(c.as_ref()));
                            let _ = tx.send((tls, Peer { addr, certificate })).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { local, ready, task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept task ended (it never does on its own): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.local,
            certificate: None,
        })
    }
}

/// A plain TCP listener with `TCP_NODELAY` (small gRPC responses must not wait for delayed
/// ACKs) whose connections carry a [`Peer`] like TLS ones.
pub struct PlainListener(pub TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = TcpStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, addr) = axum::serve::Listener::accept(&mut self.0).await;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        (
            tcp,
            Peer {
                addr,
                certificate: None,
            },
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.0.local_addr()?,
            certificate: None,
        })
    }
}
