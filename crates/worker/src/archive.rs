//! The files this service writes to Open Humans: gzipped JSON with a schema name and version,
//! high-frequency and daily series stored column-wise (dates and values as parallel arrays).
//! The schema is documented in `schemas/` at the repository root.

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use jiff::civil::Date;
use md5::{Digest, Md5};
use serde::Serialize;

use crate::daily_steps::DailySteps;

/// The daily file: the whole history of standard (daily-level) data in one file.
pub const DAILY_FILE_NAME: &str = "fitbit-daily.json.gz";
pub const DAILY_SCHEMA: &str = "oh-fitbit/daily";
pub const DAILY_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct DailyFile<'a> {
    schema: &'static str,
    schema_version: u32,
    source: &'static str,
    /// The member's time zone when the file was written; each date is a civil day in the zone
    /// the member was in on that day, as the API reports it.
    time_zone: Option<&'a str>,
    first_date: Option<Date>,
    last_date: Option<Date>,
    daily: Daily,
}

#[derive(Serialize)]
struct Daily {
    steps: StepsColumns,
}

/// Days the API reported, ascending. A day the API did not return is absent; `null` is a day it
/// returned without a count (see [`DailySteps`]).
#[derive(Serialize)]
struct StepsColumns {
    date: Vec<Date>,
    count: Vec<Option<u64>>,
}

/// A built file: its gzipped bytes and the facts its Open Humans metadata needs.
pub struct Archive {
    pub bytes: Vec<u8>,
    pub md5: String,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    /// Days with a step count.
    pub days: usize,
}

/// Identical content gives identical bytes (no timestamps inside, gzip mtime 0), so an unchanged
/// history is recognised by its md5 and not uploaded again.
pub fn daily(time_zone: Option<&str>, steps: &DailySteps) -> Archive {
    let first_date = steps.keys().next().copied();
    let last_date = steps.keys().next_back().copied();
    let file = DailyFile {
        schema: DAILY_SCHEMA,
        schema_version: DAILY_SCHEMA_VERSION,
        source: "Fitbit, read through the Google Health API v4",
        time_zone,
        first_date,
        last_date,
        daily: Daily {
            steps: StepsColumns {
                date: steps.keys().copied().collect(),
                count: steps.values().copied().collect(),
            },
        },
    };
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    serde_json::to_writer(&mut encoder, &file).expect("serialising to memory cannot fail");
    encoder.flush().expect("writing to memory cannot fail");
    let bytes = encoder.finish().expect("writing to memory cannot fail");
    Archive {
        md5: hex::encode(Md5::digest(&bytes)),
        bytes,
        first_date,
        last_date,
        days: steps.values().filter(|count| count.is_some()).count(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use jiff::civil::date;

    use super::*;

    fn decompress(bytes: &[u8]) -> serde_json::Value {
        let mut json = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut json)
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn the_file_is_versioned_columnar_and_deterministic() {
        let steps = DailySteps::from([(date(2016, 3, 2), None), (date(2016, 3, 1), Some(8412))]);
        let archive = daily(Some("America/New_York"), &steps);
        let json = decompress(&archive.bytes);
        assert_eq!(json["schema"], "oh-fitbit/daily");
        assert_eq!(json["schema_version"], 1);
        assert_eq!(
            json["daily"]["steps"]["date"],
            serde_json::json!(["2016-03-01", "2016-03-02"])
        );
        assert_eq!(
            json["daily"]["steps"]["count"],
            serde_json::json!([8412, null])
        );
        assert_eq!(json["first_date"], "2016-03-01");
        assert_eq!(archive.days, 1);
        assert_eq!(archive.md5.len(), 32);
        assert_eq!(daily(Some("America/New_York"), &steps).md5, archive.md5);
        assert_ne!(daily(Some("Europe/Berlin"), &steps).md5, archive.md5);
    }
}
