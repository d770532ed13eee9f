//! `POST …/dataTypes/{dataType}/dataPoints:rollUp` (reference §2.6, §8.4): the type's rollup
//! per window of physical time, newest window first. A point belongs to the window that holds
//! its start.
//!
//! Unknown live, so chosen here: the page size defaults to and is capped at 1440 windows (a day
//! of one-minute windows; the discovery document says 1440 and 10000, as for `list`, which a
//! client must survive either way), and a range endpoint of `Interval` may not be left out
//! (the discovery document would read that as an open range).

use std::{collections::BTreeMap, sync::Arc};

use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    catalogue::DataType,
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
    page_size: i64,
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
/// "start ≥ endpoint" and "start < endpoint" exact for millisecond points).
fn endpoint(value: Option<&String>, field: &str) -> Result<i64, GoogleError> {
    value
        .and_then(|text| text.parse::<Timestamp>().ok())
        .map(civil::ceil_ms)
        .ok_or_else(|| GoogleError::bad_payload(Some(field), &format!("{field} is required.")))
}

/// The window length in milliseconds: whole seconds, at least one.
fn window_ms(value: Option<&String>) -> Result<i64, GoogleError> {
    let invalid = |text: &str| {
        GoogleError::bad_payload(
            Some("window_size"),
            &format!("window_size must be a positive whole number of seconds, got {text:?}."),
        )
    };
    let Some(text) = value else {
        return Err(GoogleError::bad_payload(
            Some("window_size"),
            "window_size is required.",
        ));
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
    let Some(range) = &request.range else {
        return Err(GoogleError::bad_payload(
            Some("range"),
            "range is required.",
        ));
    };
    let start = endpoint(range.start_time.as_ref(), "range.start_time")?;
    let end = endpoint(range.end_time.as_ref(), "range.end_time")?;
    windows::ordered(start, end)?;
    let length = window_ms(request.window_size.as_ref())?;
    let page_size = params::page_size(Some(request.page_size), PAGE_MAX, PAGE_MAX)?;
    let has_persona_data = params::includes_persona_data(
        Some(&request.data_source_family),
        &context.persona,
        data_type,
        false,
    )?;
    let max_days = data_type.roll_up_max_days();
    if end - start > max_days * MS_PER_DAY {
        return Err(GoogleError::bad_payload(
            Some("range"),
            &format!("The maximum range for {} is {max_days} days.", data_type.id),
        ));
    }
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
        test_support::{body, context, error_of},
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
