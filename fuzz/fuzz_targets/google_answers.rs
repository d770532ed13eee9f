//! Any answer from Google: errors, pages, resources and tokens (the first two bytes are the
//! status, the next line a header value).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((status, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (header, body) = match rest.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (&b""[..], rest),
    };
    google_health::fuzzing::read_every_answer(
        u16::from_be_bytes(*status),
        &String::from_utf8_lossy(header),
        body,
    );
});
