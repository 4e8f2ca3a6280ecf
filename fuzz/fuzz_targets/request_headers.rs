#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fxe_protocol_fuzz::request_headers(data));
