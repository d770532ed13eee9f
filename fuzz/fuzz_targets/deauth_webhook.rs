//! The body of a deauthorisation webhook.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oh_fitbit_web::fuzzing::read_webhook_body(data);
});
