//! The member's last 30 days in three figures a day (steps, resting heart rate, sleep), which
//! the worker summarises from staging after each sync and the dashboard charts. The web process
//! never reads staging, so this small summary is what it has of the data itself.

use jiff::{ToSpan, civil::Date};
use serde::{Deserialize, Serialize};

/// How many days the dashboard charts, ending with the member's today.
pub const RECENT_DAY_COUNT: usize = 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDays {
    /// One entry per day, oldest first, ending with the member's today when summarised.
    pub days: Vec<DaySummary>,
}

/// One day's figures; `None` where the member's tracker recorded nothing (or the category is
/// not imported).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    pub date: Date,
    pub steps: Option<u64>,
    pub resting_heart_rate: Option<u32>,
    /// Minutes asleep in the sleep sessions that ended on this day (main sleep and naps).
    pub sleep_minutes: Option<u32>,
}

impl RecentDays {
    /// Empty days ending with `through`, for the summariser to fill in.
    pub fn ending(through: Date) -> Self {
        let first = through
            .checked_sub(((RECENT_DAY_COUNT - 1) as i64).days())
            .unwrap_or(through);
        let days = first
            .series(1.day())
            .take_while(|date| *date <= through)
            .map(|date| DaySummary {
                date,
                ..DaySummary::default()
            })
            .collect();
        Self { days }
    }

    pub fn first_day(&self) -> Option<Date> {
        self.days.first().map(|day| day.date)
    }

    pub fn last_day(&self) -> Option<Date> {
        self.days.last().map(|day| day.date)
    }

    /// The entry of `date`, if it lies in the window.
    pub fn day_mut(&mut self, date: Date) -> Option<&mut DaySummary> {
        let first = self.first_day()?;
        let index = usize::try_from((date - first).get_days()).ok()?;
        self.days.get_mut(index).filter(|day| day.date == date)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn the_window_is_thirty_days_ending_with_the_given_day() {
        let mut recent = RecentDays::ending(date(2026, 3, 1));
        assert_eq!(recent.days.len(), RECENT_DAY_COUNT);
        assert_eq!(recent.first_day(), Some(date(2026, 1, 31)));
        assert_eq!(recent.last_day(), Some(date(2026, 3, 1)));
        assert!(recent.day_mut(date(2026, 1, 30)).is_none());
        assert!(recent.day_mut(date(2026, 3, 2)).is_none());
        recent.day_mut(date(2026, 2, 28)).unwrap().steps = Some(7);
        assert_eq!(recent.days[28].steps, Some(7));
    }
}
