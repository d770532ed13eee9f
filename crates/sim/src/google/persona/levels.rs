//! How active each awake worn minute was: `activity-level` (one point per minute),
//! `active-minutes` (the minutes above sedentary) and `sedentary-period` (each unbroken run of
//! sedentary minutes).

use serde_json::Value;

use super::{
    Persona,
    aggregate::{self, Categories},
    minutely::{MinuteRule, Minutely},
    minutes::{Level, Minute},
    render::Method,
    writer::{StreamJson, push_enum},
};
use crate::google::{
    knobs::Generation,
    points::{Generator, PointTime, SimPoint},
};

pub(crate) static ACTIVITY_LEVEL: &dyn Generator = &Minutely(ActivityLevel);
pub(crate) static ACTIVE_MINUTES: &dyn Generator = &Minutely(ActiveMinutes);
pub(crate) static SEDENTARY_PERIOD: &dyn Generator = &SedentaryPeriod;

/// `ActivityLevelType` values, by [`Level::index`].
const LEVEL_TYPES: [&str; 4] = [
    "SEDENTARY",
    "LIGHTLY_ACTIVE",
    "MODERATELY_ACTIVE",
    "VERY_ACTIVE",
];

/// `ActivityLevel` values (active minutes), by [`Level::index`]; sedentary has none.
const ACTIVE_LEVELS: [&str; 4] = [
    "ACTIVITY_LEVEL_UNSPECIFIED",
    "LIGHT",
    "MODERATE",
    "VIGOROUS",
];

fn level_of(measures: &[f64; 4]) -> usize {
    measures[0] as usize
}

#[derive(Debug)]
struct ActivityLevel;

impl MinuteRule for ActivityLevel {
    const KEY: &'static str = "activityLevel";

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        let level = minute.level()?;
        Some([level.index() as f64, 60.0, 0.0, 0.0])
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_enum(out, "activityLevelType", LEVEL_TYPES[level_of(measures)]);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        Categories {
            names: &LEVEL_TYPES,
            list: "activityLevelRollupsByActivityLevelType",
            category: "activityLevelType",
            amount: "totalDuration",
            spell: aggregate::duration,
        }
        .roll_up(points)
    }
}

#[derive(Debug)]
struct ActiveMinutes;

impl MinuteRule for ActiveMinutes {
    const KEY: &'static str = "activeMinutes";

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        let level = minute.level().filter(|level| *level != Level::Sedentary)?;
        Some([level.index() as f64, 1.0, 0.0, 0.0])
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        out.push_str(",\"activeMinutesByActivityLevel\":[{\"activityLevel\":\"");
        out.push_str(ACTIVE_LEVELS[level_of(measures)]);
        out.push_str("\",\"activeMinutes\":\"1\"}]");
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        Categories {
            names: &ACTIVE_LEVELS,
            list: "activeMinutesRollupByActivityLevel",
            category: "activityLevel",
            amount: "activeMinutesSum",
            spell: aggregate::int64,
        }
        .roll_up(points)
    }
}

/// Runs of consecutive sedentary minutes; a run exists once the minute after it has ended (so
/// an ongoing run is not reported cut short).
#[derive(Debug)]
struct SedentaryPeriod;

impl Generator for SedentaryPeriod {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let minutes = persona.worn_minutes(day, now_s);
        let mut runs: Vec<(Minute, Minute)> = Vec::new();
        for minute in minutes
            .iter()
            .filter(|m| m.level() == Some(Level::Sedentary))
        {
            match runs.last_mut() {
                Some((_, last)) if last.start + 60 == minute.start => *last = *minute,
                _ => runs.push((*minute, *minute)),
            }
        }
        let writer = StreamJson::new(persona, day, Method::PassivelyMeasured, "sedentaryPeriod");
        runs.into_iter()
            .filter(|(_, last)| last.start + 120 <= now_s)
            .map(|(first, last)| {
                let time = PointTime {
                    end_ms: (last.start + 60) * 1000,
                    end_offset_s: last.end_offset,
                    ..first.time()
                };
                let seconds = (last.start + 60 - first.start) as f64;
                SimPoint {
                    time,
                    id: None,
                    json: writer.interval(&time, |_| {}),
                    measures: [seconds, 0.0, 0.0, 0.0],
                }
            })
            .collect()
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "durationSum", aggregate::duration)
    }
}
