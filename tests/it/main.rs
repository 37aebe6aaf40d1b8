//! The one integration-test binary: real servers on 127.0.0.1:0, real gRPC over a socket, each
//! test on its own SQLite file or PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod smtp;
mod support;

mod api_keys;
mod audit;
mod authz;
mod cli;
mod contract;
mod crash;
mod crypto_cli;
mod crypto_cms;
mod crypto_pki;
mod employees;
mod invitations;
mod organizations;
mod persons;
mod poa;
mod poa_import;
mod poa_revoke;
mod powers;
mod register_signed;
mod replicas;
mod server;
mod token;
mod xml_emchd;
mod xml_import;
