//! Daily rollups and raw lists of steps against the persona's ground truth.

use std::collections::BTreeMap;

use google_health::{ApiError, DailyRollUpRequest, ListRequest};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, date},
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::harness::{Harness, one_day_windows};

/// Every window of a daily rollup, following page tokens of pages of 30 windows; (windows by
/// start day, pages).
async fn roll_up_all(
    h: &Harness,
    token: &SecretString,
    start: Date,
    end: Date,
) -> (BTreeMap<Date, Option<u64>>, usize) {
    let mut windows = BTreeMap::new();
    let mut request = DailyRollUpRequest {
        page_size: Some(30),
        ..one_day_windows(start, end)
    };
    let mut pages = 0;
    loop {
        let page = h.api.daily_roll_up(token, "steps", &request).await.unwrap();
        pages += 1;
        assert!(page.points.len() <= 30);
        for point in page.points {
            assert_eq!(
                point.end.date(),
                point.start.date().tomorrow().unwrap(),
                "one-day windows"
            );
            let steps = point.value["steps"]
                .get("countSum")
                .map(|sum| sum.as_str().unwrap().parse::<u64>().unwrap());
            assert!(
                windows.insert(point.start.date(), steps).is_none(),
                "windows never repeat"
            );
        }
        match page.next_page_token {
            Some(next) => request.page_token = Some(next),
            None => return (windows, pages),
        }
    }
}

#[tokio::test]
async fn a_rollup_of_the_maximum_range_matches_the_persona_day_by_day() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let persona = h.sim.persona();
    // Spans the Berlin trip (an 18-hour and a 30-hour day) and a summer without DST changes.
    // With the end day left out (the default, as a live recording answered) 90 days apart is
    // 90 days.
    let start = date(2019, 5, 2);
    let end = start + 90.days();

    let (windows, pages) = roll_up_all(&h, &tokens.access_token, start, end).await;
    assert!(pages >= 3, "{pages} pages");
    assert!(persona.daily_steps(end).is_some(), "the end day was worn");
    assert_eq!(windows.get(&end), None, "the end day is left out");
    let mut day = start;
    while day < end {
        let expected = persona.daily_steps(day);
        let actual = windows.get(&day).map(|sum| sum.unwrap_or(0));
        assert_eq!(actual, expected, "{day}");
        day = day.tomorrow().unwrap();
    }
    assert!(
        windows.len() >= 80,
        "a worn day every ~33 days is missed, not more"
    );

    let too_long = one_day_windows(start, start + 91.days());
    let refused = h
        .api
        .daily_roll_up(&tokens.access_token, "steps", &too_long)
        .await;
    assert!(
        matches!(refused, Err(ApiError::InvalidArgument { .. })),
        "91 days apart covers 91 days: {refused:?}"
    );

    // With the end day included (as one live client reported), 89 days apart is 90 days.
    h.knobs(json!({"daily_rollup_end": "inclusive"})).await;
    let last = start + 89.days();
    let (inclusive, _) = roll_up_all(&h, &tokens.access_token, start, last).await;
    assert_eq!(inclusive.get(&last), windows.get(&last));
    assert_eq!(
        inclusive.get(&last).map(|sum| sum.unwrap_or(0)),
        persona.daily_steps(last)
    );
    assert!(
        inclusive
            .keys()
            .all(|day| windows.get(day) == inclusive.get(day))
    );
    let refused = h
        .api
        .daily_roll_up(&tokens.access_token, "steps", &one_day_windows(start, end))
        .await;
    assert!(
        matches!(refused, Err(ApiError::InvalidArgument { .. })),
        "with the end included, 90 days apart covers 91 days: {refused:?}"
    );
}

#[tokio::test]
async fn rollups_longer_than_90_days_are_rejected() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let request = one_day_windows(date(2024, 1, 1), date(2024, 1, 1) + 91.days());
    let error = h
        .api
        .daily_roll_up(&tokens.access_token, "steps", &request)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::InvalidArgument { .. }),
        "{error:?}"
    );
}

fn count(point: &Value) -> u64 {
    point["steps"]
        .get("count")
        .map_or(0, |count| count.as_str().unwrap().parse().unwrap())
}

fn civil_date(point: &Value) -> Date {
    let date = &point["steps"]["interval"]["civilStartTime"]["date"];
    let part = |name: &str| date[name].as_i64().unwrap();
    jiff::civil::date(part("year") as i16, part("month") as i8, part("day") as i8)
}

#[tokio::test]
async fn a_civil_day_listed_page_by_page_adds_up_to_the_day_total() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let persona = h.sim.persona();
    // The 18-hour day flying to Berlin and the 25-hour day when DST ended.
    for (day, hours) in [(date(2019, 6, 10), 18), (date(2017, 11, 5), 25)] {
        let expected = persona.daily_steps(day).expect("a worn day");
        let filter = format!(
            r#"steps.interval.civil_start_time >= "{day}" AND steps.interval.civil_start_time < "{}""#,
            day.tomorrow().unwrap()
        );
        let mut request = ListRequest {
            filter: Some(filter),
            page_size: Some(400),
            page_token: None,
        };
        let (mut total, mut points, mut pages, mut previous) = (0, 0, 0, None::<Timestamp>);
        loop {
            let page = h
                .api
                .list(&tokens.access_token, "steps", &request)
                .await
                .unwrap();
            pages += 1;
            let (page, next_page_token) = page.values().unwrap();
            assert!(page.len() <= 400);
            for point in &page {
                assert_eq!(civil_date(point), day);
                assert_eq!(point["dataSource"]["platform"], "FITBIT");
                let start: Timestamp = point["steps"]["interval"]["startTime"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(
                    previous.is_none_or(|previous| start < previous),
                    "newest first, no repeats"
                );
                previous = Some(start);
                total += count(point);
                points += 1;
            }
            match next_page_token {
                Some(next) => request.page_token = Some(next),
                None => break,
            }
        }
        assert_eq!(total, expected, "{day}");
        assert!(pages >= 3, "{day}: {pages} pages");
        assert!(
            points <= hours * 60 && points >= hours * 60 - 60,
            "{day}: {points} points"
        );
    }
}

#[tokio::test]
async fn page_tokens_only_continue_their_own_query() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let filter = |day: &str, next: &str| {
        Some(format!(
            r#"steps.interval.civil_start_time >= "{day}" AND steps.interval.civil_start_time < "{next}""#
        ))
    };
    let first = h
        .api
        .list(
            &tokens.access_token,
            "steps",
            &ListRequest {
                filter: filter("2024-05-14", "2024-05-15"),
                page_size: Some(100),
                page_token: None,
            },
        )
        .await
        .unwrap();
    let error = h
        .api
        .list(
            &tokens.access_token,
            "steps",
            &ListRequest {
                filter: filter("2024-05-15", "2024-05-16"),
                page_size: Some(100),
                page_token: first.values().unwrap().1,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::InvalidArgument { message, .. } if message == "Invalid page token."),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("Invalid page token."),
        "the error says what was wrong: {error}"
    );
}

#[tokio::test]
async fn filters_and_data_types_are_validated() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let list = |data_type: &'static str, filter: &str| {
        let request = ListRequest {
            filter: Some(filter.to_owned()),
            page_size: None,
            page_token: None,
        };
        let api = h.api.clone();
        let token = tokens.access_token.clone();
        async move { api.list(&token, data_type, &request).await }
    };
    // Live filter errors carry `INVALID_DATA_POINT_FILTER`, with the specific reason in the
    // ErrorInfo's `detailedReasons`.
    let reason = |error: ApiError| match error {
        ApiError::InvalidArgument {
            reason,
            detailed_reasons,
            ..
        } => detailed_reasons.or(reason),
        other => panic!("{other:?}"),
    };
    let mixed = list(
        "steps",
        r#"steps.interval.start_time >= "2026-01-01T00:00:00Z" AND steps.interval.civil_start_time < "2026-01-02""#,
    )
    .await
    .unwrap_err();
    assert_eq!(
        reason(mixed).as_deref(),
        Some("INVALID_DATA_POINT_FILTER_MIXED_TIME_RESTRICTIONS")
    );
    let member = list(
        "steps",
        r#"steps.interval.end_time >= "2026-01-01T00:00:00Z""#,
    )
    .await
    .unwrap_err();
    assert_eq!(
        reason(member).as_deref(),
        Some("INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER")
    );
    let unknown = list("not-a-type", "").await.unwrap_err();
    assert_eq!(
        reason(unknown).as_deref(),
        Some("INVALID_PARENT_DATA_TYPE_COLLECTION")
    );
    // A known type without data (empty for Fitbit accounts) answers, with no points.
    let basal = list(
        "basal-energy-burned",
        r#"basal_energy_burned.interval.civil_start_time >= "2026-01-01""#,
    )
    .await
    .unwrap()
    .values()
    .unwrap();
    assert!(basal.0.is_empty() && basal.1.is_none());
    let distance = list(
        "distance",
        r#"distance.interval.civil_start_time >= "2026-01-01""#,
    )
    .await
    .unwrap()
    .values()
    .unwrap();
    assert!(!distance.0.is_empty());
}
