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
mod leaves;
mod time;

use std::collections::{BTreeMap, HashMap};

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::Value;

use self::{
    columns::Column,
    encoding::{Deltas, delta_decode, rle_decode, runs},
};
pub use self::{
    leaves::{Key, Leaf, Leaves},
    time::{Instant, parse_instant, parse_offset},
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
    /// Index of each source by its canonical JSON text.
    source_index: HashMap<String, u32>,
    /// Index of each source by the text Google sent, so a repeated source costs one lookup.
    sent_source_index: HashMap<String, u32>,
    /// The previous point's source text and index: consecutive points nearly always share a
    /// source, and comparing its text is cheaper than hashing it.
    last_sent_source: Option<(String, u32)>,
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
            sent_source_index: HashMap::new(),
            last_sent_source: None,
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

    /// The value of one leaf member (`countSum`) at `row`; `None` where the point lacks it.
    pub fn value(&self, row: usize, member: &str) -> Option<Value> {
        self.columns.get(member)?.get(row)
    }

    /// Appends one point: its time, its `dataSource` (JSON text, if any) and its value's
    /// leaves. `integers` names the int64 members (proto3 JSON strings) to store as numbers;
    /// `None` converts every integer string (rollup values, which hold no text).
    pub fn push(
        &mut self,
        time: PointTime,
        data_source: Option<&str>,
        leaves: &Leaves,
        integers: Option<&[&str]>,
    ) -> Result<(), String> {
        let source = data_source
            .map(|text| self.intern_sent_source(text))
            .transpose()?;
        let row = self.times.len();
        self.times.push(time);
        self.source.push(source);
        for (path, leaf, text) in leaves.iter() {
            let column = match self.columns.get_mut(path) {
                Some(column) => column,
                None => self
                    .columns
                    .entry(path.to_owned())
                    .or_insert_with(Column::empty),
            };
            let numeric =
                integers.is_none_or(|names| names.contains(&path.rsplit('.').next().unwrap_or("")));
            match leaf {
                Leaf::Text(_) => match canonical_integer(text).filter(|_| numeric) {
                    Some(number) => column.set_int(row, number),
                    None => column.set_text(row, text),
                },
                Leaf::Int(number) => column.set_int(row, *number),
                Leaf::Null => column.set(row, Value::Null),
                Leaf::Bool(flag) => column.set(row, Value::Bool(*flag)),
                Leaf::Float(number) => column.set(row, Value::from(*number)),
                Leaf::Json(value) => column.set(row, value.clone()),
            }
        }
        for column in self.columns.values_mut() {
            column.pad(row + 1);
        }
        Ok(())
    }

    /// Appends a point whose value is a JSON object without a data source (a rollup window).
    pub fn push_value(&mut self, time: PointTime, value: &Value) -> Result<(), String> {
        let mut leaves = Leaves::default();
        leaves
            .read_object(value)
            .map_err(|error| format!("a value is not an object: {error}"))?;
        self.push(time, None, &leaves, None)
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

    /// The rows of each `key`, as series of their own: what absorbing them back together
    /// undoes. Restoring staging from a file cuts its series into the periods of chunks.
    pub fn split_by<K: Ord>(&self, key: impl Fn(&PointTime) -> K) -> BTreeMap<K, Series> {
        let mut rows: BTreeMap<K, Vec<usize>> = BTreeMap::new();
        for (row, time) in self.times.iter().enumerate() {
            rows.entry(key(time)).or_default().push(row);
        }
        rows.into_iter()
            .map(|(key, rows)| (key, self.take_rows(&rows)))
            .collect()
    }

    fn take_rows(&self, rows: &[usize]) -> Series {
        let mut taken = Series::new(self.shape);
        taken.times = rows.iter().map(|&row| self.times[row]).collect();
        for &row in rows {
            let source =
                self.source[row].map(|index| taken.intern_source(&self.sources[index as usize]));
            taken.source.push(source);
        }
        taken.columns = self
            .columns
            .iter()
            .map(|(name, column)| (name.clone(), column.take(rows)))
            .filter(|(_, column)| !column.all_null())
            .collect();
        taken
    }

    /// Appends every point of `other` (same shape), then sorts by start and drops exact
    /// duplicates (a point Google repeated across pages).
    pub fn absorb(&mut self, other: Series) {
        if self.is_empty() {
            *self = other;
        } else {
            let offset = self.len();
            let sources: Vec<u32> = other
                .sources
                .iter()
                .map(|source| self.intern_source(source))
                .collect();
            self.times.extend(other.times);
            self.source.extend(
                other
                    .source
                    .iter()
                    .map(|index| index.map(|index| sources[index as usize])),
            );
            for (name, column) in other.columns {
                self.columns
                    .entry(name)
                    .or_insert_with(Column::empty)
                    .append(offset, &column);
            }
            let len = self.len();
            for column in self.columns.values_mut() {
                column.pad(len);
            }
        }
        self.sort_and_dedupe();
    }

    /// Sorts by start instant (stable, so points Google gave in one order keep it) and drops
    /// a point identical to the one before it.
    pub fn sort_and_dedupe(&mut self) {
        let key = |time: &PointTime| (time.start, time.end);
        if self
            .times
            .windows(2)
            .all(|pair| key(&pair[0]) > key(&pair[1]))
        {
            // Newest first, as `list` pages arrive: reversing in place spares a copy of the
            // whole series at the moment memory peaks.
            self.times.reverse();
            self.source.reverse();
            for column in self.columns.values_mut() {
                column.reverse();
            }
        } else {
            let mut order: Vec<usize> = (0..self.len()).collect();
            order.sort_by_key(|&row| key(&self.times[row]));
            self.permute(&order);
        }
        let keep: Vec<bool> = (0..self.len())
            .map(|row| row == 0 || !self.same_rows(row - 1, row))
            .collect();
        self.select(&keep);
    }

    /// Reads back what serialising a series wrote.
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
                if dates.len() != count {
                    return Err("the date column has the wrong length".into());
                }
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
        series.times = times;
        for source in json
            .get("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            series.intern_source(source);
        }
        series.source = match json.get("source") {
            Some(runs) => rle_decode(runs, count)?
                .into_iter()
                .map(|index| match index {
                    Value::Null => Ok(None),
                    index => index
                        .as_u64()
                        .filter(|&index| (index as usize) < series.sources.len())
                        .map(|index| Some(index as u32))
                        .ok_or("bad source index"),
                })
                .collect::<Result<_, _>>()?,
            None => vec![None; count],
        };
        let values = field("values")?.as_object().ok_or("bad values")?;
        for (name, column) in values {
            let column = column.as_array().ok_or("bad column")?;
            if column.len() != count {
                return Err("a column has the wrong length".into());
            }
            series
                .columns
                .insert(name.clone(), Column::from_values(column));
        }
        series.columns.retain(|_, column| !column.all_null());
        Ok(series)
    }

    /// The index of a source given as the JSON text Google sent.
    fn intern_sent_source(&mut self, text: &str) -> Result<u32, String> {
        if let Some((last, index)) = &self.last_sent_source
            && last == text
        {
            return Ok(*index);
        }
        let index = match self.sent_source_index.get(text) {
            Some(index) => *index,
            None => {
                let source: Value = serde_json::from_str(text)
                    .map_err(|error| format!("a dataSource is not JSON: {error}"))?;
                let index = self.intern_source(&source);
                self.sent_source_index.insert(text.to_owned(), index);
                index
            }
        };
        self.last_sent_source = Some((text.to_owned(), index));
        Ok(index)
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

    fn same_rows(&self, a: usize, b: usize) -> bool {
        self.times[a] == self.times[b]
            && self.source[a] == self.source[b]
            && self.columns.values().all(|column| column.same(a, b))
    }

    fn permute(&mut self, order: &[usize]) {
        if order.iter().enumerate().all(|(row, &from)| row == from) && order.len() == self.len() {
            return;
        }
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

/// The files' form of a series (see the module documentation), written without building a
/// JSON tree: a month of samples would otherwise be tens of megabytes of `Value`s.
impl Serialize for Series {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("shape", self.shape.name())?;
        out.serialize_entry("count", &self.len())?;
        let starts = self.times.iter().map(|time| time.start.ms);
        let start_ns = runs(self.times.iter().map(|time| time.start.sub_ms_ns));
        match self.shape {
            Shape::Date => {
                let dates: Vec<String> = self
                    .times
                    .iter()
                    .map(|time| time::date_string(time.start))
                    .collect();
                out.serialize_entry("date", &dates)?;
            }
            Shape::Sample => {
                out.serialize_entry("time_ms", &Deltas(starts))?;
                if has_nonzero(&start_ns) {
                    out.serialize_entry("time_sub_ms_ns", &start_ns)?;
                }
                out.serialize_entry(
                    "utc_offset_s",
                    &runs(self.times.iter().map(|time| time.start_offset_s)),
                )?;
            }
            Shape::Interval | Shape::Window => {
                out.serialize_entry("start_ms", &Deltas(starts))?;
                if has_nonzero(&start_ns) {
                    out.serialize_entry("start_sub_ms_ns", &start_ns)?;
                }
                let durations = runs(self.times.iter().map(|time| time.end.ms - time.start.ms));
                out.serialize_entry("duration_ms", &durations)?;
                let end_ns = runs(self.times.iter().map(|time| time.end.sub_ms_ns));
                if has_nonzero(&end_ns) {
                    out.serialize_entry("end_sub_ms_ns", &end_ns)?;
                }
                if self.shape == Shape::Interval {
                    out.serialize_entry(
                        "start_utc_offset_s",
                        &runs(self.times.iter().map(|time| time.start_offset_s)),
                    )?;
                    out.serialize_entry(
                        "end_utc_offset_s",
                        &runs(self.times.iter().map(|time| time.end_offset_s)),
                    )?;
                }
            }
        }
        if matches!(self.shape, Shape::Interval | Shape::Sample) {
            out.serialize_entry("sources", &self.sources)?;
            out.serialize_entry("source", &runs(self.source.iter().copied()))?;
        }
        out.serialize_entry("values", &self.columns)?;
        out.end()
    }
}

fn has_nonzero(runs: &[(i64, u64)]) -> bool {
    runs.iter().any(|(value, _)| *value != 0)
}

/// proto3 JSON writes int64 as a decimal string; a canonical one (no sign but `-`, no leading
/// zero) becomes a number, anything else stays text.
fn canonical_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    canonical.then(|| text.parse().ok()).flatten()
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
            push(
                &mut series,
                *time,
                Some(source),
                value,
                Some(&["beatsPerMinute"]),
            );
        }
        series
    }

    fn push(
        series: &mut Series,
        time: PointTime,
        source: Option<&Value>,
        value: &Value,
        integers: Option<&[&str]>,
    ) {
        let mut leaves = Leaves::default();
        leaves.read_object(value).unwrap();
        let source = source.map(Value::to_string);
        series
            .push(time, source.as_deref(), &leaves, integers)
            .unwrap();
    }

    fn json_of(series: &Series) -> Value {
        serde_json::to_value(series).unwrap()
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
        let json = json_of(&series);
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
        assert_eq!(json_of(&back), json);
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
            json_of(&series)["values"]["beatsPerMinute"],
            json!([60, 70])
        );
    }

    #[test]
    fn a_split_series_absorbs_back_into_the_same_json() {
        let watch = json!({"platform": "FITBIT", "device": {"displayName": "Charge 6"}});
        let phone = json!({"platform": "HEALTH_CONNECT"});
        let mut series = series_of(
            &[
                heart_rate("2026-03-31T23:59:55Z", 0, "61", Some("SEDENTARY")),
                heart_rate("2026-04-01T00:00:05Z", 0, "62", None),
            ],
            &watch,
        );
        series.absorb(series_of(
            &[heart_rate(
                "2026-04-02T10:00:00Z",
                7200,
                "70",
                Some("ACTIVE"),
            )],
            &phone,
        ));
        let whole = json_of(&series);
        let april_2 = parse_instant("2026-04-02T00:00:00Z").unwrap().ms;
        let parts = series.split_by(|time| time.start.ms >= april_2);
        assert_eq!(parts.len(), 2);
        let first = parts.values().next().unwrap();
        assert_eq!(
            json_of(first)["sources"],
            json!([watch]),
            "only the sources it uses"
        );
        let mut rebuilt = Series::new(Shape::Sample);
        for part in parts.into_values() {
            let back = Series::from_json(&json_of(&part)).unwrap();
            rebuilt.absorb(back);
        }
        assert_eq!(json_of(&rebuilt), whole);
    }

    #[test]
    fn integers_are_numbers_only_where_the_catalogue_says_so() {
        let mut series = Series::new(Shape::Date);
        let time = PointTime::default();
        let value = json!({"countSum": "8412", "note": "007"});
        push(&mut series, time, None, &value, None);
        let listed = json!({"count": "12", "label": "12", "negative": "-3", "zero": "-0"});
        let mut points = Series::new(Shape::Interval);
        push(
            &mut points,
            time,
            None,
            &listed,
            Some(&["count", "negative", "zero"]),
        );
        let (series, points) = (json_of(&series), json_of(&points));
        assert_eq!(series["values"]["countSum"], json!([8412]));
        assert_eq!(series["values"]["note"], json!(["007"]));
        assert_eq!(points["values"]["count"], json!([12]));
        assert_eq!(points["values"]["label"], json!(["12"]));
        assert_eq!(points["values"]["negative"], json!([-3]));
        assert_eq!(points["values"]["zero"], json!(["-0"]));
    }

    /// Found by the `google_list_page` fuzz target: a member repeated in one point made its
    /// column a row longer than the series, and the staged chunk could not be read back.
    #[test]
    fn a_member_repeated_in_a_point_counts_once_the_last_time() {
        let steps = google_health::catalogue::data_type("steps").unwrap();
        let mut reader = crate::points::PointReader::new(steps);
        let mut series = Series::new(Shape::Interval);
        for text in [
            r#"{"steps": {"interval": {"startTime": "2026-03-08T07:00:00Z",
                "endTime": "2026-03-08T07:01:00Z"}, "count": "11", "count": "12"}}"#,
            r#"{"steps": {"interval": {"startTime": "2026-03-08T07:01:00Z",
                "endTime": "2026-03-08T07:02:00Z"}, "count": "13", "note": "a", "note": 4}}"#,
        ] {
            let point = reader.read(text).unwrap();
            series
                .push(point.time, None, &reader.leaves, Some(&["count"]))
                .unwrap();
        }
        let json = json_of(&series);
        assert_eq!(json["values"]["count"], json!([12, 13]));
        assert_eq!(json["values"]["note"], json!([null, 4]));
        let read = Series::from_json(&json).unwrap();
        assert_eq!(json_of(&read), json);
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
