//! orgadm: the organisation-administration service of an ESIA-style identity ecosystem.
//!
//! Layers (one-way): `transport` → `service` → `domain`; `service` → `storage` → `domain`;
//! `crypto` and `xml` are leaves. See `docs/ARCHITECTURE.md`.
pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod mail;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod transport;
pub mod xml;
