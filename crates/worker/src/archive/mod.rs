//! The files this service writes to Open Humans, rebuilt from staging: gzipped JSON with a
//! schema name and version (documented in `schemas/` and `docs/data-format.md`).
//!
//! * `fitbit-daily.json.gz`: the standard tier for the whole history — daily values of every
//!   type column-wise, every record (sleep, exercise, body measurements, daily types…) as the
//!   API sent it, the member's profile, settings and devices, and per type whether it was
//!   imported or skipped.
//! * `fitbit-intraday-YYYY-MM.json.gz`: one civil month of high-frequency series, column-wise.
//!
//! The JSON is written straight into the gzip stream from the staged chunks, so building a file
//! never holds more than one type's daily values in memory. The format is lossless, so staging
//! can be restored from the files exactly ([`read`]).

pub(crate) mod read;

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use google_health::catalogue::{CATALOGUE, DataType, Standard};
use jiff::civil::Date;
use md5::{Digest, Md5};
use oh_fitbit_core::{
    members::{Cursor, IntradayResolution, RecordCounts, TypeFailure},
    tier::{ChunkId, CursorKey, Period},
};
use open_humans::ProjectMemberId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    chunks::{self, Records, Tier, TierPeriods},
    context::WorkerContext,
    error::SyncError,
    import::{Skipped, cursor_key, in_tier},
    series::Series,
};

pub const DAILY_FILE_NAME: &str = "fitbit-daily.json.gz";
pub const DAILY_SCHEMA: &str = "oh-fitbit/daily";
pub const DAILY_SCHEMA_VERSION: u32 = 2;
pub const INTRADAY_SCHEMA: &str = "oh-fitbit/intraday";
pub const INTRADAY_SCHEMA_VERSION: u32 = 1;
const SOURCE: &str = "Fitbit, read through the Google Health API v4";

pub fn intraday_file_name(month: &str) -> String {
    format!("fitbit-intraday-{month}.json.gz")
}

/// Whether `name` is one of [`intraday_file_name`]'s.
pub(crate) fn is_intraday_file_name(name: &str) -> bool {
    name.strip_prefix("fitbit-intraday-")
        .and_then(|rest| rest.strip_suffix(".json.gz"))
        .is_some_and(|month| Period::parse(Tier::Intraday, month).is_some())
}

/// How an intraday file names its resolution: `raw`, or the rollUp window (`300s`).
pub(crate) fn resolution_name(resolution: Option<IntradayResolution>) -> String {
    match resolution.and_then(IntradayResolution::window_seconds) {
        Some(seconds) => format!("{seconds}s"),
        None => "raw".to_owned(),
    }
}

/// Reads back what [`resolution_name`] wrote.
pub(crate) fn parse_resolution(name: &str) -> Option<IntradayResolution> {
    [
        IntradayResolution::Raw,
        IntradayResolution::OneMinute,
        IntradayResolution::FiveMinutes,
        IntradayResolution::FifteenMinutes,
    ]
    .into_iter()
    .find(|resolution| resolution_name(Some(*resolution)) == name)
}

/// A built file: its gzipped bytes, the facts its Open Humans metadata needs, and the records
/// it holds per data type and period (which a later version must not have fewer of).
pub(crate) struct Archive {
    pub bytes: Vec<u8>,
    pub md5: String,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub schema_version: u32,
    pub counts: RecordCounts,
}

/// What the standard file says about the member besides their data.
pub(crate) struct MemberFacts<'a> {
    pub member: &'a ProjectMemberId,
    pub time_zone: Option<&'a str>,
    pub account: Value,
    pub cursors: &'a std::collections::BTreeMap<CursorKey, Cursor>,
    pub skipped: &'a std::collections::BTreeMap<&'static str, Skipped>,
    /// Types whose reading failed on their own.
    pub failures: &'a std::collections::BTreeMap<CursorKey, TypeFailure>,
    /// The chunks staging holds, as the member's record says: one that is gone is not left
    /// out of a file, the file is not built.
    pub staged: &'a std::collections::BTreeSet<ChunkId>,
}

impl MemberFacts<'_> {
    fn is_staged(&self, tier: Tier, data_type: &DataType, period_start: Date) -> bool {
        self.staged.contains(&ChunkId {
            period: Period {
                tier,
                start: period_start,
            },
            data_type: data_type.id.to_owned(),
        })
    }
}

/// Writes JSON into a gzip stream; identical content gives identical bytes (no timestamps,
/// gzip mtime 0), so an unchanged file is recognised by its md5 and not uploaded again.
struct GzJson(GzEncoder<Vec<u8>>);

impl GzJson {
    fn new() -> Self {
        Self(GzEncoder::new(Vec::new(), Compression::default()))
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0
            .write_all(bytes)
            .expect("writing to memory cannot fail");
    }

    fn value(&mut self, value: &Value) {
        serde_json::to_writer(&mut self.0, value).expect("writing to memory cannot fail");
    }

    /// `"name":` after a comma unless it is the first member.
    fn key(&mut self, first: &mut bool, name: &str) {
        if !std::mem::take(first) {
            self.raw(b",");
        }
        self.value(&Value::from(name));
        self.raw(b":");
    }

    fn finish(
        self,
        first_date: Option<Date>,
        last_date: Option<Date>,
        schema_version: u32,
        counts: RecordCounts,
    ) -> Archive {
        let bytes = self.0.finish().expect("writing to memory cannot fail");
        Archive {
            md5: hex::encode(Md5::digest(&bytes)),
            bytes,
            first_date,
            last_date,
            schema_version,
            counts,
        }
    }
}

pub(crate) async fn daily_file(
    ctx: &WorkerContext,
    facts: &MemberFacts<'_>,
) -> Result<Archive, SyncError> {
    let mut out = GzJson::new();
    let header = json!({
        "schema": DAILY_SCHEMA,
        "schema_version": DAILY_SCHEMA_VERSION,
        "source": SOURCE,
        "time_zone": facts.time_zone,
        "account": facts.account,
        "coverage": coverage(facts, Tier::Standard),
    });
    let header = serde_json::to_vec(&header).expect("a JSON value always serialises");
    out.raw(&header[..header.len() - 1]);
    let (mut first_date, mut last_date) = (None::<Date>, None::<Date>);
    let mut widen = |cursor: Option<&Cursor>| {
        if let Some(Cursor {
            oldest: Some(oldest),
            newest: Some(newest),
            ..
        }) = cursor
        {
            first_date = Some(first_date.map_or(*oldest, |date| date.min(*oldest)));
            last_date = Some(last_date.map_or(*newest, |date| date.max(*newest)));
        }
    };
    let mut counts = RecordCounts::new();
    out.raw(b",\"daily\":{");
    let mut first = true;
    for data_type in types(Tier::Standard).filter(|t| t.standard == Standard::DailyRollUp) {
        let cursor = facts.cursors.get(&cursor_key(Tier::Standard, data_type));
        widen(cursor);
        let mut series = Series::new(crate::series::Shape::Date);
        for (period, start) in periods(Tier::Standard, cursor) {
            let key = chunks::key(facts.member, Tier::Standard, data_type.id, &period);
            let staged = facts.is_staged(Tier::Standard, data_type, start);
            if let Some(chunk) = chunks::load::<Series>(&ctx.staging, &key, staged).await? {
                count(&mut counts, data_type, start, chunk.len());
                series.absorb(chunk);
            }
        }
        out.key(&mut first, data_type.id);
        serde_json::to_writer(&mut out.0, &series).expect("writing to memory cannot fail");
    }
    out.raw(b"},\"records\":{");
    let mut first = true;
    for data_type in types(Tier::Standard).filter(|t| t.standard == Standard::List) {
        let cursor = facts.cursors.get(&cursor_key(Tier::Standard, data_type));
        out.key(&mut first, data_type.id);
        out.raw(b"[");
        let mut first_record = true;
        for (period, start) in periods(Tier::Standard, cursor) {
            let key = chunks::key(facts.member, Tier::Standard, data_type.id, &period);
            let staged = facts.is_staged(Tier::Standard, data_type, start);
            if let Some(Records(records)) =
                chunks::load::<Records>(&ctx.staging, &key, staged).await?
            {
                count(&mut counts, data_type, start, records.len());
                for record in records {
                    if !std::mem::take(&mut first_record) {
                        out.raw(b",");
                    }
                    out.value(&record);
                }
            }
        }
        out.raw(b"]");
    }
    out.raw(b"}}");
    Ok(out.finish(first_date, last_date, DAILY_SCHEMA_VERSION, counts))
}

/// The intraday file of one civil month (`2026-11`).
pub(crate) async fn intraday_file(
    ctx: &WorkerContext,
    facts: &MemberFacts<'_>,
    month: &str,
    resolution: &str,
) -> Result<Archive, SyncError> {
    let mut out = GzJson::new();
    let header = json!({
        "schema": INTRADAY_SCHEMA,
        "schema_version": INTRADAY_SCHEMA_VERSION,
        "source": SOURCE,
        "month": month,
        "resolution": resolution,
        "time_zone": facts.time_zone,
        "coverage": coverage(facts, Tier::Intraday),
    });
    let header = serde_json::to_vec(&header).expect("a JSON value always serialises");
    out.raw(&header[..header.len() - 1]);
    out.raw(b",\"series\":{");
    let start = chunks::civil_date(Tier::Intraday.period_start_ms(month));
    let mut counts = RecordCounts::new();
    let mut first = true;
    for data_type in types(Tier::Intraday) {
        let key = chunks::key(facts.member, Tier::Intraday, data_type.id, month);
        let staged = facts.is_staged(Tier::Intraday, data_type, start);
        if let Some(bytes) = chunks::load_staged_bytes(&ctx.staging, &key, staged).await? {
            let points = series_len(&bytes).map_err(|detail| SyncError::CorruptStaging {
                key: key.as_str().to_owned(),
                detail,
            })?;
            count(&mut counts, data_type, start, points);
            out.key(&mut first, data_type.id);
            out.raw(&bytes);
        }
    }
    out.raw(b"}}");
    let last_day = start.last_of_month();
    Ok(out.finish(Some(start), Some(last_day), INTRADAY_SCHEMA_VERSION, counts))
}

fn count(counts: &mut RecordCounts, data_type: &DataType, period_start: Date, records: usize) {
    let records = u32::try_from(records).unwrap_or(u32::MAX);
    if records > 0 {
        counts.insert((data_type.id.to_owned(), period_start), records);
    }
}

/// The points of a staged series, from its `count`, without building the series.
fn series_len(bytes: &[u8]) -> Result<usize, String> {
    #[derive(Deserialize)]
    struct Count {
        count: usize,
    }
    serde_json::from_slice::<Count>(bytes)
        .map(|series| series.count)
        .map_err(|error| error.to_string())
}

fn types(tier: Tier) -> impl Iterator<Item = &'static DataType> {
    CATALOGUE
        .iter()
        .filter(move |data_type| in_tier(data_type, tier))
}

/// The periods a cursor says are staged, oldest first, with the day each starts.
fn periods(tier: Tier, cursor: Option<&Cursor>) -> Vec<(String, Date)> {
    let labels = match cursor {
        Some(Cursor {
            oldest: Some(oldest),
            newest: Some(newest),
            ..
        }) => {
            let to = newest.tomorrow().unwrap_or(*newest);
            tier.periods(chunks::civil_ms_of(*oldest), chunks::civil_ms_of(to))
        }
        _ => Vec::new(),
    };
    labels
        .into_iter()
        .filter_map(|label| Some((label.clone(), Period::parse(tier, &label)?.start)))
        .collect()
}

/// Per type: imported (with the days covered), failed (what the file holds all the same, and
/// what did not work), not granted, or not read yet.
fn coverage(facts: &MemberFacts<'_>, tier: Tier) -> Value {
    let entries = types(tier).map(|data_type| {
        let key = cursor_key(tier, data_type);
        let cursor = facts.cursors.get(&key);
        let failure = facts.failures.get(&key);
        let mut status = match (facts.skipped.get(data_type.id), failure, cursor) {
            (Some(Skipped::ScopeNotGranted), ..) => json!({"status": "scope_not_granted"}),
            (Some(Skipped::LeftOut), ..) => json!({"status": "left_out_by_member"}),
            (None, Some(_), cursor) => json!({
                "status": "failed",
                "first_date": cursor.and_then(|cursor| cursor.oldest),
                "last_date": cursor.and_then(|cursor| cursor.newest),
                "read_back_to_start": cursor.is_some_and(|cursor| cursor.complete),
            }),
            (None, None, Some(cursor)) => json!({
                "status": if cursor.complete { "imported" } else { "importing" },
                "first_date": cursor.oldest,
                "last_date": cursor.newest,
            }),
            (None, None, None) => json!({"status": "not_read_yet"}),
        };
        if let Some(failure) = failure {
            status["problem"] = json!({
                "reason": failure.reason.name(),
                "explanation": failure.reason.in_plain_words(),
                "detail": failure.detail,
                "first_day": failure.first_day,
                "last_day": failure.last_day,
                "since": failure.first_failed_at,
                "attempts": failure.attempts,
                "next_try_after": failure.retry_after,
            });
        }
        (data_type.id.to_owned(), status)
    });
    Value::Object(entries.collect())
}
