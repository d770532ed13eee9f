//! The JSON of high-volume stream points (per-minute activity, heart-rate samples), written
//! straight into a `String`: a ten-year import at 5-second heart rate renders about 63 million
//! points, so no `serde_json::Value` is built per point and numbers bypass `fmt`.

use std::fmt::Write;

use serde_json::Value;

use super::{
    Persona,
    render::{self, Method},
};
use crate::google::{
    civil::{CivilParts, SECONDS_PER_DAY},
    points::PointTime,
};

/// Writes one `DataPoint` of a stream: `{"dataSource":…,"<key>":{<time>,<members>}}`.
#[derive(Debug)]
pub(super) struct StreamJson {
    /// `{"dataSource":…,"<key>":{`, rendered once per day.
    head: String,
    /// Whether times carry their UTC offsets (the `missing_offsets` shape leaves them out).
    offsets: bool,
}

impl StreamJson {
    /// Points of `key` recorded by the tracker worn on civil day `day`, in the day's shapes
    /// (`quirks`: the source, and whether offsets are written).
    pub(super) fn new(persona: &Persona, day: i64, method: Method, key: &str) -> Self {
        let quirks = persona.quirks(day);
        let source = render::tracker_source_shaped(persona, day, method, quirks.source);
        Self {
            head: format!("{{\"dataSource\":{source},{}:{{", Value::from(key)),
            offsets: quirks.offsets,
        }
    }

    /// Points of `key` from the phone syncing through Health Connect.
    pub(super) fn phone(key: &str) -> Self {
        Self {
            head: format!(
                "{{\"dataSource\":{},{}:{{",
                render::phone_source(),
                Value::from(key)
            ),
            offsets: true,
        }
    }

    /// A point of an interval type: `"interval":{…}` then the members `write` adds (each
    /// starting with a comma).
    pub(super) fn interval(&self, time: &PointTime, write: impl FnOnce(&mut String)) -> String {
        let mut out = self.start();
        out.push_str("\"interval\":{\"startTime\":");
        push_timestamp(&mut out, time.start_ms);
        if self.offsets {
            out.push_str(",\"startUtcOffset\":");
            push_offset(&mut out, time.start_offset_s);
        }
        out.push_str(",\"endTime\":");
        push_timestamp(&mut out, time.end_ms);
        if self.offsets {
            out.push_str(",\"endUtcOffset\":");
            push_offset(&mut out, time.end_offset_s);
        }
        out.push_str(",\"civilStartTime\":");
        push_civil(&mut out, time.local_start_ms());
        out.push_str(",\"civilEndTime\":");
        push_civil(&mut out, time.local_end_ms());
        out.push('}');
        self.finish(out, write)
    }

    /// A point of a sample type: `"sampleTime":{…}` then the members.
    pub(super) fn sample(&self, time: &PointTime, write: impl FnOnce(&mut String)) -> String {
        let mut out = self.start();
        out.push_str("\"sampleTime\":{\"physicalTime\":");
        push_timestamp(&mut out, time.start_ms);
        if self.offsets {
            out.push_str(",\"utcOffset\":");
            push_offset(&mut out, time.start_offset_s);
        }
        out.push_str(",\"civilTime\":");
        push_civil(&mut out, time.local_start_ms());
        out.push('}');
        self.finish(out, write)
    }

    /// A point of a daily type: `"date":{…}` of the point's civil day, then the members.
    pub(super) fn daily(&self, time: &PointTime, write: impl FnOnce(&mut String)) -> String {
        let mut out = self.start();
        out.push_str("\"date\":");
        push_date(&mut out, time.civil_day);
        self.finish(out, write)
    }

    fn start(&self) -> String {
        let mut out = String::with_capacity(self.head.len() + 400);
        out.push_str(&self.head);
        out
    }

    fn finish(&self, mut out: String, write: impl FnOnce(&mut String)) -> String {
        write(&mut out);
        out.push_str("}}");
        out
    }
}

/// `,"name":"N"`: a proto3 int64 member, omitted when zero.
pub(super) fn push_int64(out: &mut String, name: &str, value: u64) {
    if value != 0 {
        push_name(out, name);
        out.push('"');
        push_u64(out, value);
        out.push('"');
    }
}

/// `,"name":x`: a proto3 double member, omitted when zero.
pub(super) fn push_double(out: &mut String, name: &str, value: f64) {
    if value != 0.0 {
        push_name(out, name);
        // `Display` is the shortest round-trip spelling and never uses an exponent, so it is
        // valid JSON; integral values come out without a fraction, as Google writes them.
        let _ = write!(out, "{value}");
    }
}

/// `,"name":"VALUE"`: an enum member.
pub(super) fn push_enum(out: &mut String, name: &str, value: &str) {
    push_name(out, name);
    out.push('"');
    out.push_str(value);
    out.push('"');
}

fn push_name(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

fn push_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

fn push_i64(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_u64(out, value.unsigned_abs());
}

fn push_two(out: &mut String, value: u32) {
    out.push(char::from(b'0' + (value / 10 % 10) as u8));
    out.push(char::from(b'0' + (value % 10) as u8));
}

/// A `Timestamp`: RFC 3339 UTC with `Z`, milliseconds only when there are any.
fn push_timestamp(out: &mut String, epoch_ms: i64) {
    let parts = CivilParts::from_seconds(epoch_ms.div_euclid(1000));
    out.push('"');
    push_u64(out, u64::try_from(parts.year).unwrap_or(0));
    out.push('-');
    push_two(out, parts.month);
    out.push('-');
    push_two(out, parts.day);
    out.push('T');
    push_two(out, parts.hour);
    out.push(':');
    push_two(out, parts.minute);
    out.push(':');
    push_two(out, parts.second);
    let millis = epoch_ms.rem_euclid(1000) as u32;
    if millis != 0 {
        out.push('.');
        out.push(char::from(b'0' + (millis / 100) as u8));
        push_two(out, millis % 100);
    }
    out.push_str("Z\"");
}

/// A UTC offset as a `Duration` (`"-14400s"`).
fn push_offset(out: &mut String, seconds: i32) {
    out.push('"');
    push_i64(out, i64::from(seconds));
    out.push_str("s\"");
}

/// A `google.type.Date` of a civil day.
fn push_date(out: &mut String, day: i64) {
    let parts = CivilParts::from_seconds(day * SECONDS_PER_DAY);
    push_date_parts(out, &parts);
}

fn push_date_parts(out: &mut String, parts: &CivilParts) {
    out.push_str("{\"year\":");
    push_i64(out, i64::from(parts.year));
    out.push_str(",\"month\":");
    push_u64(out, u64::from(parts.month));
    out.push_str(",\"day\":");
    push_u64(out, u64::from(parts.day));
    out.push('}');
}

/// A `CivilDateTime` of local milliseconds; zero time members are omitted (midnight is
/// `"time":{}`), as proto3 JSON does.
fn push_civil(out: &mut String, local_ms: i64) {
    let parts = CivilParts::from_seconds(local_ms.div_euclid(1000));
    out.push_str("{\"date\":");
    push_date_parts(out, &parts);
    out.push_str(",\"time\":{");
    let mut first = true;
    let millis = local_ms.rem_euclid(1000) as u64;
    for (name, value) in [
        ("hours", u64::from(parts.hour)),
        ("minutes", u64::from(parts.minute)),
        ("seconds", u64::from(parts.second)),
        ("nanos", millis * 1_000_000),
    ] {
        if value != 0 {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            push_u64(out, value);
        }
    }
    out.push_str("}}");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::google::{civil, persona::test_support::persona_at};

    fn time(start_s: i64, end_s: i64, offset: i32) -> PointTime {
        PointTime {
            start_ms: start_s * 1000,
            start_extra_us: 0,
            end_ms: end_s * 1000,
            start_offset_s: offset,
            end_offset_s: offset,
            civil_day: (start_s + i64::from(offset)).div_euclid(SECONDS_PER_DAY),
        }
    }

    #[test]
    fn intervals_match_the_serde_rendering() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let day = civil::days_from_civil(2026, 7, 29);
        let writer = StreamJson::new(&persona, day, Method::PassivelyMeasured, "steps");
        let start = 1_785_369_480; // 2026-07-29T23:58:00Z
        let point = writer.interval(&time(start, start + 60, -14_400), |out| {
            push_int64(out, "count", 12);
            push_int64(out, "zero", 0);
        });
        let value: Value = serde_json::from_str(&point).unwrap();
        assert_eq!(
            value["steps"],
            json!({
                "interval": {
                    "startTime": "2026-07-29T23:58:00Z", "startUtcOffset": "-14400s",
                    "endTime": "2026-07-29T23:59:00Z", "endUtcOffset": "-14400s",
                    "civilStartTime": serde_json::to_value(CivilParts::from_seconds(start - 14_400).json()).unwrap(),
                    "civilEndTime": {"date": {"year": 2026, "month": 7, "day": 29}, "time": {"hours": 19, "minutes": 59}},
                },
                "count": "12",
            })
        );
        assert_eq!(
            value["dataSource"]["device"]["displayName"],
            persona.core.devices.on(day).display_name
        );
    }

    #[test]
    fn samples_dates_and_numbers() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let writer = StreamJson::new(&persona, 20_000, Method::Derived, "heartRate");
        let mut sample = time(0, 0, 3600);
        sample.start_ms += 5;
        let point = writer.sample(&sample, |out| {
            push_double(out, "avg", 1.5);
            push_enum(out, "kind", "ACTIVE");
        });
        let value: Value = serde_json::from_str(&point).unwrap();
        assert_eq!(
            value["heartRate"],
            json!({
                "sampleTime": {"physicalTime": "1970-01-01T00:00:00.005Z", "utcOffset": "3600s",
                    "civilTime": {"date": {"year": 1970, "month": 1, "day": 1}, "time": {"hours": 1, "nanos": 5_000_000}}},
                "avg": 1.5,
                "kind": "ACTIVE",
            })
        );
        let daily = writer.daily(&time(0, 0, 0), |_| {});
        let value: Value = serde_json::from_str(&daily).unwrap();
        assert_eq!(
            value["heartRate"],
            json!({"date": {"year": 1970, "month": 1, "day": 1}})
        );
        let mut out = String::new();
        push_i64(&mut out, -1_234_567_890_123);
        push_u64(&mut out, 0);
        assert_eq!(out, "-12345678901230");
    }
}
