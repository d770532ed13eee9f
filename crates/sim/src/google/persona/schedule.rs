//! What the session and health generators need from a day: random draws of one purpose of one
//! day, the wake and bed times and activity stretches of the day plan, and the instant a local
//! time of day happens.
//!
//! The day plan only exposes "what is the persona doing at minute m", so wake, bed, runs and
//! walks are read back from that profile: sleep, exercise and the minute series then agree by
//! construction, whatever the plan's internals.

use super::{
    Persona,
    activity::{Activity, DayPlan},
    rng::{self, Stream},
};
use crate::google::civil::SECONDS_PER_DAY;

const MINUTES_PER_DAY: u16 = 1440;

/// The random draws of one purpose (`salt`) of one civil day in one stream: draw `n` is a pure
/// function of (seed, stream, day, salt, n), so generators never share or reorder draws.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dice {
    seed: u64,
    stream: Stream,
    base: u64,
}

impl Dice {
    /// `salt` tells apart the purposes within a stream (up to 256); `n` may go up to 65,535.
    pub(super) fn new(persona: &Persona, stream: Stream, day: i64, salt: u8) -> Self {
        Self {
            seed: persona.core.seed,
            stream,
            base: ((day as u64) << 24) | (u64::from(salt) << 16),
        }
    }

    pub(super) fn raw(&self, n: u64) -> u64 {
        rng::draw(self.seed, self.stream, self.base ^ n)
    }

    /// A whole number in `low..=high`.
    pub(super) fn between(&self, n: u64, low: u64, high: u64) -> u64 {
        rng::between(self.raw(n), low, high)
    }

    /// A number uniformly in `[low, high)`.
    pub(super) fn uniform(&self, n: u64, low: f64, high: f64) -> f64 {
        // The top 53 bits make an exactly representable fraction in [0, 1).
        let unit = (self.raw(n) >> 11) as f64 / (1u64 << 53) as f64;
        low + unit * (high - low)
    }

    /// True with probability `per_mille` / 1000.
    pub(super) fn chance(&self, n: u64, per_mille: u64) -> bool {
        self.raw(n) % 1000 < per_mille
    }
}

impl Persona {
    /// The plan of civil day `day` if it is within the history and the tracker was worn.
    pub(super) fn worn_plan(&self, day: i64) -> Option<DayPlan> {
        if day < self.core.first_day {
            return None;
        }
        Some(DayPlan::new(self.core.seed, day)).filter(DayPlan::worn)
    }

    /// The instant (epoch seconds) the wall clock shows `minute` minutes after midnight of civil
    /// day `day`; `None` when that local time is skipped (a DST gap, a flight east). When the
    /// time repeats (DST end, a flight west) one of its instants is returned.
    pub(super) fn instant_of(&self, day: i64, minute: u16) -> Option<i64> {
        let local = day * SECONDS_PER_DAY + i64::from(minute) * 60;
        // Two refinements settle on the offset in effect at the instant itself.
        let mut at = local - i64::from(self.offset_at(self.day_start(day)));
        for _ in 0..2 {
            at = local - i64::from(self.offset_at(at));
        }
        (at + i64::from(self.offset_at(at)) == local).then_some(at)
    }
}

/// The minute of the morning the persona gets up (the first minute not asleep).
pub(super) fn wake(plan: &DayPlan) -> u16 {
    (0..MINUTES_PER_DAY)
        .find(|minute| plan.activity(*minute) != Activity::Asleep)
        .unwrap_or(MINUTES_PER_DAY)
}

/// The minute of the evening the persona goes to bed (asleep from then to midnight).
pub(super) fn bed(plan: &DayPlan) -> u16 {
    (0..MINUTES_PER_DAY)
        .rev()
        .find(|minute| plan.activity(*minute) != Activity::Asleep)
        .map_or(0, |minute| minute + 1)
}

/// The maximal stretches `start..end` (minutes after midnight) spent doing `activity`.
pub(super) fn stretches(plan: &DayPlan, activity: Activity) -> Vec<(u16, u16)> {
    let mut found: Vec<(u16, u16)> = Vec::new();
    for minute in 0..MINUTES_PER_DAY {
        if plan.activity(minute) != activity {
            continue;
        }
        match found.last_mut() {
            Some(last) if last.1 == minute => last.1 = minute + 1,
            _ => found.push((minute, minute + 1)),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::{civil, persona::test_support::persona_at};

    #[test]
    fn local_times_map_to_instants_across_dst_and_travel() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        // 22:00 on the day clocks spring forward in New York is 21 hours after midnight.
        let day = civil::days_from_civil(2017, 3, 12);
        let at = persona.instant_of(day, 22 * 60).unwrap();
        assert_eq!(at - persona.day_start(day), 21 * 3600);
        assert_eq!(persona.day_of(at), day);
        // 02:30 does not exist that day.
        assert_eq!(persona.instant_of(day, 150), None);
        // Noon on the flight to Berlin (10:00 New York = 16:00 Berlin) is skipped.
        assert_eq!(
            persona.instant_of(civil::days_from_civil(2019, 6, 10), 12 * 60),
            None
        );
        let berlin = civil::days_from_civil(2019, 6, 15);
        let noon = persona.instant_of(berlin, 12 * 60).unwrap();
        assert_eq!(noon, berlin * SECONDS_PER_DAY + 10 * 3600);
    }

    #[test]
    fn wake_bed_and_stretches_match_the_activity_profile() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let plan = (civil::days_from_civil(2024, 5, 1)..)
            .find_map(|day| persona.worn_plan(day))
            .unwrap();
        let (wake, bed) = (wake(&plan), bed(&plan));
        assert!((360..450).contains(&wake) && (1320..1410).contains(&bed));
        assert_eq!(plan.activity(wake - 1), Activity::Asleep);
        assert_ne!(plan.activity(wake), Activity::Asleep);
        assert_ne!(plan.activity(bed - 1), Activity::Asleep);
        assert_eq!(plan.activity(bed), Activity::Asleep);
        for (start, end) in stretches(&plan, Activity::Walk) {
            assert!((start..end).all(|m| plan.activity(m) == Activity::Walk));
            assert_ne!(plan.activity(end), Activity::Walk);
        }
        let dice = Dice::new(&persona, Stream::Sleep, 1, 2);
        assert_eq!(dice.raw(3), Dice::new(&persona, Stream::Sleep, 1, 2).raw(3));
        assert_ne!(dice.raw(3), Dice::new(&persona, Stream::Sleep, 1, 3).raw(3));
        assert!((0..100).all(|n| (0.0..1.0).contains(&dice.uniform(n, 0.0, 1.0))));
    }
}
