//! Column-wise series: the form high-frequency and daily-rollup data take in staging and in the
//! files. A series holds the points of one data type over one span (a month of intraday data, a
//! year of daily values), ascending by time, as parallel arrays:
//!
//! * time: start instants in epoch milliseconds, delta-encoded (the first absolute, then the
//!   difference to the previous one); durations and UTC offsets run-length encoded as
//!   `[[value, repeat], …]`; dates as `"YYYY-MM-DD"` strings for daily values;
//! * `sources`: each distinct `dataSource` once, and a run-length encoded index per point;
//! * `values`: one array per leaf member of the value object (nested objects flattened with
//!   dots, arrays kept as JSON), `null` where a point lacks the member (proto3 omits zeros).
//!
//! Civil times are not stored: Google derives them from the instant and its UTC offset, and so
//! can a reader. Sub-millisecond digits, which Google's high-frequency types do not use, are
//! kept in a run-length encoded nanosecond column that is left out when all are zero, so
//! nothing is lost either way. Docs: `docs/data-format.md`.

mod columns;
mod encoding;
mod time;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

pub use self::time::{Instant, parse_instant, parse_offset};
use self::{
    columns::Column,
    encoding::{delta_decode, delta_encode, rle_decode, rle_encode},
};

/// How the points of a series are placed in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `interval`: start and end, each with its UTC offset.
    Interval,
    /// `sampleTime`: one instant with its UTC offset.
    Sample,
    /// A `rollUp` window: start and end instants, no offsets, no data source.
    Window,
    /// A `dailyRollUp` civil day: no instants, no data source.
    Date,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Interval => "interval",
            Shape::Sample => "sample",
            Shape::Window => "window",
            Shape::Date => "date",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Shape::Interval, Shape::Sample, Shape::Window, Shape::Date]
            .into_iter()
            .find(|shape| shape.name() == name)
    }
}

/// One point's time, as a series stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointTime {
    pub start: Instant,
    /// Interval and window ends; equal to `start` otherwise.
    pub end: Instant,
    pub start_offset_s: Option<i32>,
    pub end_offset_s: Option<i32>,
}

impl PointTime {
    /// The civil start as local epoch milliseconds (the wall clock read as UTC).
    pub fn local_start_ms(&self) -> i64 {
        self.start.ms + i64::from(self.start_offset_s.unwrap_or(0)) * 1000
    }
}

#[derive(Debug)]
pub struct Series {
    shape: Shape,
    times: Vec<PointTime>,
    sources: Vec<Value>,
    source_index: HashMap<String, u32>,
    source: Vec<Option<u32>>,
    columns: BTreeMap<String, Column>,
}

/// Members of a value object that place it in time rather than measure something.
const TIME_MEMBERS: [&str; 3] = ["interval", "sampleTime", "date"];

impl Series {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            times: Vec::new(),
            sources: Vec::new(),
            source_index: HashMap::new(),
            source: Vec::new(),
            columns: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn times(&self) -> &[PointTime] {
        &self.times
    }

    /// Appends one point: its time, its `dataSource` (if any) and the members of `value`
    /// other than its time members. `integers` names the int64 members (proto3 JSON strings)
    /// to store as numbers; `None` converts every integer string (rollup values, which hold no
    /// text).
    pub fn push(
        &mut self,
        time: PointTime,
        data_source: Option<&Value>,
        value: &Map<String, Value>,
        integers: Option<&[&str]>,
    ) {
        let row = self.times.len();
        self.times.push(time);
        let source = data_source.map(|source| self.intern_source(source));
        self.source.push(source);
        let mut leaves = Vec::new();
        flatten("", value, &mut leaves);
        for (name, leaf) in leaves {
            if name
                .split('.')
                .next()
                .is_some_and(|top| TIME_MEMBERS.contains(&top))
            {
                continue;
            }
            let leaf = match (leaf, integers) {
                (Value::String(text), None) => integer_or_text(text),
                (Value::String(text), Some(names))
                    if names.contains(&name.rsplit('.').next().unwrap_or("")) =>
                {
                    integer_or_text(text)
                }
                (leaf, _) => leaf.clone(),
            };
            self.columns
                .entry(name)
                .or_insert_with(Column::empty)
                .set(row, leaf);
        }
        for column in self.columns.values_mut() {
            column.pad(row + 1);
        }
    }

    /// Removes the points whose civil start falls in `[from_ms, to_ms)` (local epoch ms).
    pub fn remove_civil_range(&mut self, from_ms: i64, to_ms: i64) {
        let keep: Vec<bool> = self
            .times
            .iter()
            .map(|time| !(from_ms..to_ms).contains(&time.local_start_ms()))
            .collect();
        self.select(&keep);
    }

    /// Appends every point of `other` (same shape), then sorts by start and drops exact
    /// duplicates (a point Google repeated across pages).
    pub fn absorb(&mut self, other: Series) {
        for row in 0..other.len() {
            let source = other.source[row].map(|index| &other.sources[index as usize]);
            let values: Map<String, Value> = other
                .columns
                .iter()
                .filter_map(|(name, column)| Some((name.clone(), column.get(row)?)))
                .collect();
            self.push_flat(other.times[row], source, values);
        }
        self.sort_and_dedupe();
    }

    /// Sorts by start instant (stable, so points Google gave in one order keep it) and drops
    /// a point identical to the one before it.
    pub fn sort_and_dedupe(&mut self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&row| (self.times[row].start, self.times[row].end));
        self.permute(&order);
        let keep: Vec<bool> = (0..self.len())
            .map(|row| row == 0 || !self.same_rows(row - 1, row))
            .collect();
        self.select(&keep);
    }

    /// The series as the JSON object the files hold.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("shape".into(), self.shape.name().into());
        out.insert("count".into(), self.len().into());
        let starts: Vec<i64> = self.times.iter().map(|time| time.start.ms).collect();
        let start_ns = self
            .times
            .iter()
            .map(|time| Value::from(time.start.sub_ms_ns));
        match self.shape {
            Shape::Date => {
                let dates = self.times.iter().map(|time| time::date_string(time.start));
                out.insert(
                    "date".into(),
                    Value::Array(dates.map(Value::from).collect()),
                );
            }
            Shape::Sample => {
                out.insert("time_ms".into(), delta_encode(&starts));
                insert_unless_zero(&mut out, "time_sub_ms_ns", start_ns);
                out.insert(
                    "utc_offset_s".into(),
                    self.offsets(|time| time.start_offset_s),
                );
            }
            Shape::Interval | Shape::Window => {
                out.insert("start_ms".into(), delta_encode(&starts));
                insert_unless_zero(&mut out, "start_sub_ms_ns", start_ns);
                let durations = self
                    .times
                    .iter()
                    .map(|time| Value::from(time.end.ms - time.start.ms));
                out.insert("duration_ms".into(), rle_encode(durations));
                let end_ns = self
                    .times
                    .iter()
                    .map(|time| Value::from(time.end.sub_ms_ns));
                insert_unless_zero(&mut out, "end_sub_ms_ns", end_ns);
                if self.shape == Shape::Interval {
                    out.insert(
                        "start_utc_offset_s".into(),
                        self.offsets(|time| time.start_offset_s),
                    );
                    out.insert(
                        "end_utc_offset_s".into(),
                        self.offsets(|time| time.end_offset_s),
                    );
                }
            }
        }
        if matches!(self.shape, Shape::Interval | Shape::Sample) {
            out.insert("sources".into(), Value::Array(self.sources.clone()));
            let source = self.source.iter().map(|index| Value::from(*index));
            out.insert("source".into(), rle_encode(source));
        }
        let values = self
            .columns
            .iter()
            .map(|(name, column)| (name.clone(), column.to_json()))
            .collect();
        out.insert("values".into(), Value::Object(values));
        Value::Object(out)
    }

    /// Reads back what [`Series::to_json`] wrote.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let field = |name: &str| json.get(name).ok_or_else(|| format!("no {name:?}"));
        let shape = field("shape")?
            .as_str()
            .and_then(Shape::parse)
            .ok_or("unknown shape")?;
        let count = field("count")?.as_u64().ok_or("bad count")? as usize;
        let ints = |name: &str| -> Result<Vec<i64>, String> {
            match json.get(name) {
                None => Ok(vec![0; count]),
                Some(runs) => rle_decode(runs, count)?
                    .into_iter()
                    .map(|value| value.as_i64().ok_or_else(|| format!("bad {name}")))
                    .collect(),
            }
        };
        let offsets = |name: &str| -> Result<Vec<Option<i32>>, String> {
            rle_decode(field(name)?, count)?
                .into_iter()
                .map(|value| match value {
                    Value::Null => Ok(None),
                    value => value
                        .as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .map(Some)
                        .ok_or_else(|| format!("bad {name}")),
                })
                .collect()
        };
        let mut times = vec![PointTime::default(); count];
        match shape {
            Shape::Date => {
                let dates = field("date")?.as_array().ok_or("bad date")?;
                for (time, date) in times.iter_mut().zip(dates) {
                    let date = date.as_str().ok_or("bad date")?;
                    time.start = time::date_instant(date)?;
                    time.end = time.start;
                }
            }
            Shape::Sample => {
                let starts = delta_decode(field("time_ms")?, count)?;
                let nanos = ints("time_sub_ms_ns")?;
                let offsets = offsets("utc_offset_s")?;
                for (row, time) in times.iter_mut().enumerate() {
                    time.start = Instant::new(starts[row], nanos[row])?;
                    time.end = time.start;
                    time.start_offset_s = offsets[row];
                    time.end_offset_s = offsets[row];
                }
            }
            Shape::Interval | Shape::Window => {
                let starts = delta_decode(field("start_ms")?, count)?;
                let start_ns = ints("start_sub_ms_ns")?;
                let durations = ints("duration_ms")?;
                let end_ns = ints("end_sub_ms_ns")?;
                let (start_offsets, end_offsets) = if shape == Shape::Interval {
                    (offsets("start_utc_offset_s")?, offsets("end_utc_offset_s")?)
                } else {
                    (vec![None; count], vec![None; count])
                };
                for (row, time) in times.iter_mut().enumerate() {
                    time.start = Instant::new(starts[row], start_ns[row])?;
                    time.end = Instant::new(starts[row] + durations[row], end_ns[row])?;
                    time.start_offset_s = start_offsets[row];
                    time.end_offset_s = end_offsets[row];
                }
            }
        }
        let mut series = Series::new(shape);
        let sources = json.get("sources").and_then(Value::as_array);
        let source = match json.get("source") {
            Some(runs) => rle_decode(runs, count)?,
            None => vec![Value::Null; count],
        };
        let values = field("values")?.as_object().ok_or("bad values")?;
        let columns: Vec<(&String, &Vec<Value>)> = values
            .iter()
            .map(|(name, column)| Ok((name, column.as_array().ok_or("bad column")?)))
            .collect::<Result<_, String>>()?;
        if columns.iter().any(|(_, column)| column.len() != count) {
            return Err("a column has the wrong length".into());
        }
        for (row, time) in times.into_iter().enumerate() {
            let data_source = match &source[row] {
                Value::Null => None,
                index => Some(
                    index
                        .as_u64()
                        .and_then(|index| sources?.get(index as usize))
                        .ok_or("bad source index")?,
                ),
            };
            let values = columns
                .iter()
                .filter(|(_, column)| !column[row].is_null())
                .map(|(name, column)| ((*name).clone(), column[row].clone()))
                .collect();
            series.push_flat(time, data_source, values);
        }
        Ok(series)
    }

    /// Appends a point whose values are already flattened leaves.
    fn push_flat(
        &mut self,
        time: PointTime,
        data_source: Option<&Value>,
        values: Map<String, Value>,
    ) {
        let row = self.times.len();
        self.times.push(time);
        let source = data_source.map(|source| self.intern_source(source));
        self.source.push(source);
        for (name, leaf) in values {
            self.columns
                .entry(name)
                .or_insert_with(Column::empty)
                .set(row, leaf);
        }
        for column in self.columns.values_mut() {
            column.pad(row + 1);
        }
    }

    fn intern_source(&mut self, source: &Value) -> u32 {
        let key = source.to_string();
        if let Some(index) = self.source_index.get(&key) {
            return *index;
        }
        let index = self.sources.len() as u32;
        self.sources.push(source.clone());
        self.source_index.insert(key, index);
        index
    }

    fn offsets(&self, offset: impl Fn(&PointTime) -> Option<i32>) -> Value {
        rle_encode(self.times.iter().map(|time| Value::from(offset(time))))
    }

    fn same_rows(&self, a: usize, b: usize) -> bool {
        self.times[a] == self.times[b]
            && self.source[a] == self.source[b]
            && self.columns.values().all(|column| column.same(a, b))
    }

    fn permute(&mut self, order: &[usize]) {
        self.times = order.iter().map(|&row| self.times[row]).collect();
        self.source = order.iter().map(|&row| self.source[row]).collect();
        for column in self.columns.values_mut() {
            column.permute(order);
        }
    }

    fn select(&mut self, keep: &[bool]) {
        let order: Vec<usize> = (0..keep.len()).filter(|&row| keep[row]).collect();
        self.permute(&order);
        self.columns.retain(|_, column| !column.all_null());
    }
}

/// Leaves of a JSON object as (dotted path, value); arrays are leaves.
fn flatten<'a>(prefix: &str, object: &'a Map<String, Value>, out: &mut Vec<(String, &'a Value)>) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&path, inner, out),
            value => out.push((path, value)),
        }
    }
}

/// proto3 JSON writes int64 as a decimal string; a canonical one becomes a number.
fn integer_or_text(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(number) if number.to_string() == text => Value::from(number),
        _ => Value::String(text.to_owned()),
    }
}

fn insert_unless_zero(
    out: &mut Map<String, Value>,
    name: &str,
    values: impl Iterator<Item = Value>,
) {
    let values: Vec<Value> = values.collect();
    if values.iter().any(|value| value.as_i64() != Some(0)) {
        out.insert(name.into(), rle_encode(values.into_iter()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn heart_rate(time: &str, offset: i32, bpm: &str, motion: Option<&str>) -> (PointTime, Value) {
        let start = parse_instant(time).unwrap();
        let mut value = json!({"sampleTime": {"physicalTime": time}, "beatsPerMinute": bpm});
        if let Some(motion) = motion {
            value["metadata"] = json!({"motionContext": motion});
        }
        let time = PointTime {
            start,
            end: start,
            start_offset_s: Some(offset),
            end_offset_s: Some(offset),
        };
        (time, value)
    }

    fn series_of(points: &[(PointTime, Value)], source: &Value) -> Series {
        let mut series = Series::new(Shape::Sample);
        for (time, value) in points {
            series.push(
                *time,
                Some(source),
                value.as_object().unwrap(),
                Some(&["beatsPerMinute"]),
            );
        }
        series
    }

    #[test]
    fn samples_are_columns_with_deltas_and_runs_and_read_back_identically() {
        let watch = json!({"platform": "FITBIT", "device": {"displayName": "Charge 6"}});
        let points = [
            heart_rate("2026-03-08T06:59:55Z", -18000, "61", Some("SEDENTARY")),
            heart_rate("2026-03-08T07:00:00.000250Z", -14400, "63", None),
            heart_rate("2026-03-08T07:00:05Z", -14400, "64", Some("ACTIVE")),
        ];
        let series = series_of(&points, &watch);
        let json = series.to_json();
        assert_eq!(json["time_ms"], json!([1772953195000i64, 5000, 5000]));
        assert_eq!(json["time_sub_ms_ns"], json!([[0, 1], [250000, 1], [0, 1]]));
        assert_eq!(json["utc_offset_s"], json!([[-18000, 1], [-14400, 2]]));
        assert_eq!(json["source"], json!([[0, 3]]));
        assert_eq!(json["sources"], json!([watch]));
        assert_eq!(json["values"]["beatsPerMinute"], json!([61, 63, 64]));
        assert_eq!(
            json["values"]["metadata.motionContext"],
            json!(["SEDENTARY", null, "ACTIVE"])
        );
        let back = Series::from_json(&json).unwrap();
        assert_eq!(back.to_json(), json);
        assert_eq!(back.times()[1].start.sub_ms_ns, 250_000);
    }

    #[test]
    fn a_range_is_replaced_and_duplicates_dropped() {
        let watch = json!({"platform": "FITBIT"});
        let old = [
            heart_rate("2026-03-01T10:00:00Z", 0, "60", None),
            heart_rate("2026-03-02T10:00:00Z", 0, "61", None),
        ];
        let mut series = series_of(&old, &watch);
        let day = 86_400_000;
        let march_2 = series.times()[1].start.ms - 10 * 3_600_000;
        series.remove_civil_range(march_2, march_2 + day);
        let fresh = [
            heart_rate("2026-03-02T11:00:00Z", 0, "70", None),
            heart_rate("2026-03-02T11:00:00Z", 0, "70", None),
        ];
        series.absorb(series_of(&fresh, &watch));
        assert_eq!(series.len(), 2);
        assert_eq!(
            series.to_json()["values"]["beatsPerMinute"],
            json!([60, 70])
        );
    }

    #[test]
    fn integers_are_numbers_only_where_the_catalogue_says_so() {
        let mut series = Series::new(Shape::Date);
        let time = PointTime::default();
        let value = json!({"countSum": "8412", "note": "007"});
        series.push(time, None, value.as_object().unwrap(), None);
        let listed = json!({"count": "12", "label": "12"});
        let mut points = Series::new(Shape::Interval);
        points.push(time, None, listed.as_object().unwrap(), Some(&["count"]));
        assert_eq!(series.to_json()["values"]["countSum"], json!([8412]));
        assert_eq!(series.to_json()["values"]["note"], json!(["007"]));
        assert_eq!(points.to_json()["values"]["count"], json!([12]));
        assert_eq!(points.to_json()["values"]["label"], json!(["12"]));
    }

    #[test]
    fn corrupt_json_is_an_error_not_a_panic() {
        for bad in [
            json!({}),
            json!({"shape": "sample", "count": 2, "time_ms": [1], "utc_offset_s": [[0, 2]], "values": {}}),
            json!({"shape": "sample", "count": 1, "time_ms": [1], "utc_offset_s": [[0, 5]], "values": {}}),
            json!({"shape": "sample", "count": 1, "time_ms": [1], "utc_offset_s": [[0, 1]], "values": {"x": [1, 2]}}),
        ] {
            assert!(Series::from_json(&bad).is_err(), "{bad}");
        }
    }
}
