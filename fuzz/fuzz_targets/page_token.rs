//! Page tokens come from callers: decoding must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = orgadm::domain::page::page_request(50, s, "abcdef");
        let _ = orgadm::domain::ids::parse_snils(s);
        let _ = orgadm::domain::ids::parse_inn12(s);
        let _ = orgadm::domain::ids::parse_ogrn(s);
    }
});
