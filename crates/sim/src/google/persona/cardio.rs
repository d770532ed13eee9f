//! Cardio fitness (reference §2.10, §8.5): a `run-vo2-max` reading at the end of every run and a
//! `daily-vo2-max` estimate for each worn day from 2018, available once the day is over and
//! flagged `estimated` when no run in the last two weeks backs it. Both follow one fitness
//! curve that improves slowly over the years and peaks in summer. `vo2-max` (lab or manual
//! measurements) stays empty: the persona never had one.

use std::f64::consts::TAU;

use serde_json::{Value, json};

use super::{
    Persona,
    render::{self, Kind, Method},
    rng::Stream,
    schedule::Dice,
    workouts::{self, Sport, Workout},
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

const RUN_VO2_MAX: Kind = Kind {
    id: "run-vo2-max",
    key: "runVo2Max",
};
const DAILY_VO2_MAX: Kind = Kind {
    id: "daily-vo2-max",
    key: "dailyVo2Max",
};

/// First day with a daily cardio fitness estimate.
const DAILY_FROM: i64 = civil::days_from_civil(2018, 1, 1);
/// Days of runs behind a confident (not estimated) daily value.
const RUN_WINDOW_DAYS: i64 = 14;
/// Midsummer, when the persona is fittest.
const FITTEST: i64 = civil::days_from_civil(2016, 7, 15);

/// Lower bounds of Fitbit's cardio fitness levels for the persona's age and sex.
const LEVELS: [(f64, &str); 6] = [
    (54.0, "EXCELLENT"),
    (49.0, "VERY_GOOD"),
    (44.0, "GOOD"),
    (39.0, "AVERAGE"),
    (35.0, "FAIR"),
    (0.0, "POOR"),
];

/// The persona's VO2 max (ml/kg/min) on civil day `day`.
fn fitness(persona: &Persona, day: i64) -> f64 {
    let years = (day - persona.first_day()) as f64 / 365.25;
    41.0 + 0.4 * years + (TAU * (day - FITTEST) as f64 / 365.25).cos()
}

/// The VO2 max the tracker estimates from a run, also the run's `metricsSummary.runVo2Max`.
pub(super) fn run_vo2_max(persona: &Persona, run: &Workout) -> f64 {
    let dice = Dice::new(persona, Stream::Workout, run.day, 1);
    render::round(
        fitness(persona, run.day) + dice.uniform(run.n, -1.5, 1.5),
        1,
    )
}

#[derive(Debug)]
pub(crate) struct RunVo2Max;

impl Generator for RunVo2Max {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        workouts::workouts(persona, day)
            .into_iter()
            .filter(|workout| workout.sport == Sport::Run && workout.end <= now_s)
            .map(|run| {
                let rate = run_vo2_max(persona, &run);
                let value = json!({
                    "sampleTime": render::sample_time(persona, run.end),
                    "runVo2Max": render::double(rate),
                });
                SimPoint {
                    measures: [rate, 0.0, 0.0, 0.0],
                    ..RUN_VO2_MAX.point(
                        persona,
                        None,
                        render::instant_time(persona, run.end),
                        render::tracker_source(persona, day, Method::Derived),
                        value,
                    )
                }
            })
            .collect()
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        let average = render::mean_of_first(points)?;
        let rates = points.iter().map(|point| point.measures[0]);
        Some(json!({
            "rateAvg": render::double(average),
            "rateMin": render::double(rates.clone().fold(f64::MAX, f64::min)),
            "rateMax": render::double(rates.fold(f64::MIN, f64::max)),
        }))
    }
}

#[derive(Debug)]
pub(crate) struct DailyVo2Max;

impl Generator for DailyVo2Max {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let over = persona.day_start(day + 1) <= now_s;
        if day < DAILY_FROM || !over || persona.worn_plan(day).is_none() {
            return Vec::new();
        }
        let dice = Dice::new(persona, Stream::Workout, day, 2);
        let vo2_max = render::round(fitness(persona, day) + dice.uniform(0, -0.5, 0.5), 1);
        let level = LEVELS
            .iter()
            .find(|(floor, _)| vo2_max >= *floor)
            .map_or("POOR", |(_, name)| name);
        let mut value = json!({
            "date": render::date(day),
            "vo2Max": render::double(vo2_max),
            "cardioFitnessLevel": level,
            "vo2MaxCovariance": render::double(render::round(dice.uniform(1, 1.0, 3.0), 2)),
        });
        let ran = (day + 1 - RUN_WINDOW_DAYS..=day).any(|recent| {
            workouts::workouts(persona, recent)
                .iter()
                .any(|workout| workout.sport == Sport::Run)
        });
        if !ran {
            value["estimated"] = true.into();
        }
        vec![DAILY_VO2_MAX.point(
            persona,
            None,
            render::day_time(persona, day),
            render::tracker_source(persona, day, Method::Derived),
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
    fn a_reading_after_every_run_and_a_daily_estimate_from_2018() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2022, 4, 1);
        let runs: Vec<Workout> = (first..first + 60)
            .flat_map(|day| workouts::workouts(&persona, day))
            .filter(|workout| workout.sport == Sport::Run)
            .collect();
        let readings = points_over(&RunVo2Max, &persona, first, first + 60);
        assert_eq!(readings.len(), runs.len());
        for (run, (_, reading)) in runs.iter().zip(&readings) {
            assert_eq!(reading.time.start_ms, run.end * 1000);
            let rate = value_of(reading, "runVo2Max")["runVo2Max"]
                .as_f64()
                .unwrap();
            assert_eq!(rate, run_vo2_max(&persona, run));
            assert!((38.0..50.0).contains(&rate));
        }
        let points: Vec<SimPoint> = readings.into_iter().map(|(_, p)| p).collect();
        let rollup = RunVo2Max.roll_up(&points).unwrap();
        let rates: Vec<f64> = points.iter().map(|p| p.measures[0]).collect();
        assert_eq!(
            rollup["rateMin"].as_f64(),
            rates.iter().copied().reduce(f64::min)
        );
        assert_eq!(
            rollup["rateMax"].as_f64(),
            rates.iter().copied().reduce(f64::max)
        );

        let daily = points_over(&DailyVo2Max, &persona, first, first + 60);
        assert!(daily.len() >= 50);
        for (day, point) in &daily {
            let value = value_of(point, "dailyVo2Max");
            assert_eq!(value["date"], render::date(*day));
            let level = value["cardioFitnessLevel"].as_str().unwrap();
            assert!(LEVELS.iter().any(|(_, name)| *name == level));
        }
        let before = civil::days_from_civil(2017, 6, 1);
        assert!(points_over(&DailyVo2Max, &persona, before, before + 10).is_empty());
        let today = persona.day_of(persona.now_seconds());
        assert!(points_over(&DailyVo2Max, &persona, today, today + 1).is_empty());
    }
}
