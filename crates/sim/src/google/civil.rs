//! Integer civil-time arithmetic and the proto3 JSON of civil times.
//!
//! The persona has millions of minutes; converting each through a time-zone-aware type would
//! dominate a 10,000-point page. Instead every minute is kept as epoch seconds plus the UTC offset
//! in effect, and "local seconds" (`epoch + offset`, a civil date-time read as if it were UTC)
//! are turned into calendar fields with Howard Hinnant's `days_from_civil` algorithms, which are
//! exact for the proleptic Gregorian calendar.

use jiff::{
    Timestamp,
    civil::{Date, DateTime},
};
use serde::Serialize;

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a calendar date (`const` so fixed dates can be constants).
pub(crate) const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = year as i64 - (month <= 2) as i64;
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The calendar date `days` after 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// Days since 1970-01-01 of a [`Date`].
pub(crate) fn day_number(date: Date) -> i64 {
    days_from_civil(
        i32::from(date.year()),
        date.month() as u32,
        date.day() as u32,
    )
}

/// The [`Date`] of a day number, when jiff can represent it (years -9999..=9999).
pub(crate) fn date_of(day: i64) -> Option<Date> {
    let (year, month, day) = civil_from_days(day);
    Date::new(i16::try_from(year).ok()?, month as i8, day as i8).ok()
}

/// "Local microseconds" of a civil date-time: microseconds since 1970-01-01T00:00:00 of the
/// same wall clock. Fractions of a microsecond are rounded up, which keeps `>=`/`<`
/// comparisons against whole microseconds exact.
pub(crate) fn local_us(datetime: DateTime) -> i64 {
    let days = day_number(datetime.date());
    let seconds = days * SECONDS_PER_DAY
        + i64::from(datetime.hour()) * 3600
        + i64::from(datetime.minute()) * 60
        + i64::from(datetime.second());
    seconds * 1_000_000 + -(-i64::from(datetime.subsec_nanosecond())).div_euclid(1000)
}

/// Epoch microseconds of an instant, fractions of a microsecond rounded up (as [`local_us`]).
pub(crate) fn ceil_us(at: Timestamp) -> i64 {
    at.as_second() * 1_000_000 + -(-i64::from(at.subsec_nanosecond())).div_euclid(1000)
}

/// Epoch milliseconds of an instant, fractions of a millisecond rounded up.
pub(crate) fn ceil_ms(at: Timestamp) -> i64 {
    at.as_second() * 1000 + nanos_to_ms_ceil(at.subsec_nanosecond())
}

/// Nanoseconds (of either sign) as milliseconds, rounded up.
fn nanos_to_ms_ceil(nanos: i32) -> i64 {
    -(-i64::from(nanos)).div_euclid(1_000_000)
}

/// Calendar fields of a local-seconds value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CivilParts {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl CivilParts {
    pub(crate) fn from_seconds(seconds: i64) -> Self {
        let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
        let of_day = seconds.rem_euclid(SECONDS_PER_DAY) as u32;
        Self {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// proto3 JSON of a `CivilDateTime`.
    pub(crate) fn json(self) -> CivilDateTimeJson {
        CivilDateTimeJson {
            date: DateJson {
                year: self.year,
                month: self.month,
                day: self.day,
            },
            time: TimeJson {
                hours: self.hour,
                minutes: self.minute,
                seconds: self.second,
            },
        }
    }
}

/// RFC 3339 in UTC with `Z`, as Google writes `Timestamp`s (`2026-07-29T23:58:00Z`).
pub(crate) fn rfc3339_utc(epoch_seconds: i64) -> String {
    rfc3339_utc_ms(epoch_seconds * 1000)
}

/// [`rfc3339_utc`] of epoch milliseconds, with a fraction only when there is one
/// (`2026-07-29T23:58:00.250Z`).
pub(crate) fn rfc3339_utc_ms(epoch_ms: i64) -> String {
    let p = CivilParts::from_seconds(epoch_ms.div_euclid(1000));
    let millis = epoch_ms.rem_euclid(1000);
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// A `google.protobuf.Duration` of whole seconds, as used for UTC offsets (`"-14400s"`).
pub(crate) fn duration_json(seconds: i32) -> String {
    format!("{seconds}s")
}

/// `CivilDateTime` in proto3 JSON: zero members are omitted, so midnight is `"time":{}`.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct CivilDateTimeJson {
    date: DateJson,
    time: TimeJson,
}

/// `google.type.Date`.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct DateJson {
    year: i32,
    month: u32,
    day: u32,
}

impl DateJson {
    pub(crate) fn of(date: Date) -> Self {
        Self {
            year: i32::from(date.year()),
            month: date.month() as u32,
            day: date.day() as u32,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize)]
struct TimeJson {
    #[serde(skip_serializing_if = "is_zero")]
    hours: u32,
    #[serde(skip_serializing_if = "is_zero")]
    minutes: u32,
    #[serde(skip_serializing_if = "is_zero")]
    seconds: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn day_numbers_round_trip_and_match_jiff() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2016, 2, 29),
            (2016, 3, 1),
            (2026, 11, 21),
            (1969, 12, 31),
            (2100, 3, 1),
        ] {
            let days = days_from_civil(y, m, d);
            assert_eq!(civil_from_days(days), (y, m, d));
            let jiff_days = date(y as i16, m as i8, d as i8)
                .since(date(1970, 1, 1))
                .unwrap()
                .get_days();
            assert_eq!(days, i64::from(jiff_days));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn timestamps_and_civil_json_are_proto3() {
        let seconds = 1_785_369_480; // 2026-07-29T23:58:00Z
        assert_eq!(rfc3339_utc(seconds), "2026-07-29T23:58:00Z");
        assert_eq!(
            rfc3339_utc_ms(seconds * 1000 + 250),
            "2026-07-29T23:58:00.250Z"
        );
        let json = serde_json::to_value(CivilParts::from_seconds(seconds - 14_400).json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"date": {"year": 2026, "month": 7, "day": 29}, "time": {"hours": 19, "minutes": 58}})
        );
        let midnight = serde_json::to_value(CivilParts::from_seconds(0).json()).unwrap();
        assert_eq!(midnight["time"], serde_json::json!({}));
        assert_eq!(duration_json(-14_400), "-14400s");
    }

    #[test]
    fn fractions_are_rounded_up() {
        let at = date(2026, 1, 1).at(0, 0, 0, 0);
        let midnight_us = days_from_civil(2026, 1, 1) * SECONDS_PER_DAY * 1_000_000;
        assert_eq!(local_us(at), midnight_us);
        assert_eq!(local_us(date(2026, 1, 1).at(0, 0, 0, 1)), midnight_us + 1);
        assert_eq!(
            local_us(date(2026, 1, 1).at(0, 0, 0, 2_000_000)),
            midnight_us + 2000
        );
        let instant: Timestamp = "2026-01-01T00:00:00.0015Z".parse().unwrap();
        assert_eq!(ceil_ms(instant), midnight_us / 1000 + 2);
        assert_eq!(ceil_us(instant), midnight_us + 1500);
        let micro: Timestamp = "2026-01-01T00:00:00.390135Z".parse().unwrap();
        assert_eq!(ceil_us(micro), midnight_us + 390_135);
        let before: Timestamp = "1969-12-31T23:59:59.9995Z".parse().unwrap();
        assert_eq!(ceil_ms(before), 0);
        assert_eq!(ceil_us(before), -500);
    }
}
