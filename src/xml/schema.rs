//! Run-time XSD validation through libxml2 (the `libxml` crate), against the official FNS
//! schema `ON_EMCHD_1_928_00_01_01_01.xsd` and orgadm's `orgadm_revocation_1.xsd`, both
//! embedded in the binary.
//!
//! libxml2's compiled schema and validation context are raw pointers in the `libxml` crate
//! (neither `Send` nor `Sync`), and `unsafe` is forbidden in this crate, so each thread that
//! validates compiles the schema once and keeps it in a `thread_local!` (a few milliseconds,
//! once per thread; the blocking pool's threads are long-lived). The validation itself takes no
//! lock, so validations on different threads run in parallel.
//!
//! Before libxml2 parses anything, the document passes [`guard`](super::guard): no DOCTYPE ever
//! reaches libxml2 (no entity expansion, no external entities), and libxml2 runs without
//! network access, without recovery, and with its own default (non-huge) limits.

use std::cell::RefCell;

use libxml::parser::{Parser, ParserOptions, XmlParseFailure};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

use super::error::{SchemaViolation, XmlError};
use super::guard::{self, Limits};

/// The official FNS XSD of EMCHD_1 (version 928_00_01_01_01).
pub const EMCHD_XSD: &[u8] = include_bytes!("ON_EMCHD_1_928_00_01_01_01.xsd");
/// orgadm's revocation statement, `urn://orgadm/revocation/1`.
pub const REVOCATION_XSD: &[u8] = include_bytes!("orgadm_revocation_1.xsd");

/// Which embedded schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xsd {
    Emchd,
    Revocation,
}

type Compiled = Result<SchemaValidationContext, String>;

thread_local! {
    static EMCHD: RefCell<Option<Compiled>> = const { RefCell::new(None) };
    static REVOCATION: RefCell<Option<Compiled>> = const { RefCell::new(None) };
}

fn compile(xsd: &[u8]) -> Compiled {
    let mut parser = SchemaParserContext::from_buffer(xsd);
    SchemaValidationContext::from_parser(&mut parser).map_err(|errs| {
        errs.iter()
            .filter_map(|e| e.message.as_deref().map(str::trim))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn violation(e: &libxml::error::StructuredError) -> SchemaViolation {
    SchemaViolation {
        line: e.line.and_then(|l| u32::try_from(l).ok()),
        message: e
            .message
            .as_deref()
            .unwrap_or("(no message)")
            .trim()
            .to_owned(),
    }
}

/// Validates `bytes` against the official EMCHD_1 XSD. The guards run first; a document they
/// refuse comes back as one violation without a line.
pub fn validate_against_schema(bytes: &[u8]) -> Result<(), Vec<SchemaViolation>> {
    validate_guarded(Xsd::Emchd, bytes)
}

/// Validates `bytes` against orgadm's revocation statement XSD.
pub fn validate_revocation_against_schema(bytes: &[u8]) -> Result<(), Vec<SchemaViolation>> {
    validate_guarded(Xsd::Revocation, bytes)
}

fn validate_guarded(xsd: Xsd, bytes: &[u8]) -> Result<(), Vec<SchemaViolation>> {
    if let Err(e) = guard::scan(bytes, &Limits::default()) {
        return Err(vec![SchemaViolation {
            line: None,
            message: e.to_string(),
        }]);
    }
    validate_unguarded(xsd, bytes)
}

/// Validation of a document that already passed the guards.
pub(crate) fn check(xsd: Xsd, bytes: &[u8]) -> Result<(), XmlError> {
    validate_unguarded(xsd, bytes).map_err(XmlError::SchemaViolation)
}

fn validate_unguarded(xsd: Xsd, bytes: &[u8]) -> Result<(), Vec<SchemaViolation>> {
    let options = ParserOptions {
        recover: false,
        no_def_dtd: true,
        no_error: true,
        no_warning: true,
        no_net: true,
        huge: false,
        encoding: Some("UTF-8"),
        ..ParserOptions::default()
    };
    let doc = match Parser::default().parse_string_with_diagnostics(bytes, options) {
        Ok((doc, _warnings)) => doc,
        Err(XmlParseFailure::ParseFailed(errs)) => {
            let mut v: Vec<SchemaViolation> = errs.iter().map(violation).collect();
            if v.is_empty() {
                v.push(SchemaViolation {
                    line: None,
                    message: "not well-formed".into(),
                });
            }
            return Err(v);
        }
        Err(e) => {
            return Err(vec![SchemaViolation {
                line: None,
                message: format!("libxml2 could not parse: {e:?}"),
            }]);
        }
    };
    let slot = match xsd {
        Xsd::Emchd => &EMCHD,
        Xsd::Revocation => &REVOCATION,
    };
    slot.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compiled = cell.get_or_insert_with(|| {
            compile(match xsd {
                Xsd::Emchd => EMCHD_XSD,
                Xsd::Revocation => REVOCATION_XSD,
            })
        });
        match compiled {
            Ok(ctx) => ctx
                .validate_document(&doc)
                .map_err(|errs| errs.iter().map(violation).collect()),
            Err(msg) => Err(vec![SchemaViolation {
                line: None,
                message: format!("the embedded schema could not be compiled: {msg}"),
            }]),
        }
    })
}
