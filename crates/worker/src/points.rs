//! Where a point from the API sits in time — the instants and offsets a series stores, and the
//! civil time that decides which window, month or year it belongs to — and its value read as
//! leaves, straight from the JSON text of a `list` page.

use std::{borrow::Cow, fmt};

use google_health::catalogue::{DataType, Record};
use jiff::civil::Date;
use serde::{
    Deserialize,
    de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor},
};
use serde_json::{Value, value::RawValue};

use crate::series::{Instant, Key, Leaves, PointTime, Shape, parse_instant, parse_offset};

/// A raw `DataPoint` placed in time; its value's leaves are in the reader that read it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point<'a> {
    pub time: PointTime,
    /// The civil instant (local epoch ms) that places it: the start, or for sleep the end,
    /// which is what Google filters sleep on.
    pub civil_ms: i64,
    /// The `dataSource` object, as JSON text.
    pub data_source: Option<&'a str>,
    /// A session Google sent without its end: in progress (a night's sleep not over yet). It
    /// is placed by its start until its finished version replaces it.
    pub in_progress: bool,
}

/// Reads the raw points of one type, reusing its buffer from point to point.
pub(crate) struct PointReader {
    data_type: &'static DataType,
    pub leaves: Leaves,
}

impl PointReader {
    pub(crate) fn new(data_type: &'static DataType) -> Self {
        Self {
            data_type,
            leaves: Leaves::default(),
        }
    }

    pub(crate) fn data_type(&self) -> &'static DataType {
        self.data_type
    }

    /// Reads one point's JSON text; its value's leaves replace the previous point's.
    pub(crate) fn read<'a>(&mut self, text: &'a str) -> Result<Point<'a>, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        self.read_from(&mut deserializer)
            .and_then(|point| deserializer.end().map(|()| point))
            .map_err(|error| error.to_string())
    }

    /// Reads one point from a page as it is parsed (see [`google_health::PointSink`]).
    pub(crate) fn read_from<'de, D: Deserializer<'de>>(
        &mut self,
        deserializer: D,
    ) -> Result<Point<'de>, D::Error> {
        let (times, data_source) = PointSeed {
            union_key: self.data_type.union_key,
            leaves: &mut self.leaves,
        }
        .deserialize(deserializer)?;
        let times = times.ok_or_else(|| {
            de::Error::custom(format!(
                "a point has no {:?} object",
                self.data_type.union_key
            ))
        })?;
        let in_progress = times.in_progress(self.data_type);
        let (time, civil_ms) = times.place(self.data_type).map_err(de::Error::custom)?;
        Ok(Point {
            time,
            civil_ms,
            data_source,
            in_progress,
        })
    }
}

/// Where a point kept whole (a record) sits: its time and its civil placing. A record kept with
/// a note because the rest of its time could not be read is placed by its start.
pub(crate) fn place(data_type: &DataType, point: &Value) -> Result<(PointTime, i64), String> {
    let value = point
        .get(data_type.union_key)
        .filter(|value| value.is_object())
        .ok_or_else(|| format!("a point has no {:?} object", data_type.union_key))?;
    // Read from text, as a page is: the civil times are borrowed from it.
    let text = value.to_string();
    serde_json::from_str::<TimeMembers>(&text)
        .map_err(|error| format!("a point's time is malformed: {error}"))
        .and_then(|times| times.place(data_type))
        .or_else(|error| place_by_start(data_type, value).ok_or(error))
}

/// The start of a value object whose other time members cannot be read, and its civil placing
/// by that start.
fn place_by_start(data_type: &DataType, value: &Value) -> Option<(PointTime, i64)> {
    let text = |object: &str, member: &str| value.get(object)?.get(member)?.as_str();
    let (start, offset) = match data_type.record {
        Record::Daily => return None,
        Record::Sample => (
            text("sampleTime", "physicalTime")?,
            text("sampleTime", "utcOffset"),
        ),
        _ => (
            text("interval", "startTime")?,
            text("interval", "startUtcOffset"),
        ),
    };
    let start = parse_instant(start).ok()?;
    let offset = offset.map(parse_offset).transpose().ok()?;
    let time = PointTime {
        start,
        end: start,
        start_offset_s: offset,
        end_offset_s: offset,
    };
    Some((time, time.local_start_ms()))
}

/// The series shape of a data type's raw points.
pub(crate) fn shape(data_type: &DataType) -> Shape {
    match data_type.record {
        Record::Sample => Shape::Sample,
        Record::Daily => Shape::Date,
        _ => Shape::Interval,
    }
}

/// A civil day, as a daily value's time.
pub(crate) fn date_time(date: Date) -> PointTime {
    let start = Instant::from_date(date);
    PointTime {
        start,
        end: start,
        start_offset_s: Some(0),
        end_offset_s: Some(0),
    }
}

/// The members of a value object that place it in time.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeMembers<'a> {
    #[serde(default, borrow)]
    interval: Option<WireInterval<'a>>,
    #[serde(default, borrow)]
    sample_time: Option<WireSample<'a>>,
    #[serde(default)]
    date: Option<WireDate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInterval<'a> {
    #[serde(borrow)]
    start_time: Cow<'a, str>,
    /// Absent on a session in progress.
    #[serde(default, borrow)]
    end_time: Option<Cow<'a, str>>,
    /// Old ECG recordings have no offsets (reference §2.10), and some days of real accounts
    /// lack them on every point: the civil times then give them, and without those absent
    /// stays absent.
    #[serde(default, borrow)]
    start_utc_offset: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    end_utc_offset: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    civil_start_time: Option<&'a RawValue>,
    #[serde(default, borrow)]
    civil_end_time: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSample<'a> {
    #[serde(borrow)]
    physical_time: Cow<'a, str>,
    #[serde(default, borrow)]
    utc_offset: Option<Cow<'a, str>>,
    /// Kept as text, and read only when the offset is absent: tens of millions of points carry
    /// one, and almost all have their offset.
    #[serde(default, borrow)]
    civil_time: Option<&'a RawValue>,
}

/// A `google.type.Date`; proto3 omits zero members.
#[derive(Debug, Deserialize)]
struct WireDate {
    #[serde(default)]
    year: i16,
    #[serde(default)]
    month: i8,
    #[serde(default)]
    day: i8,
}

/// A read-only `civilTime`: the wall clock Google derived from the instant and its offset.
#[derive(Debug, Deserialize)]
struct WireCivilTime {
    date: WireDate,
    #[serde(default)]
    time: WireTimeOfDay,
}

/// A `google.type.TimeOfDay`; proto3 omits zero members (midnight is `{}`).
#[derive(Debug, Default, Deserialize)]
struct WireTimeOfDay {
    #[serde(default)]
    hours: i64,
    #[serde(default)]
    minutes: i64,
    #[serde(default)]
    seconds: i64,
    #[serde(default)]
    nanos: i64,
}

/// Offsets Google can hold: at most 18 hours either side of UTC.
const MAX_OFFSET_S: i64 = 18 * 3600;

impl WireCivilTime {
    /// The UTC offset this civil time shows for the instant `physical`, in whole seconds.
    fn offset_at(&self, physical: Instant) -> Result<i32, String> {
        let date = self.date.to_date()?;
        let WireTimeOfDay {
            hours,
            minutes,
            seconds,
            nanos,
        } = self.time;
        // `google.type.TimeOfDay`'s ranges; anything else would overflow the sum below.
        if !((0..=24).contains(&hours)
            && (0..60).contains(&minutes)
            && (0..=60).contains(&seconds)
            && (0..1_000_000_000).contains(&nanos))
        {
            return Err(format!(
                "a civil time of day {hours}:{minutes}:{seconds}.{nanos} is out of range"
            ));
        }
        let local_ms = Instant::from_date(date).ms
            + ((hours * 60 + minutes) * 60 + seconds) * 1000
            + nanos.div_euclid(1_000_000);
        let offset_s = (local_ms - physical.ms) as f64 / 1000.0;
        let rounded = offset_s.round() as i64;
        if rounded.abs() > MAX_OFFSET_S {
            return Err(format!(
                "a civil time {offset_s} s from its instant is not a UTC offset"
            ));
        }
        i32::try_from(rounded).map_err(|error| error.to_string())
    }
}

/// The sent offset, or the one the civil time shows when Google left the offset out.
fn offset_or_civil(
    text: Option<&str>,
    civil: Option<&RawValue>,
    physical: Instant,
) -> Result<Option<i32>, String> {
    match (text, civil) {
        (Some(text), _) => parse_offset(text).map(Some),
        (None, Some(civil)) => serde_json::from_str::<WireCivilTime>(civil.get())
            .map_err(|error| format!("a civil time is malformed: {error}"))?
            .offset_at(physical)
            .map(Some),
        (None, None) => Ok(None),
    }
}

impl WireDate {
    fn to_date(&self) -> Result<Date, String> {
        Date::new(self.year, self.month, self.day).map_err(|error| format!("invalid date: {error}"))
    }
}

impl TimeMembers<'_> {
    fn place(&self, data_type: &DataType) -> Result<(PointTime, i64), String> {
        let time = match data_type.record {
            Record::Sample => {
                let sample = self
                    .sample_time
                    .as_ref()
                    .ok_or("a point has no sampleTime")?;
                let start = parse_instant(&sample.physical_time)?;
                let offset =
                    offset_or_civil(sample.utc_offset.as_deref(), sample.civil_time, start)?;
                PointTime {
                    start,
                    end: start,
                    start_offset_s: offset,
                    end_offset_s: offset,
                }
            }
            Record::Daily => {
                let date = self.date.as_ref().ok_or("a point has no date")?;
                date_time(date.to_date()?)
            }
            _ => {
                let interval = self.interval.as_ref().ok_or("a point has no interval")?;
                let start = parse_instant(&interval.start_time)?;
                let start_offset_s = offset_or_civil(
                    interval.start_utc_offset.as_deref(),
                    interval.civil_start_time,
                    start,
                )?;
                match &interval.end_time {
                    Some(end) => {
                        let end = parse_instant(end)?;
                        PointTime {
                            start,
                            end,
                            start_offset_s,
                            end_offset_s: offset_or_civil(
                                interval.end_utc_offset.as_deref(),
                                interval.civil_end_time,
                                end,
                            )?,
                        }
                    }
                    None if self.in_progress(data_type) => PointTime {
                        start,
                        end: start,
                        start_offset_s,
                        end_offset_s: start_offset_s,
                    },
                    None => return Err("a point's interval has no endTime".to_owned()),
                }
            }
        };
        let civil_ms = if data_type.record == Record::Sleep && !self.in_progress(data_type) {
            time.end.ms + i64::from(time.end_offset_s.unwrap_or(0)) * 1000
        } else {
            time.local_start_ms()
        };
        Ok((time, civil_ms))
    }
}

impl TimeMembers<'_> {
    /// A session whose interval has no end yet.
    fn in_progress(&self, data_type: &DataType) -> bool {
        matches!(data_type.record, Record::Sleep | Record::Session)
            && self
                .interval
                .as_ref()
                .is_some_and(|interval| interval.end_time.is_none())
    }
}

/// A `DataPoint` object: its data source kept as text, its value's time members parsed and
/// its other members read as leaves; `name` and anything else ignored.
struct PointSeed<'b> {
    union_key: &'static str,
    leaves: &'b mut Leaves,
}

type PointHead<'de> = (Option<TimeMembers<'de>>, Option<&'de str>);

impl<'de> DeserializeSeed<'de> for PointSeed<'_> {
    type Value = PointHead<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PointSeed<'_> {
    type Value = PointHead<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DataPoint object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut times, mut data_source) = (None, None);
        while let Some(Key(key)) = map.next_key()? {
            if key == "dataSource" {
                data_source = Some(map.next_value::<&'de RawValue>()?.get());
            } else if key == self.union_key {
                times = Some(map.next_value_seed(ValueSeed {
                    leaves: &mut *self.leaves,
                })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((times, data_source))
    }
}

/// The value object: time members parsed, the rest read as leaves.
struct ValueSeed<'b> {
    leaves: &'b mut Leaves,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = TimeMembers<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = TimeMembers<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.leaves.clear();
        let mut times = TimeMembers::default();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "interval" => times.interval = Some(map.next_value()?),
                "sampleTime" => times.sample_time = Some(map.next_value()?),
                "date" => times.date = Some(map.next_value()?),
                _ => map.next_value_seed(self.leaves.member(&key))?,
            }
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests {
    use google_health::catalogue::data_type;

    use super::*;

    #[test]
    fn a_point_is_placed_and_read_as_leaves() {
        let heart_rate = data_type("heart-rate").unwrap();
        let mut reader = PointReader::new(heart_rate);
        let text = r#"{"name": "n", "dataSource": {"platform": "FITBIT"},
            "heartRate": {"sampleTime": {"physicalTime": "2026-03-08T07:00:05Z",
            "utcOffset": "-14400s"}, "beatsPerMinute": "64"}}"#;
        let point = reader.read(text).unwrap();
        assert_eq!(point.data_source, Some(r#"{"platform": "FITBIT"}"#));
        assert_eq!(point.time.start_offset_s, Some(-14400));
        assert_eq!(point.civil_ms, point.time.start.ms - 14_400_000);
        let leaves: Vec<(&str, &str)> = reader
            .leaves
            .iter()
            .map(|(path, _, text)| (path, text))
            .collect();
        assert_eq!(leaves, [("beatsPerMinute", "64")]);
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            place(heart_rate, &value).unwrap(),
            (point.time, point.civil_ms)
        );
    }

    #[test]
    fn without_its_offset_a_point_takes_the_one_its_civil_time_shows() {
        let heart_rate = data_type("heart-rate").unwrap();
        let mut reader = PointReader::new(heart_rate);
        let sample = |civil: &str| {
            format!(
                r#"{{"heartRate": {{"sampleTime": {{"physicalTime": "2026-11-30T08:00:00.614Z"{civil}}},
                "beatsPerMinute": "61"}}}}"#
            )
        };
        let civil = r#", "civilTime": {"date": {"year": 2026, "month": 11, "day": 30},
            "time": {"nanos": 614000000}}"#;
        let text = sample(civil);
        let point = reader.read(&text).unwrap();
        assert_eq!(point.time.start_offset_s, Some(-28_800));
        assert_eq!(point.civil_ms, point.time.start.ms - 28_800_000);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(place(heart_rate, &value).unwrap().1, point.civil_ms);
        // Neither offset nor civil time (old ECG recordings): absent stays absent.
        assert_eq!(reader.read(&sample("")).unwrap().time.start_offset_s, None);
        let far = r#", "civilTime": {"date": {"year": 2026, "month": 11, "day": 29}}"#;
        let error = reader.read(&sample(far)).unwrap_err();
        assert!(error.contains("not a UTC offset"), "{error}");
        let overflowing = r#", "civilTime": {"date": {"year": 2026, "month": 11, "day": 30},
            "time": {"hours": 9223372036854775807}}"#;
        let error = reader.read(&sample(overflowing)).unwrap_err();
        assert!(error.contains("out of range"), "{error}");

        let exercise = data_type("exercise").unwrap();
        let session = r#"{"exercise": {"interval": {"startTime": "2026-11-30T08:00:00Z",
            "endTime": "2026-11-30T09:00:00Z",
            "civilStartTime": {"date": {"year": 2026, "month": 11, "day": 30}, "time": {"hours": 9}},
            "civilEndTime": {"date": {"year": 2026, "month": 11, "day": 30}, "time": {"hours": 10}}}}}"#;
        let point = PointReader::new(exercise).read(session).unwrap();
        assert_eq!(
            (point.time.start_offset_s, point.time.end_offset_s),
            (Some(3600), Some(3600))
        );
    }

    #[test]
    fn a_session_without_its_end_is_in_progress_and_placed_by_its_start() {
        let sleep = data_type("sleep").unwrap();
        let mut reader = PointReader::new(sleep);
        let text = r#"{"name": "s1", "sleep": {"interval": {"startTime": "2026-12-02T22:30:00.123456Z",
            "startUtcOffset": "3600s"}, "type": "STAGES"}}"#;
        let point = reader.read(text).unwrap();
        assert!(point.in_progress);
        assert_eq!(point.civil_ms, point.time.start.ms + 3_600_000);
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(place(sleep, &value).unwrap().1, point.civil_ms);
        // A finished session is placed by its end, as Google filters sleep.
        let finished = r#"{"sleep": {"interval": {"startTime": "2026-12-02T22:30:00Z",
            "startUtcOffset": "3600s", "endTime": "2026-12-03T06:30:00Z", "endUtcOffset": "3600s"}}}"#;
        let point = reader.read(finished).unwrap();
        assert!(!point.in_progress);
        assert_eq!(point.civil_ms, point.time.end.ms + 3_600_000);
        // Only sessions may be open: a step interval without its end is malformed.
        let steps = data_type("steps").unwrap();
        let open =
            r#"{"steps": {"interval": {"startTime": "2026-12-02T22:30:00Z"}, "count": "3"}}"#;
        let error = PointReader::new(steps).read(open).unwrap_err();
        assert!(error.contains("no endTime"), "{error}");
    }

    #[test]
    fn a_record_whose_end_cannot_be_read_is_placed_by_its_start() {
        let exercise = data_type("exercise").unwrap();
        let text = r#"{"exercise": {"interval": {"startTime": "2026-03-08T07:00:00Z",
            "startUtcOffset": "-18000s", "endTime": "soon"}}}"#;
        assert!(PointReader::new(exercise).read(text).is_err());
        let value: Value = serde_json::from_str(text).unwrap();
        let (time, civil_ms) = place(exercise, &value).unwrap();
        assert_eq!(civil_ms, time.start.ms - 18_000_000);
        let timeless: Value = serde_json::from_str(r#"{"exercise": {"interval": {}}}"#).unwrap();
        assert!(place(exercise, &timeless).is_err());
    }

    #[test]
    fn malformed_points_are_errors_naming_what_is_wrong() {
        let steps = data_type("steps").unwrap();
        let mut reader = PointReader::new(steps);
        for (text, expected) in [
            (r#"{"heartRate": {}}"#, "no \"steps\" object"),
            (r#"{"steps": {"count": "3"}}"#, "no interval"),
            (
                r#"{"steps": {"interval": {"startTime": 5}}}"#,
                "expected a string",
            ),
            (
                r#"{"steps": {"interval": {"startTime": "x", "endTime": "y"}}}"#,
                "RFC 3339",
            ),
            (r#"{"steps": "#, "EOF"),
        ] {
            let error = reader.read(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
