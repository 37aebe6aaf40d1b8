//! CMS SignedData parsing and verification must never panic on outside input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use orgadm::crypto::cms;

fuzz_target!(|data: &[u8]| {
    if let Ok(der) = cms::decode_signature_input(data) {
        let _ = cms::SignedData::from_der(&der);
        let _ = cms::verify_detached(&der, b"0b7a5c1e-1d2f-4c3b-9a8e-7f6d5c4b3a21", &[]);
        let _ = cms::verify_attached(&der, &[]);
    }
    let _ = cms::SignedData::from_der(data);
});
