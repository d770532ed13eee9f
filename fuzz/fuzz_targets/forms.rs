//! A form as the pages post it, or the query of an OAuth callback.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oh_fitbit_web::fuzzing::read_forms(data);
});
