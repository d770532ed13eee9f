//! Manual food and drink logs (reference §2.10, §8.5), which the persona only started keeping in
//! 2025: a `hydration-log` on about four days a month and a `nutrition-log` on about as many.
//! Logs are instants (the interval starts and ends when the entry was made), typed in, and
//! identifiable; both types roll up by summing their quantities.

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

const HYDRATION: Kind = Kind {
    id: "hydration-log",
    key: "hydrationLog",
};
const NUTRITION: Kind = Kind {
    id: "nutrition-log",
    key: "nutritionLog",
};

/// First day the persona logged food or drink.
const LOGS_FROM: i64 = civil::days_from_civil(2025, 1, 1);
const HYDRATION_PER_MILLE: u64 = 130;
const NUTRITION_PER_MILLE: u64 = 120;

/// Drinks: millilitres and the unit the persona entered them in.
const DRINKS: [(f64, &str); 5] = [
    (236.6, "CUP_US"),
    (354.9, "FLUID_OUNCE_US"),
    (500.0, "MILLILITER"),
    (750.0, "MILLILITER"),
    (1000.0, "LITER"),
];

/// One meal of each type: (meal type, first minute of the day it is logged at, food, kcal,
/// carbohydrate g, fat g).
const MEALS: [(&str, u16, &str, f64, f64, f64); 4] = [
    (
        "BREAKFAST",
        7 * 60 + 30,
        "Oatmeal with banana",
        310.0,
        58.0,
        6.0,
    ),
    ("LUNCH", 12 * 60 + 30, "Chicken salad", 420.0, 18.0, 24.0),
    ("SNACK", 15 * 60, "Greek yogurt", 150.0, 8.0, 8.0),
    (
        "DINNER",
        18 * 60 + 30,
        "Spaghetti bolognese",
        650.0,
        78.0,
        22.0,
    ),
];

const KCAL_PER_GRAM_OF_FAT: f64 = 9.0;

/// The instant of a log `minute` (+ up to 59 s) into civil day `day`, if that has passed.
fn logged_at(
    persona: &Persona,
    dice: &Dice,
    n: u64,
    day: i64,
    minute: u16,
    now_s: i64,
) -> Option<i64> {
    let at = persona.instant_of(day, minute)? + dice.between(n, 0, 59) as i64;
    (at <= now_s).then_some(at)
}

/// A log entry made at `at`: the point with its identity and time.
fn entry(persona: &Persona, kind: Kind, (day, n): (i64, u64), at: i64, value: Value) -> SimPoint {
    let mut value = value;
    value["interval"] = Value::Object(render::span(persona, at, at));
    kind.point(
        persona,
        Some((day, n)),
        render::span_time(persona, at, at),
        render::manual_source(),
        value,
    )
}

#[derive(Debug)]
pub(crate) struct HydrationLog;

impl Generator for HydrationLog {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let dice = Dice::new(persona, Stream::Logs, day, 0);
        if day < LOGS_FROM || !dice.chance(0, HYDRATION_PER_MILLE) {
            return Vec::new();
        }
        // One drink in the morning, sometimes a second in the afternoon.
        let count = if dice.chance(1, 300) { 2 } else { 1 };
        (0..count)
            .filter_map(|n| {
                let draw = 2 + 4 * n;
                let minute = dice.between(draw, 9 * 60, 11 * 60) as u16 + n as u16 * 5 * 60;
                let at = logged_at(persona, &dice, draw + 1, day, minute, now_s)?;
                let drink = dice.between(draw + 2, 0, DRINKS.len() as u64 - 1) as usize;
                let (milliliters, unit) = DRINKS[drink];
                let value = json!({
                    "amountConsumed": {
                        "milliliters": render::double(milliliters),
                        "userProvidedUnit": unit,
                    },
                });
                Some(SimPoint {
                    measures: [milliliters, drink as f64, 0.0, 0.0],
                    ..entry(persona, HYDRATION, (day, n), at, value)
                })
            })
            .collect()
    }

    /// `HydrationLogRollupValue`: the total and the unit of the latest entry.
    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        let last = points.iter().max_by_key(|point| point.time.start_ms)?;
        let total: f64 = points.iter().map(|point| point.measures[0]).sum();
        Some(json!({
            "amountConsumed": {
                "millilitersSum": render::double(render::round(total, 3)),
                "userProvidedUnitLast": DRINKS[last.measures[1] as usize].1,
            },
        }))
    }
}

#[derive(Debug)]
pub(crate) struct NutritionLog;

impl Generator for NutritionLog {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let dice = Dice::new(persona, Stream::Logs, day, 1);
        if day < LOGS_FROM || !dice.chance(0, NUTRITION_PER_MILLE) {
            return Vec::new();
        }
        let meal = dice.between(1, 0, MEALS.len() as u64 - 1) as usize;
        let (meal_type, first, food, kcal, carbohydrate, fat) = MEALS[meal];
        let minute = first + dice.between(2, 0, 59) as u16;
        let Some(at) = logged_at(persona, &dice, 3, day, minute, now_s) else {
            return Vec::new();
        };
        let fat_kcal = fat * KCAL_PER_GRAM_OF_FAT;
        let value = json!({
            "mealType": meal_type,
            "foodDisplayName": food,
            "energy": {"kcal": render::double(kcal)},
            "energyFromFat": {"kcal": render::double(fat_kcal)},
            "totalCarbohydrate": {"grams": render::double(carbohydrate)},
            "totalFat": {"grams": render::double(fat)},
        });
        vec![SimPoint {
            measures: [kcal, fat_kcal, carbohydrate, fat],
            ..entry(persona, NUTRITION, (day, 0), at, value)
        }]
    }

    /// `NutritionLogRollupValue`: the sums of energy, energy from fat, carbohydrate and fat.
    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        if points.is_empty() {
            return None;
        }
        let sum = |slot: usize| render::double(points.iter().map(|p| p.measures[slot]).sum());
        Some(json!({
            "energy": {"kcalSum": sum(0)},
            "energyFromFat": {"kcalSum": sum(1)},
            "totalCarbohydrate": {"gramsSum": sum(2)},
            "totalFat": {"gramsSum": sum(3)},
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::persona::test_support::{persona_at, points_over, value_of};

    #[test]
    fn a_few_logs_a_month_from_2025_that_roll_up_to_their_sums() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = LOGS_FROM;
        let drinks = points_over(&HydrationLog, &persona, first, first + 90);
        let meals = points_over(&NutritionLog, &persona, first, first + 90);
        assert!((6..=30).contains(&drinks.len()), "{} drinks", drinks.len());
        assert!((4..=25).contains(&meals.len()), "{} meals", meals.len());
        assert!(points_over(&HydrationLog, &persona, first - 365, first).is_empty());
        assert!(points_over(&NutritionLog, &persona, first - 365, first).is_empty());
        let drinks: Vec<SimPoint> = drinks.into_iter().map(|(_, p)| p).collect();
        let total: f64 = drinks
            .iter()
            .map(|p| {
                value_of(p, "hydrationLog")["amountConsumed"]["milliliters"]
                    .as_f64()
                    .unwrap()
            })
            .sum();
        let rollup = HydrationLog.roll_up(&drinks).unwrap();
        let sum = rollup["amountConsumed"]["millilitersSum"].as_f64().unwrap();
        assert!((sum - total).abs() < 1e-6);
        let last = value_of(drinks.last().unwrap(), "hydrationLog");
        assert_eq!(
            rollup["amountConsumed"]["userProvidedUnitLast"],
            last["amountConsumed"]["userProvidedUnit"]
        );
        let meals: Vec<SimPoint> = meals.into_iter().map(|(_, p)| p).collect();
        let kcal: f64 = meals
            .iter()
            .map(|p| {
                value_of(p, "nutritionLog")["energy"]["kcal"]
                    .as_f64()
                    .unwrap()
            })
            .sum();
        let rollup = NutritionLog.roll_up(&meals).unwrap();
        assert_eq!(rollup["energy"]["kcalSum"].as_f64(), Some(kcal));
        for point in drinks.iter().chain(&meals) {
            assert!(point.id.is_some());
            assert_eq!(point.time.start_ms, point.time.end_ms);
        }
        assert_eq!(NutritionLog.roll_up(&[]), None);
        assert_eq!(HydrationLog.roll_up(&[]), None);
    }
}
