//! A `list` page of any data type, read into chunks as an import does (the first byte picks
//! the type).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&index, body)) = data.split_first() {
        oh_fitbit_worker::fuzzing::read_list_page(index, body);
    }
});
