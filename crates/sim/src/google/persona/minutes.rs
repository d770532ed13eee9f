//! The worn minutes of a civil day and what the tracker measures in each: activity, steps,
//! floors, heart-rate level and zone, activity level and energy. Every per-minute data type and
//! the heart-rate samples derive from these, so steps, distance, energy, zones and heart rate
//! agree minute by minute.

use super::{
    Persona,
    activity::Activity,
    heart::{HeartDay, Zone},
    rng::{self, Stream},
};
use crate::google::{civil::SECONDS_PER_DAY, points::PointTime};

/// Stride lengths (mm), as `users/me/profile` reports them.
pub(crate) const WALKING_STRIDE_MM: u64 = 762;
pub(crate) const RUNNING_STRIDE_MM: u64 = 1143;
/// Body weight for energy estimates.
const WEIGHT_KG: f64 = 78.0;
/// Basal energy per minute: Mifflin-St Jeor (78 kg, 178 cm, 41 years, male) gives about
/// 1693 kcal a day, rounded to sixteenths like every energy value (see [`sixteenths`]).
const BASAL_KCAL_PER_MINUTE: f64 = 19.0 / 16.0;

/// Activity-level types of `activity-level` (and, above sedentary, `active-minutes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Sedentary,
    Light,
    Moderate,
    Vigorous,
}

impl Level {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One worn minute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Minute {
    /// Start, epoch seconds.
    pub start: i64,
    /// UTC offsets at the start and at the end.
    pub offset: i32,
    pub end_offset: i32,
    pub day: i64,
    pub activity: Activity,
    pub steps: u32,
    pub floors: u32,
    /// Heart-rate level (bpm) and its zone.
    pub bpm: u32,
    pub zone: Option<Zone>,
}

impl Minute {
    pub(crate) fn time(&self) -> PointTime {
        PointTime {
            start_ms: self.start * 1000,
            start_extra_us: 0,
            end_ms: (self.start + 60) * 1000,
            start_offset_s: self.offset,
            end_offset_s: self.end_offset,
            civil_day: self.day,
        }
    }

    /// The activity level while awake; asleep minutes have none.
    pub(crate) fn level(&self) -> Option<Level> {
        match self.activity {
            Activity::OffWrist | Activity::Asleep => None,
            Activity::Sedentary => Some(Level::Sedentary),
            Activity::Walk if self.steps < 100 => Some(Level::Light),
            Activity::Walk => Some(Level::Moderate),
            Activity::Run => Some(Level::Vigorous),
        }
    }

    pub(crate) fn distance_mm(&self) -> u64 {
        let stride = match self.activity {
            Activity::Run => RUNNING_STRIDE_MM,
            _ => WALKING_STRIDE_MM,
        };
        u64::from(self.steps) * stride
    }

    /// Energy above basal, for walking and running minutes: (MET − 1) × weight / 60, with the
    /// MET rising with cadence.
    pub(crate) fn active_kcal(&self) -> f64 {
        let cadence = f64::from(self.steps);
        let met_above_rest = match self.activity {
            Activity::Walk => cadence / 40.0,
            Activity::Run => cadence / 18.0,
            _ => return 0.0,
        };
        sixteenths(met_above_rest * WEIGHT_KG / 60.0)
    }

    pub(crate) fn total_kcal(&self) -> f64 {
        BASAL_KCAL_PER_MINUTE + self.active_kcal()
    }
}

/// Energy is kept in sixteenths of a kcal: binary fractions add up exactly in any order, so a
/// rollup equals the sum a client computes from the listed points.
fn sixteenths(kcal: f64) -> f64 {
    (kcal * 16.0).round() / 16.0
}

/// Steps of a worn minute: asleep 0, sedentary 0–5, walking 80–120, running 150–180.
fn steps(seed: u64, minute: i64, activity: Activity) -> u32 {
    let draw = rng::draw(seed, Stream::Steps, minute as u64);
    let (low, high) = match activity {
        Activity::OffWrist | Activity::Asleep => return 0,
        Activity::Sedentary => (0, 5),
        Activity::Walk => (80, 120),
        Activity::Run => (150, 180),
    };
    rng::between(draw, low, high) as u32
}

/// Stair bursts: about one walking minute in eight climbs a floor, one in fifty two.
fn floors(seed: u64, minute: i64, activity: Activity) -> u32 {
    if activity != Activity::Walk {
        return 0;
    }
    match rng::draw(seed, Stream::Floors, minute as u64) % 100 {
        0..2 => 2,
        2..12 => 1,
        _ => 0,
    }
}

impl Persona {
    /// The worn minutes of civil day `day` that ended by `now` (epoch seconds), ascending.
    pub(crate) fn worn_minutes(&self, day: i64, now: i64) -> Vec<Minute> {
        let Some(plan) = self.worn_plan(day) else {
            return Vec::new();
        };
        let seed = self.core.seed;
        let heart = HeartDay::new(self, day);
        let first = self.day_start(day).div_euclid(60);
        let end = self
            .day_start(day + 1)
            .div_euclid(60)
            .min(now.div_euclid(60));
        let mut minutes = Vec::with_capacity(usize::try_from(end - first).unwrap_or(0));
        let mut offset = self.offset_at(first * 60);
        for minute in first..end {
            let start = minute * 60;
            let end_offset = self.offset_at(start + 60);
            let of_day = (start + i64::from(offset)).rem_euclid(SECONDS_PER_DAY) / 60;
            let activity = plan.activity(of_day as u16);
            if activity != Activity::OffWrist {
                let steps = steps(seed, minute, activity);
                let bpm = heart.level(seed, minute, activity, steps);
                minutes.push(Minute {
                    start,
                    offset,
                    end_offset,
                    day,
                    activity,
                    steps,
                    floors: floors(seed, minute, activity),
                    bpm,
                    zone: heart.zone(bpm),
                });
            }
            offset = end_offset;
        }
        minutes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::{civil, persona::test_support::persona_at};

    #[test]
    fn a_day_has_one_minute_per_worn_minute_within_the_day() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let now = persona.now_seconds();
        for (y, m, d, hours) in [
            (2019, 6, 10, 18),
            (2019, 6, 20, 30),
            (2017, 3, 12, 23),
            (2017, 11, 5, 25),
            (2024, 1, 9, 24),
        ] {
            let day = civil::days_from_civil(y, m, d);
            let minutes = persona.worn_minutes(day, now);
            if minutes.is_empty() {
                continue;
            }
            let (start, end) = (persona.day_start(day), persona.day_start(day + 1));
            assert_eq!((end - start) / 3600, hours);
            assert!(minutes.windows(2).all(|w| w[0].start < w[1].start));
            assert!(minutes.iter().all(|m| m.start >= start && m.start < end));
            for minute in &minutes {
                let time = minute.time();
                assert_eq!(time.local_start_ms().div_euclid(86_400_000), day);
                assert_eq!(minute.offset, persona.offset_at(minute.start));
                assert_eq!(minute.end_offset, persona.offset_at(minute.start + 60));
            }
            // Every minute is worn except the charging break (30–60 minutes).
            let all = (end - start) / 60;
            let worn = minutes.len() as i64;
            assert!((all - 60..=all - 30).contains(&worn), "{y}-{m}-{d}: {worn}");
        }
    }

    #[test]
    fn today_only_has_the_minutes_that_ended() {
        let persona = persona_at("2026-11-21T12:00:30Z");
        let now = persona.now_seconds();
        let minutes = persona.worn_minutes(persona.day_of(now), now);
        let last = minutes.last().expect("the morning was worn");
        assert!(last.start + 60 <= now && last.start >= now - 3600);
    }

    #[test]
    fn measures_follow_the_activity() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let minutes = persona.worn_minutes(civil::days_from_civil(2024, 5, 14), 2_000_000_000);
        for minute in &minutes {
            match minute.activity {
                Activity::Asleep => {
                    assert_eq!(
                        (minute.steps, minute.level(), minute.active_kcal()),
                        (0, None, 0.0)
                    );
                }
                Activity::Sedentary => {
                    assert!(minute.steps <= 5);
                    assert_eq!(minute.level(), Some(Level::Sedentary));
                    assert_eq!(minute.total_kcal(), BASAL_KCAL_PER_MINUTE);
                }
                Activity::Walk | Activity::Run => {
                    assert!(minute.steps >= 80 && minute.active_kcal() > 2.0);
                    assert_eq!(minute.active_kcal() * 16.0 % 1.0, 0.0);
                }
                Activity::OffWrist => unreachable!("off-wrist minutes are not worn"),
            }
            if minute.floors > 0 {
                assert_eq!(minute.activity, Activity::Walk);
            }
        }
        assert!(minutes.iter().any(|m| m.floors > 0));
        assert!(minutes.iter().any(|m| m.zone.is_some()));
    }
}
