//! `POST …/dataTypes/{dataType}/dataPoints:rollUp` (reference §2.6, §8.4): the type's rollup
//! per window of physical time, newest window first. A point belongs to the window that holds
//! its start (a 30-minute phone interval counts entirely in the window it starts in).
//!
//! Unknown live, so chosen here: the page size defaults to and is capped at 1440 windows (a day
//! of one-minute windows; the discovery document says 1440 and 10000, as for `list`, which a
//! client must survive either way), and a range endpoint of `Interval` may not be left out
//! (the discovery document would read that as an open range).
//!
//! A bad request lists every bad field it has, each as one `BadRequest` violation
//! (`range.start_time`, `range.end_time`, `range`, `window_size`, `page_size`), in one
//! response. With the `page_size_refused` knob naming the type, a `pageSize` is refused (400,
//! violation `page_size`); without one, pages of 1440 windows follow each other by
//! `nextPageToken` as usual.

use std::{collections::BTreeMap, sync::Arc};

use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    catalogue::DataType,
    daily_rollup,
    paging::Fingerprint,
    params,
    payload::{self, ROLL_UP_REQUEST},
    pipeline::Context,
    windows::{self, WindowPage, Windows},
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
    responses::GoogleError,
};

/// Default and maximum windows per page.
const PAGE_MAX: u32 = 1440;
const MS_PER_DAY: i64 = civil::SECONDS_PER_DAY * 1000;

/// The request after [`payload::parse`] normalized it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RollUpBody {
    range: Option<RangeBody>,
    window_size: Option<String>,
    page_size: Option<i64>,
    page_token: String,
    data_source_family: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RangeBody {
    start_time: Option<String>,
    end_time: Option<String>,
}

/// An endpoint of the range as epoch milliseconds (fractions rounded up, which keeps
/// "start ≥ endpoint" and "start < endpoint" exact for millisecond points), or its violation.
fn endpoint(value: Option<&String>, field: &str) -> Result<i64, (String, String)> {
    value
        .and_then(|text| text.parse::<Timestamp>().ok())
        .map(civil::ceil_ms)
        .ok_or_else(|| (field.to_owned(), format!("{field} is required.")))
}

/// The window length in milliseconds: whole seconds, at least one; or what is wrong.
fn window_ms(value: Option<&String>) -> Result<i64, String> {
    let invalid = |text: &str| {
        format!("window_size must be a positive whole number of seconds, got {text:?}.")
    };
    let Some(text) = value else {
        return Err("window_size is required.".to_owned());
    };
    let seconds = text.strip_suffix('s').unwrap_or(text);
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    match whole.parse::<i64>() {
        Ok(seconds) if seconds > 0 && fraction.bytes().all(|b| b == b'0') => {
            seconds.checked_mul(1000).ok_or_else(|| invalid(text))
        }
        _ => Err(invalid(text)),
    }
}

pub(crate) fn roll_up(
    context: &Context,
    data_type: &'static DataType,
    body: &[u8],
) -> Result<Response, GoogleError> {
    if !data_type.roll_ups {
        return Err(params::unsupported(data_type, "rollUp"));
    }
    let request: RollUpBody = payload::request(body, &ROLL_UP_REQUEST)?;
    let mut violations = Vec::new();
    let mut valid = |result: Result<i64, (String, String)>| {
        result.map_err(|violation| violations.push(violation)).ok()
    };
    let (start, end) = match &request.range {
        None => (
            valid(Err(("range".to_owned(), "range is required.".to_owned()))),
            None,
        ),
        Some(range) => (
            valid(endpoint(range.start_time.as_ref(), "range.start_time")),
            valid(endpoint(range.end_time.as_ref(), "range.end_time")),
        ),
    };
    let length = valid(
        window_ms(request.window_size.as_ref())
            .map_err(|description| ("window_size".to_owned(), description)),
    );
    match request.page_size {
        Some(_) if context.knobs.refuses_page_size(data_type.id) => violations.push((
            "page_size".to_owned(),
            daily_rollup::page_size_refusal(data_type),
        )),
        Some(size) if size < 0 => violations.push((
            "page_size".to_owned(),
            format!("page_size must not be negative, got {size}"),
        )),
        _ => {}
    }
    let max_days = data_type.roll_up_max_days();
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            // Alone, Google's documented `INVALID_TIME_RANGE`; among other bad fields, one
            // more violation.
            if violations.is_empty() {
                return Err(windows::time_range_error());
            }
            violations.push(("range".to_owned(), windows::TIME_RANGE.to_owned()));
        } else if end - start > max_days * MS_PER_DAY {
            violations.push((
                "range".to_owned(),
                format!("The maximum range for {} is {max_days} days.", data_type.id),
            ));
        }
    }
    let (Some(start), Some(end), Some(length), true) = (start, end, length, violations.is_empty())
    else {
        return Err(GoogleError::bad_fields(&violations));
    };
    let page_size = params::page_size(request.page_size, PAGE_MAX, PAGE_MAX)?;
    let has_persona_data = params::includes_persona_data(
        Some(&request.data_source_family),
        &context.persona,
        data_type,
        false,
    )?;
    let fingerprint = Fingerprint::of(&[
        "rollUp",
        data_type.id,
        &start.to_string(),
        &end.to_string(),
        &length.to_string(),
        &page_size.to_string(),
        &request.data_source_family,
    ]);
    let cursor = params::cursor::<1>(&context.page_tokens, Some(&request.page_token), fingerprint)?;
    let page = WindowPage {
        context,
        fingerprint,
        windows: Windows { start, end, length },
        cursor: cursor.map(|[index]| index),
        page_size: page_size as usize,
        union_key: &data_type.union_key(),
    };
    let Some(generator) = data_type.generator.filter(|_| has_persona_data) else {
        return Ok(page.nothing());
    };
    let mut days = Days::new(context, data_type, generator);
    Ok(page.respond(
        |index| {
            let (first, end) = page.windows.bounds(index);
            days.roll_up(first, end)
        },
        |index| {
            let (first, end) = page.windows.bounds(index);
            Map::from_iter([
                ("startTime".to_owned(), civil::rfc3339_utc_ms(first).into()),
                ("endTime".to_owned(), civil::rfc3339_utc_ms(end).into()),
            ])
        },
    ))
}

/// The days of points a page of windows needs. Windows come newest first, so a day newer than
/// the current window is never needed again and is let go.
struct Days<'a> {
    context: &'a Context,
    data_type: &'static DataType,
    generator: &'a dyn Generator,
    loaded: BTreeMap<i64, Arc<Vec<SimPoint>>>,
}

impl<'a> Days<'a> {
    fn new(
        context: &'a Context,
        data_type: &'static DataType,
        generator: &'a dyn Generator,
    ) -> Self {
        Self {
            context,
            data_type,
            generator,
            loaded: BTreeMap::new(),
        }
    }

    /// The rollup of the points starting in `[first, end)` (epoch ms).
    fn roll_up(&mut self, first: i64, end: i64) -> Option<Value> {
        let persona = &self.context.persona;
        let now = persona.now_seconds();
        if first >= now.saturating_mul(1000) || end <= persona.day_start(persona.first_day()) * 1000
        {
            return None;
        }
        let (first_day, last_day) = (
            persona.day_of(first.div_euclid(1000)),
            persona.day_of((end - 1).div_euclid(1000)),
        );
        let _ = self.loaded.split_off(&(last_day + 1));
        let mut slices = Vec::new();
        for day in first_day..=last_day {
            let points = self
                .loaded
                .entry(day)
                .or_insert_with(|| persona.points(self.data_type.id, self.generator, day, now));
            // Points are ascending by start within their day.
            let from = points.partition_point(|point| point.time.start_ms < first);
            let to = points.partition_point(|point| point.time.start_ms < end);
            if from < to {
                slices.push((points.clone(), from..to));
            }
        }
        match slices.as_slice() {
            [] => None,
            [(points, range)] => self.generator.roll_up(&points[range.clone()]),
            _ => {
                let bare: Vec<SimPoint> = slices
                    .iter()
                    .flat_map(|(points, range)| points[range.clone()].iter().map(SimPoint::bare))
                    .collect();
                self.generator.roll_up(&bare)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::json;

    use super::*;
    use crate::google::api::{
        catalogue,
        test_support::{body, context, error_of, violations},
    };

    async fn call(context: &Context, data_type: &str, request: Value) -> (u16, Value) {
        let data_type = catalogue::find(data_type).unwrap();
        let response = roll_up(context, data_type, request.to_string().as_bytes())
            .unwrap_or_else(IntoResponse::into_response);
        body(response).await
    }

    #[test]
    fn window_sizes_are_whole_positive_seconds() {
        let size = |text: &str| window_ms(Some(&text.to_owned()));
        assert_eq!(size("60s").unwrap(), 60_000);
        assert_eq!(size("3600.000s").unwrap(), 3_600_000);
        for bad in ["0s", "-60s", "1.5s", "0.5s"] {
            assert!(size(bad).is_err(), "{bad}");
        }
        assert!(window_ms(None).is_err());
    }

    #[tokio::test]
    async fn a_bad_request_lists_every_bad_field() {
        let context = context(json!({}));
        let (status, error) = call(
            &context,
            "heart-rate",
            json!({"range": {"endTime": "2024-05-15T07:00:00Z"}, "windowSize": "0s", "pageSize": -1}),
        )
        .await;
        assert_eq!(status, 400);
        let fields: Vec<String> = violations(&error).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["range.start_time", "window_size", "page_size"]);
        let (_, error) = call(
            &context,
            "heart-rate",
            json!({"range": {"startTime": "2024-05-01T00:00:00Z", "endTime": "2024-06-01T00:00:00Z"}, "windowSize": "1.5s"}),
        )
        .await;
        let fields: Vec<String> = violations(&error).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["window_size", "range"]);
    }

    #[tokio::test]
    async fn a_refused_page_size_and_paging_without_one() {
        let context = context(json!({"page_size_refused": ["total-calories"]}));
        let request = json!({
            "range": {"startTime": "2024-05-14T00:00:00Z", "endTime": "2024-05-16T00:00:00Z"},
            "windowSize": "60s",
        });
        let mut sized = request.clone();
        sized["pageSize"] = json!(100);
        let (status, error) = call(&context, "total-calories", sized).await;
        assert_eq!(status, 400);
        assert_eq!(violations(&error)[0].0, "page_size");
        let (status, first) = call(&context, "total-calories", request.clone()).await;
        assert_eq!(status, 200);
        let windows = first["rollupDataPoints"].as_array().unwrap();
        assert_eq!(windows.len(), PAGE_MAX as usize);
        let mut next = request;
        next["pageToken"] = first["nextPageToken"].clone();
        let (status, second) = call(&context, "total-calories", next).await;
        assert_eq!(status, 200);
        let later = second["rollupDataPoints"].as_array().unwrap();
        assert!(!later.is_empty() && later.len() <= PAGE_MAX as usize);
        assert!(later[0]["startTime"].as_str() < windows.last().unwrap()["startTime"].as_str());
    }

    #[tokio::test]
    async fn rejected_requests() {
        let context = context(json!({}));
        let day = json!({"startTime": "2024-05-14T07:00:00Z", "endTime": "2024-05-15T07:00:00Z"});
        let cases = [
            ("heart-rate", json!({"windowSize": "60s"}), None),
            (
                "heart-rate",
                json!({"range": {"startTime": "2024-05-14T07:00:00Z"}, "windowSize": "60s"}),
                None,
            ),
            ("heart-rate", json!({"range": day}), None),
            (
                "heart-rate",
                json!({"range": day, "windowSize": "1.5s"}),
                None,
            ),
            (
                "heart-rate",
                json!({"range": {"startTime": "2024-05-15T07:00:00Z", "endTime": "2024-05-15T07:00:00Z"}, "windowSize": "60s"}),
                Some("INVALID_TIME_RANGE"),
            ),
            (
                "heart-rate",
                json!({"range": {"startTime": "2024-05-01T00:00:00Z", "endTime": "2024-05-15T00:00:01Z"}, "windowSize": "60s"}),
                None,
            ),
            (
                "steps",
                json!({"range": {"startTime": "2024-01-01T00:00:00Z", "endTime": "2024-03-31T00:00:01Z"}, "windowSize": "86400s"}),
                None,
            ),
            (
                "sleep",
                json!({"range": day, "windowSize": "60s"}),
                Some("UNSUPPORTED_OPERATION_FOR_DATA_TYPE"),
            ),
            (
                "steps",
                json!({"range": day, "windowSize": "60s", "x": 1}),
                None,
            ),
        ];
        for (data_type, request, reason) in cases {
            let (status, error) = call(&context, data_type, request.clone()).await;
            assert_eq!(status, 400, "{request}");
            assert_eq!(error_of(&error).0, reason, "{request}");
        }
        let (status, _) = call(
            &context,
            "heart-rate",
            json!({"range": {"startTime": "2024-05-01T00:00:00Z", "endTime": "2024-05-15T00:00:00Z"}, "windowSize": "86400s"}),
        )
        .await;
        assert_eq!(status, 200, "exactly 14 days is allowed");
    }
}
