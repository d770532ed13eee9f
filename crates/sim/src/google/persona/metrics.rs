//! Night-time heart-rate variability and blood oxygen (reference §2.10, §8.5): 5-minute HRV
//! samples and 1-minute SpO2 samples during each main sleep, and one daily value per night
//! computed from exactly those samples. Both exist once the night is processed (two hours after
//! waking) — they come out of the same pipeline as the sleep stages.
//!
//! HRV needs a tracker that records sleep stages (the Versa 2 on); SpO2 a sensor the Charge 2
//! lacked and the Versa 2 enabled from 2020.
//!
//! Shapes of real accounts (`quirks`): some nights' HRV samples carry
//! `standardDeviationMilliseconds: 0` (`zero_sdnn`), and on some nights one sample in eight
//! spells its RMSSD or SpO2 percentage `"NaN"` (`nan_doubles`); the daily values are computed
//! from the numbers all the same.

use serde_json::{Value, json};

use super::{
    Persona,
    nights::{self, Night},
    quirks,
    render::{self, Kind, Method},
    rng::Stream,
    schedule::Dice,
    stages::StageType,
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

/// First night with SpO2 readings.
const SPO2_FROM: i64 = civil::days_from_civil(2020, 1, 1);

const HRV: Kind = Kind {
    id: "heart-rate-variability",
    key: "heartRateVariability",
};
const DAILY_HRV: Kind = Kind {
    id: "daily-heart-rate-variability",
    key: "dailyHeartRateVariability",
};
const SPO2: Kind = Kind {
    id: "oxygen-saturation",
    key: "oxygenSaturation",
};
const DAILY_SPO2: Kind = Kind {
    id: "daily-oxygen-saturation",
    key: "dailyOxygenSaturation",
};

/// One 5-minute HRV reading, at the end of its window.
#[derive(Clone, Copy, Debug)]
struct HrvSample {
    at: i64,
    rmssd: f64,
    sdnn: f64,
    deep: bool,
}

fn hrv_samples(persona: &Persona, night: &Night) -> Vec<HrvSample> {
    if !night.staged {
        return Vec::new();
    }
    let dice = Dice::new(persona, Stream::Vitals, night.day, 0);
    let nightly = dice.uniform(0, 30.0, 55.0);
    (1..)
        .map(|k| night.start + 300 * k)
        .take_while(|at| *at <= night.end)
        .enumerate()
        .map(|(n, at)| {
            let n = 1 + 2 * n as u64;
            // Parasympathetic tone is highest in deep sleep and lowest in REM.
            let stage = night.stage_at(at - 150);
            let shift = match stage {
                Some(StageType::Deep) => 8.0,
                Some(StageType::Rem) => -4.0,
                _ => 0.0,
            };
            let rmssd = render::round(nightly + shift + dice.uniform(n, -6.0, 6.0), 1);
            HrvSample {
                at,
                rmssd,
                sdnn: render::round(rmssd * 1.25 + dice.uniform(n + 1, 0.0, 12.0), 1),
                deep: stage == Some(StageType::Deep),
            }
        })
        .collect()
}

/// SpO2 readings, one per minute of the night: (instant, percentage).
fn spo2_samples(persona: &Persona, night: &Night) -> Vec<(i64, f64)> {
    if night.day < SPO2_FROM {
        return Vec::new();
    }
    let dice = Dice::new(persona, Stream::Vitals, night.day, 1);
    let nightly = dice.uniform(0, 95.0, 97.5);
    (1..)
        .map(|k| night.start + 60 * k)
        .take_while(|at| *at <= night.end)
        .enumerate()
        .map(|(n, at)| {
            let n = 1 + 2 * n as u64;
            // Brief desaturations, as in light sleep apnoea.
            let dip = if dice.chance(n, 20) { 3.0 } else { 0.0 };
            let value = nightly - dip + dice.uniform(n + 1, -1.2, 1.2);
            (at, render::round(value.min(100.0), 1))
        })
        .collect()
}

/// The samples of the processed nights around civil day `day` that fall on `day`.
fn samples_on<S>(
    persona: &Persona,
    day: i64,
    now_s: i64,
    of_night: impl Fn(&Night) -> Vec<S>,
    at: impl Fn(&S) -> i64,
) -> Vec<(Night, Vec<S>)> {
    nights::processed_nights_around(persona, day, now_s)
        .into_iter()
        .map(|night| {
            let samples = of_night(&night)
                .into_iter()
                .filter(|sample| persona.day_of(at(sample)) == day)
                .collect();
            (night, samples)
        })
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0), |(sum, count), value| (sum + value, count + 1));
    (count > 0).then(|| sum / f64::from(count))
}

#[derive(Debug)]
pub(crate) struct HeartRateVariability;

impl Generator for HeartRateVariability {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        samples_on(persona, day, now_s, |n| hrv_samples(persona, n), |s| s.at)
            .into_iter()
            .flat_map(|(night, samples)| {
                let source = render::tracker_source(persona, night.day, Method::PassivelyMeasured);
                let quirks = persona.quirks(night.day);
                samples.into_iter().map(move |sample| {
                    let n = ((sample.at - night.start) / 300) as usize;
                    let rmssd = if quirks::is_nan_sample(&quirks, n) {
                        json!("NaN")
                    } else {
                        render::double(sample.rmssd)
                    };
                    // "Not computed" comes as an explicit 0, as the Pixel Watch sends it.
                    let sdnn = if quirks.zero_sdnn {
                        json!(0)
                    } else {
                        render::double(sample.sdnn)
                    };
                    HRV.point(
                        persona,
                        None,
                        render::instant_time(persona, sample.at),
                        source.clone(),
                        json!({
                            "sampleTime": render::sample_time(persona, sample.at),
                            "rootMeanSquareOfSuccessiveDifferencesMilliseconds": rmssd,
                            "standardDeviationMilliseconds": sdnn,
                        }),
                    )
                })
            })
            .collect()
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct DailyHeartRateVariability;

impl Generator for DailyHeartRateVariability {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some(night) = nights::processed_night_ending_on(persona, day, now_s) else {
            return Vec::new();
        };
        let samples = hrv_samples(persona, &night);
        let Some(average) = mean(samples.iter().map(|s| s.rmssd)) else {
            return Vec::new();
        };
        let dice = Dice::new(persona, Stream::Vitals, night.day, 2);
        let mut value = json!({
            "date": render::date(day),
            "averageHeartRateVariabilityMilliseconds": render::double(render::round(average, 3)),
            "nonRemHeartRateBeatsPerMinute": render::int64(dice.between(0, 48, 60)),
            "entropy": render::double(render::round(dice.uniform(1, 2.4, 3.2), 3)),
        });
        if let Some(deep) = mean(samples.iter().filter(|s| s.deep).map(|s| s.rmssd)) {
            value["deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds"] =
                render::double(render::round(deep, 3));
        }
        vec![DAILY_HRV.point(
            persona,
            None,
            render::day_time(persona, day),
            render::tracker_source(persona, night.day, Method::Derived),
            value,
        )]
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct OxygenSaturation;

impl Generator for OxygenSaturation {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        samples_on(persona, day, now_s, |n| spo2_samples(persona, n), |s| s.0)
            .into_iter()
            .flat_map(|(night, samples)| {
                let source = render::tracker_source(persona, night.day, Method::PassivelyMeasured);
                let quirks = persona.quirks(night.day);
                samples.into_iter().map(move |(at, percentage)| {
                    let n = ((at - night.start) / 60) as usize;
                    let percentage = if quirks::is_nan_sample(&quirks, n) {
                        json!("NaN")
                    } else {
                        render::double(percentage)
                    };
                    SPO2.point(
                        persona,
                        None,
                        render::instant_time(persona, at),
                        source.clone(),
                        json!({
                            "sampleTime": render::sample_time(persona, at),
                            "percentage": percentage,
                        }),
                    )
                })
            })
            .collect()
    }

    fn roll_up(&self, _points: &[SimPoint]) -> Option<Value> {
        None
    }
}

#[derive(Debug)]
pub(crate) struct DailyOxygenSaturation;

impl Generator for DailyOxygenSaturation {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let Some(night) = nights::processed_night_ending_on(persona, day, now_s) else {
            return Vec::new();
        };
        let values: Vec<f64> = spo2_samples(persona, &night)
            .into_iter()
            .map(|(_, value)| value)
            .collect();
        let Some(average) = mean(values.iter().copied()) else {
            return Vec::new();
        };
        let variance = mean(values.iter().map(|v| (v - average).powi(2))).unwrap_or(0.0);
        let (lower, upper) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        vec![DAILY_SPO2.point(
            persona,
            None,
            render::day_time(persona, day),
            render::tracker_source(persona, night.day, Method::Derived),
            json!({
                "date": render::date(day),
                "averagePercentage": render::double(render::round(average, 3)),
                "lowerBoundPercentage": render::double(lower),
                "upperBoundPercentage": render::double(upper),
                "standardDeviationPercentage": render::double(render::round(variance.sqrt(), 3)),
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

    fn number(value: &Value) -> f64 {
        value.as_f64().unwrap()
    }

    /// Σ and count of `field` over the samples of the night ending on each day.
    fn night_samples(
        persona: &Persona,
        generator: &dyn Generator,
        key: &str,
        field: &str,
        day: i64,
    ) -> Vec<f64> {
        // The night ending on `day` spans the evening of day - 1 and the morning of `day`.
        let night = nights::main_sleep(persona, day - 1).unwrap();
        points_over(generator, persona, day - 1, day + 1)
            .into_iter()
            .filter(|(_, p)| (night.start * 1000..=night.end * 1000).contains(&p.time.start_ms))
            .map(|(_, p)| number(&value_of(&p, key)[field]))
            .collect()
    }

    #[test]
    fn daily_hrv_and_spo2_agree_with_their_samples() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2025, 2, 1);
        let daily_hrv = points_over(&DailyHeartRateVariability, &persona, first, first + 30);
        assert!(daily_hrv.len() >= 25);
        for (day, point) in &daily_hrv {
            let daily = value_of(point, "dailyHeartRateVariability");
            let samples = night_samples(
                &persona,
                &HeartRateVariability,
                "heartRateVariability",
                "rootMeanSquareOfSuccessiveDifferencesMilliseconds",
                *day,
            );
            assert!(samples.len() >= 70, "{} samples", samples.len());
            let average = samples.iter().sum::<f64>() / samples.len() as f64;
            let reported = number(&daily["averageHeartRateVariabilityMilliseconds"]);
            assert!(
                (reported - average).abs() < 0.001,
                "{reported} vs {average}"
            );
            assert!(
                daily["deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds"].is_number()
            );
            assert_eq!(daily["date"], render::date(*day));
        }
        let daily_spo2 = points_over(&DailyOxygenSaturation, &persona, first, first + 30);
        assert_eq!(daily_spo2.len(), daily_hrv.len());
        for (day, point) in &daily_spo2 {
            let daily = value_of(point, "dailyOxygenSaturation");
            let samples = night_samples(
                &persona,
                &OxygenSaturation,
                "oxygenSaturation",
                "percentage",
                *day,
            );
            let average = samples.iter().sum::<f64>() / samples.len() as f64;
            assert!((number(&daily["averagePercentage"]) - average).abs() < 0.001);
            let lowest = samples.iter().copied().fold(f64::MAX, f64::min);
            let highest = samples.iter().copied().fold(f64::MIN, f64::max);
            assert_eq!(number(&daily["lowerBoundPercentage"]), lowest);
            assert_eq!(number(&daily["upperBoundPercentage"]), highest);
            assert!(highest <= 100.0 && lowest > 85.0);
        }
    }

    #[test]
    fn samples_fall_in_sleep_on_their_civil_day_once_processed() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let day = civil::days_from_civil(2024, 3, 10); // clocks spring forward overnight
        let points = points_over(&OxygenSaturation, &persona, day, day + 1);
        assert!(points.len() > 200);
        for (_, point) in &points {
            assert_eq!(point.time.civil_day, day);
            assert_eq!(persona.day_of(point.time.start_ms / 1000), day);
            assert!(point.id.is_none() && !point.json.contains("\"name\""));
        }
        assert!(
            points
                .windows(2)
                .all(|w| w[0].1.time.start_ms < w[1].1.time.start_ms)
        );
        // Before processing there is nothing; the Charge 2 had no SpO2 and no stages.
        let night = nights::main_sleep(&persona, day - 1).unwrap();
        assert!(
            OxygenSaturation
                .day(&persona, day, night.processed - 1)
                .is_empty()
        );
        let old = civil::days_from_civil(2017, 5, 3);
        assert!(points_over(&OxygenSaturation, &persona, old, old + 5).is_empty());
        assert!(points_over(&HeartRateVariability, &persona, old, old + 5).is_empty());
        assert!(points_over(&DailyHeartRateVariability, &persona, old, old + 5).is_empty());
    }
}
