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
#[cfg(feature = "fuzzing")]
pub(crate) use list::PageSink;
mod roll_up;

use std::collections::BTreeMap;

use google_health::{
    ApiError, Scope,
    catalogue::{CATALOGUE, DataType, Intraday, Standard},
};
use jiff::{Timestamp, ToSpan, civil::Date};
use oh_fitbit_core::{
    members::{Cursor, FailureReason, IntradayResolution, TypeFailure},
    queue::Lease,
    tier::{CursorKey, Period},
};
use open_humans::ProjectMemberId;

pub(crate) use self::dialect::Dialect;
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
pub(crate) enum Phase {
    Recent,
    Backfill,
}

/// Why a type was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// The member did not grant the type's scope on Google's consent screen.
    ScopeNotGranted,
    /// The member left the type's category out in their settings.
    LeftOut,
}

pub(crate) struct Import<'a, 's> {
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
    /// When this run started: what the dialect and the failures' waits are measured from.
    pub now: Timestamp,
    /// Types whose reading failed on their own (this run or before), while the others went on.
    pub failures: BTreeMap<CursorKey, TypeFailure>,
    /// Types that failed in this run: not tried again before the next.
    pub failed_now: std::collections::BTreeSet<CursorKey>,
}

impl Import<'_, '_> {
    /// Reads one phase of every type of `tier`.
    pub(crate) async fn run(&mut self, tier: Tier, phase: Phase) -> Result<(), SyncError> {
        for data_type in CATALOGUE
            .iter()
            .filter(|data_type| in_tier(data_type, tier))
        {
            if self.skipped.contains_key(data_type.id) {
                continue;
            }
            let not_read = if self.left_out.contains(&data_type.scope) {
                Some(Skipped::LeftOut)
            } else if !self.granted.contains(&data_type.scope) {
                Some(Skipped::ScopeNotGranted)
            } else {
                None
            };
            if let Some(reason) = not_read {
                self.skipped.insert(data_type.id, reason);
                // A failure of a type no longer read is no longer a problem to show.
                self.clear_failure(&cursor_key(tier, data_type)).await?;
                continue;
            }
            let key = cursor_key(tier, data_type);
            let range = self.range_to_read(tier, data_type, phase)?;
            if let Some(failure) = self.failures.get(&key) {
                // A grant that does not cover the type concerns every day of it; a refusal or
                // an unreadable answer only the days it concerned, so the others go on.
                let not_granted = failure.reason == FailureReason::NotGranted;
                let concerned = not_granted
                    || range.is_some_and(|(from, to)| {
                        from <= failure.last_day && to > failure.first_day
                    });
                if self.failed_now.contains(&key) || (concerned && failure.retry_after > self.now) {
                    if not_granted {
                        self.skipped.insert(data_type.id, Skipped::ScopeNotGranted);
                    }
                    continue;
                }
            }
            let Some((from, to)) = range else {
                continue;
            };
            match self.read_type(tier, data_type, phase, (from, to)).await {
                Ok(()) => {
                    let failed_days_read = self.failures.get(&key).is_some_and(|failure| {
                        failure.reason == FailureReason::NotGranted
                            || (from <= failure.first_day && to > failure.first_day)
                    });
                    if failed_days_read {
                        self.clear_failure(&key).await?;
                    }
                }
                Err(
                    error @ SyncError::Api {
                        source: ApiError::ScopeNotGranted { .. },
                        ..
                    },
                ) => {
                    self.skipped.insert(data_type.id, Skipped::ScopeNotGranted);
                    let reason = FailureReason::NotGranted;
                    self.failed(key, (from, to), reason, &error).await?;
                }
                Err(error) => match error.type_failure() {
                    Some(reason) => self.failed(key, (from, to), reason, &error).await?,
                    None => return Err(error),
                },
            }
        }
        Ok(())
    }

    async fn clear_failure(&mut self, key: &CursorKey) -> Result<(), SyncError> {
        if self.failures.remove(key).is_some() {
            self.ctx
                .members
                .clear_type_failure(self.lease.fence(), key)
                .await?;
        }
        Ok(())
    }

    /// Records that `key` failed on its own over `[from, to)`; the other types go on, and
    /// this one is tried again on a later run, after a wait that grows with each failure.
    async fn failed(
        &mut self,
        key: CursorKey,
        (from, to): (Date, Date),
        reason: FailureReason,
        error: &SyncError,
    ) -> Result<(), SyncError> {
        let detail = oh_fitbit_core::log_safe(&oh_fitbit_core::error_chain(error));
        tracing::warn!(data_type = %key, %detail, "one data type failed; the others go on");
        let last = to.yesterday().map_err(|_| SyncError::DateOutOfRange)?;
        let failure = TypeFailure::after(
            self.failures.get(&key),
            (from, last),
            (reason, detail),
            self.now,
            self.ctx.config.type_retry_wait,
        );
        self.ctx
            .members
            .record_type_failure(self.lease.fence(), &key, &failure)
            .await?;
        self.failures.insert(key.clone(), failure);
        self.failed_now.insert(key);
        Ok(())
    }

    /// The civil days `[from, to)` this phase reads of the type; `None` when there are none.
    fn range_to_read(
        &self,
        tier: Tier,
        data_type: &'static DataType,
        phase: Phase,
    ) -> Result<Option<(Date, Date)>, SyncError> {
        let cursor = self
            .cursors
            .get(&cursor_key(tier, data_type))
            .copied()
            .unwrap_or_default();
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
                    return Ok(None);
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
                _ => return Ok(None),
            },
        };
        Ok((from < to).then_some((from, to)))
    }

    async fn read_type(
        &mut self,
        tier: Tier,
        data_type: &'static DataType,
        phase: Phase,
        (from, to): (Date, Date),
    ) -> Result<(), SyncError> {
        let key = cursor_key(tier, data_type);
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

pub(crate) fn cursor_key(tier: Tier, data_type: &DataType) -> CursorKey {
    CursorKey::new(tier, data_type.id)
}

pub(crate) fn in_tier(data_type: &DataType, tier: Tier) -> bool {
    match tier {
        Tier::Standard => data_type.standard != Standard::No,
        Tier::Intraday => data_type.intraday == Intraday::List,
    }
}
