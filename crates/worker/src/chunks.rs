//! The staging store holds each member's data cut into chunks — one per tier, data type and
//! period (a year of daily data, a month of intraday data) — so a sync rewrites only the
//! periods it read, and the files are rebuilt from staging without downloading anything back
//! from Open Humans. A chunk is replaced atomically, so a crash leaves the old or the new one.

use std::collections::{BTreeMap, BTreeSet};

use google_health::catalogue::DataType;
use jiff::civil::Date;
pub(crate) use oh_fitbit_core::tier::Tier;
use oh_fitbit_core::tier::{ChunkId, Period};
use oh_fitbit_core::{
    fence::Fence,
    staging::{Staging, StagingKey},
};
use open_humans::ProjectMemberId;
use serde::{
    Deserialize,
    de::{self, Deserializer},
};
use serde_json::{Value, value::RawValue};

use crate::{error::SyncError, points, series::Series};

/// How a tier cuts civil time (local epoch ms) into the periods its chunks and files cover.
pub(crate) trait TierPeriods {
    fn period_of(self, civil_ms: i64) -> String;
    fn period_around(self, civil_ms: i64) -> (String, i64, i64);
    fn period_start_ms(self, period: &str) -> i64;
    fn periods(self, from_ms: i64, to_ms: i64) -> Vec<String>;
}

impl TierPeriods for Tier {
    /// The period (`2026` or `2026-11`) a civil instant (local epoch ms) falls in.
    fn period_of(self, civil_ms: i64) -> String {
        let date = civil_date(civil_ms);
        match self {
            Tier::Standard => format!("{:04}", date.year()),
            Tier::Intraday => format!("{:04}-{:02}", date.year(), date.month()),
        }
    }

    /// The period a civil instant falls in, with the civil range `[start, end)` it covers.
    fn period_around(self, civil_ms: i64) -> (String, i64, i64) {
        let period = self.period_of(civil_ms);
        let date = civil_date(self.period_start_ms(&period));
        let next = match self {
            Tier::Standard => date.checked_add(jiff::Span::new().years(1)),
            Tier::Intraday => date.checked_add(jiff::Span::new().months(1)),
        };
        let end = next.map_or(i64::MAX, civil_ms_of);
        (period.clone(), self.period_start_ms(&period), end)
    }

    /// Local epoch ms at which a period (as [`Tier::period_of`] names it) starts.
    fn period_start_ms(self, period: &str) -> i64 {
        let (year, month) = match period.split_once('-') {
            Some((year, month)) => (year, month.parse().unwrap_or(1)),
            None => (period, 1),
        };
        let year = year.parse().unwrap_or(1970);
        civil_ms_of(Date::new(year, month, 1).unwrap_or(Date::constant(1970, 1, 1)))
    }

    /// Every period overlapping the civil range `[from_ms, to_ms)`, oldest first.
    fn periods(self, from_ms: i64, to_ms: i64) -> Vec<String> {
        let mut periods = Vec::new();
        let mut date = civil_date(from_ms);
        let last = civil_date(to_ms.saturating_sub(1).max(from_ms));
        while date <= last {
            let period = self.period_of(civil_ms_of(date));
            if periods.last() != Some(&period) {
                periods.push(period);
            }
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        periods
    }
}

/// Local epoch ms of a civil date's midnight.
pub(crate) fn civil_ms_of(date: Date) -> i64 {
    crate::series::Instant::from_date(date).ms
}

pub(crate) fn civil_date(civil_ms: i64) -> Date {
    Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(civil_ms.div_euclid(86_400_000)))
        .unwrap_or(Date::MAX)
}

/// What a chunk holds: a column-wise [`Series`], or whole records (sessions, daily types,
/// body measurements) kept exactly as the API sent them.
pub(crate) trait ChunkData: Sized {
    /// What [`ChunkData::read_point`] keeps of a point besides its time and leaves: nothing for
    /// a series, the point's text for records.
    type Kept<'de>;
    fn empty(data_type: &DataType) -> Self;
    fn decode(bytes: &[u8]) -> Result<Self, String>;
    fn encode(&self) -> Vec<u8>;
    /// Drops what lies in the civil range `[from_ms, to_ms)`, which is being replaced.
    fn remove_civil_range(&mut self, data_type: &DataType, from_ms: i64, to_ms: i64);
    fn absorb(&mut self, data_type: &DataType, incoming: Self);
    fn is_empty(&self) -> bool;
    /// Reads one point of a `list` page: a series needs its time and leaves, records keep the
    /// point's text too.
    fn read_point<'de, D: Deserializer<'de>>(
        reader: &mut points::PointReader,
        point: D,
    ) -> Result<(points::Point<'de>, Self::Kept<'de>), D::Error>;
    /// Adds a point [`ChunkData::read_point`] read (its leaves are in `reader`).
    fn add_point(
        &mut self,
        data_type: &DataType,
        point: &points::Point<'_>,
        reader: &points::PointReader,
        kept: Self::Kept<'_>,
    ) -> Result<(), String>;
}

impl ChunkData for Series {
    type Kept<'de> = ();
    fn empty(data_type: &DataType) -> Self {
        Series::new(points::shape(data_type))
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let json: Value = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        Series::from_json(&json)
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a series always serialises")
    }

    fn remove_civil_range(&mut self, _: &DataType, from_ms: i64, to_ms: i64) {
        Series::remove_civil_range(self, from_ms, to_ms);
    }

    fn absorb(&mut self, _: &DataType, incoming: Self) {
        Series::absorb(self, incoming);
    }

    fn is_empty(&self) -> bool {
        Series::is_empty(self)
    }

    fn read_point<'de, D: Deserializer<'de>>(
        reader: &mut points::PointReader,
        point: D,
    ) -> Result<(points::Point<'de>, ()), D::Error> {
        Ok((reader.read_from(point)?, ()))
    }

    fn add_point(
        &mut self,
        data_type: &DataType,
        point: &points::Point<'_>,
        reader: &points::PointReader,
        (): (),
    ) -> Result<(), String> {
        self.push(
            point.time,
            point.data_source,
            &reader.leaves,
            Some(data_type.integer_fields),
        )
    }
}

/// Records of one type, ascending by the civil time that places them.
#[derive(Debug, Default)]
pub(crate) struct Records(pub Vec<Value>);

/// The member a record kept with a remark of ours carries; Google's `DataPoint` has none of
/// that name.
pub(crate) const NOTE: &str = "importerNote";

const IN_PROGRESS: &str =
    "in progress: Google sent this session without its end; the finished one replaces it";

impl ChunkData for Records {
    /// The point's text, and a note to keep with it.
    type Kept<'de> = (&'de str, Option<String>);
    fn empty(_: &DataType) -> Self {
        Records::default()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes)
            .map(Records)
            .map_err(|error| error.to_string())
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a JSON value always serialises")
    }

    fn remove_civil_range(&mut self, data_type: &DataType, from_ms: i64, to_ms: i64) {
        self.0.retain(|record| {
            points::place(data_type, record)
                .is_ok_and(|(_, civil_ms)| !(from_ms..to_ms).contains(&civil_ms))
        });
    }

    /// A record with the same `name` as an incoming one is the older version of it (a
    /// reprocessed sleep session, an edited weight): the incoming one replaces it.
    fn absorb(&mut self, data_type: &DataType, incoming: Self) {
        let name = |record: &Value| {
            record
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let incoming_names: Vec<String> = incoming.0.iter().filter_map(name).collect();
        self.0
            .retain(|record| name(record).is_none_or(|name| !incoming_names.contains(&name)));
        self.0.extend(incoming.0);
        let key = |record: &Value| {
            points::place(data_type, record)
                .map_or((i64::MIN, 0), |(time, civil_ms)| (civil_ms, time.start.ms))
        };
        self.0.sort_by_key(key);
        self.0.dedup();
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A point that does not read is kept as Google sent it, with a note saying what is
    /// wrong, wherever its start can still be read: a record lost is worse than an odd one.
    fn read_point<'de, D: Deserializer<'de>>(
        reader: &mut points::PointReader,
        point: D,
    ) -> Result<(points::Point<'de>, Self::Kept<'de>), D::Error> {
        let text = <&RawValue>::deserialize(point)?.get();
        let error = match reader.read(text) {
            Ok(point) => {
                let note = point.in_progress.then(|| IN_PROGRESS.to_owned());
                return Ok((point, (text, note)));
            }
            Err(error) => error,
        };
        let value: Value = serde_json::from_str(text).map_err(de::Error::custom)?;
        let (time, civil_ms) =
            points::place(reader.data_type(), &value).map_err(|_| de::Error::custom(&error))?;
        let point = points::Point {
            time,
            civil_ms,
            data_source: None,
            in_progress: false,
        };
        let note = format!("kept as Google sent it; it could not be read: {error}");
        Ok((point, (text, Some(oh_fitbit_core::log_safe(&note)))))
    }

    fn add_point(
        &mut self,
        _: &DataType,
        _: &points::Point<'_>,
        _: &points::PointReader,
        (text, note): Self::Kept<'_>,
    ) -> Result<(), String> {
        let mut record: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        if let (Some(note), Value::Object(members)) = (note, &mut record) {
            members.insert(NOTE.to_owned(), Value::String(note));
        }
        self.0.push(record);
        Ok(())
    }
}

pub(crate) fn key(
    member: &ProjectMemberId,
    tier: Tier,
    data_type: &str,
    period: &str,
) -> StagingKey {
    StagingKey::parse(&format!(
        "{}/{}/{data_type}/{period}.json",
        member_prefix(member).as_str(),
        tier.name()
    ))
    .expect("member ids, type ids and periods are valid key segments")
}

/// Where all of a member's staged data lives.
pub(crate) fn member_prefix(member: &ProjectMemberId) -> StagingKey {
    StagingKey::parse(&format!("members/{member}")).expect("member ids are valid key segments")
}

/// Where the name of the member's staged copy is kept (see [`crate::heal`]).
pub(crate) fn generation_key(member: &ProjectMemberId) -> StagingKey {
    StagingKey::parse(&format!("{}/generation", member_prefix(member).as_str()))
        .expect("member ids are valid key segments")
}

/// A chunk's plaintext; a chunk that cannot be opened (damaged, or not ours) is corrupt.
pub(crate) async fn load_bytes(
    staging: &Staging,
    key: &StagingKey,
) -> Result<Option<Vec<u8>>, SyncError> {
    match staging.get(key).await {
        Err(oh_fitbit_core::Error::StagingUnreadable { key, source }) => {
            Err(SyncError::CorruptStaging {
                key,
                detail: source.to_string(),
            })
        }
        other => Ok(other?),
    }
}

/// The chunk of a tier, type and period.
pub(crate) fn chunk_id(tier: Tier, data_type: &str, period: &str) -> Result<ChunkId, SyncError> {
    Ok(ChunkId {
        period: Period::parse(tier, period).ok_or(SyncError::DateOutOfRange)?,
        data_type: data_type.to_owned(),
    })
}

/// [`load_bytes`] of a chunk the member's record may say is staged (`staged`): then it must
/// be there, or staging lost it and what it held would be lost with it.
pub(crate) async fn load_staged_bytes(
    staging: &Staging,
    key: &StagingKey,
    staged: bool,
) -> Result<Option<Vec<u8>>, SyncError> {
    match load_bytes(staging, key).await? {
        None if staged => Err(SyncError::CorruptStaging {
            key: key.as_str().to_owned(),
            detail: "the chunk is recorded as staged but is gone".into(),
        }),
        found => Ok(found),
    }
}

/// [`load_staged_bytes`], decoded.
pub(crate) async fn load<C: ChunkData>(
    staging: &Staging,
    key: &StagingKey,
    staged: bool,
) -> Result<Option<C>, SyncError> {
    match load_staged_bytes(staging, key, staged).await? {
        None => Ok(None),
        Some(bytes) => C::decode(&bytes)
            .map(Some)
            .map_err(|detail| SyncError::CorruptStaging {
                key: key.as_str().to_owned(),
                detail,
            }),
    }
}

/// Replaces the civil range `[from_ms, to_ms)` of every chunk it overlaps with `incoming`
/// (keyed by period; a period without an entry had no points in the range). Returns the
/// chunks it wrote; one that `staged` holds must be there to be replaced in part.
pub(crate) async fn replace_range<C: ChunkData>(
    staging: &Staging,
    fence: &Fence,
    staged: &BTreeSet<ChunkId>,
    (tier, data_type): (Tier, &DataType),
    (from_ms, to_ms): (i64, i64),
    mut incoming: BTreeMap<String, C>,
) -> Result<Vec<ChunkId>, SyncError> {
    let mut written = Vec::new();
    if from_ms >= to_ms {
        return Ok(written);
    }
    for period in tier.periods(from_ms, to_ms) {
        let id = chunk_id(tier, data_type.id, &period)?;
        let key = key(fence.member(), tier, data_type.id, &period);
        let fresh = incoming.remove(&period);
        let existing: Option<C> = load(staging, &key, staged.contains(&id)).await?;
        if existing.is_none() && fresh.as_ref().is_none_or(ChunkData::is_empty) {
            continue;
        }
        let mut chunk = existing.unwrap_or_else(|| C::empty(data_type));
        chunk.remove_civil_range(data_type, from_ms, to_ms);
        if let Some(fresh) = fresh {
            chunk.absorb(data_type, fresh);
        }
        staging.put(fence, &key, chunk.encode()).await?;
        written.push(id);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use google_health::catalogue::data_type;

    use super::*;

    /// Reads `text` as one point of a `list` page into records of `id`.
    fn read_into_records(id: &str, text: &str) -> Result<Records, String> {
        let data_type = data_type(id).unwrap();
        let mut reader = points::PointReader::new(data_type);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let (point, kept) =
            Records::read_point(&mut reader, &mut deserializer).map_err(|e| e.to_string())?;
        let mut records = Records::empty(data_type);
        records.add_point(data_type, &point, &reader, kept)?;
        Ok(records)
    }

    #[test]
    fn odd_points_are_kept_as_sent_with_a_note() {
        let in_progress =
            r#"{"name": "n", "sleep": {"interval": {"startTime": "2026-12-02T22:30:00Z"}}}"#;
        let records = read_into_records("sleep", in_progress).unwrap();
        let record = &records.0[0];
        assert!(record[NOTE].as_str().unwrap().starts_with("in progress"));
        assert_eq!(
            record["sleep"],
            serde_json::json!({"interval": {"startTime": "2026-12-02T22:30:00Z"}})
        );

        let unreadable = r#"{"exercise": {"interval": {"startTime": "2026-03-08T07:00:00Z", "endTime": "soon"}, "exerciseType": "RUN"}}"#;
        let records = read_into_records("exercise", unreadable).unwrap();
        let record = &records.0[0];
        assert!(
            record[NOTE].as_str().unwrap().contains("could not be read"),
            "{record}"
        );
        assert_eq!(record["exercise"]["exerciseType"], "RUN");

        let plain = r#"{"exercise": {"interval": {"startTime": "2026-03-08T07:00:00Z", "endTime": "2026-03-08T08:00:00Z"}}}"#;
        assert!(
            read_into_records("exercise", plain).unwrap().0[0]
                .get(NOTE)
                .is_none()
        );
        // Without a readable start there is no day to keep it on: the page fails instead.
        assert!(read_into_records("exercise", r#"{"exercise": {"interval": {}}}"#).is_err());
    }
}
