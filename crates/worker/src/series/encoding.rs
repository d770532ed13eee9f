//! Delta and run-length encodings of the time and source columns: a month of minute data
//! becomes a few runs, which is most of why the files are a fraction of the API's responses.

use serde_json::Value;

/// `[first, second - first, third - second, …]`.
pub(super) fn delta_encode(values: &[i64]) -> Value {
    let mut previous = 0;
    Value::Array(
        values
            .iter()
            .map(|&value| {
                let delta = value - previous;
                previous = value;
                Value::from(delta)
            })
            .collect(),
    )
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

/// `[[value, repeat], …]`.
pub(super) fn rle_encode(values: impl Iterator<Item = Value>) -> Value {
    let mut runs: Vec<(Value, u64)> = Vec::new();
    for value in values {
        match runs.last_mut() {
            Some((last, repeat)) if *last == value => *repeat += 1,
            _ => runs.push((value, 1)),
        }
    }
    Value::Array(
        runs.into_iter()
            .map(|(value, repeat)| Value::Array(vec![value, repeat.into()]))
            .collect(),
    )
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
