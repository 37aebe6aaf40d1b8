//! Compiles `proto/orgadm/v1/*.proto` with protox (a pure-Rust protobuf compiler, so no
//! system `protoc` is needed) and generates the tonic/prost code, plus the encoded file
//! descriptor set that server reflection serves.
use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "orgadm/v1/common.proto",
        "orgadm/v1/person.proto",
        "orgadm/v1/organization.proto",
        "orgadm/v1/audit.proto",
        "orgadm/v1/power.proto",
        "orgadm/v1/power_of_attorney.proto",
        "orgadm/v1/employee.proto",
        "orgadm/v1/information_system.proto",
        "orgadm/v1/api_key.proto",
        "orgadm/v1/token.proto",
        "orgadm/v1/records.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("orgadm_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Malformed protobuf is answered INVALID_ARGUMENT (see src/transport/grpc/codec.rs).
        .codec_path("crate::transport::grpc::codec::StrictCodec")
        .compile_fds(fds)?;
    Ok(())
}
