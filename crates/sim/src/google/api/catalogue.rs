//! The data-type catalogue (reference §2.9, cross-checked with the discovery document's
//! `DataPoint`, `DailyRollupDataPoint` unions): every id Google knows, so an unknown id is
//! rejected the way Google rejects it while a known one that the simulator does not generate
//! answers with no data.
//!
//! Simulating another type is a [`Generator`] in `persona` named by the type's entry here.

use crate::google::{
    persona::{
        body, breathing, cardio, energy, exercise, heart_rate, levels, logs, metrics, movement,
        rhythm, sleep, zones,
    },
    points::Generator,
    scopes::Category,
};

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

#[derive(Debug)]
pub(crate) struct DataType {
    /// Kebab-case id, as in the URL path.
    pub id: &'static str,
    pub record: Record,
    pub scope: Category,
    /// `dataPoints.list` is supported.
    pub list: bool,
    /// `dataPoints:rollUp` and `dataPoints:dailyRollUp` are supported.
    pub roll_ups: bool,
    /// What the persona generates for this type; `None`: a known type without data.
    pub generator: Option<&'static dyn Generator>,
}

const fn entry(
    id: &'static str,
    record: Record,
    scope: Category,
    list: bool,
    roll_ups: bool,
) -> DataType {
    DataType {
        id,
        record,
        scope,
        list,
        roll_ups,
        generator: None,
    }
}

use Category::{
    ActivityAndFitness as AF, Ecg, HealthMetrics as HM, Irn, LoggedSymptoms, Mindfulness,
    Nutrition as NU, ReproductiveHealth, Sleep as SL,
};
use Record::{Daily, Electrocardiogram, Interval, Sample, Session, Sleep, Untimed};

static CATALOGUE: [DataType; 44] = [
    DataType {
        generator: Some(movement::STEPS),
        ..entry("steps", Interval, AF, true, true)
    },
    DataType {
        generator: Some(movement::DISTANCE),
        ..entry("distance", Interval, AF, true, true)
    },
    // `list` on floors is rejected live (reference §2.9).
    DataType {
        generator: Some(movement::FLOORS),
        ..entry("floors", Interval, AF, false, true)
    },
    DataType {
        generator: Some(movement::ALTITUDE),
        ..entry("altitude", Interval, AF, true, true)
    },
    DataType {
        generator: Some(energy::ACTIVE_ENERGY_BURNED),
        ..entry("active-energy-burned", Interval, AF, true, true)
    },
    DataType {
        generator: Some(energy::TOTAL_CALORIES),
        ..entry("total-calories", Interval, AF, false, true)
    },
    // Empty for Fitbit accounts (reference §8.5).
    entry("basal-energy-burned", Interval, AF, true, false),
    DataType {
        generator: Some(levels::ACTIVE_MINUTES),
        ..entry("active-minutes", Interval, AF, true, true)
    },
    DataType {
        generator: Some(zones::ACTIVE_ZONE_MINUTES),
        ..entry("active-zone-minutes", Interval, AF, true, true)
    },
    DataType {
        generator: Some(levels::ACTIVITY_LEVEL),
        ..entry("activity-level", Interval, AF, true, true)
    },
    DataType {
        generator: Some(levels::SEDENTARY_PERIOD),
        ..entry("sedentary-period", Interval, AF, true, true)
    },
    DataType {
        generator: Some(zones::TIME_IN_HEART_RATE_ZONE),
        ..entry("time-in-heart-rate-zone", Interval, AF, true, true)
    },
    DataType {
        generator: Some(zones::CALORIES_IN_HEART_RATE_ZONE),
        ..entry("calories-in-heart-rate-zone", Interval, AF, false, true)
    },
    // The persona does not swim.
    entry("swim-lengths-data", Interval, AF, true, true),
    DataType {
        generator: Some(&exercise::Exercise),
        ..entry("exercise", Session, AF, true, false)
    },
    // Lab or manual VO2 max measurements: the persona never had one.
    entry("vo2-max", Sample, AF, true, false),
    DataType {
        generator: Some(&cardio::RunVo2Max),
        ..entry("run-vo2-max", Sample, AF, true, true)
    },
    DataType {
        generator: Some(&cardio::DailyVo2Max),
        ..entry("daily-vo2-max", Daily, AF, true, false)
    },
    DataType {
        generator: Some(heart_rate::HEART_RATE),
        ..entry("heart-rate", Sample, HM, true, true)
    },
    DataType {
        generator: Some(heart_rate::DAILY_RESTING_HEART_RATE),
        ..entry("daily-resting-heart-rate", Daily, HM, true, false)
    },
    DataType {
        generator: Some(heart_rate::DAILY_HEART_RATE_ZONES),
        ..entry("daily-heart-rate-zones", Daily, HM, true, false)
    },
    DataType {
        generator: Some(&metrics::HeartRateVariability),
        ..entry("heart-rate-variability", Sample, HM, true, false)
    },
    DataType {
        generator: Some(&metrics::DailyHeartRateVariability),
        ..entry("daily-heart-rate-variability", Daily, HM, true, false)
    },
    DataType {
        generator: Some(&metrics::OxygenSaturation),
        ..entry("oxygen-saturation", Sample, HM, true, false)
    },
    DataType {
        generator: Some(&metrics::DailyOxygenSaturation),
        ..entry("daily-oxygen-saturation", Daily, HM, true, false)
    },
    DataType {
        generator: Some(&breathing::DailyRespiratoryRate),
        ..entry("daily-respiratory-rate", Daily, HM, true, false)
    },
    DataType {
        generator: Some(&breathing::RespiratoryRateSleepSummary),
        ..entry("respiratory-rate-sleep-summary", Sample, HM, true, false)
    },
    DataType {
        generator: Some(&breathing::DailySleepTemperatureDerivations),
        ..entry(
            "daily-sleep-temperature-derivations",
            Daily,
            HM,
            true,
            false,
        )
    },
    // Manual or third-party readings the persona never took.
    entry("core-body-temperature", Sample, HM, true, true),
    DataType {
        generator: Some(&body::Weight),
        ..entry("weight", Sample, HM, true, true)
    },
    DataType {
        generator: Some(&body::BodyFat),
        ..entry("body-fat", Sample, HM, true, true)
    },
    DataType {
        generator: Some(&body::Height),
        ..entry("height", Sample, HM, true, false)
    },
    // The persona logs no blood glucose.
    entry("blood-glucose", Sample, HM, true, true),
    DataType {
        generator: Some(&sleep::Sleep),
        ..entry("sleep", Sleep, SL, true, false)
    },
    DataType {
        generator: Some(&logs::HydrationLog),
        ..entry("hydration-log", Session, NU, true, true)
    },
    DataType {
        generator: Some(&logs::NutritionLog),
        ..entry("nutrition-log", Session, NU, true, true)
    },
    entry("food", Untimed, NU, true, false),
    entry("food-measurement-unit", Untimed, NU, true, false),
    DataType {
        generator: Some(&rhythm::Electrocardiogram),
        ..entry("electrocardiogram", Electrocardiogram, Ecg, true, false)
    },
    DataType {
        generator: Some(&rhythm::IrregularRhythmNotification),
        ..entry("irregular-rhythm-notification", Session, Irn, true, false)
    },
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

/// Types with `dataPoints.get` (reference §2.2): the ones whose points have a `name`.
const IDENTIFIABLE: [&str; 8] = [
    "sleep",
    "exercise",
    "weight",
    "body-fat",
    "height",
    "blood-glucose",
    "hydration-log",
    "nutrition-log",
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

    /// Whether `dataPoints.get` is supported.
    pub(crate) fn identifiable(&self) -> bool {
        IDENTIFIABLE.contains(&self.id)
    }

    /// Longest rollUp and dailyRollUp range, in days.
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
        assert!(find("steps").unwrap().generator.is_some());
        assert!(find("sleep").unwrap().identifiable() && !find("steps").unwrap().identifiable());
        assert!(find("not-a-type").is_none());
    }
}
