//! Reading our own files back into staged chunks — the inverse of building them. The format is
//! lossless, so a file restored into staging and built again gives the same bytes: a daily
//! file's series are cut back into the years of their chunks and its records into the years
//! that place them, and an intraday file's series are its chunks verbatim.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Read,
};

use flate2::read::GzDecoder;
use google_health::catalogue::{self, DataType, Standard};
use jiff::civil::Date;
use oh_fitbit_core::{
    fence::Fence,
    tier::{ChunkId, Period},
};
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use super::{DAILY_SCHEMA, DAILY_SCHEMA_VERSION, INTRADAY_SCHEMA, INTRADAY_SCHEMA_VERSION};
use crate::{
    chunks::{self, ChunkData, Records, Tier, TierPeriods},
    context::WorkerContext,
    error::SyncError,
    import::in_tier,
    points,
    series::Series,
};

/// What a file says of one data type (`coverage` in the files).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Coverage {
    pub status: String,
    #[serde(default)]
    pub first_date: Option<Date>,
    #[serde(default)]
    pub last_date: Option<Date>,
    /// Of a type that failed: whether what it holds goes back to the start of the history.
    #[serde(default)]
    pub read_back_to_start: bool,
}

impl Coverage {
    /// The type was read (completely, or as far as the import had come), a type that failed
    /// later included.
    pub(crate) fn was_read(&self) -> bool {
        match self.status.as_str() {
            "imported" | "importing" => true,
            "failed" => self.first_date.is_some() && self.last_date.is_some(),
            _ => false,
        }
    }

    /// The type's whole history is in the file.
    pub(crate) fn is_complete(&self) -> bool {
        self.status == "imported" || (self.status == "failed" && self.read_back_to_start)
    }
}

#[derive(Deserialize)]
struct DailyFile<'a> {
    schema: String,
    schema_version: u32,
    coverage: BTreeMap<String, Coverage>,
    #[serde(borrow)]
    daily: BTreeMap<&'a str, &'a RawValue>,
    #[serde(borrow)]
    records: BTreeMap<&'a str, &'a RawValue>,
}

#[derive(Deserialize)]
struct IntradayFile<'a> {
    schema: String,
    schema_version: u32,
    month: String,
    resolution: String,
    coverage: BTreeMap<String, Coverage>,
    #[serde(borrow)]
    series: BTreeMap<&'a str, &'a RawValue>,
}

/// What an intraday file holds besides its chunks.
pub(crate) struct IntradayContents {
    /// `raw`, or the rollUp window (`300s`).
    pub resolution: String,
    pub coverage: BTreeMap<String, Coverage>,
}

/// Stages every chunk of a daily file, adding each to `staged`; returns its coverage.
pub(crate) async fn restore_daily(
    ctx: &WorkerContext,
    fence: &Fence,
    (name, gzipped): (&str, &[u8]),
    staged: &mut BTreeSet<ChunkId>,
) -> Result<BTreeMap<String, Coverage>, SyncError> {
    let json = decompress(name, gzipped)?;
    let file: DailyFile = serde_json::from_str(&json).map_err(|error| unreadable(name, error))?;
    if (file.schema.as_str(), file.schema_version) != (DAILY_SCHEMA, DAILY_SCHEMA_VERSION) {
        return Err(unreadable(
            name,
            format!("schema {} version {}", file.schema, file.schema_version),
        ));
    }
    // Every type is checked before anything is staged, so a file from another version stages
    // nothing rather than part of itself.
    for id in file.daily.keys() {
        standard_type(name, id, Standard::DailyRollUp)?;
    }
    for id in file.records.keys() {
        standard_type(name, id, Standard::List)?;
    }
    for (id, raw) in file.daily {
        let data_type = standard_type(name, id, Standard::DailyRollUp)?;
        let json: Value = serde_json::from_str(raw.get()).map_err(|e| unreadable(name, e))?;
        let series = Series::from_json(&json).map_err(|detail| unreadable(name, detail))?;
        let years = series.split_by(|time| Tier::Standard.period_of(time.local_start_ms()));
        stage(ctx, fence, (Tier::Standard, data_type), years, staged).await?;
    }
    for (id, raw) in file.records {
        let data_type = standard_type(name, id, Standard::List)?;
        let records: Vec<&RawValue> =
            serde_json::from_str(raw.get()).map_err(|e| unreadable(name, e))?;
        let mut years: BTreeMap<String, Records> = BTreeMap::new();
        for record in records {
            let record: Value =
                serde_json::from_str(record.get()).map_err(|e| unreadable(name, e))?;
            let (_, civil_ms) =
                points::place(data_type, &record).map_err(|detail| unreadable(name, detail))?;
            years
                .entry(Tier::Standard.period_of(civil_ms))
                .or_default()
                .0
                .push(record);
        }
        stage(ctx, fence, (Tier::Standard, data_type), years, staged).await?;
    }
    Ok(file.coverage)
}

/// Stages every chunk of an intraday month's file, adding each to `staged`; returns what else
/// it says.
pub(crate) async fn restore_intraday(
    ctx: &WorkerContext,
    fence: &Fence,
    (name, gzipped): (&str, &[u8]),
    staged: &mut BTreeSet<ChunkId>,
) -> Result<IntradayContents, SyncError> {
    let json = decompress(name, gzipped)?;
    let file: IntradayFile =
        serde_json::from_str(&json).map_err(|error| unreadable(name, error))?;
    if (file.schema.as_str(), file.schema_version) != (INTRADAY_SCHEMA, INTRADAY_SCHEMA_VERSION) {
        return Err(unreadable(
            name,
            format!("schema {} version {}", file.schema, file.schema_version),
        ));
    }
    if Period::parse(Tier::Intraday, &file.month).is_none()
        || super::intraday_file_name(&file.month) != name
    {
        return Err(unreadable(name, format!("month {:?}", file.month)));
    }
    let intraday_type = |id: &str| {
        catalogue::data_type(id)
            .filter(|data_type| in_tier(data_type, Tier::Intraday))
            .ok_or_else(|| unreadable(name, format!("intraday type {id:?}")))
    };
    for id in file.series.keys() {
        intraday_type(id)?;
    }
    for (id, raw) in file.series {
        let data_type = intraday_type(id)?;
        let key = chunks::key(fence.member(), Tier::Intraday, data_type.id, &file.month);
        ctx.staging
            .put(fence, &key, raw.get().as_bytes().to_vec())
            .await?;
        staged.insert(chunks::chunk_id(Tier::Intraday, data_type.id, &file.month)?);
    }
    Ok(IntradayContents {
        resolution: file.resolution,
        coverage: file.coverage,
    })
}

async fn stage<C: ChunkData>(
    ctx: &WorkerContext,
    fence: &Fence,
    (tier, data_type): (Tier, &DataType),
    chunks: BTreeMap<String, C>,
    staged: &mut BTreeSet<ChunkId>,
) -> Result<(), SyncError> {
    for (period, chunk) in chunks {
        let key = chunks::key(fence.member(), tier, data_type.id, &period);
        ctx.staging.put(fence, &key, chunk.encode()).await?;
        staged.insert(chunks::chunk_id(tier, data_type.id, &period)?);
    }
    Ok(())
}

fn standard_type(name: &str, id: &str, method: Standard) -> Result<&'static DataType, SyncError> {
    catalogue::data_type(id)
        .filter(|data_type| data_type.standard == method)
        .ok_or_else(|| unreadable(name, format!("daily type {id:?}")))
}

fn decompress(name: &str, gzipped: &[u8]) -> Result<String, SyncError> {
    let mut json = String::new();
    GzDecoder::new(gzipped)
        .read_to_string(&mut json)
        .map_err(|error| unreadable(name, error))?;
    Ok(json)
}

fn unreadable(name: &str, detail: impl ToString) -> SyncError {
    SyncError::UnreadableFile {
        file: name.to_owned(),
        detail: detail.to_string(),
    }
}
