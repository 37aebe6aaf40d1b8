//! Tests of GOST R 34.10-2012: the standard's worked examples, OpenSSL interop, negative cases.
use super::*;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_default()
}

fn rev(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

/// GOST R 34.10-2012 Appendix A.1 (RFC 7091 A.1): 256-bit test parameter set.
#[test]
fn standard_example_256() {
    let ps = ParamSet::Test256;
    let d = unhex("7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28");
    let e = unhex("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5");
    let k = unhex("77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3");
    let qx = unhex("7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B");
    let qy = unhex("26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA");
    let r = "41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493";
    let s = "01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40";
    let Ok(key) = PrivateKey::from_be_bytes(ps, &d) else {
        unreachable!()
    };
    let mut pub_le = rev(qx);
    pub_le.extend(rev(qy));
    assert_eq!(
        hex::encode(key.public_key().to_le_bytes()),
        hex::encode(&pub_le)
    );
    // the digest bytes are the little-endian encoding of e
    let digest = rev(e);
    let sig = key.sign_digest_with_k(&digest, &k);
    assert_eq!(sig.map(hex::encode), Ok(format!("{s}{r}").to_lowercase()));
    let Ok(public) = PublicKey::from_le_bytes(ps, &pub_le) else {
        unreachable!()
    };
    assert_eq!(
        public.verify_digest(&digest, &unhex(&format!("{s}{r}"))),
        Ok(())
    );
    // random-k signatures verify too
    for _ in 0..4 {
        let Ok(sig) = key.sign_digest(&digest) else {
            unreachable!()
        };
        assert_eq!(public.verify_digest(&digest, &sig), Ok(()));
    }
}

/// GOST R 34.10-2012 Appendix A.2 (RFC 7091 A.2): 512-bit test parameter set.
#[test]
fn standard_example_512() {
    let ps = ParamSet::Test512;
    let d = unhex(
        "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
    );
    let e = unhex(
        "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
    );
    let k = unhex(
        "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
    );
    let qx = unhex(
        "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1",
    );
    let qy = unhex(
        "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC",
    );
    let r = "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36";
    let s = "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A";
    let Ok(key) = PrivateKey::from_be_bytes(ps, &d) else {
        unreachable!()
    };
    let mut pub_le = rev(qx);
    pub_le.extend(rev(qy));
    assert_eq!(
        hex::encode(key.public_key().to_le_bytes()),
        hex::encode(&pub_le)
    );
    let digest = rev(e);
    let sig = key.sign_digest_with_k(&digest, &k);
    assert_eq!(sig.map(hex::encode), Ok(format!("{s}{r}").to_lowercase()));
    let Ok(public) = PublicKey::from_le_bytes(ps, &pub_le) else {
        unreachable!()
    };
    assert_eq!(
        public.verify_digest(&digest, &unhex(&format!("{s}{r}"))),
        Ok(())
    );
    let Ok(sig) = key.sign_digest(&digest) else {
        unreachable!()
    };
    assert_eq!(public.verify_digest(&digest, &sig), Ok(()));
}

#[test]
fn sign_verify_every_parameter_set_and_negative_cases() {
    for ps in ParamSet::ALL {
        let Ok(key) = PrivateKey::generate(ps) else {
            unreachable!("{ps:?}")
        };
        let public = key.public_key();
        let size = ps.size();
        let digest = ps.digest(b"negative cases");
        let Ok(sig) = key.sign_digest(&digest) else {
            unreachable!("{ps:?}")
        };
        assert_eq!(sig.len(), 2 * size);
        assert_eq!(public.verify_digest(&digest, &sig), Ok(()), "{ps:?}");
        // round trip of the public key encoding
        assert_eq!(
            PublicKey::from_le_bytes(ps, &public.to_le_bytes()).as_ref(),
            Ok(&public)
        );
        // flipped bit in the digest
        let mut d2 = digest.clone();
        d2[3] ^= 0x10;
        assert!(
            matches!(
                public.verify_digest(&d2, &sig),
                Err(CryptoError::BadSignature(_))
            ),
            "{ps:?}"
        );
        // flipped bit in s and in r
        for pos in [0, size - 1, size, 2 * size - 1] {
            let mut s2 = sig.clone();
            s2[pos] ^= 0x01;
            assert!(public.verify_digest(&digest, &s2).is_err(), "{ps:?} {pos}");
        }
        // r = 0, s = 0, r ≥ q, s ≥ q
        let q_be = match curve256(ps) {
            Some(c) => uint_to_be(c.q.as_ref()),
            None => curve512(ps)
                .map(|c| uint_to_be(c.q.as_ref()))
                .unwrap_or_default(),
        };
        let zero = vec![0u8; size];
        let variants = [
            [&sig[..size], &zero[..]].concat(),
            [&zero[..], &sig[size..]].concat(),
            [&sig[..size], &q_be[..]].concat(),
            [&q_be[..], &sig[size..]].concat(),
            vec![0xff; 2 * size],
        ];
        for v in variants {
            assert!(
                matches!(
                    public.verify_digest(&digest, &v),
                    Err(CryptoError::BadSignature(_))
                ),
                "{ps:?}"
            );
        }
        // wrong lengths
        assert!(matches!(
            public.verify_digest(&digest, &sig[1..]),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            public.verify_digest(&digest[1..], &sig),
            Err(CryptoError::Malformed(_))
        ));
        assert!(key.sign_digest(&digest[1..]).is_err());
        assert!(PublicKey::from_le_bytes(ps, &public.to_le_bytes()[1..]).is_err());
        // a point not on the curve
        let mut bad = public.to_le_bytes();
        bad[0] ^= 1;
        assert!(matches!(
            PublicKey::from_le_bytes(ps, &bad),
            Err(CryptoError::Malformed(_))
        ));
        // coordinates ≥ p
        assert!(PublicKey::from_le_bytes(ps, &vec![0xff; 2 * size]).is_err());
        // private key range
        assert!(PrivateKey::from_be_bytes(ps, &zero).is_err());
        assert!(PrivateKey::from_be_bytes(ps, &q_be).is_err());
        assert!(PrivateKey::from_be_bytes(ps, &zero[1..]).is_err());
        // another key does not verify
        let Ok(other) = PrivateKey::generate(ps) else {
            unreachable!()
        };
        assert!(other.public_key().verify_digest(&digest, &sig).is_err());
        // the Debug form shows no secret
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(&hex::encode(key.to_le_bytes().as_slice())));
    }
}

#[test]
fn digest_zero_mod_q_is_read_as_one() {
    let ps = ParamSet::Tc26_256B;
    let Ok(key) = PrivateKey::generate(ps) else {
        unreachable!()
    };
    let zero = vec![0u8; 32];
    let one = {
        let mut v = vec![0u8; 32];
        v[0] = 1;
        v
    };
    let Ok(sig) = key.sign_digest(&zero) else {
        unreachable!()
    };
    assert_eq!(key.public_key().verify_digest(&one, &sig), Ok(()));
}

#[test]
fn oids() {
    for ps in ParamSet::ALL {
        assert_eq!(ParamSet::from_oid(ps.oid()), Some(ps));
    }
    assert_eq!(
        ParamSet::from_oid("1.2.643.2.2.35.1"),
        Some(ParamSet::Tc26_256B)
    );
    assert_eq!(
        ParamSet::from_oid("1.2.643.2.2.36.0"),
        Some(ParamSet::Tc26_256B)
    );
    assert_eq!(
        ParamSet::from_oid("1.2.643.2.2.35.2"),
        Some(ParamSet::Tc26_256C)
    );
    assert_eq!(
        ParamSet::from_oid("1.2.643.2.2.35.3"),
        Some(ParamSet::Tc26_256D)
    );
    assert_eq!(
        ParamSet::from_oid("1.2.643.2.2.36.1"),
        Some(ParamSet::Tc26_256D)
    );
    assert_eq!(ParamSet::from_oid("1.2.3"), None);
    assert_eq!(ParamSet::Tc26_512C.signature_oid(), "1.2.643.7.1.1.3.3");
    assert_eq!(ParamSet::Tc26_256A.public_key_oid(), "1.2.643.7.1.1.1.1");
    assert_eq!(ParamSet::Tc26_256A.digest_oid(), "1.2.643.7.1.1.2.2");
}

mod openssl_interop {
    use super::super::super::keys::private_key_from_pem;
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    struct Row {
        name: String,
        ps: ParamSet,
        d_be: Vec<u8>,
        pub_le: Vec<u8>,
        digest: Vec<u8>,
        openssl_sig: Vec<u8>,
        our_sig: Vec<u8>,
    }

    fn rows() -> Vec<Row> {
        let text = std::fs::read_to_string(root().join("tests/fixtures/gost/openssl_vectors.tsv"))
            .unwrap_or_default();
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                if c.len() < 7 {
                    return None;
                }
                Some(Row {
                    name: c[0].to_string(),
                    ps: ParamSet::from_oid(c[1])?,
                    d_be: unhex(c[2]),
                    pub_le: unhex(c[3]),
                    digest: unhex(c[4]),
                    openssl_sig: unhex(c[5]),
                    our_sig: unhex(c[6]),
                })
            })
            .collect()
    }

    #[test]
    fn committed_openssl_vectors() {
        let rows = rows();
        assert!(rows.len() >= 12, "{} rows", rows.len());
        for row in &rows {
            let Ok(key) = PrivateKey::from_be_bytes(row.ps, &row.d_be) else {
                unreachable!("{}", row.name)
            };
            assert_eq!(key.public_key().to_le_bytes(), row.pub_le, "{}", row.name);
            let Ok(public) = PublicKey::from_le_bytes(row.ps, &row.pub_le) else {
                unreachable!("{}", row.name)
            };
            assert_eq!(
                public.verify_digest(&row.digest, &row.openssl_sig),
                Ok(()),
                "{} openssl sig",
                row.name
            );
            assert_eq!(
                public.verify_digest(&row.digest, &row.our_sig),
                Ok(()),
                "{} our sig",
                row.name
            );
            let mut bad = row.openssl_sig.clone();
            bad[5] ^= 4;
            assert!(public.verify_digest(&row.digest, &bad).is_err());
            // the fixture key file holds the same key
            let pem = std::fs::read_to_string(
                root().join(format!("tests/fixtures/pki/{}.key.pem", row.name)),
            )
            .unwrap_or_default();
            let Ok(k2) = private_key_from_pem(&pem) else {
                unreachable!("{} pem", row.name)
            };
            assert_eq!(k2.public_key(), public, "{}", row.name);
            assert_eq!(k2.param_set(), row.ps);
        }
    }

    fn engine_works() -> bool {
        Command::new("openssl")
            .args(["engine", "gost", "-c"])
            .env("OPENSSL_CONF", "/dev/null")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn openssl(args: &[&str]) -> bool {
        Command::new("openssl")
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    #[test]
    fn live_cross_check_with_openssl_engine() {
        if !engine_works() {
            println!(
                "skipped: `openssl engine gost` is not available (apt-get install libengine-gost-openssl)"
            );
            return;
        }
        let Ok(dir) = tempfile::tempdir() else {
            unreachable!()
        };
        let p = |n: &str| dir.path().join(n).to_string_lossy().to_string();
        for row in rows() {
            let key_pem = root().join(format!("tests/fixtures/pki/{}.key.pem", row.name));
            let key_pem = key_pem.to_string_lossy().to_string();
            let Ok(key) =
                private_key_from_pem(&std::fs::read_to_string(&key_pem).unwrap_or_default())
            else {
                unreachable!("{}", row.name)
            };
            let digest = row.ps.digest(
                format!("live cross-check {} {}", row.name, {
                    let mut salt = [0u8; 16];
                    let _ = getrandom::fill(&mut salt);
                    hex::encode(salt)
                })
                .as_bytes(),
            );
            assert!(std::fs::write(p("digest"), &digest).is_ok());
            // ours → OpenSSL (also through a key file we wrote)
            let Ok(sig) = key.sign_digest(&digest) else {
                unreachable!()
            };
            assert!(std::fs::write(p("our.sig"), &sig).is_ok());
            assert!(
                std::fs::write(
                    p("our.key.pem"),
                    super::super::super::keys::private_key_to_pem(&key)
                )
                .is_ok()
            );
            for k in [key_pem.as_str(), p("our.key.pem").as_str()] {
                assert!(
                    openssl(&[
                        "pkeyutl",
                        "-engine",
                        "gost",
                        "-verify",
                        "-inkey",
                        k,
                        "-in",
                        &p("digest"),
                        "-sigfile",
                        &p("our.sig")
                    ]),
                    "OpenSSL rejects our signature for {} (key {k})",
                    row.name
                );
            }
            // OpenSSL → ours
            assert!(
                openssl(&[
                    "pkeyutl",
                    "-engine",
                    "gost",
                    "-sign",
                    "-inkey",
                    &key_pem,
                    "-in",
                    &p("digest"),
                    "-out",
                    &p("ossl.sig")
                ]),
                "openssl sign {}",
                row.name
            );
            let ossl = std::fs::read(p("ossl.sig")).unwrap_or_default();
            assert_eq!(
                key.public_key().verify_digest(&digest, &ossl),
                Ok(()),
                "OpenSSL's signature for {}",
                row.name
            );
            println!("{}: ok both ways", row.name);
        }
    }
}
