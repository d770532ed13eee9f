//! The persona's heart: a resting rate that drifts with the seasons and the persona's fitness,
//! Karvonen zones from age and resting rate, and a heart-rate level for every worn minute from
//! what the persona is doing. Heart-rate samples, zone minutes and the daily heart types all
//! derive from these, so they agree with each other.

use std::f64::consts::TAU;

use super::{
    Persona,
    activity::Activity,
    rng::{self, Stream},
};

/// Heart-rate zones of `daily-heart-rate-zones` and `time-in-heart-rate-zone`, by Karvonen
/// heart-rate-reserve fraction (as Fitbit computes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Zone {
    Light,
    Moderate,
    Vigorous,
    Peak,
}

impl Zone {
    pub(crate) const ALL: [Zone; 4] = [Zone::Light, Zone::Moderate, Zone::Vigorous, Zone::Peak];

    /// `HeartRateZoneType` enum value.
    pub(crate) const NAMES: [&'static str; 4] = ["LIGHT", "MODERATE", "VIGOROUS", "PEAK"];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }

    /// Where the zone starts, as a fraction of the heart-rate reserve above resting.
    fn reserve_floor(self) -> f64 {
        match self {
            Zone::Light => 0.40,
            Zone::Moderate => 0.60,
            Zone::Vigorous => 0.70,
            Zone::Peak => 0.85,
        }
    }
}

/// Heart facts of one civil day.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeartDay {
    pub resting: u32,
    pub max: u32,
    /// The lowest rate of each zone.
    floors: [u32; 4],
}

/// Stream indices of per-day draws, apart from the per-minute ones (epoch minutes).
const DAY_DRAWS: u64 = 1 << 62;

impl HeartDay {
    pub(crate) fn new(persona: &Persona, day: i64) -> Self {
        let seed = persona.core.seed;
        let phase = |n: u64| (rng::draw(seed, Stream::Heart, DAY_DRAWS - n) % 10_000) as f64 / 1e4;
        let season = 3.0 * (TAU * (day as f64 / 365.25 + phase(1))).sin();
        let form = 2.0 * (TAU * (day as f64 / 41.0 + phase(2))).sin();
        let noise =
            rng::between(rng::draw(seed, Stream::Heart, DAY_DRAWS + day as u64), 0, 2) as f64 - 1.0;
        let resting = (58.0 + season + form + noise).round().clamp(52.0, 64.0) as u32;
        let max = 220 - u32::try_from(persona.age_on(day)).unwrap_or(40);
        let reserve = f64::from(max - resting);
        let floors = Zone::ALL.map(|zone| resting + (zone.reserve_floor() * reserve).ceil() as u32);
        Self {
            resting,
            max,
            floors,
        }
    }

    /// The zone a rate is in; `None` below the light zone.
    pub(crate) fn zone(&self, bpm: u32) -> Option<Zone> {
        Zone::ALL
            .into_iter()
            .rev()
            .find(|zone| bpm >= self.floors[zone.index()])
    }

    /// The (lowest, highest) rate of a zone; the peak zone runs to the maximum rate.
    pub(crate) fn bounds(&self, zone: Zone) -> (u32, u32) {
        let next = self
            .floors
            .get(zone.index() + 1)
            .map_or(self.max + 1, |f| *f);
        (self.floors[zone.index()], next - 1)
    }

    /// The heart-rate level of a worn minute (`minute`: epoch minutes): resting while asleep,
    /// a little above while sedentary, rising with cadence on walks and runs.
    pub(crate) fn level(&self, seed: u64, minute: i64, activity: Activity, steps: u32) -> u32 {
        let draw = rng::draw(seed, Stream::Heart, minute as u64);
        let spread = |half: u64| rng::between(draw, 0, 2 * half) as i64 - half as i64;
        let (resting, steps) = (i64::from(self.resting), i64::from(steps));
        let level = match activity {
            Activity::OffWrist | Activity::Asleep => resting - 4 + spread(3),
            Activity::Sedentary => resting + 14 + spread(7),
            Activity::Walk => resting + 38 + (steps - 80) / 2 + spread(6),
            Activity::Run => resting + 75 + (steps - 150) + spread(8),
        };
        level.clamp(35, i64::from(self.max)) as u32
    }
}

/// One heart-rate sample at `at` (epoch seconds) in a minute of level `level`: within two
/// beats of the level.
pub(crate) fn sample(seed: u64, at: i64, level: u32) -> u32 {
    let jitter = rng::between(rng::draw(seed, Stream::HeartSample, at as u64), 0, 4);
    (level + jitter as u32).saturating_sub(2).max(30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::{civil, persona::test_support::persona_at};

    #[test]
    fn resting_rates_drift_within_range_and_zones_follow_karvonen() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2016, 3, 1);
        let rates: Vec<u32> = (first..first + 3000)
            .map(|day| HeartDay::new(&persona, day).resting)
            .collect();
        assert!(rates.iter().all(|rate| (52..=64).contains(rate)));
        assert!(rates.iter().max().unwrap() - rates.iter().min().unwrap() >= 8);
        let steps: u32 = rates
            .windows(2)
            .map(|pair| pair[0].abs_diff(pair[1]))
            .max()
            .unwrap();
        assert!(steps <= 3, "day-to-day changes are small, got {steps}");

        let day = HeartDay::new(&persona, civil::days_from_civil(2026, 11, 20));
        assert_eq!(day.max, 220 - 41);
        let mut next_low = day.bounds(Zone::Light).0;
        for zone in Zone::ALL {
            let (low, high) = day.bounds(zone);
            assert_eq!(low, next_low, "zones are contiguous");
            assert!(low <= high);
            assert_eq!(day.zone(low), Some(zone));
            assert_eq!(day.zone(high), Some(zone));
            next_low = high + 1;
        }
        assert_eq!(day.bounds(Zone::Peak).1, day.max);
        assert_eq!(day.zone(day.bounds(Zone::Light).0 - 1), None);
    }

    #[test]
    fn levels_rise_with_effort_and_samples_stay_close() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let day = HeartDay::new(&persona, 20_000);
        let mean = |activity, steps| {
            (0..500)
                .map(|minute| f64::from(day.level(42, minute, activity, steps)))
                .sum::<f64>()
                / 500.0
        };
        let asleep = mean(Activity::Asleep, 0);
        let sitting = mean(Activity::Sedentary, 2);
        let walking = mean(Activity::Walk, 100);
        let running = mean(Activity::Run, 165);
        assert!(asleep < sitting && sitting < walking && walking < running);
        assert_eq!(day.zone(asleep as u32), None);
        assert!(day.zone(running as u32) >= Some(Zone::Moderate));
        for at in 0..1000 {
            assert!(sample(42, at, 80).abs_diff(80) <= 2);
        }
    }
}
