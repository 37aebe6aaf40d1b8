//! МЧД documents and revocation statements come from outside (ImportDocument, SubmitRevocation):
//! the guard pass, the XSD check and the model reader must refuse, never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = orgadm::xml::parse(data);
    let _ = orgadm::xml::parse_revocation(data);
});
