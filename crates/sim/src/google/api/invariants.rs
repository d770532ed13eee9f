//! The guarantees of reference §8.5 across handlers, for the activity and heart types: a civil
//! day's `dailyRollUp` equals the aggregate of that day's listed points, `rollUp` of heart rate
//! equals the aggregates of the raw samples, and the ground truth is what the handlers serve.

use std::collections::BTreeMap;

use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{
    Context, catalogue, daily_rollup, rollup,
    test_support::{body, context, filter, list_all},
};
use crate::{
    admin::Instruments,
    clock::SimClock,
    google::{GoogleSimConfig, state::Shared},
};

const DAY: (i16, i8, i8) = (2024, 5, 14);

/// The value of the day's window (whether the end day is included or not, the range's first
/// window is the day's).
async fn daily_roll_up(context: &Context, data_type: &str) -> Value {
    let (y, m, d) = DAY;
    let date = |d: i8| json!({"date": {"year": y, "month": m, "day": d}});
    let request = json!({"range": {"start": date(d), "end": date(d + 1)}});
    let response = daily_rollup::daily_roll_up(
        context,
        catalogue::find(data_type).unwrap(),
        request.to_string().as_bytes(),
    )
    .unwrap_or_else(IntoResponse::into_response);
    let (status, page) = body(response).await;
    assert_eq!(status, 200, "{page}");
    let key = catalogue::find(data_type).unwrap().union_key();
    let windows = page["rollupDataPoints"].as_array().unwrap();
    windows.last().unwrap()[key].clone()
}

/// JSON doubles parse to within an ulp or so (serde_json's default float parsing).
fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-12,
        "{actual} ≠ {expected}"
    );
}

/// The values of `data_type` listed for the day, by union key.
async fn listed(context: &Context, data_type: &str) -> Vec<Value> {
    let entry = catalogue::find(data_type).unwrap();
    let (y, m, d) = DAY;
    let member = match entry.record {
        catalogue::Record::Sample => "sample_time.civil_time",
        _ => "interval.civil_start_time",
    };
    let prefix = entry.snake_name();
    let query = filter(&format!(
        r#"{prefix}.{member} >= "{y}-{m:02}-{d:02}" AND {prefix}.{member} < "{y}-{m:02}-{:02}""#,
        d + 1
    ));
    let (points, _) = list_all(context, data_type, &format!("{query}&pageSize=10000")).await;
    assert!(!points.is_empty(), "{data_type}");
    points
        .into_iter()
        .map(|point| point[entry.union_key()].clone())
        .collect()
}

fn number(value: &Value) -> f64 {
    match value {
        Value::String(text) => text.trim_end_matches('s').parse().unwrap(),
        Value::Number(number) => number.as_f64().unwrap(),
        _ => 0.0,
    }
}

/// Σ of `field` over values, per `category` (`""`: one total).
fn sums(values: &[Value], category: &str, field: &str, each: Option<f64>) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for value in values {
        let key = value[category].as_str().unwrap_or("").to_owned();
        *sums.entry(key).or_insert(0.0) += each.unwrap_or_else(|| number(&value[field]));
    }
    sums
}

#[tokio::test]
async fn a_days_rollup_is_the_sum_of_its_listed_points() {
    let context = context(json!({}));
    for (data_type, field, sum_field) in [
        ("steps", "count", "countSum"),
        ("distance", "millimeters", "millimetersSum"),
        ("altitude", "gainMillimeters", "gainMillimetersSum"),
        ("active-energy-burned", "kcal", "kcalSum"),
    ] {
        let total = sums(&listed(&context, data_type).await, "", field, None)[""];
        let rolled = daily_roll_up(&context, data_type).await;
        assert_close(number(&rolled[sum_field]), total);
        assert!(total > 0.0, "{data_type}");
    }

    let levels = listed(&context, "activity-level").await;
    let rolled = daily_roll_up(&context, "activity-level").await;
    let by_type = sums(&levels, "activityLevelType", "", Some(60.0));
    for entry in rolled["activityLevelRollupsByActivityLevelType"]
        .as_array()
        .unwrap()
    {
        let name = entry["activityLevelType"].as_str().unwrap();
        assert_eq!(number(&entry["totalDuration"]), by_type[name], "{name}");
    }
    assert_eq!(
        rolled["activityLevelRollupsByActivityLevelType"]
            .as_array()
            .unwrap()
            .len(),
        by_type.len()
    );

    let active: Vec<Value> = listed(&context, "active-minutes")
        .await
        .iter()
        .map(|value| value["activeMinutesByActivityLevel"][0].clone())
        .collect();
    let rolled = daily_roll_up(&context, "active-minutes").await;
    let by_level = sums(&active, "activityLevel", "activeMinutes", None);
    for entry in rolled["activeMinutesRollupByActivityLevel"]
        .as_array()
        .unwrap()
    {
        let name = entry["activityLevel"].as_str().unwrap();
        assert_eq!(number(&entry["activeMinutesSum"]), by_level[name], "{name}");
    }

    let azm = sums(
        &listed(&context, "active-zone-minutes").await,
        "heartRateZone",
        "activeZoneMinutes",
        None,
    );
    let rolled = daily_roll_up(&context, "active-zone-minutes").await;
    for (zone, member) in [
        ("FAT_BURN", "sumInFatBurnHeartZone"),
        ("CARDIO", "sumInCardioHeartZone"),
        ("PEAK", "sumInPeakHeartZone"),
    ] {
        assert_eq!(
            number(&rolled[member]),
            azm.get(zone).copied().unwrap_or(0.0),
            "{zone}"
        );
    }

    let zones = sums(
        &listed(&context, "time-in-heart-rate-zone").await,
        "heartRateZoneType",
        "",
        Some(60.0),
    );
    let rolled = daily_roll_up(&context, "time-in-heart-rate-zone").await;
    for entry in rolled["timeInHeartRateZones"].as_array().unwrap() {
        let name = entry["heartRateZone"].as_str().unwrap();
        assert_eq!(number(&entry["duration"]), zones[name], "{name}");
    }

    let periods = listed(&context, "sedentary-period").await;
    let seconds: f64 = periods
        .iter()
        .map(|value| {
            let at = |member: &str| {
                value["interval"][member]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .as_second() as f64
            };
            at("endTime") - at("startTime")
        })
        .sum();
    assert_eq!(
        number(&daily_roll_up(&context, "sedentary-period").await["durationSum"]),
        seconds
    );

    let bpm: Vec<f64> = listed(&context, "heart-rate")
        .await
        .iter()
        .map(|value| number(&value["beatsPerMinute"]))
        .collect();
    let rolled = daily_roll_up(&context, "heart-rate").await;
    assert_eq!(
        number(&rolled["beatsPerMinuteMin"]),
        bpm.iter().copied().reduce(f64::min).unwrap()
    );
    assert_eq!(
        number(&rolled["beatsPerMinuteMax"]),
        bpm.iter().copied().reduce(f64::max).unwrap()
    );
    assert_close(
        number(&rolled["beatsPerMinuteAvg"]),
        bpm.iter().sum::<f64>() / bpm.len() as f64,
    );
}

#[tokio::test]
async fn heart_rate_minute_rollups_aggregate_the_raw_samples() {
    let context = context(json!({"hr_interval_s": 5}));
    // Three hours across the morning run window of a Los Angeles day (07:00Z is midnight).
    let (from, to) = ("2024-05-14T13:00:00Z", "2024-05-14T16:00:00Z");
    let query = filter(&format!(
        r#"heart_rate.sample_time.physical_time >= "{from}" AND heart_rate.sample_time.physical_time < "{to}""#
    ));
    let (samples, _) = list_all(&context, "heart-rate", &format!("{query}&pageSize=10000")).await;
    let mut by_minute: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for sample in &samples {
        let at = sample["heartRate"]["sampleTime"]["physicalTime"]
            .as_str()
            .unwrap();
        by_minute
            .entry(format!("{}:00Z", &at[..16]))
            .or_default()
            .push(number(&sample["heartRate"]["beatsPerMinute"]));
    }
    let request = json!({"range": {"startTime": from, "endTime": to}, "windowSize": "60s"});
    let response = rollup::roll_up(
        &context,
        catalogue::find("heart-rate").unwrap(),
        request.to_string().as_bytes(),
    )
    .unwrap_or_else(IntoResponse::into_response);
    let (status, page) = body(response).await;
    assert_eq!(status, 200, "{page}");
    let windows = page["rollupDataPoints"].as_array().unwrap();
    assert_eq!(windows.len(), by_minute.len());
    assert!(page.get("nextPageToken").is_none());
    for window in windows {
        let bpm = &by_minute[window["startTime"].as_str().unwrap()];
        let value = &window["heartRate"];
        assert_eq!(
            number(&value["beatsPerMinuteMin"]),
            bpm.iter().copied().reduce(f64::min).unwrap()
        );
        assert_eq!(
            number(&value["beatsPerMinuteMax"]),
            bpm.iter().copied().reduce(f64::max).unwrap()
        );
        assert_close(
            number(&value["beatsPerMinuteAvg"]),
            bpm.iter().sum::<f64>() / bpm.len() as f64,
        );
        assert_eq!(bpm.len(), 12);
    }
    let newest = windows[0]["startTime"].as_str().unwrap();
    assert!(
        windows
            .iter()
            .all(|w| w["startTime"].as_str().unwrap() <= newest)
    );
}

#[tokio::test]
async fn the_ground_truth_is_what_the_handlers_serve() {
    let clock = SimClock::starting_at(super::test_support::NOW.parse().unwrap());
    clock.freeze(true);
    let mut config = GoogleSimConfig::local("http://localhost/callback");
    config.knobs = config.knobs.merged(&json!({"hr_interval_s": 30})).unwrap();
    let shared = Shared::new(config, Instruments::new(clock));
    let context = context(json!({"hr_interval_s": 30}));
    let (y, m, d) = DAY;
    let date = jiff::civil::date(y, m, d);
    for data_type in [
        "steps",
        "heart-rate",
        "daily-resting-heart-rate",
        "sedentary-period",
    ] {
        let mut truth = super::ground_truth_points(&shared, data_type, date);
        truth.reverse();
        let entry = catalogue::find(data_type).unwrap();
        let member = match entry.record {
            catalogue::Record::Sample => "sample_time.civil_time",
            catalogue::Record::Daily => "date",
            _ => "interval.civil_start_time",
        };
        let prefix = entry.snake_name();
        let query = filter(&format!(
            r#"{prefix}.{member} >= "{y}-{m:02}-{d:02}" AND {prefix}.{member} < "{y}-{m:02}-{:02}""#,
            d + 1
        ));
        let (listed, _) = list_all(&context, data_type, &query).await;
        assert!(!listed.is_empty() && listed == truth, "{data_type}");
    }
    assert_eq!(
        super::ground_truth_daily_roll_up(&shared, "steps", date),
        Some(daily_roll_up(&context, "steps").await)
    );
    let steps = context.persona.daily_steps(date).unwrap();
    assert_eq!(
        super::ground_truth_daily_roll_up(&shared, "steps", date),
        Some(json!({"countSum": steps.to_string()}))
    );
    let future = jiff::civil::date(2030, 1, 1);
    assert_eq!(
        super::ground_truth_daily_roll_up(&shared, "steps", future),
        None
    );
    assert!(super::ground_truth_points(&shared, "not-a-type", date).is_empty());
}

/// A sim's shared state at `now` with `knobs`, and the handler context of the same.
fn shared_at(now: &str, knobs: Value) -> (Shared, Context) {
    let clock = SimClock::starting_at(now.parse().unwrap());
    clock.freeze(true);
    let mut config = GoogleSimConfig::local("http://localhost/callback");
    config.knobs = config.knobs.merged(&knobs).unwrap();
    (
        Shared::new(config, Instruments::new(clock)),
        super::test_support::context_at(now, knobs),
    )
}

#[tokio::test]
async fn the_ground_truth_has_the_sleep_in_progress() {
    let now = "2026-11-21T20:00:00Z";
    let (shared, context) = shared_at(now, json!({"in_progress_sleep": true}));
    let (listed, _) = list_all(&context, "sleep", "pageSize=1").await;
    let shown = &listed[0];
    assert!(shown["sleep"]["interval"].get("endTime").is_none());
    let start: jiff::Timestamp = shown["sleep"]["interval"]["startTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let date = context.persona.today(start);
    let truth = super::ground_truth_points(&shared, "sleep", date);
    assert_eq!(truth.last(), Some(shown));
    let (shared, _) = shared_at(now, json!({}));
    let finished = super::ground_truth_points(&shared, "sleep", date);
    assert_eq!(finished.last().unwrap()["name"], shown["name"]);
    assert!(finished.last().unwrap()["sleep"]["summary"].is_object());
}

#[tokio::test]
async fn the_phones_steps_are_counted_once_everywhere() {
    let (shared, context) = shared_at(super::test_support::NOW, json!({}));
    let persona = &context.persona;
    let now = persona.now_seconds();
    let today = persona.day_of(now);
    let steps = catalogue::find("steps").unwrap().generator.unwrap();
    let day = (today - 200..today)
        .rev()
        .find(|day| {
            persona
                .points("steps", steps, *day, now)
                .iter()
                .any(|point| point.json.contains("HEALTH_CONNECT"))
        })
        .expect("a phone day within 200 days");
    let date = crate::google::civil::date_of(day).unwrap();
    let next = date.tomorrow().unwrap();
    for (data_type, field, sum_field) in [
        ("steps", "count", "countSum"),
        ("distance", "millimeters", "millimetersSum"),
    ] {
        let prefix = catalogue::find(data_type).unwrap().snake_name();
        let query = filter(&format!(
            r#"{prefix}.interval.civil_start_time >= "{date}" AND {prefix}.interval.civil_start_time < "{next}""#
        ));
        let (points, _) = list_all(&context, data_type, &format!("{query}&pageSize=10000")).await;
        assert!(
            points
                .iter()
                .any(|p| p["dataSource"]["platform"] == "HEALTH_CONNECT")
        );
        let key = catalogue::find(data_type).unwrap().union_key();
        let total: f64 = points.iter().map(|p| number(&p[key.as_str()][field])).sum();
        let request = json!({"range": {
            "start": {"date": {"year": date.year(), "month": date.month(), "day": date.day()}},
            "end": {"date": {"year": next.year(), "month": next.month(), "day": next.day()}},
        }});
        let response = daily_rollup::daily_roll_up(
            &context,
            catalogue::find(data_type).unwrap(),
            request.to_string().as_bytes(),
        )
        .unwrap_or_else(IntoResponse::into_response);
        let (_, page) = body(response).await;
        let rolled = &page["rollupDataPoints"][0][key.as_str()];
        assert_eq!(number(&rolled[sum_field]), total, "{data_type}");
        assert_eq!(
            super::ground_truth_daily_roll_up(&shared, data_type, date).as_ref(),
            Some(rolled)
        );
        let mut truth = super::ground_truth_points(&shared, data_type, date);
        truth.reverse();
        assert_eq!(truth, points, "{data_type}");
    }
    assert_eq!(
        persona.daily_steps(date),
        Some(
            number(&super::ground_truth_daily_roll_up(&shared, "steps", date).unwrap()["countSum"])
                as u64
        )
    );
}
