//! proto3 JSON of Google's civil time types (`google.type.Date`, `google.type.TimeOfDay` and the
//! Health API's `CivilDateTime`), converted to and from [`jiff::civil`] values.
//!
//! proto3 omits zero members, so midnight is `"time":{}` or no `time` at all, and every member
//! is optional on the wire; validity (month 1–12, a real day of that month…) is checked when
//! converting, so a bad value surfaces as a deserialization error of the whole response.

use jiff::civil::{Date, DateTime, Time};
use serde::{Deserialize, Serialize};

/// `google.type.Date`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct WireDate {
    year: i32,
    month: i32,
    day: i32,
}

/// `google.type.TimeOfDay`; zero members are omitted when serialized, as proto3 JSON does.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
struct WireTime {
    #[serde(skip_serializing_if = "is_zero")]
    hours: i32,
    #[serde(skip_serializing_if = "is_zero")]
    minutes: i32,
    #[serde(skip_serializing_if = "is_zero")]
    seconds: i32,
    #[serde(skip_serializing_if = "is_zero")]
    nanos: i32,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

/// `CivilDateTime`: a date with an optional time of day (midnight when absent).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
pub(crate) struct WireCivilDateTime {
    date: WireDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<WireTime>,
}

impl WireDate {
    pub(crate) fn from_date(date: Date) -> Self {
        Self {
            year: date.year().into(),
            month: date.month().into(),
            day: date.day().into(),
        }
    }

    pub(crate) fn to_date(self) -> Result<Date, String> {
        let invalid = || {
            format!(
                "invalid date {{year: {}, month: {}, day: {}}}",
                self.year, self.month, self.day
            )
        };
        let year = i16::try_from(self.year).map_err(|_| invalid())?;
        let month = i8::try_from(self.month).map_err(|_| invalid())?;
        let day = i8::try_from(self.day).map_err(|_| invalid())?;
        Date::new(year, month, day).map_err(|_| invalid())
    }
}

impl WireCivilDateTime {
    /// A whole civil day's start, as the dailyRollUp range wants it (no `time`: midnight).
    pub(crate) fn midnight(date: Date) -> Self {
        Self {
            date: WireDate::from_date(date),
            time: None,
        }
    }

    pub(crate) fn to_datetime(self) -> Result<DateTime, String> {
        let date = self.date.to_date()?;
        let wire = self.time.unwrap_or_default();
        let invalid = || {
            format!(
                "invalid time of day {{hours: {}, minutes: {}, seconds: {}, nanos: {}}}",
                wire.hours, wire.minutes, wire.seconds, wire.nanos
            )
        };
        let hour = i8::try_from(wire.hours).map_err(|_| invalid())?;
        let minute = i8::try_from(wire.minutes).map_err(|_| invalid())?;
        let second = i8::try_from(wire.seconds).map_err(|_| invalid())?;
        let time = Time::new(hour, minute, second, wire.nanos).map_err(|_| invalid())?;
        Ok(date.to_datetime(time))
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn parse(json: &str) -> Result<DateTime, String> {
        serde_json::from_str::<WireCivilDateTime>(json)
            .map_err(|e| e.to_string())?
            .to_datetime()
    }

    #[test]
    fn omitted_members_are_zero() {
        assert_eq!(
            parse(r#"{"date":{"year":2026,"month":9,"day":30},"time":{}}"#),
            Ok(date(2026, 9, 30).at(0, 0, 0, 0))
        );
        assert_eq!(
            parse(r#"{"date":{"year":2026,"month":7,"day":29},"time":{"hours":19,"minutes":58}}"#),
            Ok(date(2026, 7, 29).at(19, 58, 0, 0))
        );
        assert_eq!(
            parse(r#"{"date":{"year":2026,"month":2,"day":1}}"#),
            Ok(date(2026, 2, 1).at(0, 0, 0, 0))
        );
    }

    #[test]
    fn impossible_dates_and_times_are_rejected() {
        assert!(parse(r#"{"date":{"year":2026,"month":2,"day":30}}"#).is_err());
        assert!(parse(r#"{"date":{"year":2026,"month":0,"day":0}}"#).is_err());
        assert!(parse(r#"{"date":{"year":2026,"month":1,"day":1},"time":{"hours":25}}"#).is_err());
        assert!(parse(r#"{"date":{"year":99999,"month":1,"day":1}}"#).is_err());
    }

    #[test]
    fn midnight_serializes_without_time() {
        let json = serde_json::to_string(&WireCivilDateTime::midnight(date(2026, 3, 4))).unwrap();
        assert_eq!(json, r#"{"date":{"year":2026,"month":3,"day":4}}"#);
    }
}
