//! Reading a member's data, type by type, into staging, driven by the catalogue.
//!
//! Each tier and type has a [`Cursor`]: every civil day from `oldest` to `newest` is staged. A
//! sync first reads the *recent* range of every type (the last two weeks, or this month for
//! intraday data, on the first sync; afterwards the days since the last sync plus a trailing
//! window Google may have rewritten), so a first file lands quickly; then it walks the rest of
//! the history backwards, saving the cursor each time a chunk is staged, so an interrupted
//! import resumes where it stopped.

mod dialect;
mod list;
mod roll_up;

use std::collections::BTreeMap;

use google_health::{
    ApiError, Scope,
    catalogue::{CATALOGUE, DataType, Intraday, Standard},
};
use jiff::{ToSpan, civil::Date};
use oh_fitbit_core::{
    members::{Cursor, IntradayResolution},
    queue::Lease,
    tier::{CursorKey, Period},
};
use open_humans::ProjectMemberId;

pub use self::dialect::Dialect;
use crate::{
    chunks::{Records, Tier, TierPeriods},
    context::WorkerContext,
    error::SyncError,
    google::GoogleSession,
    series::Series,
};

/// Days a first sync reads before anything else, so the member sees a file within a minute.
const RECENT_DAYS: i32 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Recent,
    Backfill,
}

/// Why a type was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// The member did not grant the type's scope on Google's consent screen.
    ScopeNotGranted,
    /// The member left the type's category out in their settings.
    LeftOut,
}

pub struct Import<'a, 's> {
    pub ctx: &'a WorkerContext,
    pub session: &'a mut GoogleSession<'s>,
    pub member: ProjectMemberId,
    /// The job's lease: saving a cursor records progress on it.
    pub lease: &'a Lease,
    pub dialect: Dialect,
    /// The member's first day of history (membership start or their chosen earliest date).
    pub first: Date,
    /// Today in the member's time zone.
    pub today: Date,
    /// `today` of the member's last successful sync; `None` before the first.
    pub last_synced_day: Option<Date>,
    pub granted: Vec<Scope>,
    /// Categories the member chose not to import.
    pub left_out: std::collections::BTreeSet<Scope>,
    /// The resolution intraday data is read at (`None`: intraday is off).
    pub intraday_resolution: Option<IntradayResolution>,
    pub cursors: BTreeMap<CursorKey, Cursor>,
    pub skipped: BTreeMap<&'static str, Skipped>,
    /// Periods staged but not yet published.
    pub pending: std::collections::BTreeSet<Period>,
    /// What this run read again from Google: (tier, data type, first day of the period). Only
    /// there may a file hold fewer records than before — Google's answer is the truth.
    pub restaged: std::collections::BTreeSet<(Tier, &'static str, Date)>,
    /// The chunks staging holds, as the member's record says.
    pub staged: std::collections::BTreeSet<oh_fitbit_core::tier::ChunkId>,
}

impl Import<'_, '_> {
    /// Reads one phase of every type of `tier`.
    pub async fn run(&mut self, tier: Tier, phase: Phase) -> Result<(), SyncError> {
        for data_type in CATALOGUE
            .iter()
            .filter(|data_type| in_tier(data_type, tier))
        {
            if self.skipped.contains_key(data_type.id) {
                continue;
            }
            if self.left_out.contains(&data_type.scope) {
                self.skipped.insert(data_type.id, Skipped::LeftOut);
                continue;
            }
            if !self.granted.contains(&data_type.scope) {
                self.skipped.insert(data_type.id, Skipped::ScopeNotGranted);
                continue;
            }
            match self.read_type(tier, data_type, phase).await {
                Err(SyncError::Api {
                    source: ApiError::ScopeNotGranted { .. },
                    ..
                }) => {
                    self.skipped.insert(data_type.id, Skipped::ScopeNotGranted);
                }
                result => result?,
            }
        }
        Ok(())
    }

    async fn read_type(
        &mut self,
        tier: Tier,
        data_type: &'static DataType,
        phase: Phase,
    ) -> Result<(), SyncError> {
        let key = cursor_key(tier, data_type);
        let cursor = self.cursors.get(&key).copied().unwrap_or_default();
        let tomorrow = self
            .today
            .tomorrow()
            .map_err(|_| SyncError::DateOutOfRange)?;
        let (from, to) = match phase {
            Phase::Recent => {
                // Read today, yet the last successful sync was on another day: read by this
                // sync, in an earlier run that stopped part way (a quota wait, a failure).
                // Reading it again on every run would spend a tight quota on the same days and
                // never reach the rest.
                let read_by_this_sync =
                    cursor.newest == Some(self.today) && self.last_synced_day != Some(self.today);
                if read_by_this_sync {
                    return Ok(());
                }
                let start = match cursor.newest {
                    Some(newest) => newest
                        .checked_sub((data_type.trailing_days() as i32).days())
                        .map_err(|_| SyncError::DateOutOfRange)?,
                    None if tier == Tier::Intraday => self.today.first_of_month(),
                    None => self
                        .today
                        .checked_sub((RECENT_DAYS - 1).days())
                        .map_err(|_| SyncError::DateOutOfRange)?,
                };
                (start.max(self.first), tomorrow)
            }
            // Not `complete` alone: a member who moves their earliest date back reopens it.
            Phase::Backfill => match cursor.oldest {
                Some(oldest) if oldest > self.first => (self.first, oldest),
                _ => return Ok(()),
            },
        };
        if from >= to {
            return Ok(());
        }
        self.read_range(tier, data_type, from, to).await?;
        let cursor = self.cursors.entry(key.clone()).or_default();
        if phase == Phase::Recent {
            cursor.newest = Some(self.today);
        }
        if tier == Tier::Intraday {
            cursor.resolution = self.intraday_resolution;
        }
        let oldest = cursor.oldest.map_or(from, |oldest| oldest.min(from));
        cursor.oldest = Some(oldest);
        cursor.complete = oldest <= self.first;
        self.save_cursor(&key).await
    }

    /// Reads `[from, to)` with the method the catalogue and the member's choice call for.
    async fn read_range(
        &mut self,
        tier: Tier,
        data_type: &'static DataType,
        from: Date,
        to: Date,
    ) -> Result<(), SyncError> {
        let window_s = self
            .intraday_resolution
            .and_then(IntradayResolution::window_seconds);
        match (tier, data_type.standard, window_s) {
            (Tier::Standard, Standard::DailyRollUp, _) => {
                self.daily_roll_ups(data_type, from, to).await
            }
            (Tier::Standard, _, _) => self.list_walk::<Records>(tier, data_type, from, to).await,
            (Tier::Intraday, _, Some(window_s)) if data_type.methods.roll_up => {
                self.roll_ups(data_type, from, to, window_s).await
            }
            (Tier::Intraday, _, _) => self.list_walk::<Series>(tier, data_type, from, to).await,
        }
    }

    /// Records that everything from `oldest` on is staged (a backfill moving back).
    async fn staged_back_to(
        &mut self,
        tier: Tier,
        data_type: &DataType,
        oldest: Date,
    ) -> Result<(), SyncError> {
        let key = cursor_key(tier, data_type);
        let cursor = self.cursors.entry(key.clone()).or_default();
        if cursor.oldest.is_some_and(|known| known <= oldest) || cursor.newest.is_none() {
            return Ok(());
        }
        cursor.oldest = Some(oldest);
        self.save_cursor(&key).await
    }

    async fn save_cursor(&self, key: &CursorKey) -> Result<(), SyncError> {
        let cursor = self.cursors.get(key).copied().unwrap_or_default();
        self.ctx
            .members
            .save_cursor(self.lease.fence(), key, &cursor)
            .await?;
        self.ctx.queue.record_progress(self.lease).await?;
        Ok(())
    }

    /// Records, before staging, that the periods of `[from_ms, to_ms)` will need their files
    /// rebuilt, so a crash between staging and publishing is caught up by the next run.
    async fn mark_pending(
        &mut self,
        tier: Tier,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(), SyncError> {
        let new: Vec<Period> = tier
            .periods(from_ms, to_ms)
            .iter()
            .filter_map(|label| Period::parse(tier, label))
            .filter(|period| !self.pending.contains(period))
            .collect();
        if !new.is_empty() {
            self.ctx
                .members
                .add_pending_periods(self.lease.fence(), &new)
                .await?;
            self.pending.extend(new);
        }
        Ok(())
    }
}

/// `[from, to)` cut into spans of at most `span_days`, newest first: the order a backfill
/// walks in, one rollup request range each.
fn spans_newest_first(from: Date, to: Date, span_days: u32) -> Vec<(Date, Date)> {
    let mut spans = Vec::new();
    let mut end = to;
    while end > from {
        let start = end
            .checked_sub((span_days as i32).days())
            .map_or(from, |start| start.max(from));
        spans.push((start, end));
        end = start;
    }
    spans
}

/// The next page token, or an error when Google hands out one it gave before (the walk would
/// never end).
fn next_page(
    seen: &mut std::collections::HashSet<String>,
    next: Option<String>,
    context: &str,
) -> Result<Option<String>, SyncError> {
    match next {
        Some(token) if !seen.insert(token.clone()) => Err(SyncError::UnexpectedValue {
            context: context.to_owned(),
            detail: "a page token came back twice".into(),
        }),
        next => Ok(next),
    }
}

pub fn cursor_key(tier: Tier, data_type: &DataType) -> CursorKey {
    CursorKey::new(tier, data_type.id)
}

pub fn in_tier(data_type: &DataType, tier: Tier) -> bool {
    match tier {
        Tier::Standard => data_type.standard != Standard::No,
        Tier::Intraday => data_type.intraday == Intraday::List,
    }
}
