//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): each reads bytes as the
//! client reads an answer from Google, so a fuzzer finds what a hostile or broken answer does.

use crate::{
    ApiError, ListPage, OAuthError,
    oauth::read_token_response,
    types::{DailyRollUpPage, Identity, PairedDevicesPage, Profile, RollUpPage, Settings},
};

/// A `list` page from its body, as [`crate::HealthApi::list`] makes one.
pub fn list_page(body: &[u8]) -> serde_json::Result<ListPage> {
    ListPage::from_json(body.to_vec())
}

/// Reads `body` as every kind of answer the client reads: each error classification (with
/// `header` as both `WWW-Authenticate` and `Retry-After`), each page and resource, and a token
/// response.
pub fn read_every_answer(status: u16, header: &str, body: &[u8]) {
    let _ = ApiError::from_response(status, Some(header), Some(header), body);
    let _ = ApiError::from_response(status, None, None, body);
    let _ = OAuthError::from_response(status, body);
    if let Ok(page) = list_page(body) {
        let _ = page.values();
    }
    let _ = RollUpPage::from_json(body);
    let _ = DailyRollUpPage::from_json(body);
    let _ = PairedDevicesPage::from_json(body);
    let _ = Identity::from_json(body);
    let _ = Settings::from_json(body);
    let _ = Profile::from_json(body);
    let _ = read_token_response(body);
}
