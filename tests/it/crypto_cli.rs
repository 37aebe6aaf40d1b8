//! `orgadm pki …` run as the real binary: init (key 0600, certificate and CSR OpenSSL accepts),
//! sign, verify (with and without a trust directory; exit status), and `serve` refusing a key that
//! does not match its certificate.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::crypto_pki::pki_dir;

fn cms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cms")
}

fn orgadm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .env_remove("ORGADM_DATABASE_URL")
        .env_remove("ORGADM_SIGNING_KEY")
        .env_remove("ORGADM_SIGNING_CERT")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn trust_dir() -> tempfile::TempDir {
    super::crypto_pki::trust_dir()
}

fn openssl_gost() -> bool {
    Command::new("openssl")
        .args(["engine", "gost"])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn verify_reports_attributes_and_outcomes() {
    let trust = trust_dir();
    let content = cms_dir().join("uuid.txt");
    let (ok, out, err) = orgadm(&[
        "pki",
        "verify",
        "--content",
        s(&content),
        "--signature",
        s(&cms_dir().join("head.sig")),
        "--trust",
        s(trust.path()),
        "--at",
        "2027-01-01T00:00:00Z",
    ]);
    assert!(ok, "{out}{err}");
    for want in [
        "SNILS: 12345678964",
        "OGRN: 1037800000017",
        "INNLE: 7810010017",
        "kind: employee of an organisation",
        "signing time: 2026-",
        "outcome: VALID",
        "surname: Петров",
    ] {
        assert!(out.contains(want), "{want} missing in\n{out}");
    }
    // without --trust: the chain is not checked
    let (ok, out, _) = orgadm(&[
        "pki",
        "verify",
        "--content",
        s(&content),
        "--signature",
        s(&cms_dir().join("impersonal.sig")),
    ]);
    assert!(ok);
    assert!(
        out.contains("chain: not checked") && out.contains("kind: organisation (impersonal)"),
        "{out}"
    );
    // attached, base64url, no --content
    let (ok, out, _) = orgadm(&[
        "pki",
        "verify",
        "--signature",
        s(&cms_dir().join("head.attached.b64url.txt")),
        "--trust",
        s(trust.path()),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("content: attached, 36 bytes"), "{out}");
    // outcomes that fail
    for (sig, want) in [
        ("expired.sig", "EXPIRED"),
        ("revoked.sig", "REVOKED"),
        ("rogue.sig", "UNTRUSTED"),
        ("nosign.sig", "KEY_USAGE"),
    ] {
        let (ok, out, _) = orgadm(&[
            "pki",
            "verify",
            "--content",
            s(&content),
            "--signature",
            s(&cms_dir().join(sig)),
            "--trust",
            s(trust.path()),
        ]);
        assert!(!ok, "{sig}: {out}");
        assert!(
            out.contains(want) && out.contains("NOT VALID"),
            "{sig}: {out}"
        );
    }
    // the wrong content
    let (ok, out, _) = orgadm(&[
        "pki",
        "verify",
        "--content",
        s(&cms_dir().join("doc.xml")),
        "--signature",
        s(&cms_dir().join("head.sig")),
    ]);
    assert!(!ok);
    assert!(
        out.contains("BAD_SIGNATURE") && out.contains("messageDigest"),
        "{out}"
    );
    // --at before the certificates
    let (ok, out, _) = orgadm(&[
        "pki",
        "verify",
        "--content",
        s(&content),
        "--signature",
        s(&cms_dir().join("head.sig")),
        "--trust",
        s(trust.path()),
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    assert!(!ok && out.contains("NOT_YET_VALID"), "{out}");
    let (ok, _, err) = orgadm(&[
        "pki",
        "verify",
        "--signature",
        s(&cms_dir().join("head.sig")),
        "--at",
        "yesterday",
    ]);
    assert!(!ok && err.contains("--at"), "{err}");
}

#[test]
fn init_sign_verify_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("service.key.pem");
    let cert = dir.path().join("service.cert.pem");
    let (ok, out, err) = orgadm(&[
        "pki",
        "init",
        "--key",
        s(&key),
        "--cert",
        s(&cert),
        "--subject",
        "CN=orgadm,O=ООО Ромашка,C=RU",
        "--param-set",
        "tc26-256-a",
    ]);
    assert!(ok, "{out}{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // refuses to overwrite
    let (ok, _, err) = orgadm(&[
        "pki",
        "init",
        "--key",
        s(&key),
        "--cert",
        s(&dir.path().join("x.pem")),
    ]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = orgadm(&[
        "pki",
        "init",
        "--key",
        s(&dir.path().join("y.pem")),
        "--cert",
        s(&dir.path().join("z.pem")),
        "--param-set",
        "nope",
    ]);
    assert!(!ok && err.contains("--param-set"), "{err}");
    // sign a file, verify it with our verifier (the self-signed certificate as the trust anchor)
    let file = dir.path().join("export.csv");
    std::fs::write(&file, "id;name\n1;Ромашка\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args([
            "pki",
            "sign",
            "--key",
            s(&key),
            "--cert",
            s(&cert),
            s(&file),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = dir.path().join("export.csv.sig");
    std::fs::write(&sig, &out.stdout).unwrap();
    let anchors = dir.path().join("trust");
    std::fs::create_dir(&anchors).unwrap();
    std::fs::copy(&cert, anchors.join("service.pem")).unwrap();
    let (ok, out, err) = orgadm(&[
        "pki",
        "verify",
        "--content",
        s(&file),
        "--signature",
        s(&sig),
        "--trust",
        s(&anchors),
    ]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("format: CAdES-BES") && out.contains("outcome: VALID"),
        "{out}"
    );
    // the key file never shows up in the output
    let key_text = std::fs::read_to_string(&key).unwrap();
    let body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!out.contains(&body));
    // OpenSSL accepts the certificate, the signature, and a CSR
    if openssl_gost() {
        let o = Command::new("openssl")
            .env("OPENSSL_CONF", "/dev/null")
            .args([
                "x509",
                "-engine",
                "gost",
                "-noout",
                "-text",
                "-in",
                s(&cert),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = Command::new("openssl")
            .env("OPENSSL_CONF", "/dev/null")
            .args([
                "cms",
                "-verify",
                "-engine",
                "gost",
                "-binary",
                "-inform",
                "DER",
                "-purpose",
                "any",
                "-in",
                s(&sig),
                "-content",
                s(&file),
                "-CAfile",
                s(&cert),
                "-out",
                "/dev/null",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let csr = dir.path().join("service.csr");
        let key2 = dir.path().join("k512.pem");
        let (ok, _, err) = orgadm(&[
            "pki",
            "init",
            "--key",
            s(&key2),
            "--csr",
            s(&csr),
            "--param-set",
            "tc26-512-c",
            "--subject",
            "CN=orgadm 512",
        ]);
        assert!(ok, "{err}");
        let o = Command::new("openssl")
            .env("OPENSSL_CONF", "/dev/null")
            .args([
                "req",
                "-engine",
                "gost",
                "-verify",
                "-noout",
                "-in",
                s(&csr),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = Command::new("openssl")
            .env("OPENSSL_CONF", "/dev/null")
            .args(["pkey", "-engine", "gost", "-noout", "-in", s(&key2)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    } else {
        eprintln!("SKIPPED the OpenSSL part: the GOST engine is not available");
    }
    // serve refuses a key that does not match the certificate, before opening the database
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let (ok, _, err) = orgadm(&[
        "--database-url",
        &db,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--signing-key",
        s(&pki_dir().join("head.key.pem")),
        "--signing-cert",
        s(&cert),
    ]);
    assert!(!ok);
    assert!(
        err.contains("does not match the signing certificate"),
        "{err}"
    );
    assert!(!err.contains(body.as_str()));
    let (ok, _, err) = orgadm(&[
        "--database-url",
        &db,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--signing-key",
        s(&key),
    ]);
    assert!(
        !ok && err.contains("signing_key and signing_cert go together"),
        "{err}"
    );
    // the pki sign of a fixture signer
    let (ok, _, err) = orgadm(&[
        "pki",
        "sign",
        "--key",
        s(&pki_dir().join("employee.key.pem")),
        "--cert",
        s(&pki_dir().join("head.cert.pem")),
        s(&file),
    ]);
    assert!(!ok && err.contains("does not match"), "{err}");
}

#[test]
fn serve_loads_a_matching_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .env_remove("ORGADM_DATABASE_URL")
        .env("ORGADM_SIGNING_KEY", pki_dir().join("head.key.pem"))
        .env("ORGADM_SIGNING_CERT", pki_dir().join("head.cert.der"))
        .args(["--database-url", &db, "serve", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait for the "serving" line, then stop it
    let stderr = child.stderr.take().unwrap();
    let mut text = String::new();
    use std::io::BufRead;
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.contains("serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("service signing key loaded"), "{text}");
    let key_text = std::fs::read_to_string(pki_dir().join("head.key.pem")).unwrap();
    let body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!text.contains(&body));
}
