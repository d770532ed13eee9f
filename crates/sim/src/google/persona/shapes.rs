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
        "number" => value.as_f64().is_some_and(|n| n != 0.0),
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
