//! Per-night breathing and skin temperature (reference §2.10, §8.5): a
//! `respiratory-rate-sleep-summary` at the end of each staged main sleep with its per-stage
//! rates, the matching `daily-respiratory-rate`, and `daily-sleep-temperature-derivations` from
//! 2021. The daily values are dated the morning the night ends and, like the other night-time
//! vitals, exist once the night is processed.

use std::f64::consts::TAU;

use serde_json::{Value, json};

use super::{
    Persona,
    nights::{self, Night},
    render::{self, Kind, Method},
    rng::Stream,
    schedule::Dice,
    stages::StageType,
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

/// First morning with skin temperature derivations.
const TEMPERATURE_FROM: i64 = civil::days_from_civil(2021, 1, 1);

const SUMMARY: Kind = Kind {
    id: "respiratory-rate-sleep-summary",
    key: "respiratoryRateSleepSummary",
};
const DAILY_RATE: Kind = Kind {
    id: "daily-respiratory-rate",
    key: "dailyRespiratoryRate",
};
const TEMPERATURE: Kind = Kind {
    id: "daily-sleep-temperature-derivations",
    key: "dailySleepTemperatureDerivations",
};

/// Breathing statistics of one night: full sleep, then deep, light and REM sleep.
struct Rates {
    full: f64,
    stages: [(StageType, &'static str, f64); 3],
    dice: Dice,
}

impl Rates {
    /// Only staged nights have per-stage rates (and the sensor processing behind them).
    fn of(persona: &Persona, night: &Night) -> Option<Self> {
        if !night.staged {
            return None;
        }
        let dice = Dice::new(persona, Stream::Vitals, night.day, 3);
        let base = dice.uniform(0, 13.0, 16.5);
        // Breathing is slowest and steadiest in deep sleep, fastest in REM.
        let stages = [
            (
                StageType::Deep,
                "deepSleepStats",
                render::round(base - dice.uniform(1, 0.3, 1.0), 1),
            ),
            (
                StageType::Light,
                "lightSleepStats",
                render::round(base + dice.uniform(2, -0.3, 0.3), 1),
            ),
            (
                StageType::Rem,
                "remSleepStats",
                render::round(base + dice.uniform(3, 0.3, 1.2), 1),
            ),
        ];
        let minutes = |kind| night.minutes_in(kind) as f64;
        let weighted: f64 = stages
            .iter()
            .map(|(kind, _, rate)| rate * minutes(*kind))
            .sum();
        let asleep: f64 = stages.iter().map(|(kind, _, _)| minutes(*kind)).sum();
        Some(Self {
            full: render::round(weighted / asleep, 1),
            stages,
            dice,
        })
    }

    fn statistics(&self, n: u64, rate: f64) -> Value {
        json!({
            "breathsPerMinute": render::double(rate),
            "standardDeviation": render::double(render::round(self.dice.uniform(n, 0.5, 2.0), 2)),
            "signalToNoise": render::double(render::round(self.dice.uniform(n + 1, 5.0, 25.0), 2)),
        })
    }
}

#[derive(Debug)]
pub(crate) struct RespiratoryRateSleepSummary;

impl Generator for RespiratoryRateSleepSummary {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some(night) = nights::processed_night_ending_on(persona, day, now_s) else {
            return Vec::new();
        };
        let Some(rates) = Rates::of(persona, &night) else {
            return Vec::new();
        };
        let mut value = json!({
            "sampleTime": render::sample_time(persona, night.end),
            "fullSleepStats": rates.statistics(10, rates.full),
        });
        for (n, (_, key, rate)) in rates.stages.iter().enumerate() {
            value[*key] = rates.statistics(12 + 2 * n as u64, *rate);
        }
        vec![SUMMARY.point(
            persona,
            None,
            render::instant_time(persona, night.end),
            render::tracker_source(persona, night.day, Method::Derived),
            value,
        )]
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct DailyRespiratoryRate;

impl Generator for DailyRespiratoryRate {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some(night) = nights::processed_night_ending_on(persona, day, now_s) else {
            return Vec::new();
        };
        let Some(rates) = Rates::of(persona, &night) else {
            return Vec::new();
        };
        vec![DAILY_RATE.point(
            persona,
            None,
            render::day_time(persona, day),
            render::tracker_source(persona, night.day, Method::Derived),
            json!({"date": render::date(day), "breathsPerMinute": render::double(rates.full)}),
        )]
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct DailySleepTemperatureDerivations;

impl Generator for DailySleepTemperatureDerivations {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        if day < TEMPERATURE_FROM {
            return Vec::new();
        }
        let Some(night) = nights::processed_night_ending_on(persona, day, now_s) else {
            return Vec::new();
        };
        let dice = Dice::new(persona, Stream::Vitals, night.day, 4);
        // The 30-night baseline drifts with the seasons; a night deviates around it.
        let baseline = 34.0 + 0.3 * (TAU * day as f64 / 365.25).sin();
        let nightly = baseline + dice.uniform(0, -0.6, 0.6);
        vec![TEMPERATURE.point(
            persona,
            None,
            render::day_time(persona, day),
            render::tracker_source(persona, night.day, Method::Derived),
            json!({
                "date": render::date(day),
                "nightlyTemperatureCelsius": render::double(render::round(nightly, 2)),
                "baselineTemperatureCelsius": render::double(render::round(baseline, 2)),
                "relativeNightlyStddev30dCelsius":
                    render::double(render::round(dice.uniform(1, 0.2, 0.5), 2)),
            }),
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
    fn one_summary_and_daily_rate_per_staged_night() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2022, 1, 1);
        let summaries = points_over(&RespiratoryRateSleepSummary, &persona, first, first + 40);
        let daily = points_over(&DailyRespiratoryRate, &persona, first, first + 40);
        let temperatures = points_over(
            &DailySleepTemperatureDerivations,
            &persona,
            first,
            first + 40,
        );
        let nights = (first..first + 40)
            .filter(|day| nights::main_sleep(&persona, day - 1).is_some())
            .count();
        assert!(nights >= 30);
        assert_eq!(
            (summaries.len(), daily.len(), temperatures.len()),
            (nights, nights, nights)
        );
        for ((day, summary), (daily_day, rate)) in summaries.iter().zip(&daily) {
            assert_eq!((summary.time.civil_day, day), (*daily_day, daily_day));
            let summary = value_of(summary, "respiratoryRateSleepSummary");
            let full = &summary["fullSleepStats"]["breathsPerMinute"];
            assert_eq!(
                &value_of(rate, "dailyRespiratoryRate")["breathsPerMinute"],
                full
            );
            let rates: Vec<f64> = ["deepSleepStats", "lightSleepStats", "remSleepStats"]
                .iter()
                .map(|key| summary[key]["breathsPerMinute"].as_f64().unwrap())
                .collect();
            let full = full.as_f64().unwrap();
            assert!(
                rates[0] <= full + 0.05 && full <= rates[2] + 0.05,
                "{rates:?} {full}"
            );
        }
        let old = civil::days_from_civil(2018, 5, 1);
        assert!(points_over(&DailyRespiratoryRate, &persona, old, old + 5).is_empty());
        let before = civil::days_from_civil(2020, 6, 1);
        assert!(
            points_over(
                &DailySleepTemperatureDerivations,
                &persona,
                before,
                before + 5
            )
            .is_empty()
        );
    }
}
