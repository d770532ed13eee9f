//! One value column of a series, stored by type so a month of heart-rate samples stays small in
//! memory: integers, floats, booleans, dictionary-coded text, and JSON for anything else
//! (arrays, or a member whose type changes between points).

use std::collections::HashMap;

use serde::{Serialize, Serializer};
use serde_json::Value;

#[derive(Debug)]
pub(super) enum Column {
    /// No value yet: only the number of rows.
    Null(usize),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Dictionary),
    Json(Vec<Option<Value>>),
}

#[derive(Debug, Default)]
pub(super) struct Dictionary {
    words: Vec<String>,
    index: HashMap<String, u32>,
    codes: Vec<Option<u32>>,
}

impl Dictionary {
    fn code(&mut self, word: &str) -> u32 {
        if let Some(code) = self.index.get(word) {
            return *code;
        }
        let code = self.words.len() as u32;
        self.words.push(word.to_owned());
        self.index.insert(word.to_owned(), code);
        code
    }

    fn word(&self, code: Option<u32>) -> Option<&str> {
        code.map(|code| self.words[code as usize].as_str())
    }
}

impl Column {
    pub(super) fn empty() -> Self {
        Column::Null(0)
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Column::Null(len) => *len,
            Column::Int(values) => values.len(),
            Column::Float(values) => values.len(),
            Column::Bool(values) => values.len(),
            Column::Text(dictionary) => dictionary.codes.len(),
            Column::Json(values) => values.len(),
        }
    }

    /// Sets row `row` (the next row: earlier rows are padded with nulls). A point may name a
    /// member twice (JSON allows it): the last one counts, as for serde_json and Python.
    pub(super) fn set(&mut self, row: usize, value: Value) {
        self.truncate(row);
        self.pad(row);
        if !self.accepts(&value) {
            self.widen(&value);
        }
        match (self, value) {
            (column, Value::Null) => column.pad(row + 1),
            (Column::Int(values), value) => values.push(value.as_i64()),
            (Column::Float(values), value) => values.push(value.as_f64()),
            (Column::Bool(values), value) => values.push(value.as_bool()),
            (Column::Text(dictionary), Value::String(text)) => {
                let code = dictionary.code(&text);
                dictionary.codes.push(Some(code));
            }
            (Column::Json(values), value) => values.push(Some(value)),
            (column, value) => unreachable!("{column:?} was widened to accept {value}"),
        }
    }

    /// Sets row `row` to an integer, without building a JSON value when the column holds
    /// integers already.
    pub(super) fn set_int(&mut self, row: usize, number: i64) {
        match self {
            Column::Int(values) if values.len() <= row => {
                values.resize(row, None);
                values.push(Some(number));
            }
            column => column.set(row, Value::from(number)),
        }
    }

    /// Sets row `row` to a text, without building a JSON value when the column holds text.
    pub(super) fn set_text(&mut self, row: usize, text: &str) {
        match self {
            Column::Text(dictionary) if dictionary.codes.len() <= row => {
                dictionary.codes.resize(row, None);
                let code = dictionary.code(text);
                dictionary.codes.push(Some(code));
            }
            column => column.set(row, Value::from(text)),
        }
    }

    /// A column of these values (JSON nulls where rows have none).
    pub(super) fn from_values(values: &[Value]) -> Self {
        let mut column = Column::empty();
        for (row, value) in values.iter().enumerate() {
            column.set(row, value.clone());
        }
        column.pad(values.len());
        column
    }

    /// Appends the rows of `other` after row `offset - 1`.
    pub(super) fn append(&mut self, offset: usize, other: &Column) {
        self.pad(offset);
        for row in 0..other.len() {
            self.set(offset + row, other.get(row).unwrap_or(Value::Null));
        }
    }

    /// Adds nulls up to `len` rows.
    fn truncate(&mut self, len: usize) {
        match self {
            Column::Null(rows) => *rows = (*rows).min(len),
            Column::Int(values) => values.truncate(len),
            Column::Float(values) => values.truncate(len),
            Column::Bool(values) => values.truncate(len),
            Column::Text(dictionary) => dictionary.codes.truncate(len),
            Column::Json(values) => values.truncate(len),
        }
    }

    pub(super) fn pad(&mut self, len: usize) {
        match self {
            Column::Null(rows) => *rows = (*rows).max(len),
            Column::Int(values) => values.resize(len.max(values.len()), None),
            Column::Float(values) => values.resize(len.max(values.len()), None),
            Column::Bool(values) => values.resize(len.max(values.len()), None),
            Column::Text(dictionary) => {
                let len = len.max(dictionary.codes.len());
                dictionary.codes.resize(len, None);
            }
            Column::Json(values) => values.resize(len.max(values.len()), None),
        }
    }

    pub(super) fn get(&self, row: usize) -> Option<Value> {
        match self {
            Column::Null(_) => None,
            Column::Int(values) => values[row].map(Value::from),
            Column::Float(values) => values[row].map(Value::from),
            Column::Bool(values) => values[row].map(Value::from),
            Column::Text(dictionary) => dictionary.word(dictionary.codes[row]).map(Value::from),
            Column::Json(values) => values[row].clone(),
        }
    }

    pub(super) fn same(&self, a: usize, b: usize) -> bool {
        match self {
            Column::Null(_) => true,
            Column::Int(values) => values[a] == values[b],
            Column::Float(values) => values[a] == values[b],
            Column::Bool(values) => values[a] == values[b],
            Column::Text(dictionary) => dictionary.codes[a] == dictionary.codes[b],
            Column::Json(values) => values[a] == values[b],
        }
    }

    pub(super) fn all_null(&self) -> bool {
        (0..self.len()).all(|row| self.get(row).is_none())
    }

    pub(super) fn reverse(&mut self) {
        match self {
            Column::Null(_) => {}
            Column::Int(values) => values.reverse(),
            Column::Float(values) => values.reverse(),
            Column::Bool(values) => values.reverse(),
            Column::Text(dictionary) => dictionary.codes.reverse(),
            Column::Json(values) => values.reverse(),
        }
    }

    /// Reorders (and, with a shorter `order`, selects) rows.
    pub(super) fn permute(&mut self, order: &[usize]) {
        fn pick<T: Clone>(values: &[T], order: &[usize]) -> Vec<T> {
            order.iter().map(|&row| values[row].clone()).collect()
        }
        match self {
            Column::Null(len) => *len = order.len(),
            Column::Int(values) => *values = pick(values, order),
            Column::Float(values) => *values = pick(values, order),
            Column::Bool(values) => *values = pick(values, order),
            Column::Text(dictionary) => dictionary.codes = pick(&dictionary.codes, order),
            Column::Json(values) => *values = pick(values, order),
        }
    }

    /// A column of the given rows, in their order, with the same type.
    pub(super) fn take(&self, rows: &[usize]) -> Column {
        fn pick<T: Clone>(values: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&row| values[row].clone()).collect()
        }
        match self {
            Column::Null(_) => Column::Null(rows.len()),
            Column::Int(values) => Column::Int(pick(values, rows)),
            Column::Float(values) => Column::Float(pick(values, rows)),
            Column::Bool(values) => Column::Bool(pick(values, rows)),
            Column::Text(dictionary) => {
                let mut taken = Dictionary::default();
                for row in rows {
                    let code = dictionary
                        .word(dictionary.codes[*row])
                        .map(|word| taken.code(word));
                    taken.codes.push(code);
                }
                Column::Text(taken)
            }
            Column::Json(values) => Column::Json(pick(values, rows)),
        }
    }

    fn accepts(&self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Null) | (Column::Json(_), _) => true,
            (Column::Int(_), Value::Number(number)) => number.is_i64(),
            (Column::Float(_), Value::Number(_)) => true,
            (Column::Bool(_), Value::Bool(_)) => true,
            (Column::Text(_), Value::String(_)) => true,
            _ => false,
        }
    }

    /// Changes the column's type so it can hold `value` and everything it holds.
    fn widen(&mut self, value: &Value) {
        let len = self.len();
        *self = match (&*self, value) {
            (Column::Null(_), Value::Number(number)) if number.is_i64() => {
                Column::Int(vec![None; len])
            }
            (Column::Null(_), Value::Number(_)) => Column::Float(vec![None; len]),
            (Column::Null(_), Value::Bool(_)) => Column::Bool(vec![None; len]),
            (Column::Null(_), Value::String(_)) => Column::Text(Dictionary {
                codes: vec![None; len],
                ..Dictionary::default()
            }),
            (Column::Int(values), Value::Number(_)) => {
                Column::Float(values.iter().map(|v| v.map(|v| v as f64)).collect())
            }
            _ => Column::Json((0..len).map(|row| self.get(row)).collect()),
        };
    }
}

/// A JSON array with `null` for rows without a value.
impl Serialize for Column {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Column::Null(len) => serializer.collect_seq(std::iter::repeat_n((), *len)),
            Column::Int(values) => serializer.collect_seq(values),
            Column::Float(values) => serializer.collect_seq(values),
            Column::Bool(values) => serializer.collect_seq(values),
            Column::Text(dictionary) => {
                serializer.collect_seq(dictionary.codes.iter().map(|code| dictionary.word(*code)))
            }
            Column::Json(values) => serializer.collect_seq(values),
        }
    }
}
