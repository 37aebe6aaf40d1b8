//! Certificate parsing, attribute extraction and CRL parsing must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use orgadm::crypto::{cert::Certificate, trust::Crl};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Certificate::from_der(data) {
        let _ = c.qualified_attributes();
        let _ = c.kind();
        let _ = c.public_key();
        let _ = c.verify_signed_by(&c);
    }
    let _ = Crl::from_der(data);
});
