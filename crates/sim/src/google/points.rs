//! The one shape every simulated data type generates, so `list`, `get`, `rollUp` and
//! `dailyRollUp` are written once for all types: a generator turns one civil day of the persona
//! into [`SimPoint`]s, and the handlers filter, order, page and aggregate those.

use std::fmt::Debug;

use serde_json::Value;

use super::persona::Persona;

/// When a point happened, in the terms filters, ordering and rollups need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PointTime {
    /// Interval or session start, sample time, or (daily types) local midnight: epoch ms.
    pub start_ms: i64,
    /// Microseconds after `start_ms` (0–999), for the few times written with six fractional
    /// digits (`"…:33.390135Z"`); filters compare starts at microsecond precision.
    pub start_extra_us: u16,
    /// Interval or session end; equal to `start_ms` for samples and daily points.
    pub end_ms: i64,
    /// UTC offset in effect at the start, in seconds (civil time = physical + offset).
    pub start_offset_s: i32,
    /// UTC offset in effect at the end, in seconds.
    pub end_offset_s: i32,
    /// The civil day (days since 1970-01-01) the point is counted on by `dailyRollUp` and
    /// matched on by `{t}.date` filters: the civil start date, for sessions the civil date
    /// they start on.
    pub civil_day: i64,
}

impl PointTime {
    /// The start as epoch microseconds.
    pub(crate) fn start_us(&self) -> i64 {
        self.start_ms * 1000 + i64::from(self.start_extra_us)
    }

    /// Civil start as local epoch ms (the wall clock read as UTC), for civil filters.
    pub(crate) fn local_start_ms(&self) -> i64 {
        self.start_ms + i64::from(self.start_offset_s) * 1000
    }

    /// Civil end as local epoch ms.
    pub(crate) fn local_end_ms(&self) -> i64 {
        self.end_ms + i64::from(self.end_offset_s) * 1000
    }
}

/// One generated `DataPoint`.
#[derive(Clone, Debug)]
pub(crate) struct SimPoint {
    pub time: PointTime,
    /// The `{id}` of `name` (`users/{healthUserId}/dataTypes/{t}/dataPoints/{id}`) for
    /// identifiable types (sleep, exercise, weight, body-fat, height, blood-glucose, logs);
    /// `None` for streams, which Google lists without a name.
    pub id: Option<String>,
    /// The whole `DataPoint` object exactly as `list` returns it
    /// (`{"name"?, "dataSource", "<unionKey>": {…}}`), rendered once when the day is generated.
    pub json: String,
    /// The numbers rollups aggregate; what each slot means is up to the type's generator.
    pub measures: [f64; 4],
}

impl SimPoint {
    /// The point without its JSON and id: all a rollup reads, cheap to gather from many days.
    pub(crate) fn bare(&self) -> SimPoint {
        SimPoint {
            time: self.time,
            id: None,
            json: String::new(),
            measures: self.measures,
        }
    }
}

/// Generates one data type's points for the persona.
///
/// Implementations are pure functions of (seed, knobs of [`crate::google::knobs::Generation`],
/// day, now): the same day always yields the same points, so any page can be served in any
/// order. A day must be final two days after it ended (`persona::cache::SETTLE_S`): from then
/// on it is cached.
pub(crate) trait Generator: Send + Sync + Debug {
    /// The points counted on civil day `day` that exist at `now_s` (epoch seconds), ascending
    /// by start. A point exists once its interval or session has ended (a sample once its
    /// time has passed); a point that is later rewritten (sleep processing) is returned as
    /// it stands at `now_s`.
    fn day(&self, persona: &Persona, day: i64, now_s: i64) -> Vec<SimPoint>;

    /// The value object of one rollup window over `points` (all inside the window), e.g.
    /// `{"countSum":"123"}`; `None` when the type cannot be rolled up or the window has no
    /// data. Only `time` and `measures` may be read: windows spanning days get
    /// [`SimPoint::bare`] copies.
    fn roll_up(&self, points: &[SimPoint]) -> Option<Value>;
}
