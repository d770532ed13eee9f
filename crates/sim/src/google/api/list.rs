//! `GET …/dataTypes/{dataType}/dataPoints` (reference §2.3, §8.4): filter, select newest
//! first, page.
//!
//! Points are ordered newest first by (civil day, start, position within the day). That is the
//! order of their start times, since points count on the civil day they start and each civil
//! day owns a contiguous stretch of time (`persona::timeline`). A page walks days backwards
//! from the cursor's day (or the filter's last day, or today), so its cost does not grow with
//! the ten years of history; the cursor is the last point returned, so points that appear at the
//! newest end while a client pages do not shift later pages.

use axum::{http::StatusCode, response::Response};
use serde_json::Value;

use super::{
    catalogue::DataType,
    filter::{self, Filter},
    paging::Fingerprint,
    params::{self, Query},
    pipeline::Context,
};
use crate::google::{
    points::Generator,
    responses::{self, GoogleError},
};

/// Query parameters of `list` (JSON and proto names).
const PARAMETERS: &[&str] = &[
    "filter",
    "pageSize",
    "page_size",
    "pageToken",
    "page_token",
    "dataSourceFamily",
    "data_source_family",
];

pub(crate) fn list(
    context: &Context,
    data_type: &'static DataType,
    query: &Query,
) -> Result<Response, GoogleError> {
    if !data_type.list {
        return Err(params::unsupported(data_type, "list"));
    }
    query.check_names(PARAMETERS)?;
    let (default_size, max_size) = data_type.list_page_sizes();
    let page_size = params::page_size(
        params::int32(query, "pageSize", "page_size")?,
        default_size,
        max_size,
    )?;
    let family = query.get("dataSourceFamily", "data_source_family");
    let has_persona_data =
        params::includes_persona_data(family, &context.persona, data_type, true)?;
    let filter_text = query.get("filter", "filter").unwrap_or("");
    let filter = filter::parse(filter_text, data_type, &context.knobs).map_err(|error| {
        GoogleError::invalid_filter(
            &error.detailed_reasons(),
            &error.message(),
            &error.descriptions(),
        )
    })?;
    let fingerprint = Fingerprint::of(&[
        "list",
        data_type.id,
        filter_text,
        &page_size.to_string(),
        family.unwrap_or(""),
    ]);
    let (cursor, empty_pages_served) = match params::cursor::<4>(
        &context.page_tokens,
        query.get("pageToken", "page_token"),
        fingerprint,
    )? {
        Some(parts) => Cursor::from_token(parts),
        None => (Cursor::NEWEST, 0),
    };
    if empty_pages_served < i64::from(context.knobs.empty_pages_before_data) {
        let token = context
            .page_tokens
            .issue(fingerprint, &cursor.token(empty_pages_served + 1));
        return Ok(respond("", Some(token)));
    }
    let page = match data_type.generator.filter(|_| has_persona_data) {
        Some(generator) => Selection {
            context,
            data_type,
            generator,
            filter: filter.as_ref(),
        }
        .page(cursor, page_size as usize),
        None => Page::default(),
    };
    let token = page
        .next
        .map(|cursor| context.page_tokens.issue(fingerprint, &cursor.token(0)));
    Ok(respond(
        &page.points,
        params::next_page_token(&context.knobs, token),
    ))
}

/// `{"dataPoints":[…],"nextPageToken":"…"}` around the points' JSON, each member omitted when
/// empty.
fn respond(points: &str, next_page_token: Option<String>) -> Response {
    let mut body = String::with_capacity(points.len() + 128);
    body.push('{');
    if !points.is_empty() {
        body.push_str("\"dataPoints\":[");
        body.push_str(points);
        body.push(']');
    }
    if let Some(token) = next_page_token {
        if !points.is_empty() {
            body.push(',');
        }
        body.push_str("\"nextPageToken\":");
        body.push_str(&Value::from(token).to_string());
    }
    body.push('}');
    responses::json_text(StatusCode::OK, body)
}

/// The last point of a page: its civil day, start (epoch ms) and index within the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    day: i64,
    start_ms: i64,
    index: i64,
}

impl Cursor {
    /// Before the newest point: where a first page starts.
    const NEWEST: Cursor = Cursor {
        day: i64::MAX,
        start_ms: i64::MAX,
        index: i64::MAX,
    };

    /// A page token's cursor and how many empty pages were answered since the last points.
    fn from_token([day, start_ms, index, empty_pages_served]: [i64; 4]) -> (Self, i64) {
        let cursor = Self {
            day,
            start_ms,
            index,
        };
        (cursor, empty_pages_served)
    }

    fn token(self, empty_pages_served: i64) -> [i64; 4] {
        [self.day, self.start_ms, self.index, empty_pages_served]
    }

    /// Whether a point of `day` at (start, index) comes after this cursor in list order.
    fn precedes(&self, day: i64, start_ms: i64, index: i64) -> bool {
        (day, start_ms, index) < (self.day, self.start_ms, self.index)
    }
}

/// One page: the points' JSON, comma-separated, and where the next page starts.
#[derive(Debug, Default)]
struct Page {
    points: String,
    next: Option<Cursor>,
}

/// The points of one data type a request selects.
struct Selection<'a> {
    context: &'a Context,
    data_type: &'static DataType,
    generator: &'a dyn Generator,
    filter: Option<&'a Filter>,
}

impl Selection<'_> {
    /// Up to `page_size` points after `cursor`, newest first.
    fn page(&self, cursor: Cursor, page_size: usize) -> Page {
        let persona = &self.context.persona;
        let now = persona.now_seconds();
        let (mut oldest, mut newest) = (persona.first_day(), persona.day_of(now));
        if let Some(filter) = self.filter {
            if filter.selects_nothing {
                return Page::default();
            }
            let (first, last) = filter.days(|ms| persona.day_of(ms.div_euclid(1000)));
            oldest = oldest.max(first.unwrap_or(oldest));
            newest = newest.min(last.unwrap_or(newest));
        }
        if persona.generation().in_progress_sleep && self.data_type.id == "sleep" {
            // A session in progress is matched by its end filters as if it ended now, but it
            // starts up to two days before the day of now (`persona::sleep`), which a lower
            // bound on the end does not reach.
            oldest = oldest.min(persona.day_of(now) - 2).max(persona.first_day());
        }
        newest = newest.min(cursor.day);
        let mut page = Page::default();
        let mut taken = 0;
        for day in (oldest..=newest).rev() {
            let points = persona.points(self.data_type.id, self.generator, day, now);
            for (index, point) in points.iter().enumerate().rev() {
                let (start_ms, index) = (point.time.start_ms, index as i64);
                if !cursor.precedes(day, start_ms, index)
                    || self
                        .filter
                        .is_some_and(|filter| !filter.matches(&point.time))
                {
                    continue;
                }
                if taken == page_size {
                    return page;
                }
                if taken > 0 {
                    page.points.push(',');
                }
                page.points.push_str(&point.json);
                taken += 1;
                page.next = Some(Cursor {
                    day,
                    start_ms,
                    index,
                });
            }
        }
        page.next = None;
        page
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::{Value, json};

    use super::*;
    use crate::google::{
        api::{
            catalogue,
            test_support::{
                context, context_at, detailed_reasons, error_of, filter, list as call, list_all,
                violations,
            },
        },
        civil,
        persona::{Persona, heart_rate::HEART_RATE},
        points::SimPoint,
    };

    fn civil_day(day: &str) -> String {
        let next = day
            .parse::<jiff::civil::Date>()
            .unwrap()
            .tomorrow()
            .unwrap();
        filter(&format!(
            r#"steps.interval.civil_start_time >= "{day}" AND steps.interval.civil_start_time < "{next}""#
        ))
    }

    async fn all(context: &Context, query: &str) -> (Vec<Value>, usize) {
        list_all(context, "steps", query).await
    }

    fn count(point: &Value) -> u64 {
        point["steps"]["count"]
            .as_str()
            .map_or(0, |count| count.parse().unwrap())
    }

    #[tokio::test]
    async fn a_day_lists_every_worn_minute_newest_first_with_true_zeros() {
        let with_zeros = context(json!({}));
        let (points, pages) = all(
            &with_zeros,
            &format!("{}&pageSize=500", civil_day("2024-05-14")),
        )
        .await;
        assert!(pages >= 2);
        let total: u64 = points.iter().map(count).sum();
        let expected = with_zeros
            .persona
            .daily_steps(jiff::civil::date(2024, 5, 14))
            .unwrap();
        assert_eq!(total, expected);
        assert!(
            points
                .iter()
                .any(|point| point["steps"].get("count").is_none()),
            "zero minutes omit count"
        );
        let starts: Vec<&str> = points
            .iter()
            .map(|p| p["steps"]["interval"]["startTime"].as_str().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] > w[1]));
        let first = &points[0];
        assert_eq!(first["dataSource"]["device"]["displayName"], "Charge 6");
        assert_eq!(first["steps"]["interval"]["startUtcOffset"], "-25200s");

        let without_zeros = context(json!({"emit_true_zeros": false}));
        let (nonzero, _) = all(&without_zeros, &civil_day("2024-05-14")).await;
        assert!(nonzero.len() < points.len());
        assert!(nonzero.iter().all(|point| count(point) > 0));
        assert_eq!(nonzero.iter().map(count).sum::<u64>(), expected);
    }

    #[tokio::test]
    async fn a_physical_range_selects_by_instant() {
        let context = context(json!({}));
        // 2024-05-14 in Los Angeles (PDT) is 07:00Z to 07:00Z.
        let query = filter(
            r#"steps.interval.start_time >= "2024-05-14T07:00:00Z" AND steps.interval.start_time < "2024-05-15T07:00:00Z""#,
        );
        let (physical, _) = all(&context, &query).await;
        let (civil, _) = all(&context, &civil_day("2024-05-14")).await;
        assert_eq!(physical, civil);
    }

    #[tokio::test]
    async fn the_last_page_token_is_omitted_or_empty_per_knob() {
        let query = format!("{}&pageSize=10000", civil_day("2024-05-14"));
        let (_, page) = call(&context(json!({})), "steps", &query).await;
        assert!(page.get("nextPageToken").is_none());
        let (_, page) = call(
            &context(json!({"final_page_token": "empty"})),
            "steps",
            &query,
        )
        .await;
        assert_eq!(page["nextPageToken"], "");
    }

    #[tokio::test]
    async fn empty_pages_with_a_token_come_before_every_page_of_points() {
        let query = format!("{}&pageSize=500", civil_day("2024-05-14"));
        let (points, pages) = all(&context(json!({})), &query).await;
        let padded = context(json!({"empty_pages_before_data": 2}));
        let (first_status, first) = call(&padded, "steps", &query).await;
        assert_eq!(first_status, 200);
        assert!(first.get("dataPoints").is_none(), "{first}");
        assert!(
            first["nextPageToken"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let (padded_points, padded_pages) = all(&padded, &query).await;
        assert_eq!(padded_points, points, "the same points, in the same order");
        assert_eq!(padded_pages, pages * 3);
    }

    #[tokio::test]
    async fn rejected_requests() {
        let context = context(json!({}));
        let (status, page) = call(&context, "floors", "").await;
        assert_eq!(
            (status, error_of(&page).0),
            (400, Some("UNSUPPORTED_OPERATION_FOR_DATA_TYPE"))
        );
        let (status, _) = call(&context, "steps", "pageSize=-1").await;
        assert_eq!(status, 400);
        let (status, page) = call(&context, "steps", "startTime=2026-01-01").await;
        assert_eq!(status, 400);
        assert!(
            error_of(&page)
                .1
                .contains("Cannot bind query parameter. Field 'startTime' could not be found")
        );
        let (status, page) = call(&context, "steps", "pageToken=bogus").await;
        assert_eq!((status, error_of(&page).1), (400, "Invalid page token."));
        let (status, page) = call(
            &context,
            "steps",
            "filter=steps.interval.start_time%20%3E%20%222026%22",
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0, detailed_reasons(&page)),
            (
                400,
                Some("INVALID_DATA_POINT_FILTER"),
                Some("INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARATOR")
            )
        );
        let (status, page) = call(
            &context,
            "sleep",
            "dataSourceFamily=users/me/dataSourceFamilies/all-sources",
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0),
            (400, Some("INVALID_DATA_POINT_DATA_SOURCE_FAMILY"))
        );
    }

    #[tokio::test]
    async fn a_filter_error_has_the_live_shape() {
        let context = context(json!({}));
        let text = r#"sleep.interval.start_time >= "2026-01-01T00:00:00Z" AND sleep.interval.start_time < "2026-01-02T00:00:00Z""#;
        let (status, page) = call(&context, "sleep", &filter(text)).await;
        assert_eq!(status, 400);
        let member = "Member 'sleep.interval.start_time' is not supported for filtering.";
        assert_eq!(
            page,
            json!({"error": {
                "code": 400,
                "message": format!("Invalid data point filter: {member} (at line 1, column 1)"),
                "status": "INVALID_ARGUMENT",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "INVALID_DATA_POINT_FILTER",
                     "domain": "health.googleapis.com",
                     "metadata": {"detailedReasons": "INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER"}},
                    {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                        {"field": "filter", "description": format!("{member} (at line 1, column 1)")},
                        {"field": "filter", "description": format!("{member} (at line 1, column 57)")},
                    ]},
                ],
            }})
        );
        // A hyphenated prefix: the guide's reason, which names no finer one.
        let (status, page) = call(
            &context,
            "active-minutes",
            &filter(r#"active-minutes.interval.civil_start_time >= "2026-01-01""#),
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0, detailed_reasons(&page)),
            (
                400,
                Some("INVALID_DATA_POINT_FILTER"),
                Some("INVALID_DATA_POINT_FILTER")
            )
        );
        assert_eq!(violations(&page).len(), 1);
    }

    #[tokio::test]
    async fn an_in_progress_sleep_comes_first_without_end_or_summary() {
        // 04:00 in Los Angeles: asleep. The night in progress is not listed without the knob.
        let asleep = "2026-11-21T12:00:00Z";
        let (_, finished) = call(&context_at(asleep, json!({})), "sleep", "pageSize=1").await;
        let (_, listed) = call(
            &context_at(asleep, json!({"in_progress_sleep": true})),
            "sleep",
            "pageSize=2",
        )
        .await;
        let current = &listed["dataPoints"][0];
        let sleep = &current["sleep"];
        assert!(sleep["interval"]["startTime"].is_string());
        assert!(sleep["interval"]["startUtcOffset"].is_string());
        for absent in ["endTime", "endUtcOffset", "civilEndTime"] {
            assert!(sleep["interval"].get(absent).is_none(), "{absent}");
        }
        assert!(sleep.get("summary").is_none() && sleep.get("shortAwakenings").is_none());
        assert!(sleep["metadata"].get("processed").is_none());
        assert_eq!(sleep["metadata"]["mainSleep"], true);
        let started = |point: &Value| point["sleep"]["interval"]["startTime"].clone();
        assert!(started(current).as_str() > started(&finished["dataPoints"][0]).as_str());
        assert_eq!(
            listed["dataPoints"][1], finished["dataPoints"][0],
            "the finished nights follow unchanged"
        );

        // 12:00 in Los Angeles: awake. Last night is shown in progress, then finished.
        let awake = "2026-11-21T20:00:00Z";
        let on = context_at(awake, json!({"in_progress_sleep": true}));
        let off = context_at(awake, json!({}));
        let (_, shown) = call(&on, "sleep", "pageSize=1").await;
        let (_, done) = call(&off, "sleep", "pageSize=1").await;
        let (shown, done) = (&shown["dataPoints"][0], &done["dataPoints"][0]);
        assert_eq!(shown["name"], done["name"]);
        assert_eq!(started(shown), started(done));
        assert!(shown["sleep"]["interval"].get("endTime").is_none());
        assert!(shown["sleep"].get("summary").is_none());
        assert!(done["sleep"]["interval"]["endTime"].is_string());
        assert!(done["sleep"]["summary"]["minutesAsleep"].is_string());
        // Truth is what is served; `get` agrees.
        let name = shown["name"].as_str().unwrap();
        let id = name.rsplit('/').next().unwrap();
        let got = super::super::get::get(&on, catalogue::find("sleep").unwrap(), id).unwrap();
        assert_eq!(&super::super::test_support::body(got).await.1, shown);
        // End filters treat it as ending now.
        let (_, matched) = call(
            &on,
            "sleep",
            &filter(r#"sleep.interval.end_time >= "2026-11-21T19:00:00Z""#),
        )
        .await;
        assert_eq!(&matched["dataPoints"][0], shown);
        let (_, before) = call(
            &on,
            "sleep",
            &filter(r#"sleep.interval.end_time < "2026-11-21T19:00:00Z""#),
        )
        .await;
        assert_ne!(before["dataPoints"][0]["name"], shown["name"]);
        let (_, civil) = call(
            &on,
            "sleep",
            &filter(r#"sleep.interval.civil_end_time >= "2026-11-21""#),
        )
        .await;
        assert_eq!(&civil["dataPoints"][0], shown);
    }

    /// Counts the days it generates.
    #[derive(Debug)]
    struct Counting {
        inner: &'static dyn Generator,
        days: AtomicUsize,
    }

    impl Generator for Counting {
        fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
            self.days.fetch_add(1, Ordering::Relaxed);
            self.inner.day(persona, day, now_s)
        }

        fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
            self.inner.roll_up(points)
        }
    }

    #[test]
    fn a_page_generates_only_the_days_it_returns() {
        let context = context(json!({"hr_interval_s": 5}));
        let counting = Counting {
            inner: HEART_RATE,
            days: AtomicUsize::new(0),
        };
        let generated = || counting.days.swap(0, Ordering::Relaxed);
        let page = |filter: Option<&Filter>, cursor: Cursor| {
            Selection {
                context: &context,
                data_type: catalogue::find("heart-rate").unwrap(),
                generator: &counting,
                filter,
            }
            .page(cursor, 10_000)
        };
        // Today's early hours and yesterday fill the first page.
        let first = page(None, Cursor::NEWEST);
        assert!(generated() <= 2);
        let second = page(None, first.next.unwrap());
        assert!(generated() <= 2 && first.next.unwrap().day >= second.next.unwrap().day);
        let years_back = Cursor {
            day: civil::days_from_civil(2019, 3, 1),
            start_ms: i64::MAX,
            index: 0,
        };
        let old = page(None, years_back);
        assert!(generated() <= 2 && !old.points.is_empty());
        let heart_rate = catalogue::find("heart-rate").unwrap();
        let before_2018 = filter::parse(
            r#"heart_rate.sample_time.civil_time < "2018-01-01""#,
            heart_rate,
            &context.knobs,
        )
        .unwrap();
        let old = page(before_2018.as_ref(), Cursor::NEWEST);
        assert!(generated() <= 2 && old.points.contains("\"year\":2017,\"month\":12,\"day\":31"));
    }

    /// The heart-rate samples of civil days `first..=last` the generator makes, newest first.
    fn samples(context: &Context, first: i64, last: i64) -> Vec<Value> {
        let now = context.persona.now_seconds();
        (first..=last)
            .rev()
            .flat_map(|day| {
                let points = context.persona.points("heart-rate", HEART_RATE, day, now);
                points
                    .iter()
                    .rev()
                    .map(|point| serde_json::from_str::<Value>(&point.json).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn pages_never_overlap_and_cover_exactly_the_filtered_points() {
        let context = context(json!({"hr_interval_s": 15}));
        let (from, to) = ("2024-05-14T10:00:00Z", "2024-05-15T16:00:00Z");
        let query = filter(&format!(
            r#"heart_rate.sample_time.physical_time >= "{from}" AND heart_rate.sample_time.physical_time < "{to}""#
        ));
        let (points, pages) =
            list_all(&context, "heart-rate", &format!("{query}&pageSize=1000")).await;
        assert!(pages >= 3, "{pages} pages");
        let time = |point: &Value| {
            point["heartRate"]["sampleTime"]["physicalTime"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let times: Vec<String> = points.iter().map(time).collect();
        assert!(
            times.windows(2).all(|pair| pair[0] > pair[1]),
            "newest first, no repeats"
        );
        assert!(times.iter().all(|t| t.as_str() >= from && t.as_str() < to));
        let day = civil::days_from_civil(2024, 5, 14);
        let expected: Vec<Value> = samples(&context, day - 1, day + 1)
            .into_iter()
            .filter(|point| {
                let t = time(point);
                t.as_str() >= from && t.as_str() < to
            })
            .collect();
        assert_eq!(points.len(), expected.len());
        assert!(
            points == expected,
            "the pages are exactly the samples in the range"
        );
        assert!(points[0]["heartRate"]["metadata"]["motionContext"].is_string());
    }

    #[tokio::test]
    async fn the_knobs_shape_heart_rate_and_daily_filters() {
        let day = civil_day("2024-05-14").replace(
            "steps.interval.civil_start_time",
            "heart_rate.sample_time.civil_time",
        );
        let sparse = list_all(&context(json!({})), "heart-rate", &day).await.0;
        let dense = list_all(&context(json!({"hr_interval_s": 5})), "heart-rate", &day)
            .await
            .0;
        assert_eq!(
            dense.len(),
            sparse.len() * 12,
            "one sample a minute or every 5 s"
        );
        let rhr = |prefix: &str| {
            filter(&format!(
                r#"{prefix}.date >= "2024-05-01" AND {prefix}.date < "2024-05-15""#
            ))
        };
        let camel = context(json!({"daily_filter_prefix": "camel"}));
        let (listed, _) = list_all(
            &camel,
            "daily-resting-heart-rate",
            &rhr("dailyRestingHeartRate"),
        )
        .await;
        assert!((10..=14).contains(&listed.len()));
        assert_eq!(
            listed[0]["dailyRestingHeartRate"]["date"],
            json!({"year": 2024, "month": 5, "day": 14})
        );
        let (status, page) = call(
            &camel,
            "daily-resting-heart-rate",
            &rhr("daily_resting_heart_rate"),
        )
        .await;
        assert_eq!(
            (status, page),
            (200, json!({})),
            "accepted, but nothing comes back"
        );
        let snake = context(json!({"daily_filter_prefix": "snake"}));
        let (status, page) = call(
            &snake,
            "daily-resting-heart-rate",
            &rhr("dailyRestingHeartRate"),
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0, detailed_reasons(&page)),
            (
                400,
                Some("INVALID_DATA_POINT_FILTER"),
                Some("INVALID_DATA_POINT_FILTER_COLLECTION_MISMATCH")
            )
        );
    }

    #[tokio::test]
    async fn other_sources_and_unsimulated_types_are_empty() {
        let context = context(json!({}));
        let (status, page) = call(
            &context,
            "steps",
            "dataSourceFamily=users/me/dataSourceFamilies/self-sources",
        )
        .await;
        assert_eq!((status, page), (200, json!({})));
        let (status, page) = call(&context, "swim-lengths-data", "pageSize=10").await;
        assert_eq!((status, page), (200, json!({})));
    }
}
