//! TLS and mutual TLS on the one listener, with real certificates made by openssl: gRPC and HTTP
//! over TLS, a client certificate registered to an API client authenticating it without a bearer
//! token, unknown and missing client certificates refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use orgadm::transport::server::ServeOptions;
use orgadm::transport::tls::{ClientAuth, ClientCertificate, TlsSettings};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::support::*;

/// A CA with a server certificate (localhost, 127.0.0.1) and two client certificates, and a
/// second CA with a client certificate of its own.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "3",
            "-subj",
            &format!("/CN=orgadm test {name}"),
        ],
    );
}

fn leaf(dir: &Path, ca: &str, name: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/O=orgadm tests/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ca(d, "ca");
        ca(d, "other-ca");
        let client =
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
        leaf(
            d,
            "ca",
            "server",
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        );
        leaf(d, "ca", "portal", client);
        leaf(d, "ca", "stranger", client);
        leaf(d, "other-ca", "outsider", client);
        Self {
            path: d.to_owned(),
            _dir: dir,
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap()
    }

    pub fn settings(&self, client_auth: ClientAuth) -> TlsSettings {
        TlsSettings {
            cert: self.file("server.pem"),
            key: self.file("server.key"),
            client_auth,
        }
    }

    /// The SHA-256 fingerprint of a certificate, as `orgadm client create --certificate` takes it.
    pub fn fingerprint(&self, name: &str) -> [u8; 32] {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_file(self.file(&format!("{name}.pem"))).unwrap();
        ClientCertificate::from_der(der.as_ref()).sha256
    }

    /// A TLS channel trusting the test CA, presenting `client`'s certificate when named.
    pub async fn channel(
        &self,
        addr: std::net::SocketAddr,
        client: Option<&str>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.read("ca.pem")))
            .domain_name("localhost");
        if let Some(c) = client {
            tls = tls.identity(Identity::from_pem(
                self.read(&format!("{c}.pem")),
                self.read(&format!("{c}.key")),
            ));
        }
        Channel::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
    }

    /// An HTTP/1.1 GET over TLS (ALPN http/1.1): (status, body).
    pub async fn https_get(&self, addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        self.https_get_as(addr, path, None).await
    }

    /// An HTTP/1.1 GET over TLS presenting `client`'s certificate when named.
    pub async fn https_get_as(
        &self,
        addr: std::net::SocketAddr,
        path: &str,
        client: Option<&str>,
    ) -> (u16, String) {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(self.file("ca.pem")).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let mut config = match client {
            None => config.with_no_client_auth(),
            Some(c) => config
                .with_client_auth_cert(
                    CertificateDer::pem_file_iter(self.file(&format!("{c}.pem")))
                        .unwrap()
                        .collect::<Result<Vec<_>, _>>()
                        .unwrap(),
                    rustls_pki_types::PrivateKeyDer::from_pem_file(self.file(&format!("{c}.key")))
                        .unwrap(),
                )
                .unwrap(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let _ = tls.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf).to_string();
        let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

async fn tls_server(backend: Backend, pki: &Pki, client_auth: ClientAuth) -> Option<TestServer> {
    let config = orgadm::transport::tls::server_config(&pki.settings(client_auth)).unwrap();
    TestServer::start_with(
        backend,
        ServeOptions {
            tls: Some(config),
            ..ServeOptions::default()
        },
    )
    .await
}

async fn search(
    ch: Channel,
    token: Option<&str>,
) -> Result<pb::SearchPersonsResponse, tonic::Status> {
    Api::new(ch, token.map(str::to_owned), None)
        .persons
        .search_persons(pb::SearchPersonsRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_http_over_tls() {
    let pki = Pki::new();
    let s = tls_server(Backend::Sqlite, &pki, ClientAuth::None)
        .await
        .unwrap();
    let ch = pki.channel(s.addr, None).await.unwrap();
    search(ch.clone(), Some(&s.operator)).await.unwrap();
    let err = search(ch.clone(), None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let r = HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status, ServingStatus::Serving as i32);
    assert_eq!(
        pki.https_get(s.addr, "/readyz").await,
        (200, "ready\n".into())
    );
    // Plain HTTP to a TLS listener gets no answer.
    let plain = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        Channel::from_shared(format!("http://{}", s.addr))
            .unwrap()
            .connect(),
    )
    .await;
    if let Ok(Ok(ch)) = plain {
        assert!(search(ch, Some(&s.operator)).await.is_err());
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_authenticate_registered_clients() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let pki = Pki::new();
        let Some(s) = tls_server(backend, &pki, ClientAuth::Optional(pki.file("ca.pem"))).await
        else {
            continue;
        };
        let client = s
            .core
            .create_certificate_client(
                "portal-cert".into(),
                Role::Operator,
                None,
                pki.fingerprint("portal"),
            )
            .await
            .unwrap();
        assert_eq!(
            client.certificate_sha256.as_deref(),
            Some(&pki.fingerprint("portal")[..])
        );
        // The registered certificate alone is the client's credential.
        let ch = pki.channel(s.addr, Some("portal")).await.unwrap();
        search(ch.clone(), None).await.unwrap();
        // The HTTP downloads authenticate the same way: past authentication, the document is
        // simply not there; without the certificate, no credentials.
        let path = format!("/v1/powers-of-attorney/{}/document", uuid::Uuid::new_v4());
        let (status, body) = pki.https_get_as(s.addr, &path, Some("portal")).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = pki.https_get_as(s.addr, &path, None).await;
        assert_eq!(status, 401, "{body}");
        // A bearer token, when sent, is what counts.
        let err = search(ch.clone(), Some("oa1_not-a-real-token"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        // A certificate of the trusted CA that no client holds is refused.
        let ch = pki.channel(s.addr, Some("stranger")).await.unwrap();
        let err = search(ch.clone(), None).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
        assert!(
            err.message().contains("belongs to no active client"),
            "{err:?}"
        );
        // ...though its caller may still use a bearer token.
        search(ch, Some(&s.operator)).await.unwrap();
        // Without a certificate (optional) a bearer token works, and nothing else does.
        let ch = pki.channel(s.addr, None).await.unwrap();
        search(ch.clone(), Some(&s.operator)).await.unwrap();
        let err = search(ch, None).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        // A certificate from a CA the server does not trust fails the handshake.
        let outsider = async {
            let ch = pki.channel(s.addr, Some("outsider")).await?;
            search(ch, None).await.map_err(|e| e.to_string())?;
            Ok::<_, Box<dyn std::error::Error>>(())
        };
        assert!(outsider.await.is_err());
        // Registering the same certificate twice is refused; revoking the client ends it.
        let err = s
            .core
            .create_certificate_client(
                "again".into(),
                Role::Operator,
                None,
                pki.fingerprint("portal"),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("already has this certificate"),
            "{err}"
        );
        s.core.revoke_client("portal-cert".into()).await.unwrap();
        let ch = pki.channel(s.addr, Some("portal")).await.unwrap();
        let err = search(ch, None).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(
            count_where(&s.db, "audit_events", "action = 'client.create'"),
            2,
            "the operator and the certificate client"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_client_certificates_refuse_callers_without_one() {
    let pki = Pki::new();
    let s = tls_server(
        Backend::Sqlite,
        &pki,
        ClientAuth::Required(pki.file("ca.pem")),
    )
    .await
    .unwrap();
    let fp = pki.fingerprint("portal");
    s.core
        .create_certificate_client("portal-cert".into(), Role::Operator, None, fp)
        .await
        .unwrap();
    let without = async {
        let ch = pki.channel(s.addr, None).await?;
        search(ch, Some(&s.operator))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    assert!(
        without.await.is_err(),
        "a caller without a certificate got through"
    );
    let ch = pki.channel(s.addr, Some("portal")).await.unwrap();
    search(ch, None).await.unwrap();
    s.stop().await;
}

/// The whole path through the real binary: `client create --certificate`, `serve` with TLS and
/// client CAs from a settings file, a call with the certificate and no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_mtls_from_a_settings_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("orgadm.toml"),
        format!(
            "database_url = \"sqlite://orgadm.db\"\nlisten = \"127.0.0.1:0\"\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\nclient_auth = \"required\"\n",
            pki.file("server.pem"),
            pki.file("server.key"),
            pki.file("ca.pem"),
        ),
    )
    .unwrap();
    let o = crate::config::orgadm(d)
        .args([
            "--config",
            "orgadm.toml",
            "client",
            "create",
            "--name",
            "portal",
            "--role",
            "operator",
            "--certificate",
        ])
        .arg(pki.file("portal.pem"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains(&hex::encode(pki.fingerprint("portal"))),
        "{out}"
    );
    assert!(
        !out.contains("oa1_"),
        "a certificate client gets no token: {out}"
    );
    let o = crate::config::orgadm(d)
        .args(["--config", "orgadm.toml", "client", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        list.contains(&format!(
            "portal\toperator\t-\tactive\tcertificate sha256:{}",
            hex::encode(pki.fingerprint("portal"))
        )),
        "{list}"
    );

    let server = crate::lifecycle::Served::start(d, &["--config", "orgadm.toml"]);
    let ch = pki.channel(server.addr, Some("portal")).await.unwrap();
    search(ch, None).await.unwrap();
    assert!(
        pki.channel(server.addr, None).await.is_err() || {
            let ch = pki.channel(server.addr, None).await.unwrap();
            search(ch, None).await.is_err()
        }
    );
    server.stop_and_wait();
}
