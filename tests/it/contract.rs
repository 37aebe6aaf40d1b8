//! The wire contract, snapshotted so drift is seen in review: every service, method, message and
//! field of `orgadm.v1`, and the error details of a typical refusal. Set `UPDATE_SNAPSHOTS=1` to
//! rewrite the snapshot after an intended change.

use prost::Message;

fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        expected, actual,
        "the wire contract changed: review it, then run with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn descriptors() {
    let fds =
        prost_types::FileDescriptorSet::decode(orgadm::transport::grpc::pb::FILE_DESCRIPTOR_SET)
            .unwrap();
    let mut out = String::new();
    for f in &fds.file {
        out.push_str(&format!("file {}\n", f.name()));
        for s in &f.service {
            for m in &s.method {
                out.push_str(&format!(
                    "  rpc {}.{}({}) returns ({})\n",
                    s.name(),
                    m.name(),
                    m.input_type(),
                    m.output_type()
                ));
            }
        }
        for m in &f.message_type {
            out.push_str(&format!("  message {}\n", m.name()));
            for fld in &m.field {
                out.push_str(&format!(
                    "    {} {} = {} {:?}\n",
                    fld.name(),
                    fld.type_name
                        .clone()
                        .unwrap_or_else(|| format!("{:?}", fld.r#type())),
                    fld.number(),
                    fld.label()
                ));
            }
        }
        for e in &f.enum_type {
            out.push_str(&format!("  enum {}\n", e.name()));
            for v in &e.value {
                out.push_str(&format!("    {} = {}\n", v.name(), v.number()));
            }
        }
    }
    snapshot("descriptors.txt", &out);
}

#[test]
fn error_details() {
    use orgadm::domain::Violations;
    use orgadm::service::ServiceError;
    let mut v = Violations::new();
    v.add("inn", "INN checksum does not match");
    v.add("kpp", "is required");
    let cases = [
        ServiceError::InvalidArgument(v),
        ServiceError::denied(
            "ROLE_NOT_ALLOWED",
            "a vendor client may not register persons",
        ),
        ServiceError::precondition(
            "HEAD_NOT_CONFIRMED",
            "person/1000000001",
            "the head of an organisation must have a confirmed account",
        ),
        ServiceError::stale_etag("organization"),
        ServiceError::Internal("secret database detail".into()),
    ];
    let mut out = String::new();
    for e in cases {
        let s = tonic::Status::from(e);
        let d = crate::support::details(&s);
        out.push_str(&format!("{:?}: {}\n  {:?}\n", s.code(), s.message(), d));
    }
    assert!(!out.contains("secret database detail"));
    snapshot("error_details.txt", &out);
}
