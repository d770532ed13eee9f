//! `exercise` sessions (reference §2.10, §8.5): one per tracked workout, listed once the tracker
//! synced it. `metricsSummary` is computed from the minute data inside the interval — steps,
//! distance and energy from the same worn minutes the `steps`, `distance` and `total-calories`
//! points come from, time per heart-rate zone from their zones, the average heart rate from the
//! `heart-rate` samples — so it adds up to what a client sums from those lists (but for the
//! calories of some sessions, rounded to a whole number: `integer_calories`). Runs carry GPS
//! (`hasGps`) and their VO2 max estimate. `createTime` / `updateTime` have six fractional
//! digits (`sub_second_times`).

use serde_json::{Map, Value, json};

use super::{
    Persona, cardio,
    heart_rate::HEART_RATE,
    minutes::Minute,
    render::{self, Kind, Method},
    workouts::{self, Sport, Workout},
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

const EXERCISE: Kind = Kind {
    id: "exercise",
    key: "exercise",
};

/// `TimeInHeartRateZones` members, by zone index (light, moderate, vigorous, peak).
const ZONE_TIMES: [&str; 4] = ["lightTime", "moderateTime", "vigorousTime", "peakTime"];

#[derive(Debug)]
pub(crate) struct Exercise;

impl Generator for Exercise {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let synced: Vec<Workout> = workouts::workouts(persona, day)
            .into_iter()
            .filter(|workout| workout.synced <= now_s)
            .collect();
        if synced.is_empty() {
            return Vec::new();
        }
        let minutes = persona.worn_minutes(day, now_s);
        let heart = persona.points("heart-rate", HEART_RATE, day, now_s);
        synced
            .iter()
            .map(|workout| {
                let inside = |start_s: i64| (workout.start..workout.end).contains(&start_s);
                let minutes: Vec<&Minute> = minutes.iter().filter(|m| inside(m.start)).collect();
                let bpm: Vec<f64> = heart
                    .iter()
                    .filter(|point| inside(point.time.start_ms.div_euclid(1000)))
                    .map(|point| point.measures[0])
                    .collect();
                session(persona, workout, &minutes, &bpm)
            })
            .collect()
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

fn session(persona: &Persona, workout: &Workout, minutes: &[&Minute], bpm: &[f64]) -> SimPoint {
    let event = |at: i64, kind: &str| {
        json!({
            "eventTime": render::timestamp(at),
            "eventUtcOffset": civil::duration_json(persona.offset_at(at)),
            "exerciseEventType": kind,
        })
    };
    let mut events = vec![event(workout.start, "START")];
    if let Some((paused, resumed)) = workout.pause {
        events.extend([event(paused, "PAUSE"), event(resumed, "RESUME")]);
    }
    events.push(event(workout.end, "STOP"));
    let synced_micros = persona.stamp_micros(workout.day, 6, workout.n);
    let mut value = json!({
        "interval": render::span(persona, workout.start, workout.end),
        "exerciseType": workout.sport.exercise_type(),
        "displayName": workout.sport.display_name(),
        "activeDuration": civil::duration_json(workout.active_seconds() as i32),
        "exerciseEvents": events,
        "metricsSummary": metrics(persona, workout, minutes, bpm),
        "createTime": render::timestamp_us(workout.synced, synced_micros),
        "updateTime": render::timestamp_us(workout.synced, synced_micros),
    });
    if workout.sport == Sport::Run {
        value["exerciseMetadata"] = json!({"hasGps": true});
    }
    EXERCISE.point(
        persona,
        Some((workout.day, workout.n)),
        render::span_time(persona, workout.start, workout.end),
        render::tracker_source(persona, workout.day, Method::ActivelyMeasured),
        value,
    )
}

/// `MetricsSummary` from the minutes and heart-rate samples inside the workout.
fn metrics(persona: &Persona, workout: &Workout, minutes: &[&Minute], bpm: &[f64]) -> Value {
    let steps: u64 = minutes.iter().map(|m| u64::from(m.steps)).sum();
    let millimeters: u64 = minutes.iter().map(|m| m.distance_mm()).sum();
    // Energy is kept in sixteenths of a kcal, so this sum is exact.
    let kcal: f64 = minutes.iter().map(|m| m.total_kcal()).sum();
    let active = workout.active_seconds() as f64;
    let mut summary = json!({
        "steps": render::int64(steps),
        "distanceMillimeters": render::double(millimeters as f64),
        // Some exercises report whole kilocalories (`integer_calories`).
        "caloriesKcal": if persona.integer_calories(workout.day, workout.n) {
            render::double(kcal.round())
        } else {
            render::double(kcal)
        },
    });
    if millimeters > 0 {
        summary["averageSpeedMillimetersPerSecond"] =
            render::double(render::round(millimeters as f64 / active, 1));
        summary["averagePaceSecondsPerMeter"] =
            render::double(render::round(active * 1000.0 / millimeters as f64, 4));
    }
    if !bpm.is_empty() {
        let average = bpm.iter().sum::<f64>() / bpm.len() as f64;
        summary["averageHeartRateBeatsPerMinute"] = render::int64(average.round() as u64);
    }
    let mut zone_seconds = [0_u64; 4];
    for zone in minutes.iter().filter_map(|m| m.zone) {
        zone_seconds[zone.index()] += 60;
    }
    let zones: Map<String, Value> = ZONE_TIMES
        .iter()
        .zip(zone_seconds)
        .filter(|(_, seconds)| *seconds > 0)
        .map(|(member, seconds)| ((*member).into(), format!("{seconds}s").into()))
        .collect();
    if !zones.is_empty() {
        summary["heartRateZoneDurations"] = Value::Object(zones);
    }
    if workout.sport == Sport::Run {
        summary["runVo2Max"] = render::double(cardio::run_vo2_max(persona, workout));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::persona::{
        movement::{DISTANCE, STEPS},
        test_support::{persona_at, points_over, value_of},
    };

    /// Σ measure 0 of `generator`'s points of `day` that start inside `start..end` (seconds).
    fn sum_inside(
        persona: &Persona,
        generator: &dyn Generator,
        day: i64,
        start: i64,
        end: i64,
    ) -> (f64, usize) {
        let points = generator.day(persona, day, persona.now_seconds());
        let inside: Vec<f64> = points
            .iter()
            .filter(|p| (start * 1000..end * 1000).contains(&p.time.start_ms))
            .map(|p| p.measures[0])
            .collect();
        (inside.iter().sum(), inside.len())
    }

    fn seconds(value: &Value) -> i64 {
        value
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    }

    #[test]
    fn metrics_add_up_to_the_minute_data_in_the_interval() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2024, 9, 1);
        let sessions = points_over(&Exercise, &persona, first, first + 21);
        assert!(sessions.len() >= 5, "{} sessions", sessions.len());
        for (day, point) in &sessions {
            let exercise = value_of(point, "exercise");
            let start = seconds(&exercise["interval"]["startTime"]);
            let end = seconds(&exercise["interval"]["endTime"]);
            assert_eq!(point.time.civil_day, *day);
            let summary = &exercise["metricsSummary"];
            let steps: u64 = summary["steps"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                steps as f64,
                sum_inside(&persona, STEPS, *day, start, end).0
            );
            let distance = summary["distanceMillimeters"].as_f64().unwrap();
            assert_eq!(distance, sum_inside(&persona, DISTANCE, *day, start, end).0);
            let (bpm_sum, samples) = sum_inside(&persona, HEART_RATE, *day, start, end);
            let average: u64 = summary["averageHeartRateBeatsPerMinute"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(average, (bpm_sum / samples as f64).round() as u64);
            let events = exercise["exerciseEvents"].as_array().unwrap();
            assert_eq!(events[0]["exerciseEventType"], "START");
            assert_eq!(events[events.len() - 1]["exerciseEventType"], "STOP");
            assert_eq!(seconds(&events[0]["eventTime"]), start);
            let running = exercise["exerciseType"] == "RUNNING";
            assert_eq!(
                exercise["exerciseMetadata"]["hasGps"].as_bool(),
                running.then_some(true)
            );
            assert_eq!(summary["runVo2Max"].is_number(), running);
            assert!(point.id.is_some());
        }
    }

    #[test]
    fn a_workout_is_listed_once_synced() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let day = (civil::days_from_civil(2025, 5, 1)..)
            .find(|day| !workouts::workouts(&persona, *day).is_empty())
            .unwrap();
        let workout = workouts::workouts(&persona, day)[0];
        assert!(
            Exercise.day(&persona, day, workout.synced - 1).len()
                < Exercise.day(&persona, day, workout.synced).len()
        );
        let json = |now| {
            Exercise
                .day(&persona, day, now)
                .into_iter()
                .map(|p| p.json)
                .collect::<Vec<_>>()
        };
        assert_eq!(json(workout.synced), json(workout.synced));
    }
}
