//! The data-type catalogue: one row per type the Google Health API serves for a Fitbit member
//! (reference §2.9, shapes per the discovery document), and everything the importer needs to
//! know about it — the path id, the JSON union key, how its points are timed and filtered, the
//! methods Google supports for it, its read scope, its page and rollup limits, which tier of the
//! import reads it and how, and how far back each sync re-reads it. The importer's planner,
//! filters, files and request budget are all driven from this table.
//!
//! Left out on purpose: `basal-energy-burned` (declared in the schema, but Google returns no
//! data for Fitbit accounts), `food` and `food-measurement-unit` (the food database, not the
//! member's data), and the 2026-08 types `menstrual-period`, `ovulation-test`, `moods` and
//! `symptoms` (scopes this service does not request).

use jiff::civil::DateTime;

use crate::Scope;

/// How a type's points are placed in time, which decides its filter members (§2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// An `interval` (start and end, each with its UTC offset), usually one minute.
    Interval,
    /// A `sampleTime` (one instant with its UTC offset).
    Sample,
    /// A civil `date` (the `daily-*` types).
    Daily,
    /// A session with an `interval`, filterable by civil start time only (exercise, logs,
    /// irregular rhythm notifications).
    Session,
    /// Sleep: filterable by (civil) end time only, and that filter is rejected on some
    /// accounts.
    Sleep,
    /// ECG recordings: a physical lower bound only (`>=`).
    Electrocardiogram,
}

/// The read methods Google supports for a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Methods {
    pub list: bool,
    pub daily_roll_up: bool,
    pub roll_up: bool,
}

/// Where the standard (daily-level, every member) file gets a type from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standard {
    /// One `dailyRollUp` value per civil day.
    DailyRollUp,
    /// Every point from `list` (daily types, sessions, body measurements, sparse samples).
    List,
    /// Only in the intraday tier.
    No,
}

/// Where the intraday (opt-in, high-frequency) files get a type from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intraday {
    /// The raw points from `list`, or `rollUp` windows when the member chose a resolution and
    /// the type supports it.
    List,
    /// Not a high-frequency type.
    No,
}

#[derive(Debug)]
pub struct DataType {
    /// Kebab-case id, as in the URL path (`daily-resting-heart-rate`).
    pub id: &'static str,
    /// lowerCamelCase member of `DataPoint` and rollup values (`dailyRestingHeartRate`).
    pub union_key: &'static str,
    pub record: Record,
    pub scope: Scope,
    pub methods: Methods,
    pub standard: Standard,
    pub intraday: Intraday,
    /// int64 members of the value (proto3 JSON strings) that the files store as numbers.
    pub integer_fields: &'static [&'static str],
}

/// Points per `list` page: Google's maximum (larger requests are silently truncated).
pub const LIST_PAGE_MAX: u32 = 10_000;
/// Sleep and exercise pages hold at most 25 sessions.
pub const SESSION_PAGE_MAX: u32 = 25;

impl DataType {
    /// The largest `list` page Google returns for this type.
    pub fn list_page_max(&self) -> u32 {
        if matches!(self.id, "sleep" | "exercise") {
            SESSION_PAGE_MAX
        } else {
            LIST_PAGE_MAX
        }
    }

    /// The longest range of one `rollUp` or `dailyRollUp` request, in days (§2.6), which is
    /// also the number of daily windows one page holds.
    pub fn roll_up_max_days(&self) -> u32 {
        if matches!(
            self.id,
            "heart-rate" | "total-calories" | "active-minutes" | "calories-in-heart-rate-zone"
        ) {
            14
        } else {
            90
        }
    }

    /// Days before the newest synced day that every sync reads again, because Google rewrites
    /// them: sleep is reprocessed, weight and exercise get edited (30 days); everything else
    /// only fills in as the devices sync (3 days).
    pub fn trailing_days(&self) -> u32 {
        if matches!(self.id, "sleep" | "exercise" | "weight" | "body-fat") {
            30
        } else {
            3
        }
    }

    /// The snake_case filter prefix of the official guide (`daily_resting_heart_rate`).
    pub fn snake_case(&self) -> String {
        self.id.replace('-', "_")
    }

    /// A `list` filter selecting the points in the civil range `[start, end)`, spelled with
    /// `prefix` (the snake_case id, or for daily types possibly the union key, §2.4). `None`
    /// when the type cannot be filtered that way (an ECG has no upper bound, so the caller
    /// stops the newest-first walk itself).
    pub fn civil_filter(&self, prefix: &str, start: DateTime, end: DateTime) -> Option<String> {
        let range = |member: &str, format: &dyn Fn(DateTime) -> String| {
            format!(
                "{prefix}.{member} >= \"{}\" AND {prefix}.{member} < \"{}\"",
                format(start),
                format(end)
            )
        };
        let civil = |at: DateTime| at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        let date = |at: DateTime| at.date().to_string();
        match self.record {
            Record::Interval | Record::Session => Some(range("interval.civil_start_time", &civil)),
            Record::Sample => Some(range("sample_time.civil_time", &civil)),
            Record::Daily => Some(range("date", &date)),
            Record::Sleep => Some(range("interval.civil_end_time", &civil)),
            Record::Electrocardiogram => None,
        }
    }

    /// Whether the type is read through `list` in either tier.
    pub fn listed(&self) -> bool {
        self.standard == Standard::List || self.intraday == Intraday::List
    }
}

const fn methods(list: bool, daily_roll_up: bool, roll_up: bool) -> Methods {
    Methods {
        list,
        daily_roll_up,
        roll_up,
    }
}

const LIST: Methods = methods(true, false, false);
const ALL: Methods = methods(true, true, true);
const ROLLUPS: Methods = methods(false, true, true);

use Intraday::{List as IntradayList, No as NotIntraday};
use Record::{Daily, Electrocardiogram, Interval, Sample, Session, Sleep};
use Scope::{
    ActivityAndFitness as AF, Ecg, HealthMetricsAndMeasurements as HM, Irn, Nutrition as NU,
    Sleep as SL,
};
use Standard::{DailyRollUp, List, No};

const fn row(
    id: &'static str,
    union_key: &'static str,
    record: Record,
    scope: Scope,
    methods: Methods,
    (standard, intraday): (Standard, Intraday),
    integer_fields: &'static [&'static str],
) -> DataType {
    DataType {
        id,
        union_key,
        record,
        scope,
        methods,
        standard,
        intraday,
        integer_fields,
    }
}

/// Every type the importer reads, in the order the files list them.
#[rustfmt::skip]
pub static CATALOGUE: [DataType; 37] = [
    row("steps", "steps", Interval, AF, ALL, (DailyRollUp, IntradayList), &["count"]),
    row("distance", "distance", Interval, AF, ALL, (DailyRollUp, IntradayList), &["millimeters"]),
    // `list` on floors is rejected live (§2.9): rollups only.
    row("floors", "floors", Interval, AF, ROLLUPS, (DailyRollUp, NotIntraday), &["count"]),
    row("altitude", "altitude", Interval, AF, ALL, (DailyRollUp, IntradayList), &["gainMillimeters"]),
    row("active-energy-burned", "activeEnergyBurned", Interval, AF, ALL, (DailyRollUp, IntradayList), &[]),
    row("total-calories", "totalCalories", Interval, AF, ROLLUPS, (DailyRollUp, NotIntraday), &[]),
    row("active-minutes", "activeMinutes", Interval, AF, ALL, (DailyRollUp, IntradayList), &[]),
    row("active-zone-minutes", "activeZoneMinutes", Interval, AF, ALL, (DailyRollUp, IntradayList), &["activeZoneMinutes"]),
    row("activity-level", "activityLevel", Interval, AF, ALL, (DailyRollUp, IntradayList), &[]),
    row("sedentary-period", "sedentaryPeriod", Interval, AF, ALL, (DailyRollUp, IntradayList), &[]),
    row("time-in-heart-rate-zone", "timeInHeartRateZone", Interval, AF, ALL, (DailyRollUp, IntradayList), &[]),
    row("calories-in-heart-rate-zone", "caloriesInHeartRateZone", Interval, AF, ROLLUPS, (DailyRollUp, NotIntraday), &[]),
    row("swim-lengths-data", "swimLengthsData", Interval, AF, ALL, (DailyRollUp, IntradayList), &["strokeCount"]),
    row("heart-rate", "heartRate", Sample, HM, ALL, (DailyRollUp, IntradayList), &["beatsPerMinute"]),
    row("heart-rate-variability", "heartRateVariability", Sample, HM, LIST, (No, IntradayList), &[]),
    row("oxygen-saturation", "oxygenSaturation", Sample, HM, LIST, (No, IntradayList), &[]),
    row("exercise", "exercise", Session, AF, LIST, (List, NotIntraday), &[]),
    row("vo2-max", "vo2Max", Sample, AF, LIST, (List, NotIntraday), &[]),
    row("run-vo2-max", "runVo2Max", Sample, AF, LIST, (List, NotIntraday), &[]),
    row("daily-vo2-max", "dailyVo2Max", Daily, AF, LIST, (List, NotIntraday), &[]),
    row("daily-resting-heart-rate", "dailyRestingHeartRate", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("daily-heart-rate-zones", "dailyHeartRateZones", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("daily-heart-rate-variability", "dailyHeartRateVariability", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("daily-oxygen-saturation", "dailyOxygenSaturation", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("daily-respiratory-rate", "dailyRespiratoryRate", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("respiratory-rate-sleep-summary", "respiratoryRateSleepSummary", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("daily-sleep-temperature-derivations", "dailySleepTemperatureDerivations", Daily, HM, LIST, (List, NotIntraday), &[]),
    row("core-body-temperature", "coreBodyTemperature", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("weight", "weight", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("body-fat", "bodyFat", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("height", "height", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("blood-glucose", "bloodGlucose", Sample, HM, LIST, (List, NotIntraday), &[]),
    row("sleep", "sleep", Sleep, SL, LIST, (List, NotIntraday), &[]),
    row("hydration-log", "hydrationLog", Session, NU, LIST, (List, NotIntraday), &[]),
    row("nutrition-log", "nutritionLog", Session, NU, LIST, (List, NotIntraday), &[]),
    row("electrocardiogram", "electrocardiogram", Electrocardiogram, Ecg, LIST, (List, NotIntraday), &[]),
    row("irregular-rhythm-notification", "irregularRhythmNotification", Session, Irn, LIST, (List, NotIntraday), &[]),
];

/// The catalogue row of `id`.
pub fn data_type(id: &str) -> Option<&'static DataType> {
    CATALOGUE.iter().find(|data_type| data_type.id == id)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn ids_are_unique_and_union_keys_are_the_camel_case_ids() {
        for (index, data_type) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[index + 1..]
                    .iter()
                    .all(|other| other.id != data_type.id)
            );
            let camel: String = data_type
                .id
                .split('-')
                .enumerate()
                .map(|(n, word)| {
                    if n == 0 {
                        word.to_owned()
                    } else {
                        word[..1].to_uppercase() + &word[1..]
                    }
                })
                .collect();
            assert_eq!(data_type.union_key, camel);
        }
    }

    #[test]
    fn every_read_uses_a_supported_method() {
        for data_type in &CATALOGUE {
            if data_type.listed() {
                assert!(data_type.methods.list, "{} is listed", data_type.id);
            }
            if data_type.standard == Standard::DailyRollUp {
                assert!(data_type.methods.daily_roll_up, "{}", data_type.id);
            }
            assert!(
                data_type.standard != Standard::No || data_type.intraday != Intraday::No,
                "{} is read by no tier",
                data_type.id
            );
        }
    }

    #[test]
    fn filters_use_the_member_of_the_record_type() {
        let start = date(2026, 3, 1).at(0, 0, 0, 0);
        let end = date(2026, 4, 1).at(0, 0, 0, 0);
        let filter =
            |id: &str, prefix: &str| data_type(id).unwrap().civil_filter(prefix, start, end);
        assert_eq!(
            filter("steps", "steps").unwrap(),
            r#"steps.interval.civil_start_time >= "2026-03-01T00:00:00" AND steps.interval.civil_start_time < "2026-04-01T00:00:00""#
        );
        assert_eq!(
            filter("heart-rate", "heart_rate").unwrap(),
            r#"heart_rate.sample_time.civil_time >= "2026-03-01T00:00:00" AND heart_rate.sample_time.civil_time < "2026-04-01T00:00:00""#
        );
        assert_eq!(
            filter("daily-resting-heart-rate", "dailyRestingHeartRate").unwrap(),
            r#"dailyRestingHeartRate.date >= "2026-03-01" AND dailyRestingHeartRate.date < "2026-04-01""#
        );
        assert!(
            filter("sleep", "sleep")
                .unwrap()
                .contains("sleep.interval.civil_end_time")
        );
        assert!(
            filter("exercise", "exercise")
                .unwrap()
                .contains("civil_start_time")
        );
        assert_eq!(filter("electrocardiogram", "electrocardiogram"), None);
    }

    #[test]
    fn limits() {
        assert_eq!(data_type("sleep").unwrap().list_page_max(), 25);
        assert_eq!(data_type("heart-rate").unwrap().list_page_max(), 10_000);
        assert_eq!(data_type("heart-rate").unwrap().roll_up_max_days(), 14);
        assert_eq!(data_type("steps").unwrap().roll_up_max_days(), 90);
        assert_eq!(data_type("sleep").unwrap().trailing_days(), 30);
        assert_eq!(data_type("steps").unwrap().trailing_days(), 3);
        assert_eq!(
            data_type("daily-vo2-max").unwrap().snake_case(),
            "daily_vo2_max"
        );
    }
}
