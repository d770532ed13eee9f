//! Where a point from the API sits in time: the instants and offsets a series stores, and the
//! civil time that decides which window, month or year it belongs to.

use google_health::catalogue::{DataType, Record};
use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::series::{Instant, PointTime, Shape, parse_instant, parse_offset};

/// A raw `DataPoint` taken apart: its value object, its data source and its time.
pub struct Parsed<'a> {
    pub value: &'a Map<String, Value>,
    pub data_source: Option<&'a Value>,
    pub time: PointTime,
    /// The civil instant (local epoch ms) that places it: the start, or for sleep the end,
    /// which is what Google filters sleep on.
    pub civil_ms: i64,
}

pub fn parse<'a>(data_type: &DataType, point: &'a Value) -> Result<Parsed<'a>, String> {
    let value = point
        .get(data_type.union_key)
        .and_then(Value::as_object)
        .ok_or_else(|| format!("a point has no {:?} object", data_type.union_key))?;
    let time = match data_type.record {
        Record::Sample => sample_time(value)?,
        Record::Daily => date_time(value.get("date"))?,
        _ => interval_time(value.get("interval"))?,
    };
    let civil_ms = if data_type.record == Record::Sleep {
        time.end.ms + i64::from(time.end_offset_s.unwrap_or(0)) * 1000
    } else {
        time.local_start_ms()
    };
    Ok(Parsed {
        value,
        data_source: point.get("dataSource"),
        time,
        civil_ms,
    })
}

/// The series shape of a data type's raw points.
pub fn shape(data_type: &DataType) -> Shape {
    match data_type.record {
        Record::Sample => Shape::Sample,
        Record::Daily => Shape::Date,
        _ => Shape::Interval,
    }
}

fn interval_time(interval: Option<&Value>) -> Result<PointTime, String> {
    let interval = interval.ok_or("a point has no interval")?;
    let instant = |name: &str| -> Result<Instant, String> {
        parse_instant(
            interval
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the interval has no {name}"))?,
        )
    };
    Ok(PointTime {
        start: instant("startTime")?,
        end: instant("endTime")?,
        start_offset_s: offset(interval.get("startUtcOffset"))?,
        end_offset_s: offset(interval.get("endUtcOffset"))?,
    })
}

fn sample_time(value: &Map<String, Value>) -> Result<PointTime, String> {
    let sample = value.get("sampleTime").ok_or("a point has no sampleTime")?;
    let start = parse_instant(
        sample
            .get("physicalTime")
            .and_then(Value::as_str)
            .ok_or("the sampleTime has no physicalTime")?,
    )?;
    let offset = offset(sample.get("utcOffset"))?;
    Ok(PointTime {
        start,
        end: start,
        start_offset_s: offset,
        end_offset_s: offset,
    })
}

/// Old ECG recordings have no offsets (reference §2.10): absent stays absent.
fn offset(value: Option<&Value>) -> Result<Option<i32>, String> {
    value
        .map(|value| parse_offset(value.as_str().ok_or("a UTC offset is not a string")?))
        .transpose()
}

/// A `google.type.Date` object.
pub fn date_time(date: Option<&Value>) -> Result<PointTime, String> {
    let date = date.ok_or("a point has no date")?;
    let part = |name: &str| date.get(name).and_then(Value::as_i64).unwrap_or(0);
    let date = Date::new(
        i16::try_from(part("year")).map_err(|_| "bad year")?,
        i8::try_from(part("month")).map_err(|_| "bad month")?,
        i8::try_from(part("day")).map_err(|_| "bad day")?,
    )
    .map_err(|error| format!("invalid date: {error}"))?;
    let start = Instant::from_date(date);
    Ok(PointTime {
        start,
        end: start,
        start_offset_s: Some(0),
        end_offset_s: Some(0),
    })
}
