//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): each reads bytes as the
//! client reads an answer from Open Humans, so a fuzzer finds what a hostile or broken answer
//! does.

use reqwest::StatusCode;

use crate::{
    delete::Deleted,
    member::Page,
    oauth::read_tokens,
    reply::Reply,
    upload::{Completion, DirectUpload, read_completion, s3_error_code},
};

/// Reads `body`, answered with `status`, as every kind of answer the client reads. A status
/// outside 100–999 is read as 200.
pub fn read_every_answer(status: u16, body: &[u8]) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let reply = || Reply {
        status,
        body: body.to_vec(),
    };
    let _ = read_tokens(reply());
    let _ = reply().json::<Page>("exchange-member");
    let _ = reply().json::<DirectUpload>("upload/direct");
    let _ = read_completion(reply()).map(|Completion { size }| size);
    let _ = reply()
        .json::<Deleted>("files/delete")
        .map(|deleted| deleted.ids);
    let _ = reply().ok();
    let _ = s3_error_code(&reply().text());
}
