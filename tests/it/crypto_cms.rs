//! CMS / CAdES verification against the OpenSSL-made fixtures in tests/fixtures/cms, our own
//! signatures round-tripped, and (when the GOST engine is installed) verified by OpenSSL.

use std::path::PathBuf;
use std::process::Command;

use orgadm::crypto::CryptoError;
use orgadm::crypto::cert::Certificate;
use orgadm::crypto::cms::{self, SignedData};
use orgadm::crypto::gost3410::{ParamSet, PrivateKey};
use orgadm::crypto::jwt;
use orgadm::crypto::keys::private_key_from_pem;
use orgadm::crypto::trust::TrustStore;

use super::crypto_pki::{cert, now, pki_dir, trust_dir};

fn cms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cms")
}
fn read(name: &str) -> Vec<u8> {
    std::fs::read(cms_dir().join(name)).unwrap()
}
fn uuid() -> Vec<u8> {
    read("uuid.txt")
}
fn key(name: &str) -> PrivateKey {
    private_key_from_pem(
        &std::fs::read_to_string(pki_dir().join(format!("{name}.key.pem"))).unwrap(),
    )
    .unwrap()
}

const SIGNERS: [&str; 21] = [
    "head",
    "employee",
    "impersonal",
    "private",
    "ip",
    "vendor_head",
    "employee512",
    "expired",
    "revoked",
    "rogue",
    "ps256_TCA",
    "ps256_TCB",
    "ps256_TCC",
    "ps256_TCD",
    "ps256_A",
    "ps256_B",
    "ps256_C",
    "ps256_XA",
    "ps256_XB",
    "ps512_A",
    "ps512_B",
];

#[test]
fn every_fixture_signature_verifies() {
    for name in SIGNERS.iter().chain(["ps512_C"].iter()) {
        let v = cms::verify_detached(&read(&format!("{name}.sig")), &uuid(), &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.signer, cert(name), "{name}");
        assert!(v.signing_time.is_some(), "{name}");
        let want = if name.contains("512") {
            "1.2.643.7.1.1.2.3"
        } else {
            "1.2.643.7.1.1.2.2"
        };
        assert_eq!(v.digest_oid, want, "{name}");
        assert!(!v.has_timestamp);
    }
}

#[test]
fn chain_outcomes_through_the_signature() {
    let dir = trust_dir();
    let store = TrustStore::from_dir(dir.path()).unwrap();
    let check = |name: &str| {
        let v = cms::verify_detached(&read(&format!("{name}.sig")), &uuid(), &[])?;
        store
            .verify_chain(&v.signer, &v.certificates, now())
            .map(|_| ())
    };
    check("head").unwrap();
    check("employee512").unwrap();
    assert!(matches!(check("expired"), Err(CryptoError::Expired(_))));
    assert!(matches!(check("rogue"), Err(CryptoError::Untrusted(_))));
    assert!(matches!(check("revoked"), Err(CryptoError::Revoked(_))));
    // the key usage of `nosign` forbids signing
    let e = cms::verify_detached(&read("nosign.sig"), &uuid(), &[]).unwrap_err();
    assert!(matches!(e, CryptoError::KeyUsage(_)), "{e}");
}

#[test]
fn variants() {
    // attached, and its base64 forms
    for f in [
        "head.attached.sig",
        "head.attached.b64pct.txt",
        "head.attached.b64url.txt",
    ] {
        let der = cms::decode_signature_input(&read(f)).unwrap();
        let v = cms::verify_attached(&der, &[]).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(v.content.as_deref(), Some(uuid().as_slice()), "{f}");
        assert_eq!(v.signer, cert("head"));
        cms::verify_any(&der, None, &[]).unwrap();
        cms::verify_any(&der, Some(&uuid()), &[]).unwrap();
        let e = cms::verify_detached(&der, b"another content", &[]).unwrap_err();
        assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
    }
    // standard base64 with padding and line breaks; url-safe with padding
    use base64::Engine;
    let der = read("head.sig");
    let std64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let wrapped: String = std64
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(
        cms::decode_signature_input(wrapped.as_bytes()).unwrap(),
        der
    );
    let url = base64::engine::general_purpose::URL_SAFE.encode(&der);
    assert_eq!(cms::decode_signature_input(url.as_bytes()).unwrap(), der);
    // detached signature used as attached
    let e = cms::verify_attached(&der, &[]).unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(_)), "{e}");
    // CAdES-BES and CAdES-T
    let v = cms::verify_detached(&read("head.cades.sig"), &uuid(), &[]).unwrap();
    assert!(v.has_signing_certificate && !v.has_timestamp);
    let v = cms::verify_detached(&read("head.cades_t.sig"), &uuid(), &[]).unwrap();
    assert!(v.has_signing_certificate && v.has_timestamp);
    // no signed attributes: the signature covers the content digest
    let v = cms::verify_detached(&read("head.noattr.sig"), &uuid(), &[]).unwrap();
    assert!(v.signing_time.is_none());
    let e = cms::verify_detached(&read("head.noattr.sig"), b"x", &[]).unwrap_err();
    assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
    // no certificates: the signer must be supplied
    let e = cms::verify_detached(&read("head.nocerts.sig"), &uuid(), &[]).unwrap_err();
    assert!(matches!(e, CryptoError::Untrusted(_)), "{e}");
    let v = cms::verify_detached(
        &read("head.nocerts.sig"),
        &uuid(),
        &[cert("employee"), cert("head")],
    )
    .unwrap();
    assert_eq!(v.signer, cert("head"));
    // signer by subjectKeyIdentifier
    let v = cms::verify_detached(&read("employee.keyid.sig"), &uuid(), &[]).unwrap();
    assert_eq!(v.signer, cert("employee"));
    // the XML document, 256 and 512
    let doc = read("doc.xml");
    assert_eq!(
        cms::verify_detached(&read("doc.xml.head.sig"), &doc, &[])
            .unwrap()
            .signer,
        cert("head")
    );
    assert_eq!(
        cms::verify_detached(&read("doc.xml.employee512.sig"), &doc, &[])
            .unwrap()
            .signer,
        cert("employee512")
    );
    let e = cms::verify_detached(&read("doc.xml.head.sig"), &uuid(), &[]).unwrap_err();
    assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
}

#[test]
fn flipped_bits_and_garbage() {
    let der = read("head.cades.sig");
    let sd = SignedData::from_der(&der).unwrap();
    assert_eq!(sd.signers.len(), 1);
    // content
    let mut content = uuid();
    content[3] ^= 1;
    let e = cms::verify_detached(&der, &content, &[]).unwrap_err();
    assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
    // every byte position of the message: one flipped bit never verifies
    let mut verified = 0;
    for pos in 0..der.len() {
        let mut d = der.clone();
        d[pos] ^= 0x04;
        match cms::verify_detached(&d, &uuid(), &[]) {
            Ok(_) => verified += 1,
            Err(
                CryptoError::BadSignature(_)
                | CryptoError::Malformed(_)
                | CryptoError::Untrusted(_)
                | CryptoError::KeyUsage(_),
            ) => {}
            Err(e) => panic!("byte {pos}: unexpected {e}"),
        }
    }
    // Only bits the signature does not cover may be flipped: the embedded certificate's own
    // signature and unsigned fields outside the signed attributes. Parts that are covered must not verify.
    let sig_pos = der.len() - 10; // inside the signature value
    let mut d = der.clone();
    d[sig_pos] ^= 1;
    assert!(matches!(
        cms::verify_detached(&d, &uuid(), &[]),
        Err(CryptoError::BadSignature(_))
    ));
    assert!(
        verified < der.len() / 2,
        "{verified} of {} flips verified",
        der.len()
    );
    // truncated and garbage
    for len in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
        let e = cms::verify_detached(&der[..len], &uuid(), &[]).unwrap_err();
        assert!(matches!(e, CryptoError::Malformed(_)), "{len}: {e}");
    }
    for junk in [
        &b"\x30\x80\x00\x00"[..],
        b"hello",
        b"%%%",
        b"MIIB",
        b"\x30\x03\x02\x01\x01",
    ] {
        let r =
            cms::decode_signature_input(junk).and_then(|d| cms::verify_detached(&d, &uuid(), &[]));
        assert!(
            matches!(r, Err(CryptoError::Malformed(_))),
            "{junk:?}: {r:?}"
        );
    }
    let e = SignedData::from_der(&read("../pki/head.cert.der")).unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(_)), "{e}");
}

#[test]
fn signed_attributes_are_covered() {
    // Flip a bit inside the signingTime value in the signed attributes.
    let der = read("head.sig");
    let time_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
    ];
    let pos = der
        .windows(time_oid.len())
        .position(|w| w == time_oid)
        .unwrap();
    let mut d = der.clone();
    d[pos + time_oid.len() + 6] ^= 0x01; // a digit of the UTCTime
    let e = cms::verify_detached(&d, &uuid(), &[]).unwrap_err();
    assert!(
        matches!(e, CryptoError::BadSignature(_) | CryptoError::Malformed(_)),
        "{e}"
    );
    // and in the embedded certificate's subject: the signer no longer matches / verifies
    let snils = b"12345678964";
    let pos = der.windows(snils.len()).position(|w| w == snils).unwrap();
    let mut d = der.clone();
    d[pos] ^= 0x01;
    let r = cms::verify_detached(&d, &uuid(), &[]);
    match r {
        Ok(v) => {
            // the message itself still verifies (the certificate is not signed by the signer),
            // but the certificate's own signature no longer does
            let e = v.signer.verify_signed_by(&cert("ca")).unwrap_err();
            assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
        }
        Err(e) => assert!(
            matches!(e, CryptoError::BadSignature(_) | CryptoError::Malformed(_)),
            "{e}"
        ),
    }
}

#[test]
fn round_trip_256_and_512() {
    for name in ["head", "employee512", "ps256_TCA", "ps512_C"] {
        let k = key(name);
        let c = cert(name);
        let content = b"<doc>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82</doc>";
        let det = cms::sign_detached(&k, &c, content, now()).unwrap();
        let v = cms::verify_detached(&det, content, &[]).unwrap();
        assert_eq!(v.signer, c);
        assert_eq!(v.signing_time, Some(now()));
        assert!(v.has_signing_certificate);
        let e = cms::verify_detached(&det, b"other", &[]).unwrap_err();
        assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
        let att = cms::sign_attached(&k, &c, content, now()).unwrap();
        let v = cms::verify_attached(&att, &[]).unwrap();
        assert_eq!(v.content.as_deref(), Some(&content[..]));
    }
    // a key that is not the certificate's
    let e = cms::sign_detached(&key("employee"), &cert("head"), b"x", now()).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    // a certificate that may not sign
    let e = cms::sign_detached(&key("nosign"), &cert("nosign"), b"x", now()).unwrap_err();
    assert!(matches!(e, CryptoError::KeyUsage(_)), "{e}");
}

fn openssl_gost() -> bool {
    let ok = Command::new("openssl")
        .args(["engine", "gost"])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "SKIPPED: OpenSSL's GOST engine is not available (apt-get install -y libengine-gost-openssl)"
        );
    }
    ok
}

#[test]
fn openssl_verifies_our_signatures() {
    if !openssl_gost() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content.bin");
    std::fs::write(
        &content,
        "3f2a9c1e-7b4d-4e8a-9f06-1c2d3e4f5a6b\n\u{0}binary\u{ff}",
    )
    .unwrap();
    let ca_file = dir.path().join("chain.pem");
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(pki_dir().join("root.cert.pem")).unwrap(),
        std::fs::read_to_string(pki_dir().join("ca.cert.pem")).unwrap()
    );
    std::fs::write(&ca_file, chain).unwrap();
    for name in [
        "head",
        "employee",
        "employee512",
        "ps256_TCA",
        "ps256_TCB",
        "ps256_TCC",
        "ps256_TCD",
        "ps256_A",
        "ps256_B",
        "ps256_C",
        "ps256_XA",
        "ps256_XB",
        "ps512_A",
        "ps512_B",
        "ps512_C",
    ] {
        let data = std::fs::read(&content).unwrap();
        let sig = cms::sign_detached(
            &key(name),
            &cert(name),
            &data,
            chrono::Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
        )
        .unwrap();
        let sig_file = dir.path().join(format!("{name}.sig"));
        std::fs::write(&sig_file, &sig).unwrap();
        let out = Command::new("openssl")
            .env("OPENSSL_CONF", "/dev/null")
            .args([
                "cms", "-verify", "-engine", "gost", "-binary", "-inform", "DER", "-purpose", "any",
            ])
            .arg("-in")
            .arg(&sig_file)
            .arg("-content")
            .arg(&content)
            .arg("-CAfile")
            .arg(&ca_file)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: openssl says {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

use chrono::TimeZone;

#[test]
fn jwt_round_trip_and_tamper() {
    use serde_json::json;
    for ps in [
        ParamSet::Tc26_256A,
        ParamSet::Tc26_256B,
        ParamSet::Tc26_512A,
    ] {
        let k = PrivateKey::generate(ps).unwrap();
        let claims = json!({"iss": "http://esia-portal1.test.gosuslugi.ru/", "urn:esia:sbj_id": 1000328686, "exp": 1, "iat": 0});
        let t = jwt::sign_jwt(&k, &json!({"ver": 1, "sbt": "access"}), &claims).unwrap();
        let (h, c) = jwt::verify_jwt_signature(&t, &k.public_key()).unwrap();
        assert_eq!(c, claims);
        assert_eq!(
            h["alg"],
            if ps.is_512() {
                jwt::ALG_512
            } else {
                jwt::ALG_256
            }
        );
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["sbt"], "access");
        assert!(!t.contains('='));
        // the third segment is s‖r big-endian: the raw digest check with the public key agrees
        use base64::Engine;
        let parts: Vec<&str> = t.split('.').collect();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        k.public_key()
            .verify_digest(&ps.digest(input.as_bytes()), &sig)
            .unwrap();
        // tamper: claims, signature, alg
        let mut bad = t.clone();
        bad.replace_range(parts[0].len() + 3..parts[0].len() + 4, "A");
        assert!(jwt::verify_jwt_signature(&bad, &k.public_key()).is_err());
        let mut rev = sig.clone();
        rev.reverse();
        let bad = format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&rev)
        );
        let e = jwt::verify_jwt_signature(&bad, &k.public_key()).unwrap_err();
        assert!(matches!(e, CryptoError::BadSignature(_)), "{e}");
        let other = PrivateKey::generate(ps).unwrap();
        assert!(matches!(
            jwt::verify_jwt_signature(&t, &other.public_key()),
            Err(CryptoError::BadSignature(_))
        ));
        assert!(matches!(
            jwt::verify_jwt_signature("a.b", &k.public_key()),
            Err(CryptoError::Malformed(_))
        ));
    }
}

#[test]
fn trust_of_fixture_chain_with_embedded_certs_only() {
    // A Certificate read from PEM equals the one embedded in the message.
    let sd = SignedData::from_der(&read("head.sig")).unwrap();
    assert!(sd.certificates.contains(&cert("head")));
    let _ = Certificate::from_der(cert("head").der()).unwrap();
}
