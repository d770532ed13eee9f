//! `list` walks: the points of a civil range, newest first, page by page, staged a period at a
//! time as the walk leaves it behind — so memory holds at most a couple of months of one type,
//! and an interrupted walk keeps everything it staged.

use std::{
    collections::{BTreeMap, HashSet},
    ops::Range,
};

use google_health::{
    ApiError, ListRequest, PointSink,
    catalogue::{DataType, Record},
};
use jiff::civil::Date;
use serde::de::{self, Deserializer};

use super::{
    Import,
    dialect::{CAMEL, Question, UNFILTERED},
    next_page,
};
use crate::{
    chunks::{self, ChunkData, Tier, TierPeriods, civil_date, civil_ms_of},
    error::SyncError,
    points,
};

/// Civil order follows physical order except across a time-zone change; a period is complete
/// only once the walk is this far past its start.
const PERIOD_MARGIN_MS: i64 = 2 * 86_400_000;

impl Import<'_, '_> {
    pub(super) async fn list_walk<C: ChunkData>(
        &mut self,
        tier: Tier,
        data_type: &'static DataType,
        from: Date,
        to: Date,
    ) -> Result<(), SyncError> {
        let (from_ms, to_ms) = (civil_ms_of(from), civil_ms_of(to));
        let context = format!("dataPoints.list {} {from}..{to}", data_type.id);
        let question = filter_question(data_type);
        let mut variants = self.dialect.order(&question, self.now).into_iter();
        let mut variant = variants.next().unwrap_or(UNFILTERED);
        let mut filter = self.filter(data_type, variant, from, to);
        let mut cross_checked = false;
        let mut any_point = false;
        let mut open: BTreeMap<String, C> = BTreeMap::new();
        let mut staged_down_to = to_ms;
        let mut token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        let mut reader = points::PointReader::new(data_type);
        let mut current = (String::new(), 0, 0);
        loop {
            let request = ListRequest {
                filter: filter.clone(),
                page_size: Some(data_type.list_page_max()),
                page_token: token.clone(),
            };
            let result = self
                .session
                .call(&context, |api, access| {
                    let request = request.clone();
                    async move { api.list(&access, data_type.id, &request).await }
                })
                .await;
            let page = match result {
                // Google refused this spelling of the filter: the next one, for this walk only.
                Err(
                    error @ SyncError::Api {
                        source: ApiError::InvalidArgument { .. },
                        ..
                    },
                ) if token.is_none() && filter.is_some() => match variants.next() {
                    Some(next) => {
                        variant = next;
                        filter = self.filter(data_type, variant, from, to);
                        continue;
                    }
                    None => return Err(error),
                },
                result => result?,
            };
            let mut sink = PageSink {
                data_type,
                tier,
                civil_range: from_ms..to_ms,
                reader: &mut reader,
                open: &mut open,
                current: &mut current,
                oldest_seen: i64::MAX,
                points: 0,
            };
            let next_page_token =
                page.read(&mut sink)
                    .map_err(|error| SyncError::UnexpectedValue {
                        context: context.clone(),
                        detail: error.to_string(),
                    })?;
            let (oldest_seen, points) = (sink.oldest_seen, sink.points);
            // Periods the walk has left behind are complete: stage them.
            let complete: Vec<String> = open
                .keys()
                .filter(|period| {
                    tier.period_start_ms(period) > oldest_seen.saturating_add(PERIOD_MARGIN_MS)
                })
                .cloned()
                .collect();
            if let Some(oldest_complete) = complete.first() {
                let lower = tier.period_start_ms(oldest_complete).max(from_ms);
                let chunks = complete
                    .iter()
                    .filter_map(|period| Some((period.clone(), open.remove(period)?)))
                    .collect();
                self.stage(tier, data_type, (lower, staged_down_to), chunks)
                    .await?;
                staged_down_to = lower;
            }
            any_point |= points > 0;
            let walked_past_start = filter.is_none() && oldest_seen < from_ms;
            token = next_page(&mut tokens_seen, next_page_token, &context)?;
            if token.is_none()
                && !any_point
                && !cross_checked
                && data_type.record == Record::Daily
                && filter.is_some()
            {
                // A daily-type filter that matched nothing may be a spelling Google answers
                // with an empty result (§2.4): one unfiltered look tells.
                cross_checked = true;
                if self
                    .newest_point_in(data_type, from_ms, to_ms, &context)
                    .await?
                    && let Some(next) = variants.next()
                {
                    variant = next;
                    filter = self.filter(data_type, variant, from, to);
                    tokens_seen.clear();
                    continue;
                }
            }
            if token.is_none() || walked_past_start {
                break;
            }
        }
        // ECG takes no filter at all: nothing to learn.
        if any_point && (filter.is_some() || variant == UNFILTERED) {
            self.dialect.worked(&question, variant, self.now).await?;
        }
        self.stage(tier, data_type, (from_ms, staged_down_to), open)
            .await
    }

    /// Stages one civil range and moves the cursor back to its start.
    pub(super) async fn stage<C: ChunkData>(
        &mut self,
        tier: Tier,
        data_type: &'static DataType,
        (from_ms, to_ms): (i64, i64),
        chunks: BTreeMap<String, C>,
    ) -> Result<(), SyncError> {
        if from_ms >= to_ms {
            return Ok(());
        }
        self.mark_pending(tier, from_ms, to_ms).await?;
        for label in tier.periods(from_ms, to_ms) {
            if let Some(period) = oh_fitbit_core::tier::Period::parse(tier, &label) {
                self.restaged.insert((tier, data_type.id, period.start));
            }
        }
        let written = chunks::replace_range(
            &self.ctx.staging,
            self.lease.fence(),
            &self.staged,
            (tier, data_type),
            (from_ms, to_ms),
            chunks,
        )
        .await?;
        for chunk in written {
            if !self.staged.contains(&chunk) {
                self.ctx
                    .members
                    .record_staged(self.lease.fence(), &chunk)
                    .await?;
                self.staged.insert(chunk);
            }
        }
        self.staged_back_to(tier, data_type, civil_date(from_ms))
            .await
    }

    /// The filter for `[from, to)` in the spelling `variant` names; `None` reads unfiltered
    /// (newest first, stopping at the range's start).
    fn filter(&self, data_type: &DataType, variant: &str, from: Date, to: Date) -> Option<String> {
        let prefix = match variant {
            UNFILTERED => return None,
            CAMEL => data_type.union_key.to_owned(),
            _ => data_type.snake_case(),
        };
        data_type.civil_filter(&prefix, from.at(0, 0, 0, 0), to.at(0, 0, 0, 0))
    }

    /// Whether an unfiltered `list` has a point in `[from_ms, to_ms)`: its newest point, read
    /// with pages of one (following tokens past empty pages), tells a filter which silently
    /// matches nothing (§2.4) from a range without data.
    async fn newest_point_in(
        &mut self,
        data_type: &'static DataType,
        from_ms: i64,
        to_ms: i64,
        context: &str,
    ) -> Result<bool, SyncError> {
        let mut request = ListRequest {
            filter: None,
            page_size: Some(1),
            page_token: None,
        };
        let mut tokens_seen = HashSet::new();
        loop {
            let page = self
                .session
                .call(context, |api, access| {
                    let request = request.clone();
                    async move { api.list(&access, data_type.id, &request).await }
                })
                .await?;
            let (points, next_page_token) =
                page.values().map_err(|error| SyncError::UnexpectedValue {
                    context: context.to_owned(),
                    detail: error.to_string(),
                })?;
            if let Some(point) = points.first() {
                return Ok(points::place(data_type, point)
                    .is_ok_and(|(_, civil_ms)| (from_ms..to_ms).contains(&civil_ms)));
            }
            request.page_token = next_page(&mut tokens_seen, next_page_token, context)?;
            if request.page_token.is_none() {
                return Ok(false);
            }
        }
    }
}

/// What a `list` of the type may be filtered with.
fn filter_question(data_type: &DataType) -> Question {
    match data_type.record {
        Record::Daily => Question::daily_filter(data_type),
        _ => Question::list_filter(data_type),
    }
}

/// Puts each point of a page into the chunk of its period as the page is parsed.
pub(crate) struct PageSink<'w, C> {
    pub(crate) data_type: &'static DataType,
    pub(crate) tier: Tier,
    pub(crate) civil_range: Range<i64>,
    pub(crate) reader: &'w mut points::PointReader,
    pub(crate) open: &'w mut BTreeMap<String, C>,
    /// The period of the previous point and its civil range: consecutive points almost always
    /// share it, and naming a period for each of millions of points is slow.
    pub(crate) current: &'w mut (String, i64, i64),
    pub(crate) oldest_seen: i64,
    pub(crate) points: usize,
}

impl<C: ChunkData> PointSink for PageSink<'_, C> {
    fn point<'de, D: Deserializer<'de>>(&mut self, point: D) -> Result<(), D::Error> {
        let (point, kept) = C::read_point(self.reader, point)?;
        self.points += 1;
        self.oldest_seen = self.oldest_seen.min(point.civil_ms);
        if !self.civil_range.contains(&point.civil_ms) {
            return Ok(());
        }
        let current = &mut *self.current;
        if !(current.1..current.2).contains(&point.civil_ms) {
            *current = self.tier.period_around(point.civil_ms);
        }
        let chunk = match self.open.get_mut(&current.0) {
            Some(chunk) => chunk,
            None => self
                .open
                .entry(current.0.clone())
                .or_insert(C::empty(self.data_type)),
        };
        chunk
            .add_point(self.data_type, &point, self.reader, kept)
            .map_err(de::Error::custom)
    }
}
