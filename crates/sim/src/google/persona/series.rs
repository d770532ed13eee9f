//! Per-minute data series generated from the day plan. Adding an interval data type (distance,
//! floors, calories…) means adding a [`MinuteSeries`] here and pointing its catalogue entry at it.

use super::{
    activity::Activity,
    rng::{self, Stream},
};

/// A per-minute non-negative integer series (the value of one worn minute).
pub(crate) trait MinuteSeries: Send + Sync + std::fmt::Debug {
    /// The random stream of the series; also keys the per-day cache.
    fn stream(&self) -> Stream;

    /// The value at UTC minute `minute` (minutes since the epoch) of a worn minute.
    fn value(&self, seed: u64, minute: i64, activity: Activity) -> u64;
}

/// Steps per minute by activity: asleep 0, sedentary 0–5, walking 80–120, running 150–180.
#[derive(Debug)]
pub(crate) struct Steps;

impl MinuteSeries for Steps {
    fn stream(&self) -> Stream {
        Stream::Steps
    }

    fn value(&self, seed: u64, minute: i64, activity: Activity) -> u64 {
        let draw = rng::draw(seed, Stream::Steps, minute as u64);
        match activity {
            Activity::OffWrist | Activity::Asleep => 0,
            Activity::Sedentary => rng::between(draw, 0, 5),
            Activity::Walk => rng::between(draw, 80, 120),
            Activity::Run => rng::between(draw, 150, 180),
        }
    }
}
