//! Data types with at most one point per worn minute (steps, distance, floors, energy, activity
//! levels, zone minutes): a [`MinuteRule`] says what one [`Minute`] yields, and [`Minutely`]
//! makes a [`Generator`] of it.

use std::fmt::Debug;

use serde_json::Value;

use super::{Persona, minutes::Minute, render::Method, writer::StreamJson};
use crate::google::{
    knobs::Generation,
    points::{Generator, PointTime, SimPoint},
};

pub(super) trait MinuteRule: Send + Sync + Debug {
    /// The `DataPoint` union key.
    const KEY: &'static str;
    /// `dataSource.recordingMethod`.
    const METHOD: Method = Method::PassivelyMeasured;

    /// The measures of this minute's point, `None` when the minute has none.
    fn measures(&self, minute: &Minute, generation: Generation) -> Option<[f64; 4]>;

    /// Writes the value members after `interval`, each with a leading comma.
    fn write(&self, measures: &[f64; 4], out: &mut String);

    /// The measures of the phone's point with `steps` steps (`quirks::PhoneSteps`), for the
    /// types the phone records as well (steps, distance); `None` for the others.
    fn phone(&self, _steps: u32) -> Option<[f64; 4]> {
        None
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value>;
}

#[derive(Debug)]
pub(super) struct Minutely<R>(pub R);

impl<R: MinuteRule> Generator for Minutely<R> {
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint> {
        let minutes = persona.worn_minutes(day, now_s);
        if minutes.is_empty() {
            return Vec::new();
        }
        let writer = StreamJson::new(persona, day, R::METHOD, R::KEY);
        let generation = persona.generation();
        let mut points: Vec<SimPoint> = minutes
            .iter()
            .filter_map(|minute| {
                let measures = self.0.measures(minute, generation)?;
                let time = minute.time();
                Some(SimPoint {
                    time,
                    id: None,
                    json: writer.interval(&time, |out| self.0.write(&measures, out)),
                    measures,
                })
            })
            .collect();
        if generation.health_connect_phone
            && self.0.phone(0).is_some()
            && let Some(phone) = persona.phone_steps(day, now_s, &minutes)
            && let Some(measures) = self.0.phone(phone.steps)
        {
            let time = PointTime {
                start_ms: phone.start_ms,
                start_extra_us: 0,
                end_ms: phone.end_ms,
                start_offset_s: persona.offset_at(phone.start_ms.div_euclid(1000)),
                end_offset_s: persona.offset_at(phone.end_ms.div_euclid(1000)),
                civil_day: day,
            };
            let json = StreamJson::phone(R::KEY).interval(&time, |out| {
                self.0.write(&measures, out);
            });
            // Points stay ascending by start: the phone's lies in the charging break.
            let at = points.partition_point(|point| point.time.start_ms < phone.start_ms);
            points.insert(
                at,
                SimPoint {
                    time,
                    id: None,
                    json,
                    measures,
                },
            );
        }
        points
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        self.0.roll_up(points)
    }
}
