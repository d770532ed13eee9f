//! Any answer from Open Humans (the first two bytes are the status).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = data.split_first_chunk::<2>() {
        open_humans::fuzzing::read_every_answer(u16::from_be_bytes(*status), body);
    }
});
