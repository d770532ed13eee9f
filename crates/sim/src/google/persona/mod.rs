//! The synthetic member whose data the simulator serves (reference §8.5, the parts steps need).
//!
//! Everything is a pure function of the seed: ids, the wear model, the day plans and every
//! minute's value (drawn from a counter-based generator keyed by seed, stream and minute), so any
//! day can be generated on its own, in any order, identically every time. History runs from
//! 2016-03-01 up to the simulator clock's "now": a minute exists once it has ended, so "today"
//! grows as the clock moves.
//!
//! Days are civil days of the time zone the persona is in (see [`timeline`]); per-day totals of
//! complete days are cached, which keeps a 90-day rollup to a few map lookups.

mod activity;
mod devices;
mod rng;
mod series;
mod timeline;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use jiff::{Timestamp, civil::Date, tz::TimeZone};

pub(crate) use devices::DataSourceJson;
pub(crate) use series::{MinuteSeries, Steps};

use self::{
    activity::{Activity, DayPlan},
    devices::Devices,
    rng::Stream,
    timeline::ZoneTimeline,
};
use crate::{
    clock::SimClock,
    google::civil::{self, SECONDS_PER_DAY},
};

/// First day of the persona's history.
const HISTORY_START: Date = Date::constant(2016, 3, 1);

/// Ground truth of the simulated member, for tests. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Persona {
    core: Arc<Core>,
    clock: SimClock,
}

#[derive(Debug)]
struct Core {
    seed: u64,
    health_user_id: String,
    legacy_user_id: String,
    timeline: ZoneTimeline,
    devices: Devices,
    first_day: i64,
    summaries: Mutex<HashMap<(Stream, i64), DaySummary>>,
}

/// One worn minute of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MinutePoint {
    /// Minutes since the epoch (UTC) at which the minute starts.
    pub minute: i64,
    /// UTC offset in effect, in seconds.
    pub offset: i32,
    pub value: u64,
}

impl MinutePoint {
    /// Start as epoch seconds.
    pub(crate) fn start(&self) -> i64 {
        self.minute * 60
    }

    /// Start as local seconds (wall clock read as UTC), for civil comparisons.
    pub(crate) fn local_start(&self) -> i64 {
        self.start() + i64::from(self.offset)
    }
}

/// Totals of one civil day of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DaySummary {
    /// Minutes with a point, zero or not.
    pub worn_minutes: u32,
    pub sum: u64,
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
                summaries: Mutex::new(HashMap::new()),
            }),
            clock,
        }
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

    /// Σ of the per-minute step points whose civil start date (in the zone in effect at that
    /// minute) is `date`, counting only minutes that have ended by the clock's now; `None` when
    /// the tracker recorded nothing that day (not worn, lost, before the history or in the
    /// future).
    pub fn daily_steps(&self, date: Date) -> Option<u64> {
        let now = self.now_seconds();
        let day = civil::day_number(date);
        if day < self.core.first_day || day > self.day_of(now) {
            return None;
        }
        let summary = self.day_summary(&Steps, day, now);
        (summary.worn_minutes > 0).then_some(summary.sum)
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

    /// The `dataSource` of points recorded on civil day `day`.
    pub(crate) fn data_source(&self, day: i64) -> DataSourceJson {
        self.core.devices.on(day).data_source()
    }

    /// The worn minutes of civil day `day` that ended by `now` (epoch seconds), ascending.
    pub(crate) fn day_points(
        &self,
        series: &dyn MinuteSeries,
        day: i64,
        now: i64,
    ) -> Vec<MinutePoint> {
        if day < self.core.first_day {
            return Vec::new();
        }
        let plan = DayPlan::new(self.core.seed, day);
        if !plan.worn() {
            return Vec::new();
        }
        let first = self.day_start(day).div_euclid(60);
        let end = self
            .day_start(day + 1)
            .div_euclid(60)
            .min(now.div_euclid(60));
        let mut points = Vec::with_capacity(usize::try_from(end - first).unwrap_or(0));
        for minute in first..end {
            let offset = self.offset_at(minute * 60);
            let minute_of_day = (minute * 60 + i64::from(offset)).rem_euclid(SECONDS_PER_DAY) / 60;
            let activity = plan.activity(minute_of_day as u16);
            if activity == Activity::OffWrist {
                continue;
            }
            points.push(MinutePoint {
                minute,
                offset,
                value: series.value(self.core.seed, minute, activity),
            });
        }
        points
    }

    /// Totals of civil day `day` as of `now`; complete days are cached.
    pub(crate) fn day_summary(&self, series: &dyn MinuteSeries, day: i64, now: i64) -> DaySummary {
        let key = (series.stream(), day);
        let complete = self.day_start(day + 1) <= now;
        if complete && let Some(summary) = self.summaries().get(&key) {
            return *summary;
        }
        let summary = self.day_points(series, day, now).iter().fold(
            DaySummary::default(),
            |mut summary, point| {
                summary.worn_minutes += 1;
                summary.sum += point.value;
                summary
            },
        );
        if complete {
            self.summaries().insert(key, summary);
        }
        summary
    }

    fn summaries(&self) -> std::sync::MutexGuard<'_, HashMap<(Stream, i64), DaySummary>> {
        // A poisoned lock only means a panic elsewhere; the cached totals are still valid.
        self.core
            .summaries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use jiff::{SignedDuration, civil::date};

    use super::*;

    fn persona_at(now: &str) -> Persona {
        let clock = SimClock::starting_at(now.parse().unwrap());
        clock.freeze(true);
        Persona::new(42, clock)
    }

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
    fn a_day_has_one_point_per_worn_minute_within_the_day() {
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
            let points = persona.day_points(&Steps, day, now);
            if points.is_empty() {
                continue;
            }
            let (start, end) = (persona.day_start(day), persona.day_start(day + 1));
            assert_eq!((end - start) / 3600, hours);
            assert!(points.windows(2).all(|w| w[0].minute < w[1].minute));
            assert!(points.iter().all(|p| p.start() >= start && p.start() < end));
            assert!(
                points
                    .iter()
                    .all(|p| p.local_start().div_euclid(SECONDS_PER_DAY) == day)
            );
            let minutes = (end - start) / 60;
            // Every minute is a point except the charging break (30–60 minutes).
            assert!(
                (minutes - 60..=minutes - 30).contains(&(points.len() as i64)),
                "{y}-{m}-{d}: {} of {minutes}",
                points.len()
            );
            let total: u64 = points.iter().map(|p| p.value).sum();
            assert_eq!(
                persona.daily_steps(date(y as i16, m as i8, d as i8)),
                Some(total)
            );
        }
    }

    #[test]
    fn today_only_has_the_minutes_that_ended() {
        let persona = persona_at("2026-11-21T12:00:30Z");
        let day = persona.day_of(persona.now_seconds());
        let points = persona.day_points(&Steps, day, persona.now_seconds());
        let last = points
            .last()
            .expect("the morning is worn or charging is later");
        assert!(last.start() + 60 <= persona.now_seconds());
        let summary = persona.day_summary(&Steps, day, persona.now_seconds());
        assert_eq!(summary.sum, points.iter().map(|p| p.value).sum::<u64>());
        assert_eq!(
            persona.daily_steps(persona.today(persona.clock.now())),
            Some(summary.sum)
        );
    }

    #[test]
    fn cached_totals_equal_fresh_ones() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let now = persona.now_seconds();
        let day = civil::days_from_civil(2023, 6, 1);
        let first = persona.day_summary(&Steps, day, now);
        let again = persona.day_summary(&Steps, day, now);
        assert_eq!(first, again);
        let fresh = Persona::new(42, persona.clock.clone()).day_summary(&Steps, day, now);
        assert_eq!(first, fresh);
    }
}
