//! The synthetic member whose data the simulator serves (reference §8.5).
//!
//! Everything is a pure function of the seed: ids, the wear model, the day plans and every
//! minute's value (drawn from a counter-based generator keyed by seed, stream and minute), so any
//! day can be generated on its own, in any order, identically every time. History runs from
//! 2016-03-01 up to the simulator clock's "now": a minute exists once it has ended, so "today"
//! grows as the clock moves.
//!
//! Days are civil days of the time zone the persona is in (see [`timeline`]). Each data type's
//! [`Generator`] turns one civil day into points; [`Persona::points`] and
//! [`Persona::day_roll_up`] serve them through a [`cache::DayCache`] shared by all clones.
//! A minority of days and points take the shapes real accounts send (a phone through Health
//! Connect, empty source objects, missing offsets, sub-second times, …): see [`quirks`].

mod activity;
mod aggregate;
pub(crate) mod body;
pub(crate) mod breathing;
mod cache;
pub(crate) mod cardio;
mod devices;
pub(crate) mod energy;
pub(crate) mod exercise;
mod heart;
pub(crate) mod heart_rate;
pub(crate) mod levels;
pub(crate) mod logs;
pub(crate) mod metrics;
mod minutely;
mod minutes;
pub(crate) mod movement;
mod nights;
mod quirks;
mod render;
pub(crate) mod rhythm;
mod rng;
mod schedule;
#[cfg(test)]
mod shapes;
pub(crate) mod sleep;
mod stages;
#[cfg(test)]
mod test_support;
mod timeline;
mod workouts;
mod writer;
pub(crate) mod zones;

use std::sync::Arc;

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde_json::Value;

use self::{
    cache::{DayCache, DayKey, SETTLE_S},
    devices::Devices,
    rng::Stream,
    timeline::ZoneTimeline,
};
pub(crate) use self::{
    devices::Device,
    minutes::{RUNNING_STRIDE_MM, WALKING_STRIDE_MM},
};
use crate::{
    clock::SimClock,
    google::{
        civil,
        knobs::Generation,
        points::{Generator, SimPoint},
    },
};

/// First day of the persona's history.
const HISTORY_START: Date = Date::constant(2016, 3, 1);

/// The persona's birthday (for `Profile.age` and heart-rate zones).
const BIRTH_DATE: (i32, u32, u32) = (1985, 4, 17);

/// Ground truth of the simulated member, for tests. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Persona {
    core: Arc<Core>,
    clock: SimClock,
    /// The knobs generated data depends on, as of the request being served.
    generation: Generation,
}

#[derive(Debug)]
struct Core {
    seed: u64,
    health_user_id: String,
    legacy_user_id: String,
    timeline: ZoneTimeline,
    devices: Devices,
    first_day: i64,
    cache: DayCache,
}

impl Persona {
    pub(crate) fn new(seed: u64, clock: SimClock) -> Self {
        let id = rng::draw(seed, Stream::Identity, 0);
        let health_user_id =
            (1_000_000_000_000_000_000 + id % 9_000_000_000_000_000_000).to_string();
        const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let legacy_user_id = (1..=6)
            .map(|n| char::from(ALPHABET[(rng::draw(seed, Stream::Identity, n) % 36) as usize]))
            .collect();
        Self {
            core: Arc::new(Core {
                seed,
                health_user_id,
                legacy_user_id,
                timeline: ZoneTimeline::standard(),
                devices: Devices::standard(),
                first_day: civil::day_number(HISTORY_START),
                cache: DayCache::default(),
            }),
            clock,
            generation: Generation::default(),
        }
    }

    /// The same persona generating data under `generation` (the current knobs).
    pub(crate) fn with_generation(mut self, generation: Generation) -> Self {
        self.generation = generation;
        self
    }

    pub(crate) fn generation(&self) -> Generation {
        self.generation
    }

    /// `Identity.healthUserId`: 19 decimal digits, like the live ids.
    pub fn health_user_id(&self) -> &str {
        &self.core.health_user_id
    }

    /// `Identity.legacyUserId`: a six-character Fitbit-style id.
    pub fn legacy_user_id(&self) -> &str {
        &self.core.legacy_user_id
    }

    /// First day of history (2016-03-01), also `Profile.membershipStartDate`.
    pub fn history_start(&self) -> Date {
        HISTORY_START
    }

    /// The civil date in the persona's time zone at `now`.
    pub fn today(&self, now: Timestamp) -> Date {
        civil::date_of(self.day_of(now.as_second()))
            .unwrap_or_else(|| now.to_zoned(TimeZone::UTC).date())
    }

    /// The IANA time zone the persona is in at `at` (what `users/me/settings` reports).
    pub fn time_zone_at(&self, at: Timestamp) -> &'static str {
        self.core.timeline.zone_name_at(at.as_second())
    }

    /// Σ of the step points whose civil start date (in the zone in effect at that minute) is
    /// `date`, counting only points that have ended by the clock's now: the tracker's
    /// per-minute points and, on some days, the phone's 30-minute one (`quirks`), as `list`,
    /// `dailyRollUp` and the ground truth count them; `None` when nothing was recorded that
    /// day (not worn, lost, before the history or in the future).
    pub fn daily_steps(&self, date: Date) -> Option<u64> {
        let day = civil::day_number(date);
        let points = self.points("steps", movement::STEPS, day, self.now_seconds());
        (!points.is_empty()).then(|| points.iter().map(|point| point.measures[0] as u64).sum())
    }

    /// Age in whole years on civil day `day`.
    pub(crate) fn age_on(&self, day: i64) -> i16 {
        let (year, month, day) = civil::civil_from_days(day);
        let (born, birth_month, birth_day) = BIRTH_DATE;
        let before_birthday = (month, day) < (birth_month, birth_day);
        i16::try_from(year - born - i32::from(before_birthday)).unwrap_or(0)
    }

    /// The simulator clock's now.
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn now_seconds(&self) -> i64 {
        self.now().as_second()
    }

    /// First civil day with data (days since 1970-01-01).
    pub(crate) fn first_day(&self) -> i64 {
        self.core.first_day
    }

    /// The civil day the persona is living at an instant (epoch seconds).
    pub(crate) fn day_of(&self, epoch_seconds: i64) -> i64 {
        self.core.timeline.local_day(epoch_seconds)
    }

    /// The UTC offset (seconds) in effect at an instant.
    pub(crate) fn offset_at(&self, epoch_seconds: i64) -> i32 {
        self.core.timeline.offset_at(epoch_seconds)
    }

    /// The instant (epoch seconds) civil day `day` starts.
    pub(crate) fn day_start(&self, day: i64) -> i64 {
        self.core.timeline.day_start(day)
    }

    /// The devices paired with the account (`users/me/pairedDevices`).
    pub(crate) fn paired_devices(&self) -> [&Device; 4] {
        self.core.devices.paired()
    }

    /// The points `generator` makes for `data_type` on civil day `day` as of `now` (epoch
    /// seconds); none outside the history. Final days come from the cache.
    pub(crate) fn points(
        &self,
        data_type: &'static str,
        generator: &dyn Generator,
        day: i64,
        now: i64,
    ) -> Arc<Vec<SimPoint>> {
        if !self.has_day(day, now) {
            return Arc::default();
        }
        let make = || generator.day(self, day, now);
        match self.day_key(data_type, day, now) {
            Some(key) => self.core.cache.points(key, make),
            None => Arc::new(make()),
        }
    }

    /// The rollup value of civil day `day` alone (what a one-day `dailyRollUp` window holds).
    pub(crate) fn day_roll_up(
        &self,
        data_type: &'static str,
        generator: &dyn Generator,
        day: i64,
        now: i64,
    ) -> Option<Value> {
        if !self.has_day(day, now) {
            return None;
        }
        let make = || generator.roll_up(&generator.day(self, day, now));
        match self.day_key(data_type, day, now) {
            Some(key) => self.core.cache.roll_up(key, make),
            None => make(),
        }
    }

    fn has_day(&self, day: i64, now: i64) -> bool {
        (self.core.first_day..=self.day_of(now)).contains(&day)
    }

    /// The cache key of a day that can no longer change at `now`.
    fn day_key(&self, data_type: &'static str, day: i64, now: i64) -> Option<DayKey> {
        (self.day_start(day + 1) + SETTLE_S <= now).then_some(DayKey {
            data_type,
            day,
            generation: self.generation,
        })
    }
}

#[cfg(test)]
mod tests {
    use jiff::{SignedDuration, civil::date};

    use super::{test_support::persona_at, *};

    #[test]
    fn ids_are_deterministic_and_shaped_like_googles() {
        let a = persona_at("2026-11-21T12:00:00Z");
        let b = persona_at("2026-11-21T12:00:00Z");
        assert_eq!(a.health_user_id(), b.health_user_id());
        assert_eq!(a.health_user_id().len(), 19);
        assert!(a.health_user_id().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a.legacy_user_id().len(), 6);
        let other = Persona::new(7, SimClock::real());
        assert_ne!(other.health_user_id(), a.health_user_id());
    }

    #[test]
    fn history_runs_from_the_start_to_today() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        assert_eq!(
            persona.today("2026-11-21T12:00:00Z".parse().unwrap()),
            date(2026, 11, 21)
        );
        // 07:00 UTC is still the 20th in Los Angeles.
        assert_eq!(
            persona.today("2026-11-21T07:00:00Z".parse().unwrap()),
            date(2026, 11, 20)
        );
        assert_eq!(persona.daily_steps(date(2016, 2, 29)), None);
        assert_eq!(persona.daily_steps(date(2026, 11, 22)), None);
        let worn = (1..=40)
            .filter_map(|d| {
                persona.daily_steps(date(2016, 3, 1) + SignedDuration::from_hours(24 * (d - 1)))
            })
            .count();
        assert!(worn >= 35, "only {worn} of 40 days have steps");
        assert_eq!(
            persona.daily_steps(date(2020, 4, 15)),
            None,
            "the lost-tracker gap"
        );
    }

    #[test]
    fn daily_steps_sum_the_worn_minutes() {
        let persona = persona_at("2026-11-21T12:00:30Z");
        let now = persona.now_seconds();
        for day in [civil::days_from_civil(2024, 1, 9), persona.day_of(now)] {
            let expected: u32 = persona
                .worn_minutes(day, now)
                .iter()
                .map(|minute| minute.steps)
                .sum();
            let date = civil::date_of(day).unwrap();
            assert_eq!(persona.daily_steps(date), Some(u64::from(expected)));
        }
    }

    #[test]
    fn final_days_are_cached_and_equal_fresh_ones() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let now = persona.now_seconds();
        let day = civil::days_from_civil(2023, 6, 1);
        let first = persona.points("steps", movement::STEPS, day, now);
        let again = persona.points("steps", movement::STEPS, day, now);
        assert!(Arc::ptr_eq(&first, &again));
        let today = persona.day_of(now);
        let live = persona.points("steps", movement::STEPS, today, now);
        assert!(!Arc::ptr_eq(
            &live,
            &persona.points("steps", movement::STEPS, today, now)
        ));
        let fresh = persona_at("2026-11-21T12:00:00Z").points("steps", movement::STEPS, day, now);
        assert_eq!(first.len(), fresh.len());
        assert!(
            first
                .iter()
                .zip(fresh.iter())
                .all(|(a, b)| a.json == b.json)
        );
        assert_eq!(
            persona.day_roll_up("steps", movement::STEPS, day, now),
            movement::STEPS.roll_up(&first)
        );
        assert!(
            persona
                .points("steps", movement::STEPS, today + 1, now)
                .is_empty()
        );
    }

    #[test]
    fn ages_count_birthdays() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        assert_eq!(persona.age_on(civil::days_from_civil(2026, 4, 16)), 40);
        assert_eq!(persona.age_on(civil::days_from_civil(2026, 4, 17)), 41);
        assert_eq!(persona.age_on(civil::days_from_civil(2026, 11, 21)), 41);
    }
}
