//! `POST …/dataTypes/{dataType}/dataPoints:dailyRollUp` (reference §2.6, §8.4): the type's
//! rollup per window of civil days, newest window first. A point counts on the civil day it is
//! counted on by its generator (the day it starts), so a window of one day holds exactly the
//! points a civil-day `list` filter returns.
//!
//! Whether `range.end` is included is the `daily_rollup_end` knob: exclusive by default, as the
//! discovery document says (`CivilTimeInterval` is `[start, end)`) and as a live recording
//! showed (a range 12-31..01-07 answered with the windows 12-31..01-06 although 01-07 had
//! steps); `inclusive` is what one peer reported. The range limit (90 days, 14 for some types)
//! counts the days the range covers under that knob: with an inclusive end,
//! `[start, start + 90 days]` covers 91 days and is refused. Whether Google counts it that way
//! is unknown; this is the stricter reading, which a client must survive.
//!
//! A bad request lists every bad field it has, each as one `BadRequest` violation
//! (`range.start`, `range.end`, `range`, `window_size_days`, `page_size`), in one response.
//! With the `page_size_refused` knob naming the type, a `pageSize` is refused (400, violation
//! `page_size`). Without `pageSize` a page holds up to 90 windows (14 for the 14-day types),
//! which is the whole longest range of one-day windows, so such a response is one page; a
//! `nextPageToken` follows only when a smaller `pageSize` was asked for.

use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    catalogue::DataType,
    paging::Fingerprint,
    params,
    payload::{self, DAILY_ROLL_UP_REQUEST},
    pipeline::Context,
    windows::{self, WindowPage, Windows},
};
use crate::google::{
    civil::{self, CivilParts, SECONDS_PER_DAY},
    knobs::RollupEnd,
    points::{Generator, SimPoint},
    responses::GoogleError,
};

/// The request after [`payload::parse`] normalized it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RollUpBody {
    range: Option<RangeBody>,
    window_size_days: i64,
    page_size: Option<i64>,
    page_token: String,
    data_source_family: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RangeBody {
    start: Option<CivilBody>,
    end: Option<CivilBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CivilBody {
    date: Option<DateBody>,
    time: Option<TimeBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DateBody {
    year: i32,
    month: i32,
    day: i32,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
struct TimeBody {
    hours: i32,
    minutes: i32,
    seconds: i32,
    nanos: i32,
}

/// A bad field of a request: (field, description).
type Violation = (String, String);

/// The civil day a range endpoint names; it must be a whole day (midnight), the only
/// alignment daily windows have. A misaligned endpoint still names its day (so the range
/// length can be checked too) besides its violation.
fn civil_day(
    value: Option<&CivilBody>,
    field: &str,
    violations: &mut Vec<Violation>,
) -> Option<i64> {
    let mut violation = |field: &str, description: String| {
        violations.push((field.to_owned(), description));
    };
    let Some(value) = value else {
        violation(field, format!("{field} is required."));
        return None;
    };
    let date_field = format!("{field}.date");
    let Some(date) = &value.date else {
        violation(field, format!("{date_field} is required."));
        return None;
    };
    let valid = i16::try_from(date.year)
        .ok()
        .zip(i8::try_from(date.month).ok())
        .zip(i8::try_from(date.day).ok())
        .and_then(|((year, month), day)| Date::new(year, month, day).ok());
    let Some(valid) = valid else {
        violation(
            field,
            format!(
                "{date_field} is not a valid date: {{year: {}, month: {}, day: {}}}",
                date.year, date.month, date.day
            ),
        );
        return None;
    };
    if value
        .time
        .as_ref()
        .is_some_and(|time| *time != TimeBody::default())
    {
        violation(
            field,
            format!("{field} must be aligned with the aggregation window (midnight)."),
        );
    }
    Some(civil::day_number(valid))
}

/// The message of a refused `pageSize`. The live wording is not known (the peer only reports
/// the 400); this one is the simulator's.
pub(crate) fn page_size_refusal(data_type: &DataType) -> String {
    format!("page_size is not supported for data type {}.", data_type.id)
}

pub(crate) fn daily_roll_up(
    context: &Context,
    data_type: &'static DataType,
    body: &[u8],
) -> Result<Response, GoogleError> {
    if !data_type.roll_ups {
        return Err(params::unsupported(data_type, "dailyRollUp"));
    }
    let request: RollUpBody = payload::request(body, &DAILY_ROLL_UP_REQUEST)?;
    let knobs = &context.knobs;
    let mut violations = Vec::new();
    let (start, end) = match &request.range {
        None => {
            violations.push(("range".to_owned(), "range is required.".to_owned()));
            (None, None)
        }
        Some(range) => (
            civil_day(range.start.as_ref(), "range.start", &mut violations),
            civil_day(range.end.as_ref(), "range.end", &mut violations),
        ),
    };
    let window = match request.window_size_days {
        0 => 1,
        days if days < 0 => {
            violations.push((
                "window_size_days".to_owned(),
                format!("window_size_days must be positive, got {days}"),
            ));
            1
        }
        days => days,
    };
    match request.page_size {
        Some(_) if knobs.refuses_page_size(data_type.id) => {
            violations.push(("page_size".to_owned(), page_size_refusal(data_type)));
        }
        Some(size) if size < 0 => violations.push((
            "page_size".to_owned(),
            format!("page_size must not be negative, got {size}"),
        )),
        _ => {}
    }
    let end_exclusive = end.map(|end| match knobs.daily_rollup_end {
        RollupEnd::Inclusive => end + 1,
        RollupEnd::Exclusive => end,
    });
    let max_days = data_type.roll_up_max_days();
    if let (Some(start), Some(end), Some(end_exclusive)) = (start, end, end_exclusive) {
        if end <= start {
            // Alone, Google's documented `INVALID_TIME_RANGE`; among other bad fields, one
            // more violation.
            if violations.is_empty() {
                return Err(windows::time_range_error());
            }
            violations.push(("range".to_owned(), windows::TIME_RANGE.to_owned()));
        } else if end_exclusive - start > max_days {
            violations.push((
                "range".to_owned(),
                format!("The maximum range for {} is {max_days} days.", data_type.id),
            ));
        }
    }
    let (Some(start), Some(end), Some(end_exclusive), true) =
        (start, end, end_exclusive, violations.is_empty())
    else {
        return Err(GoogleError::bad_fields(&violations));
    };
    let page_max = data_type.roll_up_page_max();
    let page_size = params::page_size(request.page_size, page_max, page_max)?;
    let has_persona_data = params::includes_persona_data(
        Some(&request.data_source_family),
        &context.persona,
        data_type,
        false,
    )?;
    let fingerprint = Fingerprint::of(&[
        "dailyRollUp",
        data_type.id,
        &start.to_string(),
        &end.to_string(),
        &window.to_string(),
        &page_size.to_string(),
        &request.data_source_family,
    ]);
    let cursor = params::cursor::<1>(&context.page_tokens, Some(&request.page_token), fingerprint)?;
    let page = WindowPage {
        context,
        fingerprint,
        windows: Windows {
            start,
            end: end_exclusive,
            length: window,
        },
        cursor: cursor.map(|[index]| index),
        page_size: page_size as usize,
        union_key: &data_type.union_key(),
    };
    let Some(generator) = data_type.generator.filter(|_| has_persona_data) else {
        return Ok(page.nothing());
    };
    Ok(page.respond(
        |index| {
            let (first, end) = page.windows.bounds(index);
            window_value(context, data_type, generator, first, end)
        },
        |index| {
            let (first, end) = page.windows.bounds(index);
            let civil = |day: i64| {
                serde_json::to_value(CivilParts::from_seconds(day * SECONDS_PER_DAY).json())
                    .unwrap_or_default()
            };
            Map::from_iter([
                ("civilStartTime".to_owned(), civil(first)),
                ("civilEndTime".to_owned(), civil(end)),
            ])
        },
    ))
}

/// The rollup of civil days `first..end`: one day from the per-day cache, several from their
/// points together.
fn window_value(
    context: &Context,
    data_type: &'static DataType,
    generator: &dyn Generator,
    first: i64,
    end: i64,
) -> Option<Value> {
    let persona = &context.persona;
    let now = persona.now_seconds();
    if end - first == 1 {
        return persona.day_roll_up(data_type.id, generator, first, now);
    }
    let points: Vec<SimPoint> = (first..end)
        .flat_map(|day| {
            let points = persona.points(data_type.id, generator, day, now);
            points.iter().map(SimPoint::bare).collect::<Vec<_>>()
        })
        .collect();
    generator.roll_up(&points)
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use jiff::civil::date;
    use serde_json::json;

    use super::*;
    use crate::google::api::{
        catalogue,
        pipeline::Context,
        test_support::{body, context, error_of, violations},
    };

    async fn call(context: &Context, data_type: &str, request: Value) -> (u16, Value) {
        let data_type = catalogue::find(data_type).unwrap();
        let response = daily_roll_up(context, data_type, request.to_string().as_bytes())
            .unwrap_or_else(IntoResponse::into_response);
        body(response).await
    }

    fn range(start: Date, end: Date) -> Value {
        let civil =
            |d: Date| json!({"date": {"year": d.year(), "month": d.month(), "day": d.day()}});
        json!({"start": civil(start), "end": civil(end)})
    }

    fn window_start(point: &Value) -> Date {
        let d = &point["civilStartTime"]["date"];
        date(
            d["year"].as_i64().unwrap() as i16,
            d["month"].as_i64().unwrap() as i8,
            d["day"].as_i64().unwrap() as i8,
        )
    }

    #[tokio::test]
    async fn the_end_day_and_empty_windows_follow_the_knobs() {
        // April 2020 holds the three weeks the tracker was lost.
        let request = json!({"range": range(date(2020, 4, 1), date(2020, 5, 1))});
        let (_, omitted) = call(&context(json!({})), "steps", request.clone()).await;
        let windows = omitted["rollupDataPoints"].as_array().unwrap();
        assert!(windows.len() <= 10, "the gap is omitted");
        assert_eq!(
            window_start(&windows[0]),
            date(2020, 4, 30),
            "exclusive end by default, newest first"
        );
        let inclusive = context(json!({"daily_rollup_end": "inclusive"}));
        let (_, with_end) = call(&inclusive, "steps", request.clone()).await;
        assert_eq!(
            window_start(&with_end["rollupDataPoints"][0]),
            date(2020, 5, 1),
            "inclusive end"
        );

        let knobs = json!({"empty_rollup_windows": "empty_object"});
        let (_, all) = call(&context(knobs), "steps", request).await;
        let windows = all["rollupDataPoints"].as_array().unwrap();
        assert_eq!(windows.len(), 30);
        assert_eq!(window_start(&windows[0]), date(2020, 4, 30));
        let gap = windows
            .iter()
            .find(|w| window_start(w) == date(2020, 4, 15))
            .unwrap();
        assert_eq!(gap["steps"], json!({}));
        // A family without the persona's tracker has no windows at all, not empty ones.
        let mut other_family = json!({"range": range(date(2020, 4, 1), date(2020, 5, 1))});
        other_family["dataSourceFamily"] = json!("users/me/dataSourceFamilies/self-sources");
        let knobs = json!({"empty_rollup_windows": "empty_object"});
        assert_eq!(
            call(&context(knobs), "steps", other_family).await,
            (200, json!({}))
        );
    }

    #[tokio::test]
    async fn multi_day_windows_sum_the_days_and_truncate_the_last() {
        let context = context(json!({"daily_rollup_end": "exclusive"}));
        let (start, end) = (date(2024, 1, 1), date(2024, 1, 18));
        let (status, page) = call(
            &context,
            "steps",
            json!({"range": range(start, end), "windowSizeDays": 7}),
        )
        .await;
        assert_eq!(status, 200);
        let windows = page["rollupDataPoints"].as_array().unwrap();
        assert_eq!(windows.len(), 3);
        let last = &windows[0];
        assert_eq!(window_start(last), date(2024, 1, 15));
        assert_eq!(last["civilEndTime"]["date"]["day"], 18);
        let mut expected = 0;
        let mut day = date(2024, 1, 15);
        while day < end {
            expected += context.persona.daily_steps(day).unwrap_or(0);
            day = day.tomorrow().unwrap();
        }
        assert_eq!(last["steps"]["countSum"], expected.to_string());
    }

    #[tokio::test]
    async fn pages_are_bound_to_their_request() {
        let context = context(json!({}));
        let request = json!({"range": range(date(2024, 1, 1), date(2024, 3, 1)), "pageSize": 20});
        let (_, first) = call(&context, "steps", request.clone()).await;
        assert_eq!(first["rollupDataPoints"].as_array().unwrap().len(), 20);
        let token = first["nextPageToken"].as_str().unwrap().to_owned();
        let mut next = request.clone();
        next["pageToken"] = json!(token);
        let (status, second) = call(&context, "steps", next).await;
        assert_eq!(status, 200);
        assert!(
            window_start(&second["rollupDataPoints"][0])
                < window_start(&first["rollupDataPoints"][19])
        );
        let mut other = json!({"range": range(date(2024, 1, 1), date(2024, 3, 2)), "pageSize": 20});
        other["pageToken"] = json!(token);
        let (status, error) = call(&context, "steps", other).await;
        assert_eq!((status, error_of(&error).1), (400, "Invalid page token."));
    }

    #[tokio::test]
    async fn rejected_requests() {
        let context = context(json!({}));
        let day = date(2024, 1, 1);
        let cases = [
            (
                "steps",
                json!({"range": range(day, day + jiff::ToSpan::days(91))}),
                None,
            ),
            (
                "heart-rate",
                json!({"range": range(day, day + jiff::ToSpan::days(15))}),
                None,
            ),
            (
                "steps",
                json!({"range": range(day, day)}),
                Some("INVALID_TIME_RANGE"),
            ),
            ("steps", json!({"windowSizeDays": 1}), None),
            (
                "steps",
                json!({"range": range(day, day + jiff::ToSpan::days(2)), "windowSizeDays": -1}),
                None,
            ),
            (
                "steps",
                json!({"range": {"start": {"date": {"year": 2024, "month": 1, "day": 1}, "time": {"hours": 6}}, "end": {"date": {"year": 2024, "month": 1, "day": 3}}}}),
                None,
            ),
            (
                "sleep",
                json!({"range": range(day, day + jiff::ToSpan::days(2))}),
                Some("UNSUPPORTED_OPERATION_FOR_DATA_TYPE"),
            ),
        ];
        for (data_type, request, reason) in cases {
            let (status, error) = call(&context, data_type, request.clone()).await;
            assert_eq!(status, 400, "{request}");
            assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
            assert_eq!(error_of(&error).0, reason, "{request}");
        }
        let (status, error) = call(
            &context,
            "steps",
            json!({"range": range(day, day + jiff::ToSpan::days(2)), "window": 1}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            error_of(&error).1,
            r#"Invalid JSON payload received. Unknown name "window": Cannot find field."#
        );
        let response = daily_roll_up(
            &context,
            catalogue::find("steps").unwrap(),
            br#"{"range":{"start":{"date":{"year":2024,"month":01,"day":1}}}}"#,
        )
        .unwrap_or_else(IntoResponse::into_response);
        let (status, error) = body(response).await;
        assert_eq!(status, 400);
        assert!(
            error_of(&error)
                .1
                .contains("Octal/hex numbers are not valid JSON values")
        );
    }

    #[tokio::test]
    async fn a_bad_request_lists_every_bad_field() {
        let context = context(json!({}));
        let (status, error) = call(
            &context,
            "steps",
            json!({"range": {
                "start": {"date": {"year": 2024, "month": 1, "day": 1}, "time": {"hours": 6}},
                "end": {"date": {"year": 2024, "month": 2, "day": 30}},
            }, "windowSizeDays": -2}),
        )
        .await;
        assert_eq!(status, 400);
        let fields: Vec<String> = violations(&error).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["range.start", "range.end", "window_size_days"]);
        assert_eq!(
            error_of(&error),
            (None, "Request contains an invalid argument.")
        );
        // Misaligned endpoints still name their days, so the range is checked too.
        let misaligned = |date: (i32, i32, i32)| json!({"date": {"year": date.0, "month": date.1, "day": date.2}, "time": {"hours": 1}});
        let (status, error) = call(
            &context,
            "steps",
            json!({"range": {"start": misaligned((2024, 1, 1)), "end": misaligned((2024, 6, 1))}}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            violations(&error),
            [
                (
                    "range.start".to_owned(),
                    "range.start must be aligned with the aggregation window (midnight)."
                        .to_owned()
                ),
                (
                    "range.end".to_owned(),
                    "range.end must be aligned with the aggregation window (midnight).".to_owned()
                ),
                (
                    "range".to_owned(),
                    "The maximum range for steps is 90 days.".to_owned()
                ),
            ]
        );
        // One bad field: its description is the message, as before.
        let (_, error) = call(
            &context,
            "steps",
            json!({"range": {"start": {"date": {"year": 2024, "month": 1, "day": 1}}}}),
        )
        .await;
        assert_eq!(error_of(&error), (None, "range.end is required."));
    }

    #[tokio::test]
    async fn a_page_size_is_refused_for_the_listed_types_only() {
        let context = context(json!({"page_size_refused": ["total-calories"]}));
        let request = json!({"range": range(date(2024, 5, 1), date(2024, 5, 8))});
        let mut sized = request.clone();
        sized["pageSize"] = json!(3);
        let (status, error) = call(&context, "total-calories", sized.clone()).await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(
            violations(&error),
            [(
                "page_size".to_owned(),
                "page_size is not supported for data type total-calories.".to_owned()
            )]
        );
        let (status, page) = call(&context, "total-calories", request.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(page["rollupDataPoints"].as_array().unwrap().len(), 7);
        assert!(page.get("nextPageToken").is_none(), "one page by default");
        let (status, page) = call(&context, "steps", sized).await;
        assert_eq!(status, 200, "other types keep their pageSize");
        assert!(page["nextPageToken"].is_string());
        let unrefused = super::super::test_support::context(json!({}));
        let mut sized = request;
        sized["pageSize"] = json!(3);
        assert_eq!(call(&unrefused, "total-calories", sized).await.0, 200);
    }

    #[test]
    fn range_endpoints_must_be_whole_valid_days() {
        let endpoint = |year, month, day, hours| CivilBody {
            date: Some(DateBody { year, month, day }),
            time: Some(TimeBody {
                hours,
                ..TimeBody::default()
            }),
        };
        let check = |body: Option<&CivilBody>| {
            let mut violations = Vec::new();
            let day = civil_day(body, "range.start", &mut violations);
            (day, violations.len())
        };
        let first = check(Some(&endpoint(2026, 3, 1, 0)));
        assert_eq!(first, (Some(civil::days_from_civil(2026, 3, 1)), 0));
        assert_eq!(check(Some(&endpoint(2026, 2, 29, 0))), (None, 1));
        assert_eq!(
            check(Some(&endpoint(2026, 3, 1, 12))),
            (Some(civil::days_from_civil(2026, 3, 1)), 1),
            "misaligned, but the day is known"
        );
        assert_eq!(check(None), (None, 1));
        assert_eq!(check(Some(&CivilBody::default())), (None, 1));
    }
}
