//! Energy per worn minute: `active-energy-burned` for walking and running minutes, and
//! `total-calories` (rollups only) for every worn minute, basal plus active.

use serde_json::Value;

use super::{
    aggregate::{self, double},
    minutely::{MinuteRule, Minutely},
    minutes::Minute,
    render::Method,
    writer::push_double,
};
use crate::google::{
    knobs::Generation,
    points::{Generator, SimPoint},
};

pub(crate) static ACTIVE_ENERGY_BURNED: &dyn Generator = &Minutely(ActiveEnergy);
pub(crate) static TOTAL_CALORIES: &dyn Generator = &Minutely(TotalCalories);

fn kcal(value: f64) -> Option<[f64; 4]> {
    (value > 0.0).then_some([value, 0.0, 0.0, 0.0])
}

#[derive(Debug)]
struct ActiveEnergy;

impl MinuteRule for ActiveEnergy {
    const KEY: &'static str = "activeEnergyBurned";
    const METHOD: Method = Method::Derived;

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        kcal(minute.active_kcal())
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_double(out, "kcal", measures[0]);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "kcalSum", double)
    }
}

/// Google only rolls this type up; its points (never listed) have the shape of the others.
#[derive(Debug)]
struct TotalCalories;

impl MinuteRule for TotalCalories {
    const KEY: &'static str = "totalCalories";
    const METHOD: Method = Method::Derived;

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        kcal(minute.total_kcal())
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_double(out, "kcal", measures[0]);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "kcalSum", double)
    }
}
