//! What the persona is doing at each minute of a civil day: the wear model (charging about 45
//! minutes a day, about 3 % of days not worn, one three-week gap) and the activity profile by
//! local time of day (asleep, sedentary, walking, running).

use super::rng::{self, Stream};
use crate::google::civil;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Not on the wrist (charging, forgotten, lost): the tracker records nothing.
    OffWrist,
    Asleep,
    Sedentary,
    Walk,
    Run,
}

/// The three weeks the tracker was lost (civil days, inclusive).
const GAP: (i64, i64) = (
    civil::days_from_civil(2020, 4, 6),
    civil::days_from_civil(2020, 4, 26),
);

/// Per mille of days the tracker is not worn at all.
const NOT_WORN_PER_MILLE: u64 = 30;

/// A stretch of minutes of the day (`start..end`, minutes after local midnight).
#[derive(Clone, Copy, Debug)]
struct Block {
    start: u16,
    end: u16,
    activity: Activity,
}

impl Block {
    fn contains(&self, minute: u16) -> bool {
        (self.start..self.end).contains(&minute)
    }
}

/// One civil day's plan, derived only from (seed, day).
#[derive(Clone, Debug)]
pub(crate) struct DayPlan {
    worn: bool,
    wake: u16,
    bed: u16,
    charging: Block,
    /// Checked in order; the first block containing a minute wins.
    blocks: Vec<Block>,
}

impl DayPlan {
    pub(crate) fn new(seed: u64, day: i64) -> Self {
        let part = |n: u64| {
            rng::draw(
                seed,
                Stream::DayPlan,
                (day as u64).wrapping_mul(16).wrapping_add(n),
            )
        };
        let minutes = |n: u64, low: u64, high: u64| rng::between(part(n), low, high) as u16;
        let in_gap = (GAP.0..=GAP.1).contains(&day);
        let worn =
            !in_gap && rng::draw(seed, Stream::Wear, day as u64) % 1000 >= NOT_WORN_PER_MILLE;
        let wake = minutes(0, 6 * 60, 7 * 60 + 29);
        let bed = minutes(1, 22 * 60, 23 * 60 + 29);
        let charge_start = minutes(2, 18 * 60, 20 * 60 + 59);
        let charging = Block {
            start: charge_start,
            end: charge_start + minutes(3, 30, 60),
            activity: Activity::OffWrist,
        };
        let block = |start: u16, length: u16, activity| Block {
            start,
            end: start + length,
            activity,
        };
        let mut blocks = Vec::with_capacity(4);
        if part(4) % 100 < 30 {
            blocks.push(block(
                wake + minutes(5, 10, 40),
                minutes(6, 25, 45),
                Activity::Run,
            ));
        }
        blocks.push(block(
            minutes(7, 7 * 60 + 45, 8 * 60 + 29),
            minutes(8, 15, 25),
            Activity::Walk,
        ));
        blocks.push(block(
            minutes(9, 12 * 60, 12 * 60 + 59),
            minutes(10, 10, 30),
            Activity::Walk,
        ));
        blocks.push(block(
            minutes(11, 17 * 60 + 15, 17 * 60 + 44),
            minutes(12, 15, 25),
            Activity::Walk,
        ));
        Self {
            worn,
            wake,
            bed,
            charging,
            blocks,
        }
    }

    /// Whether the tracker was worn at all that day.
    pub(crate) fn worn(&self) -> bool {
        self.worn
    }

    /// The charging break, `(start, end)` in minutes after local midnight.
    pub(crate) fn charging(&self) -> (u16, u16) {
        (self.charging.start, self.charging.end)
    }

    /// The activity at `minute` minutes after local midnight (a DST day repeats or skips some).
    pub(crate) fn activity(&self, minute: u16) -> Activity {
        if !self.worn || self.charging.contains(minute) {
            return Activity::OffWrist;
        }
        if minute < self.wake || minute >= self.bed {
            return Activity::Asleep;
        }
        self.blocks
            .iter()
            .find(|block| block.contains(minute))
            .map_or(Activity::Sedentary, |block| block.activity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worn_day_has_sleep_walks_and_a_charging_break() {
        let day = civil::days_from_civil(2024, 5, 14);
        let plan = (0..100)
            .map(|seed| DayPlan::new(seed, day))
            .find(DayPlan::worn)
            .expect("most days are worn");
        let profile: Vec<Activity> = (0..1440).map(|minute| plan.activity(minute)).collect();
        assert_eq!(profile[3 * 60], Activity::Asleep);
        assert_eq!(profile[23 * 60 + 45], Activity::Asleep);
        assert!(profile.contains(&Activity::Walk));
        assert!(profile.contains(&Activity::Sedentary));
        let off = profile.iter().filter(|a| **a == Activity::OffWrist).count();
        assert!((30..=60).contains(&off), "charging took {off} minutes");
    }

    #[test]
    fn about_three_percent_of_days_and_the_gap_are_not_worn() {
        let first = civil::days_from_civil(2016, 3, 1);
        let not_worn = (first..first + 3000)
            .filter(|day| !(GAP.0..=GAP.1).contains(day))
            .filter(|day| !DayPlan::new(42, *day).worn())
            .count();
        assert!(
            (45..=135).contains(&not_worn),
            "{not_worn} of 3000 days not worn"
        );
        assert!((GAP.0..=GAP.1).all(|day| !DayPlan::new(42, day).worn()));
        assert_eq!(GAP.1 - GAP.0 + 1, 21);
    }
}
