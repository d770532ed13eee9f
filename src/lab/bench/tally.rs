//! What an import produced, counted from the files it uploaded, and the fewest requests the
//! catalogue allows for that much data.

use std::{collections::BTreeMap, io::Read};

use anyhow::Context;
use google_health::catalogue::{CATALOGUE, DataType, Intraday, Standard};
use jiff::civil::Date;
use serde_json::Value;

#[derive(Debug, Default)]
pub(super) struct Tally {
    pub files: usize,
    pub uploaded_gzip_bytes: u64,
    /// Points (daily values, records, samples) in the daily file, by type.
    pub standard_points: BTreeMap<String, u64>,
    /// Points in the intraday files, by type.
    pub intraday_points: BTreeMap<String, u64>,
    /// The first day with a daily value, for the types read with `dailyRollUp`.
    pub first_daily_value: BTreeMap<String, Date>,
}

impl Tally {
    /// Counts one completed file (`basename`, gzipped bytes) and returns its JSON.
    pub(super) fn add_file(&mut self, name: &str, gzipped: &[u8]) -> anyhow::Result<Value> {
        self.files += 1;
        self.uploaded_gzip_bytes += gzipped.len() as u64;
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gzipped)
            .read_to_end(&mut json)
            .with_context(|| format!("decompressing {name}"))?;
        let file: Value =
            serde_json::from_slice(&json).with_context(|| format!("parsing {name}"))?;
        if name == oh_fitbit_worker::DAILY_FILE_NAME {
            self.add_daily_file(&file);
        } else {
            count_series(&file["series"], &mut self.intraday_points);
        }
        Ok(file)
    }

    fn add_daily_file(&mut self, file: &Value) {
        count_series(&file["daily"], &mut self.standard_points);
        for (data_type, series) in file["daily"].as_object().into_iter().flatten() {
            if let Some(first) = series["date"]
                .get(0)
                .and_then(Value::as_str)
                .and_then(|date| date.parse().ok())
            {
                self.first_daily_value.insert(data_type.clone(), first);
            }
        }
        for (data_type, records) in file["records"].as_object().into_iter().flatten() {
            *self.standard_points.entry(data_type.clone()).or_default() +=
                records.as_array().map_or(0, Vec::len) as u64;
        }
    }

    pub(super) fn points(&self) -> u64 {
        self.standard_points.values().sum::<u64>() + self.intraday_points.values().sum::<u64>()
    }

    /// The fewest data requests that fetch all of it: per type, full pages for what is listed,
    /// and the widest rollup spans from its first daily value to `today`; one request even for
    /// a type without data, since only asking shows there is none.
    pub(super) fn minimum_data_requests(&self, today: Date, with_intraday: bool) -> u64 {
        CATALOGUE
            .iter()
            .map(|data_type| {
                let standard = match data_type.standard {
                    Standard::DailyRollUp => self.roll_up_spans(data_type, today),
                    Standard::List => pages(data_type, &self.standard_points),
                    Standard::No => 0,
                };
                let intraday = match data_type.intraday {
                    Intraday::List if with_intraday => pages(data_type, &self.intraday_points),
                    _ => 0,
                };
                standard + intraday
            })
            .sum()
    }

    fn roll_up_spans(&self, data_type: &DataType, today: Date) -> u64 {
        let Some(first) = self.first_daily_value.get(data_type.id) else {
            return 1;
        };
        let days = (today - *first).get_days() as u64 + 1;
        days.div_ceil(u64::from(data_type.roll_up_max_days()))
    }
}

fn pages(data_type: &DataType, points: &BTreeMap<String, u64>) -> u64 {
    let count = points.get(data_type.id).copied().unwrap_or(0);
    count.div_ceil(u64::from(data_type.list_page_max())).max(1)
}

fn count_series(series: &Value, counts: &mut BTreeMap<String, u64>) {
    for (data_type, series) in series.as_object().into_iter().flatten() {
        *counts.entry(data_type.clone()).or_default() += series["count"].as_u64().unwrap_or(0);
    }
}
