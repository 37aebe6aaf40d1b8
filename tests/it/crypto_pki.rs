//! Certificates, trust chains and CRLs against the OpenSSL-made fixtures in tests/fixtures/pki.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use orgadm::crypto::CryptoError;
use orgadm::crypto::cert::{Certificate, CertificateKind};
use orgadm::crypto::trust::{Crl, TrustStore};

pub fn pki_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pki")
}

pub fn cert(name: &str) -> Certificate {
    let pem = std::fs::read_to_string(pki_dir().join(format!("{name}.cert.pem"))).unwrap();
    Certificate::from_pem(&pem).unwrap()
}

/// A trust directory with only the root and the issuing CA (certificates and CRL), as a
/// deployment would configure it.
pub fn trust_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["root.cert.pem", "ca.cert.der", "ca.crl.der"] {
        std::fs::copy(pki_dir().join(f), d.path().join(f)).unwrap();
    }
    d
}

pub fn now() -> DateTime<Utc> {
    // The fixtures were made on 2026-11-23 and are valid for years.
    Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).unwrap()
}

#[test]
fn der_and_pem_agree() {
    let pem = cert("head");
    let der =
        Certificate::from_der(&std::fs::read(pki_dir().join("head.cert.der")).unwrap()).unwrap();
    assert_eq!(pem, der);
    assert_eq!(
        pem.serial_hex(),
        "e5:e3:8c:65:d8:4d:fb:a5:52:91:31:92:e0:1b:a3:6c"
    );
    assert!(
        pem.subject().contains("SNILS=12345678964"),
        "{}",
        pem.subject()
    );
    assert!(
        pem.issuer().contains("CN=Тестовый аккредитованный УЦ"),
        "{}",
        pem.issuer()
    );
    assert!(pem.not_before() < pem.not_after());
}

#[test]
fn every_certificate_verifies_against_its_issuer() {
    let root = cert("root");
    let ca = cert("ca");
    root.verify_signed_by(&root).unwrap();
    ca.verify_signed_by(&root).unwrap();
    for line in std::fs::read_to_string(pki_dir().join("manifest.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let name = line.split('\t').next().unwrap();
        let c = cert(name);
        c.public_key().unwrap_or_else(|e| panic!("{name}: {e}"));
        let issuer = match name {
            "root" | "rogue_root" => c.clone(),
            "ca" => root.clone(),
            "rogue" => cert("rogue_root"),
            _ => ca.clone(),
        };
        c.verify_signed_by(&issuer)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn qualified_attributes_follow_the_manifest() {
    for line in std::fs::read_to_string(pki_dir().join("manifest.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, snils, inn, ogrn, innle) = (f[0], f[3], f[4], f[5], f[6]);
        let q = cert(name).qualified_attributes();
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        assert_eq!(q.snils, opt(snils), "{name} snils");
        assert_eq!(q.inn, opt(inn), "{name} inn");
        if !ogrn.is_empty() {
            assert_eq!(q.ogrn, opt(ogrn), "{name} ogrn");
        }
        assert_eq!(q.innle, opt(innle), "{name} innle");
    }
}

#[test]
fn attributes_and_kinds() {
    let head = cert("head");
    let q = head.qualified_attributes();
    assert_eq!(q.surname.as_deref(), Some("Петров"));
    assert_eq!(q.given_name.as_deref(), Some("Пётр Петрович"));
    assert_eq!(q.title.as_deref(), Some("Генеральный директор"));
    assert_eq!(q.organization.as_deref(), Some("ООО \"Ромашка\""));
    assert_eq!(q.common_name.as_deref(), Some("Петров Пётр Петрович"));
    assert_eq!(q.ogrn.as_deref(), Some("1037800000017"));
    assert_eq!(q.innle.as_deref(), Some("7810010017"));
    assert_eq!(head.kind(), CertificateKind::Employee);
    assert_eq!(cert("employee").kind(), CertificateKind::Employee);
    let imp = cert("impersonal");
    assert_eq!(imp.kind(), CertificateKind::Organization);
    let qi = imp.qualified_attributes();
    assert!(qi.snils.is_none() && qi.surname.is_none() && qi.given_name.is_none());
    assert_eq!(qi.ogrn.as_deref(), Some("1037800000017"));
    let ip = cert("ip");
    assert_eq!(ip.kind(), CertificateKind::IndividualEntrepreneur);
    assert_eq!(
        ip.qualified_attributes().ogrnip.as_deref(),
        Some("304770000000127")
    );
    assert!(ip.qualified_attributes().ogrn.is_none());
    let private = cert("private");
    assert_eq!(private.kind(), CertificateKind::PrivatePerson);
    assert!(private.qualified_attributes().ogrn.is_none());
    assert_eq!(
        cert("vendor_head").qualified_attributes().ogrn.as_deref(),
        Some("1207700000012")
    );
}

#[test]
fn every_parameter_set_has_its_key() {
    let expect = [
        ("ps256_TCA", "1.2.643.7.1.2.1.1.1"),
        ("ps256_TCB", "1.2.643.7.1.2.1.1.2"),
        ("ps256_TCC", "1.2.643.7.1.2.1.1.3"),
        ("ps256_TCD", "1.2.643.7.1.2.1.1.4"),
        ("ps256_A", "1.2.643.7.1.2.1.1.2"),
        ("ps256_B", "1.2.643.7.1.2.1.1.3"),
        ("ps256_C", "1.2.643.7.1.2.1.1.4"),
        ("ps256_XA", "1.2.643.7.1.2.1.1.2"),
        ("ps256_XB", "1.2.643.7.1.2.1.1.4"),
        ("ps512_A", "1.2.643.7.1.2.1.2.1"),
        ("ps512_B", "1.2.643.7.1.2.1.2.2"),
        ("ps512_C", "1.2.643.7.1.2.1.2.3"),
    ];
    for (name, oid) in expect {
        let k = cert(name).public_key().unwrap();
        assert_eq!(k.param_set().oid(), oid, "{name}");
        // the private key in the fixture is the certificate's
        let pem = std::fs::read_to_string(pki_dir().join(format!("{name}.key.pem"))).unwrap();
        let sk = orgadm::crypto::keys::private_key_from_pem(&pem).unwrap();
        assert_eq!(sk.public_key().to_le_bytes(), k.to_le_bytes(), "{name}");
    }
}

#[test]
fn chain_ok_and_outcomes() {
    let dir = trust_dir();
    let store = TrustStore::from_dir(dir.path()).unwrap();
    assert_eq!(store.anchors().len(), 1);
    assert_eq!(store.crls().len(), 1);
    for name in [
        "head",
        "employee",
        "impersonal",
        "private",
        "ip",
        "vendor_head",
        "employee512",
        "nosign",
        "ps512_C",
        "ps256_TCA",
    ] {
        let path = store
            .verify_chain(&cert(name), &[], now())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(path.len(), 3, "{name}");
        assert_eq!(path[2], cert("root"));
    }
    let e = store
        .verify_chain(&cert("expired"), &[], now())
        .unwrap_err();
    assert!(matches!(e, CryptoError::Expired(_)), "{e}");
    let e = store.verify_chain(&cert("rogue"), &[], now()).unwrap_err();
    assert!(matches!(e, CryptoError::Untrusted(_)), "{e}");
    // even when the rogue root comes along as an extra certificate
    let e = store
        .verify_chain(&cert("rogue"), &[cert("rogue_root")], now())
        .unwrap_err();
    assert!(matches!(e, CryptoError::Untrusted(_)), "{e}");
    let e = store
        .verify_chain(&cert("revoked"), &[], now())
        .unwrap_err();
    assert!(matches!(e, CryptoError::Revoked(_)), "{e}");
    assert!(e.to_string().contains("revoked"), "{e}");
    let e = store
        .verify_chain(
            &cert("head"),
            &[],
            Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(e, CryptoError::NotYetValid(_)), "{e}");
    // key usage
    let e = cert("nosign").check_signing_usage().unwrap_err();
    assert!(matches!(e, CryptoError::KeyUsage(_)), "{e}");
    cert("head").check_signing_usage().unwrap();
}

#[test]
fn intermediate_may_come_from_the_message() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(pki_dir().join("root.cert.pem"), d.path().join("root.pem")).unwrap();
    let store = TrustStore::from_dir(d.path()).unwrap();
    let e = store.verify_chain(&cert("head"), &[], now()).unwrap_err();
    assert!(matches!(e, CryptoError::Untrusted(_)), "{e}");
    store
        .verify_chain(&cert("head"), &[cert("ca")], now())
        .unwrap();
    // No CRL in this directory: the revoked certificate passes (revocation needs the CRL).
    store
        .verify_chain(&cert("revoked"), &[cert("ca")], now())
        .unwrap();
}

#[test]
fn crl_parses_and_verifies() {
    let crl = Crl::from_der(&std::fs::read(pki_dir().join("ca.crl.der")).unwrap()).unwrap();
    crl.verify_signed_by(&cert("ca")).unwrap();
    assert!(crl.verify_signed_by(&cert("root")).is_err());
    assert!(crl.revoked_at(cert("revoked").serial()).is_some());
    assert!(crl.revoked_at(cert("head").serial()).is_none());
    let pem = Crl::all_from_bytes(&std::fs::read(pki_dir().join("ca.crl.pem")).unwrap()).unwrap();
    assert_eq!(pem[0].der(), crl.der());
    // a CRL whose signature was tampered with makes the store refuse the chain
    let mut bad = crl.der().to_vec();
    let n = bad.len();
    bad[n - 5] ^= 1;
    let d = trust_dir();
    std::fs::write(d.path().join("ca.crl.der"), &bad).unwrap();
    let store = TrustStore::from_dir(d.path()).unwrap();
    let e = store.verify_chain(&cert("head"), &[], now()).unwrap_err();
    assert!(matches!(e, CryptoError::Untrusted(_)), "{e}");
}

#[test]
fn tampered_certificates() {
    let ca = cert("ca");
    let der = cert("head").der().to_vec();
    // flip one bit in the TBS (the subject) and in the signature
    for pos in [300usize, der.len() - 3] {
        let mut d = der.clone();
        d[pos] ^= 0x01;
        match Certificate::from_der(&d) {
            Ok(c) => {
                let e = c.verify_signed_by(&ca).unwrap_err();
                assert!(
                    matches!(e, CryptoError::BadSignature(_) | CryptoError::Malformed(_)),
                    "{e}"
                );
            }
            Err(e) => assert!(matches!(e, CryptoError::Malformed(_)), "{e}"),
        }
    }
    for len in [0, 1, 10, der.len() / 2, der.len() - 1] {
        let e = Certificate::from_der(&der[..len]).unwrap_err();
        assert!(matches!(e, CryptoError::Malformed(_)), "{e}");
    }
    let e = Certificate::from_der(b"garbage that is not DER").unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(_)), "{e}");
    let e = Certificate::from_pem("no pem here").unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(_)), "{e}");
}

#[test]
fn old_zero_padded_inn_reads_as_innle() {
    // Build a certificate whose INN attribute holds the organisation INN padded to 12 digits.
    use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
    use orgadm::crypto::service_key::{parse_subject, self_signed_certificate};
    let key = PrivateKey::generate(ParamSet::Tc26_256A).unwrap();
    let name = parse_subject(
        "CN=ООО Ромашка,O=ООО Ромашка,1.2.643.100.1=1037800000017,1.2.643.3.131.1.1=007810010017",
    )
    .unwrap();
    let c = self_signed_certificate(&key, &name, now(), 30).unwrap();
    let q = c.qualified_attributes();
    assert_eq!(q.innle.as_deref(), Some("7810010017"));
    assert_eq!(q.inn, None);
    assert_eq!(c.kind(), CertificateKind::Organization);
    c.verify_signed_by(&c).unwrap();
}
