//! Shared fixtures of the generator tests.

use serde_json::Value;

use super::Persona;
use crate::{
    clock::SimClock,
    google::points::{Generator, SimPoint},
};

/// The default persona with the clock frozen at `now` (RFC 3339).
pub(crate) fn persona_at(now: &str) -> Persona {
    let clock = SimClock::starting_at(now.parse().expect("a valid RFC 3339 instant"));
    clock.freeze(true);
    Persona::new(42, clock)
}

/// Every point `generator` returns for the days `first..last` as of the persona's now.
pub(crate) fn points_over(
    generator: &dyn Generator,
    persona: &Persona,
    first: i64,
    last: i64,
) -> Vec<(i64, SimPoint)> {
    let now = persona.now_seconds();
    (first..last)
        .flat_map(|day| {
            generator
                .day(persona, day, now)
                .into_iter()
                .map(move |point| (day, point))
        })
        .collect()
}

/// The value object of a point (`json[union_key]`).
pub(crate) fn value_of(point: &SimPoint, union_key: &str) -> Value {
    let json: Value = serde_json::from_str(&point.json).expect("points are valid JSON");
    json[union_key].clone()
}
