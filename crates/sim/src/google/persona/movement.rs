//! Movement per worn minute: `steps` and `distance` (with true zeros: a worn minute without
//! steps is a point without a value, unless the `emit_true_zeros` knob is off), and `floors`
//! and `altitude` for the minutes that climbed stairs. On some days `steps` and `distance`
//! also have one 30-minute point from the phone (`quirks`, `health_connect_phone`).

use serde_json::Value;

use super::{
    aggregate::{self, int64},
    minutely::{MinuteRule, Minutely},
    minutes::{Minute, WALKING_STRIDE_MM},
    writer::push_int64,
};
use crate::google::{
    knobs::Generation,
    points::{Generator, SimPoint},
};

pub(crate) static STEPS: &dyn Generator = &Minutely(Steps);
pub(crate) static DISTANCE: &dyn Generator = &Minutely(Distance);
pub(crate) static FLOORS: &dyn Generator = &Minutely(Floors);
pub(crate) static ALTITUDE: &dyn Generator = &Minutely(Altitude);

/// Ten feet: Fitbit counts a floor per 3.048 m climbed.
const FLOOR_MM: u64 = 3048;

/// The measures of a per-minute count; a zero minute is a point only for types with true
/// zeros, and only while the knob allows.
fn count(value: u64, true_zeros: bool, generation: Generation) -> Option<[f64; 4]> {
    (value > 0 || (true_zeros && generation.emit_true_zeros)).then_some([
        value as f64,
        0.0,
        0.0,
        0.0,
    ])
}

#[derive(Debug)]
struct Steps;

impl MinuteRule for Steps {
    const KEY: &'static str = "steps";

    fn measures(&self, minute: &Minute, generation: Generation) -> Option<[f64; 4]> {
        count(u64::from(minute.steps), true, generation)
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_int64(out, "count", measures[0] as u64);
    }

    fn phone(&self, steps: u32) -> Option<[f64; 4]> {
        Some([f64::from(steps), 0.0, 0.0, 0.0])
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "countSum", int64)
    }
}

#[derive(Debug)]
struct Distance;

impl MinuteRule for Distance {
    const KEY: &'static str = "distance";

    fn measures(&self, minute: &Minute, generation: Generation) -> Option<[f64; 4]> {
        count(minute.distance_mm(), true, generation)
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_int64(out, "millimeters", measures[0] as u64);
    }

    /// The phone estimates distance from its steps at the walking stride.
    fn phone(&self, steps: u32) -> Option<[f64; 4]> {
        Some([(u64::from(steps) * WALKING_STRIDE_MM) as f64, 0.0, 0.0, 0.0])
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "millimetersSum", int64)
    }
}

#[derive(Debug)]
struct Floors;

impl MinuteRule for Floors {
    const KEY: &'static str = "floors";

    fn measures(&self, minute: &Minute, generation: Generation) -> Option<[f64; 4]> {
        count(u64::from(minute.floors), false, generation)
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_int64(out, "count", measures[0] as u64);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "countSum", int64)
    }
}

#[derive(Debug)]
struct Altitude;

impl MinuteRule for Altitude {
    const KEY: &'static str = "altitude";

    fn measures(&self, minute: &Minute, generation: Generation) -> Option<[f64; 4]> {
        count(u64::from(minute.floors) * FLOOR_MM, false, generation)
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_int64(out, "gainMillimeters", measures[0] as u64);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        aggregate::total(points, "gainMillimetersSum", int64)
    }
}
