//! Checks every session, health and body generator's JSON against the Google Health API v4
//! discovery document: each member must exist in its schema with the right JSON type, enum
//! value and proto3 spelling (int64 as strings, RFC 3339 `Z` timestamps, `"Ns"` durations, no
//! zero or false members), and every generator must be deterministic.
//!
//! `testdata/health-v4-schemas.json` holds the discovery document's schemas (`$ref`, `type`,
//! `format`, `enum`, `items` of each property) reachable from the `DataPoint` and
//! `RollupDataPoint` members these generators produce, with only those members kept, so the
//! test runs on a fresh clone. Regenerate it from the discovery document when that changes.

use serde_json::Value;

use super::{
    Persona, body, breathing, cardio, exercise, logs, metrics, rhythm, sleep,
    test_support::{persona_at, points_over},
};
use crate::google::{civil, points::Generator};

const SCHEMAS: &str = include_str!("testdata/health-v4-schemas.json");

/// Problems with `value` as an instance of schema `name`, each prefixed with its path.
fn check_object(
    schemas: &Value,
    name: &str,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let Some(members) = value.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    for (key, member) in members {
        let member_path = format!("{path}.{key}");
        match schemas[name].get(key) {
            Some(property) => check_value(schemas, property, member, &member_path, problems),
            None => problems.push(format!("{member_path}: not a member of {name}")),
        }
    }
}

fn check_value(
    schemas: &Value,
    property: &Value,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    if let Some(name) = property["$ref"].as_str() {
        return check_object(schemas, name, value, path, problems);
    }
    let format = property["format"].as_str().unwrap_or("");
    let ok = match property["type"].as_str().unwrap_or("") {
        "array" => {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            for (index, item) in items.iter().enumerate() {
                check_value(
                    schemas,
                    &property["items"],
                    item,
                    &format!("{path}[{index}]"),
                    problems,
                );
            }
            value.is_array() && !items.is_empty()
        }
        "boolean" => value == &Value::Bool(true),
        "integer" => value.as_i64().is_some_and(|n| n != 0) || path.ends_with(']'),
        // proto3 JSON also spells doubles "NaN", "Infinity", "-Infinity" (`nan_doubles`). A zero
        // is omitted, except the SDNN live accounts send as an explicit 0 ("not computed").
        "number" => {
            value.as_f64().is_some_and(|n| n != 0.0)
                || matches!(value.as_str(), Some("NaN" | "Infinity" | "-Infinity"))
                || (path.ends_with(".standardDeviationMilliseconds") && value == &Value::from(0))
        }
        "string" => {
            let text = value.as_str().unwrap_or("");
            let enum_ok = property["enum"]
                .as_array()
                .is_none_or(|values| values.iter().any(|v| v == text));
            let format_ok = match format {
                "int64" => text.parse::<i64>().is_ok_and(|n| n != 0),
                "google-datetime" => text.ends_with('Z') && text.parse::<jiff::Timestamp>().is_ok(),
                "google-duration" => text
                    .strip_suffix('s')
                    .is_some_and(|seconds| seconds.parse::<i64>().is_ok()),
                _ => !text.is_empty(),
            };
            value.is_string() && enum_ok && format_ok
        }
        other => {
            problems.push(format!("{path}: unknown schema type {other:?}"));
            true
        }
    };
    if !ok {
        problems.push(format!("{path}: {value} is not a proto3 {property}"));
    }
}

/// Each generator with its union key and a range of days that has its points.
fn cases(persona: &Persona) -> Vec<(&'static dyn Generator, &'static str, i64, i64)> {
    let recent = civil::days_from_civil(2025, 6, 1);
    let classic = civil::days_from_civil(2017, 6, 1);
    let whole = (
        persona.first_day(),
        persona.day_of(persona.now_seconds()) + 1,
    );
    let mut cases: Vec<(&'static dyn Generator, &'static str, i64, i64)> = vec![
        (&sleep::Sleep, "sleep", classic, classic + 30),
        (
            &rhythm::Electrocardiogram,
            "electrocardiogram",
            whole.0,
            whole.1,
        ),
        (
            &rhythm::IrregularRhythmNotification,
            "irregularRhythmNotification",
            whole.0,
            whole.1,
        ),
        (&body::Height, "height", whole.0, whole.0 + 1),
    ];
    let recent_cases: [(&'static dyn Generator, &'static str); 15] = [
        (&sleep::Sleep, "sleep"),
        (&exercise::Exercise, "exercise"),
        (&metrics::HeartRateVariability, "heartRateVariability"),
        (
            &metrics::DailyHeartRateVariability,
            "dailyHeartRateVariability",
        ),
        (&metrics::OxygenSaturation, "oxygenSaturation"),
        (&metrics::DailyOxygenSaturation, "dailyOxygenSaturation"),
        (&breathing::DailyRespiratoryRate, "dailyRespiratoryRate"),
        (
            &breathing::RespiratoryRateSleepSummary,
            "respiratoryRateSleepSummary",
        ),
        (
            &breathing::DailySleepTemperatureDerivations,
            "dailySleepTemperatureDerivations",
        ),
        (&body::Weight, "weight"),
        (&body::BodyFat, "bodyFat"),
        (&cardio::RunVo2Max, "runVo2Max"),
        (&cardio::DailyVo2Max, "dailyVo2Max"),
        (&logs::HydrationLog, "hydrationLog"),
        (&logs::NutritionLog, "nutritionLog"),
    ];
    cases.extend(recent_cases.map(|(generator, key)| (generator, key, recent, recent + 45)));
    cases
}

#[test]
fn every_generated_point_and_rollup_matches_the_discovery_schemas() {
    let schemas: Value = serde_json::from_str(SCHEMAS).unwrap();
    let persona = persona_at("2026-11-21T12:00:00Z");
    let mut problems = Vec::new();
    for (generator, key, first, last) in cases(&persona) {
        let points = points_over(generator, &persona, first, last);
        assert!(!points.is_empty(), "{key} has no points in its range");
        for (_, point) in &points {
            let json: Value = serde_json::from_str(&point.json).unwrap();
            check_object(&schemas, "DataPoint", &json, key, &mut problems);
            assert!(
                json[key].is_object(),
                "{key}: the value sits under its union key"
            );
            assert_eq!(
                json["name"].is_string(),
                point.id.is_some(),
                "{key}: name iff id"
            );
        }
        let points: Vec<_> = points.into_iter().map(|(_, point)| point).collect();
        if let Some(rollup) = generator.roll_up(&points) {
            let wrapped = serde_json::json!({ key: rollup });
            check_object(
                &schemas,
                "RollupDataPoint",
                &wrapped,
                "rollup",
                &mut problems,
            );
        }
        problems.truncate(20);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_generator_is_a_pure_function_of_the_day() {
    let persona = persona_at("2026-11-21T12:00:00Z");
    let other = persona_at("2026-11-21T12:00:00Z");
    for (generator, key, first, last) in cases(&persona) {
        let days = first..last.min(first + 10);
        for day in days.clone().rev().chain(days) {
            let now = persona.now_seconds();
            let json = |persona: &Persona| -> Vec<String> {
                generator
                    .day(persona, day, now)
                    .into_iter()
                    .map(|p| p.json)
                    .collect()
            };
            assert_eq!(json(&persona), json(&other), "{key} on day {day}");
        }
    }
}

#[test]
fn the_check_catches_unknown_members_and_non_proto3_spellings() {
    let schemas: Value = serde_json::from_str(SCHEMAS).unwrap();
    let bad = serde_json::json!({
        "height": {"heightMillimeters": 1780, "sampleTime": {"physicalTime": "2026-01-01T00:00:00+01:00"}},
        "weight": {"weightGrams": 0, "grams": 80000.0},
        "sleep": {"metadata": {"processed": false}, "type": "NAP", "summary": {"minutesAsleep": "0"}},
        "exercise": {"activeDuration": "10m"},
    });
    let mut problems = Vec::new();
    check_object(&schemas, "DataPoint", &bad, "bad", &mut problems);
    assert_eq!(problems.len(), 8, "{problems:#?}");
}

/// The shapes of real accounts (`quirks`): each appears in the default persona within the last
/// 200 days, matches the schemas, touches a minority, and goes away with its knob.
mod real_account_shapes {
    use serde_json::{Value, json};

    use super::*;
    use crate::google::{
        knobs::Knobs,
        persona::{heart_rate::HEART_RATE, movement, quirks::SourceShape},
    };

    const NOW: &str = "2026-11-21T12:00:00Z";

    fn persona_with(changes: Value) -> Persona {
        let generation = Knobs::default().merged(&changes).unwrap().generation();
        persona_at(NOW).with_generation(generation)
    }

    /// The 200 days before the persona's today.
    fn last_200_days(persona: &Persona) -> std::ops::Range<i64> {
        let today = persona.day_of(persona.now_seconds());
        today - 200..today
    }

    /// The JSON of `generator`'s points of days `days`.
    fn json_over(
        generator: &dyn Generator,
        persona: &Persona,
        days: std::ops::Range<i64>,
    ) -> Vec<Value> {
        points_over(generator, persona, days.start, days.end)
            .into_iter()
            .map(|(_, point)| serde_json::from_str(&point.json).unwrap())
            .collect()
    }

    /// Schema problems of `points` (whole `DataPoint`s).
    fn problems(points: &[Value]) -> Vec<String> {
        let schemas: Value = serde_json::from_str(SCHEMAS).unwrap();
        let mut problems = Vec::new();
        for point in points {
            check_object(&schemas, "DataPoint", point, "point", &mut problems);
        }
        problems.truncate(10);
        problems
    }

    /// The days of the last 200 whose shapes `has`: some, a minority.
    fn quirk_days(
        persona: &Persona,
        has: impl Fn(&super::super::quirks::DayQuirks) -> bool,
    ) -> Vec<i64> {
        let days: Vec<i64> = last_200_days(persona)
            .filter(|day| has(&persona.quirks(*day)))
            .collect();
        assert!((1..60).contains(&days.len()), "{} days", days.len());
        days
    }

    fn seconds(value: &Value) -> f64 {
        let at: jiff::Timestamp = value.as_str().unwrap().parse().unwrap();
        at.as_millisecond() as f64 / 1000.0
    }

    #[test]
    fn a_phone_syncs_steps_and_distance_through_health_connect() {
        let persona = persona_with(json!({}));
        let from_phone = |point: &Value| point["dataSource"]["platform"] == "HEALTH_CONNECT";
        let days: Vec<i64> = quirk_days(&persona, |quirks| quirks.phone)
            .into_iter()
            .filter(|day| {
                json_over(movement::STEPS, &persona, *day..day + 1)
                    .iter()
                    .any(from_phone)
            })
            .collect();
        assert!((10..60).contains(&days.len()), "{} phone days", days.len());
        let day = days[0];
        let steps = movement::STEPS.day(&persona, day, persona.now_seconds());
        let phone: Vec<&crate::google::points::SimPoint> = steps
            .iter()
            .filter(|p| p.json.contains("HEALTH_CONNECT"))
            .collect();
        assert_eq!(phone.len(), 1, "one 30-minute point a day");
        let point: Value = serde_json::from_str(&phone[0].json).unwrap();
        assert_eq!(
            point["dataSource"],
            json!({"recordingMethod": "PASSIVELY_MEASURED", "platform": "HEALTH_CONNECT",
                   "application": {"packageName": "com.sec.android.app.shealth"},
                   "device": {"manufacturer": "samsung", "displayName": "Galaxy S23", "formFactor": "PHONE"}})
        );
        let interval = &point["steps"]["interval"];
        assert_eq!(
            seconds(&interval["endTime"]) - seconds(&interval["startTime"]),
            1800.0
        );
        let start = interval["startTime"].as_str().unwrap();
        assert_eq!(
            start.len(),
            "2026-01-01T00:00:00.123Z".len(),
            "milliseconds: {start}"
        );
        // No tracker minute overlaps the phone's interval; points stay ascending.
        let (from, to) = (phone[0].time.start_ms, phone[0].time.end_ms);
        assert!(
            steps
                .iter()
                .filter(|p| !p.json.contains("HEALTH_CONNECT"))
                .all(|p| { p.time.end_ms <= from || p.time.start_ms >= to })
        );
        assert!(
            steps
                .windows(2)
                .all(|w| w[0].time.start_ms < w[1].time.start_ms)
        );
        // Distance from the same phone steps; the day's rollup counts both sources.
        let distance = json_over(movement::DISTANCE, &persona, day..day + 1);
        let phone_distance: Vec<&Value> = distance.iter().filter(|p| from_phone(p)).collect();
        assert_eq!(phone_distance.len(), 1);
        let phone_steps: u64 = point["steps"]["count"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            phone_distance[0]["distance"]["millimeters"],
            (phone_steps * 762).to_string()
        );
        let total: f64 = steps.iter().map(|p| p.measures[0]).sum();
        assert_eq!(
            movement::STEPS.roll_up(&steps),
            Some(json!({"countSum": (total as u64).to_string()}))
        );
        assert_eq!(
            persona.daily_steps(civil::date_of(day).unwrap()),
            Some(total as u64)
        );
        let mut all = json_over(movement::STEPS, &persona, day..day + 1);
        all.extend(distance);
        assert!(problems(&all).is_empty(), "{:#?}", problems(&all));
        // Without the knob: the tracker's points alone, unchanged.
        let without = persona_with(json!({"health_connect_phone": false}));
        let tracker = movement::STEPS.day(&without, day, without.now_seconds());
        assert_eq!(tracker.len() + 1, steps.len());
        assert!(!tracker.iter().any(|p| p.json.contains("HEALTH_CONNECT")));
    }

    #[test]
    fn some_weigh_ins_are_typed_in_without_a_device() {
        let days = last_200_days(&persona_at(NOW));
        let weights = |persona: &Persona| json_over(&body::Weight, persona, days.clone());
        let persona = persona_with(json!({}));
        let all = weights(&persona);
        let manual: Vec<&Value> = all
            .iter()
            .filter(|p| p["dataSource"]["recordingMethod"] == "MANUAL")
            .collect();
        assert!(!manual.is_empty() && manual.len() < all.len() / 3);
        assert!(
            manual
                .iter()
                .all(|p| p["dataSource"].get("device").is_none())
        );
        assert!(problems(&all).is_empty());
        let scale_only = weights(&persona_with(json!({"manual_weight_entries": false})));
        assert_eq!(scale_only.len(), all.len());
        assert!(
            scale_only
                .iter()
                .all(|p| p["dataSource"]["device"]["formFactor"] == "SCALE")
        );
    }

    #[test]
    fn some_days_have_empty_devices_or_data_sources() {
        let persona = persona_with(json!({}));
        for (shape, expected) in [
            (SourceShape::EmptyDevice, "\"device\":{}"),
            (SourceShape::Empty, "\"dataSource\":{}"),
        ] {
            let days = quirk_days(&persona, |quirks| quirks.source == shape);
            let day = days
                .into_iter()
                .find(|day| {
                    !movement::STEPS
                        .day(&persona, *day, persona.now_seconds())
                        .is_empty()
                })
                .unwrap();
            let steps = json_over(movement::STEPS, &persona, day..day + 1);
            assert!(
                steps
                    .iter()
                    .filter(|p| p["dataSource"]["platform"] != "HEALTH_CONNECT")
                    .all(|p| p.to_string().contains(expected))
            );
            let heart = json_over(HEART_RATE, &persona, day..day + 1);
            assert!(heart[0].to_string().contains(expected));
            assert!(problems(&steps).is_empty());
            let off = persona_with(json!({"empty_source_objects": false}));
            let plain = json_over(movement::STEPS, &off, day..day + 1);
            assert!(plain.iter().all(|p| !p.to_string().contains(expected)));
        }
    }

    #[test]
    fn some_days_lack_utc_offsets() {
        let persona = persona_with(json!({}));
        let day = quirk_days(&persona, |quirks| !quirks.offsets)
            .into_iter()
            .find(|day| {
                !movement::STEPS
                    .day(&persona, *day, persona.now_seconds())
                    .is_empty()
            })
            .unwrap();
        let tracker = |point: &&Value| point["dataSource"]["platform"] != "HEALTH_CONNECT";
        let steps = json_over(movement::STEPS, &persona, day..day + 1);
        for point in steps.iter().filter(tracker) {
            let interval = &point["steps"]["interval"];
            assert!(
                interval.get("startUtcOffset").is_none() && interval.get("endUtcOffset").is_none()
            );
            assert!(interval["civilStartTime"].is_object(), "civil times stay");
        }
        let heart = json_over(HEART_RATE, &persona, day..day + 1);
        assert!(
            heart
                .iter()
                .all(|p| p["heartRate"]["sampleTime"].get("utcOffset").is_none())
        );
        assert!(problems(&steps).is_empty() && problems(&heart[..10]).is_empty());
        let off = persona_with(json!({"missing_offsets": false}));
        let with = json_over(movement::STEPS, &off, day..day + 1);
        assert!(
            with.iter()
                .all(|p| p["steps"]["interval"]["startUtcOffset"].is_string())
        );
    }

    #[test]
    fn some_times_have_fractional_seconds() {
        let persona = persona_with(json!({}));
        let days = last_200_days(&persona);
        let digits = |text: &str| text.split_once('.').map_or(0, |(_, f)| f.len() - 1);
        // Heart rate on some days: three digits.
        let day = quirk_days(&persona, |quirks| quirks.hr_ms > 0)
            .into_iter()
            .find(|day| {
                !HEART_RATE
                    .day(&persona, *day, persona.now_seconds())
                    .is_empty()
            })
            .unwrap();
        let heart = json_over(HEART_RATE, &persona, day..day + 1);
        assert!(heart.iter().all(|p| {
            digits(
                p["heartRate"]["sampleTime"]["physicalTime"]
                    .as_str()
                    .unwrap(),
            ) == 3
        }));
        assert!(heart[0]["heartRate"]["sampleTime"]["civilTime"]["time"]["nanos"].is_number());
        // Weigh-ins: six digits on some, with the civil time's nanos.
        let weights = json_over(&body::Weight, &persona, days.clone());
        let micro: Vec<&Value> = weights
            .iter()
            .filter(|p| digits(p["weight"]["sampleTime"]["physicalTime"].as_str().unwrap()) == 6)
            .collect();
        assert!(!micro.is_empty() && micro.len() < weights.len());
        assert!(
            micro[0]["weight"]["sampleTime"]["civilTime"]["time"]["nanos"]
                .as_u64()
                .unwrap()
                .is_multiple_of(1000)
        );
        // Sessions: six digits on createTime and updateTime.
        for (generator, key) in [
            (&sleep::Sleep as &dyn Generator, "sleep"),
            (&exercise::Exercise, "exercise"),
        ] {
            let sessions = json_over(generator, &persona, days.clone());
            assert!(!sessions.is_empty());
            for session in &sessions {
                for member in ["createTime", "updateTime"] {
                    assert_eq!(
                        digits(session[key][member].as_str().unwrap()),
                        6,
                        "{session}"
                    );
                }
            }
            assert!(problems(&sessions).is_empty(), "{:#?}", problems(&sessions));
        }
        assert!(problems(&weights).is_empty() && problems(&heart[..10]).is_empty());
        let off = persona_with(json!({"sub_second_times": false}));
        let plain = json_over(HEART_RATE, &off, day..day + 1);
        assert!(plain.iter().all(|p| {
            digits(
                p["heartRate"]["sampleTime"]["physicalTime"]
                    .as_str()
                    .unwrap(),
            ) == 0
        }));
        let sessions = json_over(&sleep::Sleep, &off, days.clone());
        assert!(
            sessions
                .iter()
                .all(|s| digits(s["sleep"]["createTime"].as_str().unwrap()) == 0)
        );
        let weights = json_over(&body::Weight, &off, days);
        assert!(
            weights
                .iter()
                .all(|p| digits(p["weight"]["sampleTime"]["physicalTime"].as_str().unwrap()) == 0)
        );
    }

    #[test]
    fn some_exercises_report_whole_kilocalories() {
        let days = last_200_days(&persona_at(NOW));
        let calories = |changes: Value| -> Vec<Value> {
            json_over(&exercise::Exercise, &persona_with(changes), days.clone())
                .into_iter()
                .map(|p| p["exercise"]["metricsSummary"]["caloriesKcal"].clone())
                .collect()
        };
        let (shaped, exact) = (
            calories(json!({})),
            calories(json!({"integer_calories": false})),
        );
        assert_eq!(shaped.len(), exact.len());
        let rounded = shaped
            .iter()
            .zip(&exact)
            .filter(|(shaped, exact)| shaped != exact)
            .inspect(|(shaped, exact)| {
                assert!(shaped.is_i64());
                assert_eq!(shaped.as_f64().unwrap(), exact.as_f64().unwrap().round());
            })
            .count();
        assert!(
            rounded > 0 && rounded < shaped.len() / 2,
            "{rounded} of {}",
            shaped.len()
        );
    }

    #[test]
    fn some_nights_send_sdnn_as_zero() {
        let days = last_200_days(&persona_at(NOW));
        let sdnn = |changes: Value| -> Vec<Value> {
            json_over(
                &metrics::HeartRateVariability,
                &persona_with(changes),
                days.clone(),
            )
            .into_iter()
            .map(|p| p["heartRateVariability"]["standardDeviationMilliseconds"].clone())
            .collect()
        };
        let shaped = sdnn(json!({}));
        let zeros = shaped.iter().filter(|v| **v == json!(0)).count();
        assert!(
            zeros > 0 && zeros < shaped.len() / 3,
            "{zeros} of {}",
            shaped.len()
        );
        assert!(
            sdnn(json!({"zero_sdnn": false}))
                .iter()
                .all(|v| v.as_f64().unwrap() > 0.0)
        );
    }

    #[test]
    fn nan_doubles_only_with_their_knob() {
        let shaped = persona_with(json!({"nan_doubles": true}));
        let nights = quirk_days(&shaped, |quirks| quirks.nan);
        let nans = |persona: &Persona| -> (usize, usize) {
            let count = |generator: &dyn Generator, key: &str, member: &str| {
                nights
                    .iter()
                    .flat_map(|day| json_over(generator, persona, *day..day + 2))
                    .filter(|p| p[key][member] == "NaN")
                    .count()
            };
            (
                count(
                    &metrics::HeartRateVariability,
                    "heartRateVariability",
                    "rootMeanSquareOfSuccessiveDifferencesMilliseconds",
                ),
                count(&metrics::OxygenSaturation, "oxygenSaturation", "percentage"),
            )
        };
        let (hrv, spo2) = nans(&shaped);
        assert!(hrv > 0 && spo2 > 0, "{hrv} {spo2}");
        assert_eq!(nans(&persona_with(json!({}))), (0, 0), "off by default");
        // The daily values stay numbers.
        let day = nights[0];
        let daily = json_over(&metrics::DailyHeartRateVariability, &shaped, day..day + 2);
        assert!(daily.iter().all(|p| {
            p["dailyHeartRateVariability"]["averageHeartRateVariabilityMilliseconds"].is_number()
        }));
        let spo2 = json_over(&metrics::OxygenSaturation, &shaped, day..day + 2);
        assert!(problems(&daily).is_empty() && problems(&spo2).is_empty());
    }

    #[test]
    fn fast_heart_rate_days_only_with_their_knob() {
        let persona = persona_with(json!({"fast_hr_days": true}));
        let day = quirk_days(&persona, |quirks| quirks.fast_hr)
            .into_iter()
            .find(|day| {
                !HEART_RATE
                    .day(&persona, *day, persona.now_seconds())
                    .is_empty()
            })
            .unwrap();
        let samples = HEART_RATE.day(&persona, day, persona.now_seconds());
        let minutes = persona.worn_minutes(day, persona.now_seconds()).len();
        assert_eq!(samples.len(), minutes * 24);
        let gaps: Vec<i64> = samples
            .windows(2)
            .map(|w| w[1].time.start_ms - w[0].time.start_ms)
            .collect();
        assert!(gaps.iter().all(|gap| *gap == 2000 || *gap >= 3000));
        assert!(
            gaps.windows(2)
                .filter(|w| w[0] <= 3000 && w[1] <= 3000)
                .all(|w| w[0] + w[1] == 5000),
            "2 s and 3 s alternate"
        );
        let plain = HEART_RATE.day(&persona_with(json!({})), day, persona.now_seconds());
        assert_eq!(plain.len(), minutes, "one a minute without the knob");
    }
}
