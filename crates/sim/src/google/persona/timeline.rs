//! Where the persona lives over time: America/New_York with its DST changes, a ten-day trip to
//! Europe/Berlin, then a move to America/Los_Angeles.
//!
//! A switch happens at a physical instant, chosen at mid-day so both wall clocks show the same
//! date: civil days never overlap or go backwards, they only get shorter (flying east: 18 h) or
//! longer (flying west: 30 h, moving west: 27 h). So each civil date owns one contiguous range
//! of physical minutes, which is what lets a civil-day filter, a daily rollup and
//! `Persona::daily_steps` agree exactly.

use jiff::{Timestamp, tz::TimeZone};

use crate::google::civil::{self, SECONDS_PER_DAY};

/// One stretch of the timeline: the zone in effect from `from` (epoch seconds) on.
#[derive(Debug)]
struct Segment {
    from: i64,
    name: &'static str,
    zone: TimeZone,
}

/// The persona's time-zone history.
#[derive(Debug)]
pub(crate) struct ZoneTimeline {
    segments: Vec<Segment>,
}

/// The switches: (instant, zone from then on). The first zone applies before the first switch.
const HOME: &str = "America/New_York";
const SWITCHES: [(&str, &str); 3] = [
    // Fly to Berlin: 10:00 EDT in New York, 16:00 CEST on arrival, both on 2019-06-10.
    ("2019-06-10T14:00:00Z", "Europe/Berlin"),
    // Fly back: 14:00 CEST in Berlin, 08:00 EDT in New York, both on 2019-06-20.
    ("2019-06-20T12:00:00Z", "America/New_York"),
    // Move west: 13:00 EDT, 10:00 PDT, both on 2022-08-15.
    ("2022-08-15T17:00:00Z", "America/Los_Angeles"),
];

impl ZoneTimeline {
    /// The fixed timeline of the default persona. The zones come from jiff's bundled tz
    /// database, so this cannot fail at run time; a typo would fail every persona test.
    pub(crate) fn standard() -> Self {
        let zone = |name: &str| {
            TimeZone::get(name).expect("the bundled tz database has the persona's zones")
        };
        let mut segments = vec![Segment {
            from: i64::MIN,
            name: HOME,
            zone: zone(HOME),
        }];
        for (at, name) in SWITCHES {
            let from = at
                .parse::<Timestamp>()
                .expect("the switch instants are valid RFC 3339")
                .as_second();
            segments.push(Segment {
                from,
                name,
                zone: zone(name),
            });
        }
        Self { segments }
    }

    fn segment_index(&self, epoch_seconds: i64) -> usize {
        self.segments
            .iter()
            .rposition(|segment| segment.from <= epoch_seconds)
            .unwrap_or(0)
    }

    /// The IANA name of the zone in effect at an instant.
    pub(crate) fn zone_name_at(&self, epoch_seconds: i64) -> &'static str {
        self.segments[self.segment_index(epoch_seconds)].name
    }

    /// The UTC offset in effect at an instant, in seconds.
    pub(crate) fn offset_at(&self, epoch_seconds: i64) -> i32 {
        let zone = &self.segments[self.segment_index(epoch_seconds)].zone;
        Timestamp::from_second(epoch_seconds)
            .map(|at| zone.to_offset(at).seconds())
            .unwrap_or(0)
    }

    /// The civil day (days since 1970-01-01) the persona is living at an instant.
    pub(crate) fn local_day(&self, epoch_seconds: i64) -> i64 {
        (epoch_seconds + i64::from(self.offset_at(epoch_seconds))).div_euclid(SECONDS_PER_DAY)
    }

    /// The instant (epoch seconds) civil day `day` starts: local midnight in the zone the
    /// persona is in at that moment. The day ends where day + 1 starts.
    pub(crate) fn day_start(&self, day: i64) -> i64 {
        let midnight_in = |segment: &Segment| {
            let date = civil::date_of(day)?;
            let zoned = date.to_zoned(segment.zone.clone()).ok()?;
            Some(zoned.timestamp().as_second())
        };
        for (index, segment) in self.segments.iter().enumerate() {
            let until = self
                .segments
                .get(index + 1)
                .map_or(i64::MAX, |next| next.from);
            if let Some(start) = midnight_in(segment)
                && segment.from <= start
                && start < until
            {
                return start;
            }
        }
        // Unreachable for the switches above (never at midnight) and for dates jiff can
        // represent; fall back to UTC midnight rather than fail.
        day * SECONDS_PER_DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours_of(timeline: &ZoneTimeline, y: i32, m: u32, d: u32) -> i64 {
        let day = civil::days_from_civil(y, m, d);
        (timeline.day_start(day + 1) - timeline.day_start(day)) / 3600
    }

    #[test]
    fn dst_days_are_23_and_25_hours() {
        let timeline = ZoneTimeline::standard();
        assert_eq!(hours_of(&timeline, 2017, 3, 12), 23);
        assert_eq!(hours_of(&timeline, 2017, 11, 5), 25);
        assert_eq!(hours_of(&timeline, 2017, 7, 1), 24);
        // After the move the Los Angeles rules apply (same US dates).
        assert_eq!(hours_of(&timeline, 2023, 3, 12), 23);
        assert_eq!(hours_of(&timeline, 2023, 11, 5), 25);
    }

    #[test]
    fn the_trip_and_the_move_shorten_and_lengthen_days() {
        let timeline = ZoneTimeline::standard();
        assert_eq!(hours_of(&timeline, 2019, 6, 9), 24);
        assert_eq!(hours_of(&timeline, 2019, 6, 10), 18);
        assert_eq!(hours_of(&timeline, 2019, 6, 15), 24);
        assert_eq!(hours_of(&timeline, 2019, 6, 20), 30);
        assert_eq!(hours_of(&timeline, 2022, 8, 15), 27);
        let in_berlin = civil::days_from_civil(2019, 6, 15) * SECONDS_PER_DAY + 12 * 3600;
        assert_eq!(timeline.zone_name_at(in_berlin), "Europe/Berlin");
        assert_eq!(timeline.offset_at(in_berlin), 7200);
        let later = civil::days_from_civil(2026, 1, 1) * SECONDS_PER_DAY;
        assert_eq!(timeline.zone_name_at(later), "America/Los_Angeles");
        assert_eq!(timeline.offset_at(later), -8 * 3600);
    }

    #[test]
    fn every_minute_of_a_day_has_that_local_date() {
        let timeline = ZoneTimeline::standard();
        for (y, m, d) in [
            (2019, 6, 10),
            (2019, 6, 20),
            (2022, 8, 15),
            (2017, 3, 12),
            (2017, 11, 5),
        ] {
            let day = civil::days_from_civil(y, m, d);
            let (start, end) = (timeline.day_start(day), timeline.day_start(day + 1));
            for second in (start..end).step_by(60) {
                assert_eq!(timeline.local_day(second), day, "{y}-{m}-{d} at {second}");
            }
            assert_eq!(timeline.local_day(start - 60), day - 1);
        }
    }
}
