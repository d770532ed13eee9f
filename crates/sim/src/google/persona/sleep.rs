//! `sleep` sessions (reference §2.10, §8.5): the nights of [`nights`](super::nights) as Google
//! lists them. A session is counted on the civil day it starts, so the night from Monday
//! evening to Tuesday morning is returned by Monday's `day()` — once it has ended and synced.
//!
//! The reprocessing scenario: until two hours after waking a session is unprocessed
//! (`metadata.processed` absent, classic stages, no `stagesSummary`); afterwards the same `id`
//! is returned rewritten with its final stages, `processed: true` and a later `updateTime`.
//! `createTime` / `updateTime` have six fractional digits (`sub_second_times`).
//!
//! With the `in_progress_sleep` knob, the persona's most recent session is returned as Google
//! returns a session not yet over (Home Assistant's fixture): the same `name` and start, but no
//! `interval.endTime` / `endUtcOffset` (sessions never carry the civil times), no `summary`, no
//! `shortAwakenings`, classic stages only up to now, `metadata` without `processed`. Which
//! session: the one the persona is asleep in at the sim clock's now, else the newest that
//! started (last night's, or a nap since), looking back two days at most so that it is never on
//! a day the cache keeps. Turning the knob off serves it finished again (if it has ended and
//! synced). Filters on `sleep.interval.end_time` / `civil_end_time` treat it as ending at now:
//! it matches a lower bound ≤ now and an upper bound > now (INFERRED: Google keys a session by
//! its start until it ends; that it passes an end filter at all is a guess, the kinder one for
//! clients that filter on the end). Rollups and the sleep-derived types are unaffected.

use serde_json::{Map, Value, json};

use super::{
    Persona,
    cache::SETTLE_S,
    nights::{self, Night},
    render::{self, Kind, Method},
    stages::{Stage, StageType},
};
use crate::google::{
    civil,
    points::{Generator, PointTime, SimPoint},
};

const SLEEP: Kind = Kind {
    id: "sleep",
    key: "sleep",
};

/// The purpose of the sessions' sub-second stamps among the persona's `quirks` draws.
const SALT: u8 = 7;

/// Devices sync about every 15 minutes (a session in progress is updated that often).
const SYNC_PERIOD_S: i64 = 15 * 60;

/// The order `stagesSummary` lists stage types in.
const SUMMARY_ORDER: [StageType; 6] = [
    StageType::Awake,
    StageType::Light,
    StageType::Deep,
    StageType::Rem,
    StageType::Asleep,
    StageType::Restless,
];

#[derive(Debug)]
pub(crate) struct Sleep;

impl Generator for Sleep {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let in_progress = in_progress(persona, day, now_s);
        // The nap (afternoon) starts before the main sleep (evening).
        [nights::nap(persona, day), nights::main_sleep(persona, day)]
            .into_iter()
            .flatten()
            .filter_map(|night| {
                if in_progress == Some((night.day, night.main)) {
                    Some(in_progress_session(persona, &night, now_s))
                } else {
                    (night.synced <= now_s).then(|| session(persona, &night, now_s))
                }
            })
            .collect()
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

/// The session (its day and whether it is the main sleep) the `in_progress_sleep` knob shows
/// in progress, if it starts on `day`: the newest session that started by `now_s`, among the
/// days from two before today's to today, skipping days the cache may keep.
fn in_progress(persona: &Persona, day: i64, now_s: i64) -> Option<(i64, bool)> {
    if !persona.generation().in_progress_sleep {
        return None;
    }
    let today = persona.day_of(now_s);
    if !(today - 2..=today).contains(&day) {
        return None;
    }
    (today - 2..=today)
        .rev()
        .filter(|candidate| persona.day_start(candidate + 1) + SETTLE_S > now_s)
        .find_map(|candidate| {
            [
                nights::main_sleep(persona, candidate),
                nights::nap(persona, candidate),
            ]
            .into_iter()
            .flatten()
            .find(|night| night.start <= now_s)
        })
        .map(|night| (night.day, night.main))
        .filter(|(night_day, _)| *night_day == day)
}

/// A session as Google lists it while it is in progress (see the module documentation).
fn in_progress_session(persona: &Persona, night: &Night, now_s: i64) -> SimPoint {
    let segment = |stage: &Stage| {
        let mut object = render::span(persona, stage.start, stage.end);
        object.insert("type".into(), stage.kind.name().into());
        Value::Object(object)
    };
    let mut interval = Map::new();
    interval.insert("startTime".into(), render::timestamp(night.start));
    interval.insert(
        "startUtcOffset".into(),
        civil::duration_json(persona.offset_at(night.start)).into(),
    );
    let mut value = Map::new();
    value.insert("interval".into(), Value::Object(interval));
    value.insert("type".into(), "CLASSIC".into());
    let stages: Vec<Value> = night
        .unprocessed_stages()
        .iter()
        .filter(|stage| stage.end <= now_s)
        .map(segment)
        .collect();
    if !stages.is_empty() {
        value.insert("stages".into(), stages.into());
    }
    value.insert("metadata".into(), metadata(night, false, false));
    // Created when the tracker first synced the session, updated at its last sync (every 15
    // minutes) before now.
    let created = night.start;
    let updated = (now_s - now_s.rem_euclid(SYNC_PERIOD_S)).max(created);
    let micros = persona.stamp_micros(night.day, SALT, u64::from(night.main));
    value.insert("createTime".into(), render::timestamp_us(created, micros));
    value.insert("updateTime".into(), render::timestamp_us(updated, micros));
    let time = PointTime {
        end_ms: now_s * 1000,
        end_offset_s: persona.offset_at(now_s),
        ..render::span_time(persona, night.start, night.start)
    };
    SLEEP.point(
        persona,
        Some((night.day, u64::from(night.main))),
        time,
        render::tracker_source(persona, night.day, Method::Derived),
        Value::Object(value),
    )
}

fn session(persona: &Persona, night: &Night, now_s: i64) -> SimPoint {
    let processed = night.processed <= now_s;
    let staged = processed && night.staged;
    let stages = if processed {
        night.stages.clone()
    } else {
        night.unprocessed_stages()
    };
    let segment = |stage: &Stage| {
        let mut object = render::span(persona, stage.start, stage.end);
        object.insert("type".into(), stage.kind.name().into());
        Value::Object(object)
    };
    let mut value = Map::new();
    value.insert(
        "interval".into(),
        Value::Object(render::span(persona, night.start, night.end)),
    );
    value.insert(
        "type".into(),
        if staged { "STAGES" } else { "CLASSIC" }.into(),
    );
    value.insert("stages".into(), stages.iter().map(segment).collect());
    if processed && !night.short_awakenings.is_empty() {
        value.insert(
            "shortAwakenings".into(),
            night.short_awakenings.iter().map(segment).collect(),
        );
    }
    value.insert("metadata".into(), metadata(night, processed, staged));
    value.insert("summary".into(), summary(&stages, processed));
    let micros = persona.stamp_micros(night.day, SALT, u64::from(night.main));
    value.insert(
        "createTime".into(),
        render::timestamp_us(night.synced, micros),
    );
    let updated = if processed {
        night.processed
    } else {
        night.synced
    };
    value.insert("updateTime".into(), render::timestamp_us(updated, micros));
    SLEEP.point(
        persona,
        Some((night.day, u64::from(night.main))),
        render::span_time(persona, night.start, night.end),
        render::tracker_source(persona, night.day, Method::Derived),
        Value::Object(value),
    )
}

/// `SleepMetadata` with proto3's false members left out.
fn metadata(night: &Night, processed: bool, staged: bool) -> Value {
    let mut object = Map::new();
    if processed {
        object.insert("processed".into(), true.into());
    }
    let flag = if night.main { "mainSleep" } else { "nap" };
    object.insert(flag.into(), true.into());
    if staged {
        object.insert("stagesStatus".into(), "SUCCEEDED".into());
    }
    Value::Object(object)
}

/// `SleepSummary`, computed from exactly the stages returned; the per-type `stagesSummary`
/// only once processed. Zero members are omitted, as proto3 JSON does.
fn summary(stages: &[Stage], processed: bool) -> Value {
    let minutes = |stage: &Stage| (stage.end - stage.start) / 60;
    let total = |keep: &dyn Fn(&Stage) -> bool| -> i64 {
        stages.iter().filter(|stage| keep(stage)).map(minutes).sum()
    };
    let awake_at = |stage: Option<&Stage>| {
        stage
            .filter(|stage| stage.kind == StageType::Awake)
            .map_or(0, minutes)
    };
    let mut object = Map::new();
    let mut put = |key: &str, value: i64| {
        if value != 0 {
            object.insert(key.into(), render::int64(value as u64));
        }
    };
    put("minutesInSleepPeriod", total(&|_| true));
    put(
        "minutesAfterWakeUp",
        awake_at(stages.last().filter(|_| stages.len() > 1)),
    );
    put("minutesToFallAsleep", awake_at(stages.first()));
    put("minutesAsleep", total(&|stage| stage.kind.asleep()));
    put(
        "minutesAwake",
        total(&|stage| stage.kind == StageType::Awake),
    );
    if processed {
        let per_type: Vec<Value> = SUMMARY_ORDER
            .iter()
            .filter_map(|kind| {
                let of_kind = stages.iter().filter(|stage| stage.kind == *kind);
                let count = of_kind.clone().count() as u64;
                let minutes: i64 = of_kind.map(minutes).sum();
                (count > 0).then(|| {
                    json!({
                        "type": kind.name(),
                        "minutes": render::int64(minutes as u64),
                        "count": render::int64(count),
                    })
                })
            })
            .collect();
        object.insert("stagesSummary".into(), per_type.into());
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use jiff::Timestamp;

    use super::*;
    use crate::google::{
        civil,
        persona::test_support::{persona_at, points_over, value_of},
    };

    fn seconds(value: &Value) -> i64 {
        value
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap()
            .as_second()
    }

    fn int(value: &Value) -> i64 {
        value.as_str().map_or(0, |text| text.parse().unwrap())
    }

    /// Recomputes the summary from the JSON stages and checks what the point says.
    fn assert_summary_matches_stages(sleep: &Value) {
        let stages = sleep["stages"].as_array().unwrap();
        let mut per_type: HashMap<&str, (i64, i64)> = HashMap::new();
        let mut previous_end = seconds(&sleep["interval"]["startTime"]);
        for stage in stages {
            let (start, end) = (seconds(&stage["startTime"]), seconds(&stage["endTime"]));
            assert_eq!(start, previous_end, "contiguous stages");
            assert_eq!(start % 30, 0);
            previous_end = end;
            let entry = per_type.entry(stage["type"].as_str().unwrap()).or_default();
            entry.0 += (end - start) / 60;
            entry.1 += 1;
        }
        assert_eq!(previous_end, seconds(&sleep["interval"]["endTime"]));
        let minutes = |types: &[&str]| -> i64 {
            types
                .iter()
                .map(|t| per_type.get(t).map_or(0, |e| e.0))
                .sum()
        };
        let summary = &sleep["summary"];
        let all = ["AWAKE", "LIGHT", "DEEP", "REM", "ASLEEP", "RESTLESS"];
        assert_eq!(int(&summary["minutesInSleepPeriod"]), minutes(&all));
        assert_eq!(
            int(&summary["minutesAsleep"]),
            minutes(&["LIGHT", "DEEP", "REM", "ASLEEP"])
        );
        assert_eq!(int(&summary["minutesAwake"]), minutes(&["AWAKE"]));
        if let Some(by_type) = summary["stagesSummary"].as_array() {
            assert_eq!(by_type.len(), per_type.len());
            for entry in by_type {
                let expected = per_type[entry["type"].as_str().unwrap()];
                assert_eq!((int(&entry["minutes"]), int(&entry["count"])), expected);
            }
        }
    }

    #[test]
    fn summaries_equal_the_stages_and_types_follow_the_device() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        for (first, expected) in [
            (civil::days_from_civil(2017, 10, 1), "CLASSIC"),
            (civil::days_from_civil(2025, 10, 1), "STAGES"),
        ] {
            let points = points_over(&Sleep, &persona, first, first + 60);
            assert!(points.len() >= 50);
            for (_, point) in &points {
                let sleep = value_of(point, "sleep");
                assert_summary_matches_stages(&sleep);
                let main = sleep["metadata"]["mainSleep"] == true;
                assert_eq!(main, sleep["metadata"]["nap"].is_null());
                let kind = if main { expected } else { "CLASSIC" };
                assert_eq!(sleep["type"], kind);
                assert_eq!(sleep["metadata"]["processed"], true);
                assert_eq!(
                    sleep["metadata"]["stagesStatus"].as_str(),
                    (kind == "STAGES").then_some("SUCCEEDED")
                );
            }
        }
    }

    #[test]
    fn each_session_is_returned_by_exactly_the_day_it_starts_on() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2019, 6, 1);
        let points = points_over(&Sleep, &persona, first, first + 200);
        let mut seen = HashMap::new();
        for (day, point) in &points {
            assert_eq!(point.time.civil_day, *day);
            let start = point.time.start_ms / 1000;
            assert!(persona.day_start(*day) <= start && start < persona.day_start(day + 1));
            assert!(seen.insert(point.id.clone().unwrap(), *day).is_none());
        }
        let expected: usize = (first..first + 200)
            .map(|day| {
                usize::from(nights::main_sleep(&persona, day).is_some())
                    + usize::from(nights::nap(&persona, day).is_some())
            })
            .sum();
        assert_eq!(points.len(), expected);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].1.time.start_ms < w[1].1.time.start_ms)
        );
    }

    #[test]
    fn the_last_night_is_rewritten_once_processed() {
        let persona = persona_at("2026-11-21T20:00:00Z");
        let day = (civil::days_from_civil(2026, 11, 10)..)
            .find(|day| nights::main_sleep(&persona, *day).is_some())
            .unwrap();
        let night = nights::main_sleep(&persona, day).unwrap();
        let main =
            |points: Vec<SimPoint>| points.into_iter().find(|p| p.json.contains("mainSleep"));
        assert!(
            main(Sleep.day(&persona, day, night.end)).is_none(),
            "not synced yet"
        );
        let early = main(Sleep.day(&persona, day, night.processed - 1)).unwrap();
        let late = main(Sleep.day(&persona, day, night.processed)).unwrap();
        assert_eq!(early.id, late.id);
        let (early, late) = (value_of(&early, "sleep"), value_of(&late, "sleep"));
        assert!(early["metadata"]["processed"].is_null());
        assert_eq!(early["type"], "CLASSIC");
        assert!(early["summary"]["stagesSummary"].is_null());
        assert_summary_matches_stages(&early);
        assert_eq!(late["metadata"]["processed"], true);
        assert_eq!(late["type"], "STAGES");
        assert_eq!(early["createTime"], late["createTime"]);
        assert!(seconds(&late["updateTime"]) > seconds(&early["updateTime"]));
        assert_eq!(
            early["summary"]["minutesAsleep"],
            late["summary"]["minutesAsleep"]
        );
    }
}
