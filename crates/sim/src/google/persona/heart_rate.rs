//! `heart-rate` samples every `hr_interval_s` seconds of worn time (on a grid of the epoch, so
//! any interval is stable; every 2–3 s on `fast_hr_days`, and some milliseconds after the
//! second on some days, see `quirks`), and the daily `daily-resting-heart-rate` and
//! `daily-heart-rate-zones`, which exist once the persona woke up that day.

use serde_json::{Map, Value};

use super::{
    Persona,
    activity::Activity,
    heart::{self, HeartDay, Zone},
    render::{self, Method},
    schedule,
    writer::{StreamJson, push_int64},
};
use crate::google::points::{Generator, PointTime, SimPoint};

pub(crate) static HEART_RATE: &dyn Generator = &HeartRate;
pub(crate) static DAILY_RESTING_HEART_RATE: &dyn Generator = &DailyResting;
pub(crate) static DAILY_HEART_RATE_ZONES: &dyn Generator = &DailyZones;

#[derive(Debug)]
struct HeartRate;

impl Generator for HeartRate {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let minutes = persona.worn_minutes(day, now_s);
        if minutes.is_empty() {
            return Vec::new();
        }
        let seed = persona.core.seed;
        let quirks = persona.quirks(day);
        // A fast day samples at seconds 0 and 2 of every 5 (2 s, 3 s, 2 s, … apart): 24 a
        // minute; any other day every `hr_interval_s` on a grid of the epoch.
        let (interval, per_minute) = if quirks.fast_hr {
            (1, 24)
        } else {
            let interval = i64::from(persona.generation().hr_interval_s);
            (interval, (60 / interval).max(1) as usize)
        };
        let shift_ms = i64::from(quirks.hr_ms);
        let writer = StreamJson::new(persona, day, Method::PassivelyMeasured, "heartRate");
        let step = usize::try_from(interval).unwrap_or(60);
        let mut samples = Vec::with_capacity(minutes.len() * per_minute);
        for minute in &minutes {
            let context = match minute.activity {
                Activity::Walk | Activity::Run => "ACTIVE",
                _ => "SEDENTARY",
            };
            let first = minute.start + (-minute.start).rem_euclid(interval);
            for at in (first..minute.start + 60).step_by(step) {
                if quirks.fast_hr && !matches!(at.rem_euclid(5), 0 | 2) {
                    continue;
                }
                let bpm = heart::sample(seed, at, minute.bpm);
                let time = PointTime {
                    start_ms: at * 1000 + shift_ms,
                    end_ms: at * 1000 + shift_ms,
                    ..minute.time()
                };
                let json = writer.sample(&time, |out| {
                    push_int64(out, "beatsPerMinute", u64::from(bpm));
                    out.push_str(",\"metadata\":{\"motionContext\":\"");
                    out.push_str(context);
                    out.push_str("\"}");
                });
                samples.push(SimPoint {
                    time,
                    id: None,
                    json,
                    measures: [f64::from(bpm), 0.0, 0.0, 0.0],
                });
            }
        }
        samples
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        let bpm = points.iter().map(|point| point.measures[0]);
        let min = bpm.clone().reduce(f64::min)?;
        let max = bpm.clone().reduce(f64::max)?;
        let mean = bpm.sum::<f64>() / points.len() as f64;
        let mut value = Map::new();
        value.insert("beatsPerMinuteMin".into(), render::double(min));
        value.insert("beatsPerMinuteAvg".into(), render::double(mean));
        value.insert("beatsPerMinuteMax".into(), render::double(max));
        Some(Value::Object(value))
    }
}

/// The facts of a daily heart point of civil day `day`, once the persona woke up that day
/// wearing the tracker: the point's time and the day's heart.
fn daily(persona: &Persona, day: i64, now_s: i64) -> Option<(PointTime, HeartDay)> {
    let plan = persona.worn_plan(day)?;
    let woke = persona
        .instant_of(day, schedule::wake(&plan))
        .unwrap_or_else(|| persona.day_start(day));
    (woke <= now_s).then(|| (render::day_time(persona, day), HeartDay::new(persona, day)))
}

#[derive(Debug)]
struct DailyResting;

impl Generator for DailyResting {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some((time, heart)) = daily(persona, day, now_s) else {
            return Vec::new();
        };
        // Computed with the night's sleep when the tracker was worn the evening before.
        let method = if persona.worn_plan(day - 1).is_some() {
            "WITH_SLEEP"
        } else {
            "ONLY_WITH_AWAKE_DATA"
        };
        let writer = StreamJson::new(persona, day, Method::Derived, "dailyRestingHeartRate");
        let json = writer.daily(&time, |out| {
            push_int64(out, "beatsPerMinute", u64::from(heart.resting));
            out.push_str(",\"dailyRestingHeartRateMetadata\":{\"calculationMethod\":\"");
            out.push_str(method);
            out.push_str("\"}");
        });
        vec![SimPoint {
            time,
            id: None,
            json,
            measures: [f64::from(heart.resting), 0.0, 0.0, 0.0],
        }]
    }

    fn roll_up(&self, _: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
struct DailyZones;

impl Generator for DailyZones {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some((time, heart)) = daily(persona, day, now_s) else {
            return Vec::new();
        };
        let writer = StreamJson::new(persona, day, Method::Derived, "dailyHeartRateZones");
        let json = writer.daily(&time, |out| {
            let zones: Vec<String> = Zone::ALL
                .into_iter()
                .map(|zone| {
                    let (low, high) = heart.bounds(zone);
                    format!(
                        r#"{{"heartRateZoneType":"{}","minBeatsPerMinute":"{low}","maxBeatsPerMinute":"{high}"}}"#,
                        zone.name()
                    )
                })
                .collect();
            out.push_str(",\"heartRateZones\":[");
            out.push_str(&zones.join(","));
            out.push(']');
        });
        vec![SimPoint {
            time,
            id: None,
            json,
            measures: [f64::from(heart.resting), f64::from(heart.max), 0.0, 0.0],
        }]
    }

    fn roll_up(&self, _: &[SimPoint]) -> Option<Value> {
        None
    }
}
