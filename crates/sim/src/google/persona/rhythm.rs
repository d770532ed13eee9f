//! Heart-rhythm readings of the Charge 6 (reference §2.10, §8.5), both sparse: an
//! `electrocardiogram` spot check every few months from 2023 and two
//! `irregular-rhythm-notification`s. Readings come on a schedule — one somewhere in each block
//! of days — so any day can tell on its own whether it has one.
//!
//! As the discovery document notes, historical ECGs lack UTC offsets: readings before 2024 have
//! none, so their civil time is UTC.

use std::f64::consts::TAU;

use serde_json::{Map, Value, json};

use super::{
    Persona,
    render::{self, Kind, Method},
    rng::Stream,
    schedule::Dice,
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

const ECG: Kind = Kind {
    id: "electrocardiogram",
    key: "electrocardiogram",
};
const IRN: Kind = Kind {
    id: "irregular-rhythm-notification",
    key: "irregularRhythmNotification",
};

/// ECG readings: one in every block of `ECG_BLOCK_DAYS` from `ECG_FROM`.
const ECG_FROM: i64 = civil::days_from_civil(2023, 1, 1);
const ECG_BLOCK_DAYS: i64 = 200;
/// Readings from this day on carry their UTC offsets.
const ECG_OFFSETS_FROM: i64 = civil::days_from_civil(2024, 1, 1);
const SAMPLING_HERTZ: u32 = 250;
/// Waveform samples are microvolts.
const MICROVOLTS_PER_MILLIVOLT: u32 = 1000;

/// Irregular-rhythm notifications: one in each of the first `IRN_COUNT` blocks.
const IRN_FROM: i64 = civil::days_from_civil(2024, 3, 1);
const IRN_BLOCK_DAYS: i64 = 400;
const IRN_COUNT: i64 = 2;
/// The analysis windows behind a notification: length and spacing, in seconds.
const WINDOW_SECONDS: i64 = 30 * 60;
const WINDOW_STEP_SECONDS: i64 = 10 * 60;
const WINDOWS: i64 = 3;

/// Whether civil day `day` is the one scheduled day in its block of `block` days from `from`;
/// `salt` keys the schedule's draws.
fn scheduled(persona: &Persona, day: i64, from: i64, block: i64, salt: u8) -> bool {
    if day < from {
        return false;
    }
    let block_start = from + (day - from) / block * block;
    let dice = Dice::new(persona, Stream::Logs, block_start, salt);
    day == block_start + dice.between(0, 0, block as u64 - 1) as i64
}

/// One second of lead-I waveform at `bpm`: P wave, QRS complex and T wave on each beat.
fn waveform(bpm: u64, dice: &Dice) -> Vec<i64> {
    let bump = |phase: f64, centre: f64, width: f64, height: f64| {
        height * (-((phase - centre) / width).powi(2)).exp()
    };
    (0..u64::from(SAMPLING_HERTZ))
        .map(|i| {
            let phase = (i as f64 / f64::from(SAMPLING_HERTZ) * bpm as f64 / 60.0).fract();
            let microvolts = bump(phase, 0.1, 0.03, 120.0) - bump(phase, 0.27, 0.01, 150.0)
                + bump(phase, 0.3, 0.012, 1000.0)
                + bump(phase, 0.6, 0.05, 250.0)
                + 20.0 * (TAU * phase).sin()
                + dice.uniform(10 + i, -15.0, 15.0);
            microvolts.round() as i64
        })
        .collect()
}

#[derive(Debug)]
pub(crate) struct Electrocardiogram;

impl Generator for Electrocardiogram {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        if !scheduled(persona, day, ECG_FROM, ECG_BLOCK_DAYS, 2) || persona.worn_plan(day).is_none()
        {
            return Vec::new();
        }
        let dice = Dice::new(persona, Stream::Logs, day, 3);
        let minute = dice.between(0, 9 * 60, 11 * 60 + 59) as u16;
        let Some(at) = persona
            .instant_of(day, minute)
            .map(|at| at + dice.between(1, 0, 59) as i64)
            .filter(|at| *at <= now_s)
        else {
            return Vec::new();
        };
        let bpm = dice.between(2, 62, 78);
        let classification = if dice.chance(3, 150) {
            "INCONCLUSIVE"
        } else {
            "NORMAL_SINUS_RHYTHM"
        };
        // A reading is an instant: the interval starts and ends at it.
        let mut interval = render::span(persona, at, at);
        let mut time = render::span_time(persona, at, at);
        if day < ECG_OFFSETS_FROM {
            interval.remove("startUtcOffset");
            interval.remove("endUtcOffset");
            time.start_offset_s = 0;
            time.end_offset_s = 0;
            time.civil_day = at.div_euclid(civil::SECONDS_PER_DAY);
        }
        let value = json!({
            "interval": interval,
            "resultClassification": classification,
            "samplingFrequencyHertz": SAMPLING_HERTZ,
            "leadNumber": 1,
            "millivoltsScalingFactor": MICROVOLTS_PER_MILLIVOLT,
            "beatsPerMinuteAvg": render::int64(bpm),
            "waveformSamples": waveform(bpm, &dice),
        });
        vec![ECG.point(
            persona,
            None,
            time,
            render::tracker_source(persona, day, Method::ActivelyMeasured),
            value,
        )]
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct IrregularRhythmNotification;

impl Generator for IrregularRhythmNotification {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let last_day = IRN_FROM + IRN_COUNT * IRN_BLOCK_DAYS;
        if day >= last_day
            || !scheduled(persona, day, IRN_FROM, IRN_BLOCK_DAYS, 4)
            || persona.worn_plan(day).is_none()
        {
            return Vec::new();
        }
        // The analysis runs while the persona sleeps: 02:00–03:59 local.
        let dice = Dice::new(persona, Stream::Logs, day, 5);
        let minute = dice.between(0, 2 * 60, 3 * 60 + 59) as u16;
        let Some(start) = persona.instant_of(day, minute) else {
            return Vec::new();
        };
        let end = start + (WINDOWS - 1) * WINDOW_STEP_SECONDS + WINDOW_SECONDS;
        if end > now_s {
            return Vec::new();
        }
        let windows: Vec<Value> = (0..WINDOWS)
            .map(|k| {
                let from = start + k * WINDOW_STEP_SECONDS;
                let mut window: Map<String, Value> =
                    render::span(persona, from, from + WINDOW_SECONDS);
                // Only all-positive windows raise a notification.
                window.insert("positive".into(), true.into());
                Value::Object(window)
            })
            .collect();
        let value = json!({
            "interval": render::span(persona, start, end),
            "alertWindows": windows,
        });
        vec![IRN.point(
            persona,
            None,
            render::span_time(persona, start, end),
            render::tracker_source(persona, day, Method::PassivelyMeasured),
            value,
        )]
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::persona::test_support::{persona_at, points_over, value_of};

    #[test]
    fn a_handful_of_ecgs_the_oldest_without_offsets() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let today = persona.day_of(persona.now_seconds());
        let ecgs = points_over(&Electrocardiogram, &persona, persona.first_day(), today + 1);
        assert!((4..=10).contains(&ecgs.len()), "{} ECGs", ecgs.len());
        for (day, point) in &ecgs {
            assert!(*day >= ECG_FROM);
            assert_eq!(point.time.civil_day, *day);
            let ecg = value_of(point, "electrocardiogram");
            let has_offsets = ecg["interval"]["startUtcOffset"].is_string();
            assert_eq!(has_offsets, *day >= ECG_OFFSETS_FROM);
            assert_eq!(ecg["interval"]["startTime"], ecg["interval"]["endTime"]);
            let samples = ecg["waveformSamples"].as_array().unwrap();
            assert_eq!(samples.len(), SAMPLING_HERTZ as usize);
            let peak = samples.iter().filter_map(Value::as_i64).max().unwrap();
            assert!((800..1200).contains(&peak), "R peak {peak} µV");
        }
        assert!(ecgs.iter().any(|(day, _)| *day < ECG_OFFSETS_FROM));
    }

    #[test]
    fn two_irregular_rhythm_notifications() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let today = persona.day_of(persona.now_seconds());
        let notifications = points_over(
            &IrregularRhythmNotification,
            &persona,
            persona.first_day(),
            today + 1,
        );
        assert!((1..=2).contains(&notifications.len()));
        for (day, point) in &notifications {
            assert_eq!(point.time.civil_day, *day);
            let windows = value_of(point, "irregularRhythmNotification")["alertWindows"].clone();
            assert_eq!(windows.as_array().unwrap().len(), WINDOWS as usize);
            assert!(point.time.end_ms - point.time.start_ms == 50 * 60 * 1000);
        }
    }
}
