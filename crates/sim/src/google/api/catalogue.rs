//! The data-type catalogue (reference §2.9, cross-checked with the discovery document's
//! `DataPoint`, `DailyRollupDataPoint` unions): every id Google knows, so an unknown id is
//! rejected the way Google rejects it while a known one that the simulator does not generate
//! yet answers with no data.
//!
//! Simulating another type is one more [`Simulated`] entry here plus a generator in
//! `persona::series`.

use crate::google::{persona::MinuteSeries, persona::Steps, scopes::Category};

/// How a type's points are timed, which decides the filter members it accepts (§2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// `{t}.interval.start_time` / `{t}.interval.civil_start_time`.
    Interval,
    /// `{t}.sample_time.physical_time` / `{t}.sample_time.civil_time`.
    Sample,
    /// `{t}.date` (a date literal only).
    Daily,
    /// Sessions other than sleep and ECG: `{t}.interval.civil_start_time` only.
    Session,
    /// `sleep.interval.end_time` / `sleep.interval.civil_end_time`, and `OR` is allowed.
    Sleep,
    /// `electrocardiogram.interval.start_time`, with `>=` only.
    Electrocardiogram,
    /// food and food-measurement-unit: no time members at all.
    Untimed,
}

/// A type the persona generates.
#[derive(Debug)]
pub(crate) struct Simulated {
    pub series: &'static dyn MinuteSeries,
    /// The value member of a list point (`"count"`), an int64 string.
    pub point_field: &'static str,
    /// The member of its rollup value (`"countSum"`), an int64 string.
    pub rollup_field: &'static str,
}

#[derive(Debug)]
pub(crate) struct DataType {
    /// Kebab-case id, as in the URL path.
    pub id: &'static str,
    pub record: Record,
    pub scope: Category,
    /// `dataPoints.list` is supported.
    pub list: bool,
    /// `dataPoints:dailyRollUp` is supported.
    pub daily_roll_up: bool,
    pub simulated: Option<Simulated>,
}

const fn entry(
    id: &'static str,
    record: Record,
    scope: Category,
    list: bool,
    daily_roll_up: bool,
) -> DataType {
    DataType {
        id,
        record,
        scope,
        list,
        daily_roll_up,
        simulated: None,
    }
}

use Category::{
    ActivityAndFitness as AF, Ecg, HealthMetrics as HM, Irn, LoggedSymptoms, Mindfulness,
    Nutrition as NU, ReproductiveHealth, Sleep as SL,
};
use Record::{Daily, Electrocardiogram, Interval, Sample, Session, Sleep, Untimed};

static CATALOGUE: [DataType; 44] = [
    DataType {
        simulated: Some(Simulated {
            series: &Steps,
            point_field: "count",
            rollup_field: "countSum",
        }),
        ..entry("steps", Interval, AF, true, true)
    },
    entry("distance", Interval, AF, true, true),
    // `list` on floors is rejected live (reference §2.9).
    entry("floors", Interval, AF, false, true),
    entry("altitude", Interval, AF, true, true),
    entry("active-energy-burned", Interval, AF, true, true),
    entry("total-calories", Interval, AF, false, true),
    entry("basal-energy-burned", Interval, AF, true, false),
    entry("active-minutes", Interval, AF, true, true),
    entry("active-zone-minutes", Interval, AF, true, true),
    entry("activity-level", Interval, AF, true, true),
    entry("sedentary-period", Interval, AF, true, true),
    entry("time-in-heart-rate-zone", Interval, AF, true, true),
    entry("calories-in-heart-rate-zone", Interval, AF, false, true),
    entry("swim-lengths-data", Interval, AF, true, true),
    entry("exercise", Session, AF, true, false),
    entry("vo2-max", Sample, AF, true, false),
    entry("run-vo2-max", Sample, AF, true, true),
    entry("daily-vo2-max", Daily, AF, true, false),
    entry("heart-rate", Sample, HM, true, true),
    entry("daily-resting-heart-rate", Daily, HM, true, false),
    entry("daily-heart-rate-zones", Daily, HM, true, false),
    entry("heart-rate-variability", Sample, HM, true, false),
    entry("daily-heart-rate-variability", Daily, HM, true, false),
    entry("oxygen-saturation", Sample, HM, true, false),
    entry("daily-oxygen-saturation", Daily, HM, true, false),
    entry("daily-respiratory-rate", Daily, HM, true, false),
    entry("respiratory-rate-sleep-summary", Sample, HM, true, false),
    entry(
        "daily-sleep-temperature-derivations",
        Daily,
        HM,
        true,
        false,
    ),
    entry("core-body-temperature", Sample, HM, true, true),
    entry("weight", Sample, HM, true, true),
    entry("body-fat", Sample, HM, true, true),
    entry("height", Sample, HM, true, false),
    entry("blood-glucose", Sample, HM, true, true),
    entry("sleep", Sleep, SL, true, false),
    entry("hydration-log", Session, NU, true, true),
    entry("nutrition-log", Session, NU, true, true),
    entry("food", Untimed, NU, true, false),
    entry("food-measurement-unit", Untimed, NU, true, false),
    entry("electrocardiogram", Electrocardiogram, Ecg, true, false),
    entry("irregular-rhythm-notification", Session, Irn, true, false),
    entry(
        "menstrual-period",
        Interval,
        ReproductiveHealth,
        true,
        false,
    ),
    entry("ovulation-test", Sample, ReproductiveHealth, true, false),
    entry("moods", Sample, Mindfulness, true, false),
    entry("symptoms", Sample, LoggedSymptoms, true, false),
];

/// Types whose rollups cover at most 14 days and page 14 windows at a time.
const FOURTEEN_DAY_ROLLUPS: [&str; 4] = [
    "heart-rate",
    "total-calories",
    "active-minutes",
    "calories-in-heart-rate-zone",
];

/// Whether `id` has the shape of a data type id (lower-case kebab), which decides between
/// Google's two "bad parent" reasons.
pub(crate) fn is_well_formed(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

pub(crate) fn find(id: &str) -> Option<&'static DataType> {
    CATALOGUE.iter().find(|data_type| data_type.id == id)
}

impl DataType {
    /// snake_case, the documented filter prefix (`daily_resting_heart_rate`).
    pub(crate) fn snake_name(&self) -> String {
        self.id.replace('-', "_")
    }

    /// lowerCamelCase, the JSON union key (`dailyRestingHeartRate`), which some live
    /// accounts also accept as filter prefix.
    pub(crate) fn union_key(&self) -> String {
        let mut key = String::with_capacity(self.id.len());
        let mut upper = false;
        for c in self.id.chars() {
            if c == '-' {
                upper = true;
            } else if upper {
                key.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                key.push(c);
            }
        }
        key
    }

    /// Longest dailyRollUp range, in days.
    pub(crate) fn roll_up_max_days(&self) -> i64 {
        if FOURTEEN_DAY_ROLLUPS.contains(&self.id) {
            14
        } else {
            90
        }
    }

    /// Default and maximum dailyRollUp page size.
    pub(crate) fn roll_up_page_max(&self) -> u32 {
        if FOURTEEN_DAY_ROLLUPS.contains(&self.id) {
            14
        } else {
            90
        }
    }

    /// (default, maximum) list page size.
    pub(crate) fn list_page_sizes(&self) -> (u32, u32) {
        if matches!(self.id, "sleep" | "exercise") {
            (25, 25)
        } else {
            (1440, 10_000)
        }
    }

    /// Whether `dataSourceFamily` may be set on `list` for this type.
    pub(crate) fn lists_by_data_source_family(&self) -> bool {
        !matches!(self.id, "sleep" | "food" | "food-measurement-unit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        for (index, data_type) in CATALOGUE.iter().enumerate() {
            assert!(is_well_formed(data_type.id), "{}", data_type.id);
            assert!(
                CATALOGUE[index + 1..]
                    .iter()
                    .all(|other| other.id != data_type.id)
            );
        }
        assert!(!is_well_formed("Steps") && !is_well_formed("daily_steps") && !is_well_formed(""));
    }

    #[test]
    fn names_and_limits() {
        let hr = find("daily-resting-heart-rate").unwrap();
        assert_eq!(hr.union_key(), "dailyRestingHeartRate");
        assert_eq!(hr.snake_name(), "daily_resting_heart_rate");
        assert_eq!(find("heart-rate").unwrap().roll_up_max_days(), 14);
        assert_eq!(find("steps").unwrap().roll_up_page_max(), 90);
        assert_eq!(find("sleep").unwrap().list_page_sizes(), (25, 25));
        assert!(find("steps").unwrap().simulated.is_some());
        assert!(find("not-a-type").is_none());
    }
}
