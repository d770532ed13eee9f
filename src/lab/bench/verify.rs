//! `bench import --verify`: every point of every intraday file equals the simulator's ground
//! truth — the same points in the same order, each with its instants, UTC offsets, civil times
//! (derived from instant and offset, as the files document), data source and values.
//!
//! The files are decoded here independently of the worker's own reader, from the documented
//! format (`docs/data-format.md`), so a fault in the worker's encoding cannot hide itself.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, anyhow, bail, ensure};
use google_health::catalogue::{CATALOGUE, DataType, Intraday};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use oh_fitbit_sim::google::GoogleSim;
use serde_json::{Map, Value, json};

/// The members of a value object that place it in time.
const TIME_MEMBERS: [&str; 2] = ["sampleTime", "interval"];

/// Compares intraday files, one month at a time, with the simulator's points.
pub(super) struct IntradayCheck<'a> {
    google: &'a GoogleSim,
    first: Date,
    /// The last day compared: days later than this may still change in the simulator
    /// (its points settle two days after the day ends) or grow since the import ran.
    last: Date,
    months_seen: BTreeSet<Date>,
    pub points: u64,
}

/// One point in a comparable form.
#[derive(Debug, PartialEq)]
struct Row {
    start_ns: i128,
    end_ns: i128,
    start_offset_s: Option<i64>,
    end_offset_s: Option<i64>,
    source: Value,
    values: BTreeMap<String, Value>,
}

impl<'a> IntradayCheck<'a> {
    /// Checks the days from `first` up to two days before `today`.
    pub(super) fn new(google: &'a GoogleSim, first: Date, today: Date) -> anyhow::Result<Self> {
        Ok(Self {
            google,
            first,
            last: today.checked_sub(3.days())?,
            months_seen: BTreeSet::new(),
            points: 0,
        })
    }

    /// Compares one intraday file with the truth of its month.
    pub(super) fn month_file(&mut self, name: &str, file: &Value) -> anyhow::Result<()> {
        let month = file["month"]
            .as_str()
            .and_then(|month| format!("{month}-01").parse::<Date>().ok())
            .with_context(|| format!("{name}: no valid \"month\""))?;
        self.months_seen.insert(month);
        for data_type in intraday_types() {
            let rows = match file["series"].get(data_type.id) {
                Some(series) => decode_series(series)
                    .with_context(|| format!("{name}: decoding {}", data_type.id))?,
                None => Vec::new(),
            };
            let truth = self.truth(data_type, month)?;
            let days = self.days_of(month);
            let mut checked = Vec::with_capacity(rows.len());
            for row in rows {
                let date = civil_date(row.start_ns, row.start_offset_s);
                ensure!(
                    date.first_of_month() == month,
                    "{name}: a {} point of {date} is in another month's file",
                    data_type.id
                );
                if days.contains(&date) {
                    checked.push(row);
                }
            }
            let rows = checked;
            compare(&rows, &truth).with_context(|| format!("{name}: {}", data_type.id))?;
            self.points += rows.len() as u64;
        }
        Ok(())
    }

    /// Months without a file must have no points in the truth either.
    pub(super) fn finish(self) -> anyhow::Result<u64> {
        let mut month = self.first.first_of_month();
        while month <= self.last {
            if !self.months_seen.contains(&month) {
                for data_type in intraday_types() {
                    let truth = self.truth(data_type, month)?;
                    ensure!(
                        truth.is_empty(),
                        "{month}: no intraday file, but {} has {} points",
                        data_type.id,
                        truth.len()
                    );
                }
            }
            month = month.checked_add(1.month())?;
        }
        Ok(self.points)
    }

    fn days_of(&self, month: Date) -> std::ops::RangeInclusive<Date> {
        month.max(self.first)..=month.last_of_month().min(self.last)
    }

    fn truth(&self, data_type: &DataType, month: Date) -> anyhow::Result<Vec<Row>> {
        let days = self.days_of(month);
        let mut rows = Vec::new();
        let mut day = *days.start();
        while day <= *days.end() {
            for point in self.google.ground_truth_points(data_type.id, day) {
                rows.push(
                    truth_row(data_type, &point)
                        .with_context(|| format!("the simulator's {} on {day}", data_type.id))?,
                );
            }
            day = day.tomorrow()?;
        }
        Ok(rows)
    }
}

fn intraday_types() -> impl Iterator<Item = &'static DataType> {
    CATALOGUE
        .iter()
        .filter(|data_type| data_type.intraday == Intraday::List)
}

fn compare(rows: &[Row], truth: &[Row]) -> anyhow::Result<()> {
    if let Some(index) = (0..rows.len().min(truth.len())).find(|&i| rows[i] != truth[i]) {
        bail!(
            "point {index} differs:\n  file:  {:?}\n  truth: {:?}",
            rows[index],
            truth[index]
        );
    }
    ensure!(
        rows.len() == truth.len(),
        "{} points in the file, {} in the truth",
        rows.len(),
        truth.len()
    );
    Ok(())
}

/// A `DataPoint` as `list` returns it, checking that its civil times follow from its instants
/// and offsets (the files keep only those).
fn truth_row(data_type: &DataType, point: &Value) -> anyhow::Result<Row> {
    let value = point[data_type.union_key]
        .as_object()
        .ok_or_else(|| anyhow!("no {:?} object", data_type.union_key))?;
    let (start_ns, end_ns, start_offset_s, end_offset_s) =
        match (value.get("sampleTime"), value.get("interval")) {
            (Some(sample), None) => {
                let at = instant(&sample["physicalTime"])?;
                let offset = offset_or_civil(&sample["utcOffset"], &sample["civilTime"], at)?;
                check_civil(&sample["civilTime"], at, offset)?;
                (at, at, offset, offset)
            }
            (None, Some(interval)) => {
                let (start, end) = (
                    instant(&interval["startTime"])?,
                    instant(&interval["endTime"])?,
                );
                let start_offset = offset_or_civil(
                    &interval["startUtcOffset"],
                    &interval["civilStartTime"],
                    start,
                )?;
                let end_offset =
                    offset_or_civil(&interval["endUtcOffset"], &interval["civilEndTime"], end)?;
                check_civil(&interval["civilStartTime"], start, start_offset)?;
                check_civil(&interval["civilEndTime"], end, end_offset)?;
                (start, end, start_offset, end_offset)
            }
            _ => bail!("neither a sampleTime nor an interval"),
        };
    let mut values = BTreeMap::new();
    flatten(value, "", &mut values);
    Ok(Row {
        start_ns,
        end_ns,
        start_offset_s,
        end_offset_s,
        source: point["dataSource"].clone(),
        values,
    })
}

fn flatten(object: &Map<String, Value>, prefix: &str, out: &mut BTreeMap<String, Value>) {
    for (name, value) in object {
        if prefix.is_empty() && TIME_MEMBERS.contains(&name.as_str()) {
            continue;
        }
        let path = format!("{prefix}{name}");
        match value {
            Value::Object(inner) => flatten(inner, &format!("{path}."), out),
            value => {
                out.insert(path, comparable(value));
            }
        }
    }
}

/// proto3 JSON writes int64 as a string and the files store it as a number; a double column
/// writes `3.0` where Google wrote `3`. Compare the numbers.
fn comparable(value: &Value) -> Value {
    const EXACT: f64 = (1u64 << 53) as f64;
    match value {
        Value::String(text) => text
            .parse::<i64>()
            .map_or_else(|_| value.clone(), Value::from),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() < EXACT => {
                Value::from(float as i64)
            }
            _ => value.clone(),
        },
        value => value.clone(),
    }
}

fn instant(value: &Value) -> anyhow::Result<i128> {
    let text = value.as_str().ok_or_else(|| anyhow!("no instant"))?;
    Ok(text.parse::<Timestamp>()?.as_nanosecond())
}

fn offset(value: &Value) -> anyhow::Result<Option<i64>> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(
            text.strip_suffix('s')
                .and_then(|seconds| seconds.parse().ok())
                .ok_or_else(|| anyhow!("bad offset {text:?}"))?,
        )),
        other => bail!("bad offset {other}"),
    }
}

/// The offset sent, or where Google left it out the one its civil time shows (as the files
/// document).
fn offset_or_civil(
    offset_value: &Value,
    civil: &Value,
    at_ns: i128,
) -> anyhow::Result<Option<i64>> {
    if !offset_value.is_null() || civil.is_null() {
        return offset(offset_value);
    }
    let part = |value: &Value| value.as_i64().unwrap_or(0);
    let (date, time) = (&civil["date"], &civil["time"]);
    let local = jiff::civil::date(
        i16::try_from(part(&date["year"]))?,
        i8::try_from(part(&date["month"]))?,
        i8::try_from(part(&date["day"]))?,
    )
    .at(
        i8::try_from(part(&time["hours"]))?,
        i8::try_from(part(&time["minutes"]))?,
        i8::try_from(part(&time["seconds"]))?,
        i32::try_from(part(&time["nanos"]))?,
    )
    .to_zoned(TimeZone::UTC)?
    .timestamp()
    .as_nanosecond();
    let offset_s = (local - at_ns) as f64 / 1e9;
    Ok(Some(offset_s.round() as i64))
}

/// The civil date of an instant read with its offset (UTC without one).
fn civil_date(at_ns: i128, offset_s: Option<i64>) -> Date {
    local_time(at_ns, offset_s).date()
}

fn local_time(at_ns: i128, offset_s: Option<i64>) -> jiff::civil::DateTime {
    let local = at_ns + i128::from(offset_s.unwrap_or(0)) * 1_000_000_000;
    Timestamp::from_nanosecond(local)
        .expect("instants come from valid timestamps")
        .to_zoned(TimeZone::UTC)
        .datetime()
}

/// A `google.type.DateTime`-like civil time as Google writes it (zero members omitted).
fn check_civil(civil: &Value, at_ns: i128, offset_s: Option<i64>) -> anyhow::Result<()> {
    if civil.is_null() {
        return Ok(());
    }
    let local = local_time(at_ns, offset_s);
    let mut time = Map::new();
    for (name, value) in [
        ("hours", i64::from(local.hour())),
        ("minutes", i64::from(local.minute())),
        ("seconds", i64::from(local.second())),
        ("nanos", i64::from(local.subsec_nanosecond())),
    ] {
        if value != 0 {
            time.insert(name.to_owned(), value.into());
        }
    }
    let expected = json!({
        "date": {"year": local.year(), "month": local.month(), "day": local.day()},
        "time": time,
    });
    ensure!(
        *civil == expected,
        "civil time {civil} is not instant + offset ({expected})"
    );
    Ok(())
}

/// The rows of a series in the files' documented form.
fn decode_series(series: &Value) -> anyhow::Result<Vec<Row>> {
    let count = series["count"].as_u64().context("no count")? as usize;
    let shape = series["shape"].as_str().context("no shape")?;
    let (starts, start_sub, start_offsets) = match shape {
        "sample" => ("time_ms", "time_sub_ms_ns", "utc_offset_s"),
        "interval" => ("start_ms", "start_sub_ms_ns", "start_utc_offset_s"),
        other => bail!("an intraday series of shape {other:?}"),
    };
    let start_ms = deltas(&series[starts], count)?;
    let start_sub = runs_or(&series[start_sub], count, json!(0))?;
    let start_offsets = runs_or(&series[start_offsets], count, Value::Null)?;
    let (durations, end_sub, end_offsets) = if shape == "interval" {
        (
            runs_or(&series["duration_ms"], count, Value::Null)?,
            runs_or(&series["end_sub_ms_ns"], count, json!(0))?,
            runs_or(&series["end_utc_offset_s"], count, Value::Null)?,
        )
    } else {
        (
            vec![json!(0); count],
            start_sub.clone(),
            start_offsets.clone(),
        )
    };
    let sources = series["sources"].as_array().context("no sources")?;
    let source = runs_or(&series["source"], count, Value::Null)?;
    let columns = series["values"].as_object().context("no values")?;
    (0..count)
        .map(|row| {
            let number = |column: &[Value], what: &str| {
                column[row]
                    .as_i64()
                    .with_context(|| format!("row {row}: bad {what}"))
            };
            let start_ns = i128::from(start_ms[row]) * 1_000_000
                + i128::from(number(&start_sub, "start_sub_ms_ns")?);
            let end_ms = start_ms[row] + number(&durations, "duration_ms")?;
            let end_ns = i128::from(end_ms) * 1_000_000 + i128::from(number(&end_sub, "sub ns")?);
            let source = match &source[row] {
                Value::Null => Value::Null,
                index => {
                    let index = index.as_u64().context("bad source index")? as usize;
                    sources
                        .get(index)
                        .context("source index out of range")?
                        .clone()
                }
            };
            let mut values = BTreeMap::new();
            for (name, column) in columns {
                let value = column
                    .get(row)
                    .with_context(|| format!("column {name} is short"))?;
                if !value.is_null() {
                    values.insert(name.clone(), comparable(value));
                }
            }
            Ok(Row {
                start_ns,
                end_ns,
                start_offset_s: start_offsets[row].as_i64(),
                end_offset_s: end_offsets[row].as_i64(),
                source,
                values,
            })
        })
        .collect()
}

/// `[first, delta, delta, …]` back to absolute values.
fn deltas(column: &Value, count: usize) -> anyhow::Result<Vec<i64>> {
    let column = column.as_array().context("no time column")?;
    ensure!(
        column.len() == count,
        "the time column has the wrong length"
    );
    let mut total = 0i64;
    column
        .iter()
        .map(|delta| {
            total += delta.as_i64().context("bad delta")?;
            Ok(total)
        })
        .collect()
}

/// `[[value, repeat], …]` expanded; `absent` when the column is left out.
fn runs_or(column: &Value, count: usize, absent: Value) -> anyhow::Result<Vec<Value>> {
    let Some(runs) = column.as_array() else {
        ensure!(column.is_null(), "a run-length column is not an array");
        return Ok(vec![absent; count]);
    };
    let mut values = Vec::with_capacity(count);
    for run in runs {
        let repeat = run[1].as_u64().context("bad run")? as usize;
        values.extend(std::iter::repeat_n(run[0].clone(), repeat));
    }
    ensure!(
        values.len() == count,
        "a run-length column has the wrong length"
    );
    Ok(values)
}
