//! gRPC API `orgadm.v1`: generated types, conversions and one handler module per service.
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod codec;
pub mod convert;
pub mod employees;
pub mod organizations;
pub mod persons;
pub mod poa;
pub mod powers;
pub mod records;
pub mod status;
pub mod systems;
pub mod tokens;

/// Code generated from `proto/orgadm/v1` by `build.rs`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("orgadm.v1");

    /// The encoded file descriptor set served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/orgadm_descriptor.bin"));
}

/// Largest request message a service accepts.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
