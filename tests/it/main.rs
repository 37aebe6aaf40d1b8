//! The one integration-test binary: real servers on 127.0.0.1:0, real gRPC over a socket, each
//! test on its own SQLite file or PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod smtp;
mod support;

mod api_keys;
mod audit;
mod audit_export;
mod authz;
mod cli;
mod config;
mod contract;
mod crash;
mod crypto_cli;
mod crypto_cms;
mod crypto_pki;
mod employees;
mod invitations;
mod lifecycle;
mod observability;
mod organizations;
mod outage;
mod persons;
mod pgbouncer;
mod poa;
mod poa_import;
mod poa_revoke;
mod powers;
mod records;
mod register_signed;
mod replicas;
mod server;
mod sweep;
mod tls;
mod token;
mod xml_emchd;
mod xml_import;
