//! Body measurements (reference §2.10, §8.5): a morning weigh-in on about two days a week —
//! mostly on the scale (`weight` and `body-fat`, measured passively), sometimes typed in
//! (`weight` only, `MANUAL`, no `device`; the `manual_weight_entries` knob) — and the height
//! entered once when the history starts. All three are identifiable types with ids and names.
//! Some weigh-ins have a six-digit `physicalTime`, as the live capture (`sub_second_times`).

use std::f64::consts::TAU;

use serde_json::{Value, json};

use super::{
    Persona,
    render::{self, Kind},
    rng::Stream,
    schedule::Dice,
};
use crate::google::{
    civil,
    points::{Generator, SimPoint},
};

const WEIGHT: Kind = Kind {
    id: "weight",
    key: "weight",
};
const BODY_FAT: Kind = Kind {
    id: "body-fat",
    key: "bodyFat",
};
const HEIGHT: Kind = Kind {
    id: "height",
    key: "height",
};

/// Per mille of days with a weigh-in (about two a week).
const WEIGH_IN_PER_MILLE: u64 = 286;
/// Per mille of weigh-ins typed in rather than stepped on the scale.
const MANUAL_PER_MILLE: u64 = 150;
const HEIGHT_MM: u64 = 1780;
/// Mid-January, when the persona is heaviest after the holidays.
const HEAVIEST: i64 = civil::days_from_civil(2016, 1, 15);

/// One weigh-in.
#[derive(Clone, Copy, Debug)]
struct WeighIn {
    at: i64,
    /// Microseconds after `at` (six fractional digits, `sub_second_times`), or 0.
    micros: u32,
    on_scale: bool,
    grams: f64,
    body_fat: f64,
}

/// The weigh-in of civil day `day`, if any: 06:45–07:59 local, weight slowly falling over the
/// years with a winter bump, body fat following it.
fn weigh_in(persona: &Persona, day: i64) -> Option<WeighIn> {
    if day < persona.first_day() {
        return None;
    }
    let dice = Dice::new(persona, Stream::Body, day, 0);
    if !dice.chance(0, WEIGH_IN_PER_MILLE) {
        return None;
    }
    let minute = dice.between(1, 6 * 60 + 45, 7 * 60 + 59) as u16;
    let at = persona.instant_of(day, minute)? + dice.between(2, 0, 59) as i64;
    // Typed in only while the `manual_weight_entries` shape is on; else on the scale too.
    let on_scale =
        !(persona.generation().manual_weight_entries && dice.chance(3, MANUAL_PER_MILLE));
    let years = (day - persona.first_day()) as f64 / 365.25;
    let trend = 82_000.0 - 350.0 * years + 700.0 * (TAU * (day - HEAVIEST) as f64 / 365.25).cos();
    let grams = trend + dice.uniform(4, -400.0, 400.0);
    // The scale reads to 50 g; a typed-in weight to 100 g.
    let step = if on_scale { 50.0 } else { 100.0 };
    let body_fat = 23.0 - 0.25 * years + (grams - 80_000.0) / 1000.0 * 0.4;
    Some(WeighIn {
        at,
        micros: persona.weigh_in_micros(day),
        on_scale,
        grams: (grams / step).round() * step,
        body_fat: render::round(body_fat + dice.uniform(5, -0.6, 0.6), 1),
    })
}

#[derive(Debug)]
pub(crate) struct Weight;

impl Generator for Weight {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        weigh_in(persona, day)
            .filter(|weigh_in| weigh_in.at <= now_s)
            .map(|weigh_in| {
                let source = if weigh_in.on_scale {
                    render::scale_source()
                } else {
                    render::manual_source()
                };
                let value = json!({
                    "sampleTime": render::sample_time_us(persona, weigh_in.at, weigh_in.micros),
                    "weightGrams": render::double(weigh_in.grams),
                });
                SimPoint {
                    measures: [weigh_in.grams, 0.0, 0.0, 0.0],
                    ..WEIGHT.point(
                        persona,
                        Some((day, 0)),
                        render::instant_time_us(persona, weigh_in.at, weigh_in.micros),
                        source,
                        value,
                    )
                }
            })
            .into_iter()
            .collect()
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        let average = render::mean_of_first(points)?;
        Some(json!({"weightGramsAvg": render::double(average)}))
    }
}

#[derive(Debug)]
pub(crate) struct BodyFat;

impl Generator for BodyFat {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        weigh_in(persona, day)
            .filter(|weigh_in| weigh_in.on_scale && weigh_in.at <= now_s)
            .map(|weigh_in| {
                let value = json!({
                    "sampleTime": render::sample_time_us(persona, weigh_in.at, weigh_in.micros),
                    "percentage": render::double(weigh_in.body_fat),
                });
                SimPoint {
                    measures: [weigh_in.body_fat, 0.0, 0.0, 0.0],
                    ..BODY_FAT.point(
                        persona,
                        Some((day, 0)),
                        render::instant_time_us(persona, weigh_in.at, weigh_in.micros),
                        render::scale_source(),
                        value,
                    )
                }
            })
            .into_iter()
            .collect()
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        let average = render::mean_of_first(points)?;
        Some(json!({"bodyFatPercentageAvg": render::double(average)}))
    }
}

/// The height, typed in at 09:00 on the first day of the history.
#[derive(Debug)]
pub(crate) struct Height;

impl Generator for Height {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        if day != persona.first_day() {
            return Vec::new();
        }
        persona
            .instant_of(day, 9 * 60)
            .filter(|at| *at <= now_s)
            .map(|at| {
                HEIGHT.point(
                    persona,
                    Some((day, 0)),
                    render::instant_time(persona, at),
                    render::manual_source(),
                    json!({
                        "sampleTime": render::sample_time(persona, at),
                        "heightMillimeters": render::int64(HEIGHT_MM),
                    }),
                )
            })
            .into_iter()
            .collect()
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
    fn weigh_ins_twice_a_week_with_body_fat_from_the_scale() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2023, 1, 1);
        let weights = points_over(&Weight, &persona, first, first + 364);
        let fats = points_over(&BodyFat, &persona, first, first + 364);
        assert!(
            (70..=140).contains(&weights.len()),
            "{} weigh-ins",
            weights.len()
        );
        let manual = weights
            .iter()
            .filter(|(_, p)| p.json.contains("\"MANUAL\""))
            .count();
        assert!(manual > 0 && manual < weights.len() / 3);
        assert_eq!(fats.len(), weights.len() - manual);
        for (day, point) in &weights {
            let weight = value_of(point, "weight");
            let grams = weight["weightGrams"].as_f64().unwrap();
            assert!((70_000.0..90_000.0).contains(&grams));
            assert_eq!(point.measures[0], grams);
            assert_eq!(point.time.civil_day, *day);
            assert!(point.id.is_some());
        }
        for (day, fat) in &fats {
            let (_, weight) = weights.iter().find(|(d, _)| d == day).unwrap();
            assert_eq!(fat.time, weight.time, "measured in the same weigh-in");
            assert_ne!(fat.id, weight.id);
            assert!(fat.json.contains("\"SCALE\""));
        }
        let points: Vec<SimPoint> = weights.into_iter().map(|(_, p)| p).collect();
        let average = points.iter().map(|p| p.measures[0]).sum::<f64>() / points.len() as f64;
        assert_eq!(
            Weight.roll_up(&points),
            Some(json!({"weightGramsAvg": render::double(average)}))
        );
        assert_eq!(Weight.roll_up(&[]), None);
    }

    #[test]
    fn height_is_entered_once_at_the_start() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = persona.first_day();
        let heights = points_over(&Height, &persona, first - 1, first + 400);
        assert_eq!(heights.len(), 1);
        let (day, point) = &heights[0];
        assert_eq!(*day, first);
        assert_eq!(value_of(point, "height")["heightMillimeters"], "1780");
        assert!(
            Height
                .day(&persona, first, persona.day_start(first))
                .is_empty()
        );
    }
}
