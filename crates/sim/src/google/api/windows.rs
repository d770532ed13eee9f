//! What `rollUp` and `dailyRollUp` share: a range cut into windows `[start + k·w,
//! start + (k+1)·w)` (the last one truncated at the range end), served newest window first,
//! paged by window index. A window without data is left out or answered with an empty value
//! (`"steps":{}`), as the `empty_rollup_windows` knob says.

use axum::{http::StatusCode, response::Response};
use serde_json::{Map, Value};

use super::{paging::Fingerprint, params, pipeline::Context};
use crate::google::{
    knobs::EmptyWindows,
    responses::{self, GoogleError},
};

/// The description of a range that does not end after it starts.
pub(crate) const TIME_RANGE: &str = "Query end time must be strictly larger than start time";

/// A rollup range must end after it starts: Google's documented `INVALID_TIME_RANGE`.
pub(crate) fn time_range_error() -> GoogleError {
    GoogleError::invalid_argument("INVALID_TIME_RANGE", TIME_RANGE)
}

/// The windows of a range, in whatever unit the method uses (days, milliseconds).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Windows {
    pub start: i64,
    pub end: i64,
    pub length: i64,
}

impl Windows {
    pub(crate) fn count(&self) -> i64 {
        (self.end - self.start + self.length - 1) / self.length
    }

    /// `[start, end)` of window `index`.
    pub(crate) fn bounds(&self, index: i64) -> (i64, i64) {
        let start = self.start + index * self.length;
        (start, (start + self.length).min(self.end))
    }
}

/// A request for one page of windows: up to `page_size` windows before index `cursor` (all
/// when `None`), newest first.
#[derive(Debug)]
pub(crate) struct WindowPage<'a> {
    pub context: &'a Context,
    pub fingerprint: Fingerprint,
    pub windows: Windows,
    pub cursor: Option<i64>,
    pub page_size: usize,
    pub union_key: &'a str,
}

impl WindowPage<'_> {
    /// The response when no data source can have data (no generator, or a data source family
    /// without the persona's tracker): no windows at all, not even empty ones ("the response
    /// is an empty list", says the discovery document).
    pub(crate) fn nothing(&self) -> Response {
        self.page(Vec::new(), None)
    }

    /// The response: `value_of(k)` is window k's value object (`None`: no data); `frame(k)`
    /// its bounds members (`startTime`/`endTime` or the civil ones), to which the value is
    /// added under the union key.
    pub(crate) fn respond(
        &self,
        mut value_of: impl FnMut(i64) -> Option<Value>,
        frame: impl Fn(i64) -> Map<String, Value>,
    ) -> Response {
        let knobs = &self.context.knobs;
        let count = self.windows.count();
        let mut page = Vec::new();
        let mut next = None;
        for index in (0..self.cursor.map_or(count, |cursor| cursor.min(count))).rev() {
            let value = match value_of(index) {
                Some(value) => value,
                None if knobs.empty_rollup_windows == EmptyWindows::EmptyObject => {
                    Value::Object(Map::new())
                }
                None => continue,
            };
            if page.len() == self.page_size {
                next = page.last().map(|(index, _)| *index);
                break;
            }
            let mut window = frame(index);
            window.insert(self.union_key.to_owned(), value);
            page.push((index, Value::Object(window)));
        }
        self.page(page.into_iter().map(|(_, window)| window).collect(), next)
    }

    /// `{"rollupDataPoints": windows, "nextPageToken": …}`, continuing after window `next`.
    fn page(&self, windows: Vec<Value>, next: Option<i64>) -> Response {
        let token = next.map(|index| self.context.page_tokens.issue(self.fingerprint, &[index]));
        let mut response = Map::new();
        if !windows.is_empty() {
            response.insert("rollupDataPoints".to_owned(), Value::Array(windows));
        }
        if let Some(token) = params::next_page_token(&self.context.knobs, token) {
            response.insert("nextPageToken".to_owned(), Value::String(token));
        }
        responses::json(StatusCode::OK, &Value::Object(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_range_and_truncate_the_last() {
        let windows = Windows {
            start: 0,
            end: 10,
            length: 3,
        };
        assert_eq!(windows.count(), 4);
        assert_eq!(windows.bounds(3), (9, 10));
        let windows = Windows {
            start: 0,
            end: 9,
            length: 3,
        };
        assert_eq!(windows.count(), 3);
        assert_eq!(windows.bounds(1), (3, 6));
        let windows = Windows {
            start: 5,
            end: 6,
            length: 1,
        };
        assert_eq!(windows.count(), 1);
    }
}
