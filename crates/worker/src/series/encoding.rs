//! Delta and run-length encodings of the time and source columns: a month of minute data
//! becomes a few runs, which is most of why the files are a fraction of the API's responses.

use serde::{Serialize, Serializer};
use serde_json::Value;

/// Serialises as `[first, second - first, third - second, …]`.
pub(super) struct Deltas<I>(pub I);

impl<I: Iterator<Item = i64> + Clone> Serialize for Deltas<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut previous = 0;
        serializer.collect_seq(self.0.clone().map(|value| {
            let delta = value - previous;
            previous = value;
            delta
        }))
    }
}

pub(super) fn delta_decode(json: &Value, count: usize) -> Result<Vec<i64>, String> {
    let deltas = json.as_array().ok_or("a delta column is not an array")?;
    if deltas.len() != count {
        return Err("a delta column has the wrong length".into());
    }
    let mut total = 0i64;
    deltas
        .iter()
        .map(|delta| {
            total = total
                .checked_add(delta.as_i64().ok_or("a delta is not an integer")?)
                .ok_or("a delta overflows")?;
            Ok(total)
        })
        .collect()
}

/// `[(value, repeat), …]`, which serialises as `[[value, repeat], …]`.
pub(super) fn runs<T: PartialEq>(values: impl Iterator<Item = T>) -> Vec<(T, u64)> {
    let mut runs: Vec<(T, u64)> = Vec::new();
    for value in values {
        match runs.last_mut() {
            Some((last, repeat)) if *last == value => *repeat += 1,
            _ => runs.push((value, 1)),
        }
    }
    runs
}

pub(super) fn rle_decode(json: &Value, count: usize) -> Result<Vec<Value>, String> {
    let runs = json
        .as_array()
        .ok_or("a run-length column is not an array")?;
    let mut values = Vec::with_capacity(count);
    for run in runs {
        let (value, repeat) = match run.as_array().map(Vec::as_slice) {
            Some([value, repeat]) => (value, repeat.as_u64().ok_or("a run has no length")?),
            _ => return Err("a run is not [value, repeat]".into()),
        };
        if values.len() as u64 + repeat > count as u64 {
            return Err("run-length column is longer than the series".into());
        }
        values.extend(std::iter::repeat_n(value.clone(), repeat as usize));
    }
    if values.len() != count {
        return Err("run-length column is shorter than the series".into());
    }
    Ok(values)
}
