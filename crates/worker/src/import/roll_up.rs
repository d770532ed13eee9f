//! Rollups: one value per civil day (`dailyRollUp`, the standard tier) or per fixed window of
//! 1, 5 or 15 minutes (`rollUp`, intraday data at a chosen resolution), read in ranges of the
//! type's largest allowed span, newest first.

use std::collections::{BTreeMap, HashSet};

use google_health::{ApiError, DailyRollUpRequest, RollUpRequest, catalogue::DataType};
use jiff::{Timestamp, civil::Date};
use serde_json::Value;

use super::{
    Import,
    dialect::{PAGE_SIZE_SENT, Question},
    next_page, spans_newest_first,
};
use crate::{
    chunks::{Tier, TierPeriods, civil_ms_of},
    error::SyncError,
    points,
    series::{Instant, PointTime, Series, Shape, parse_instant},
};

impl Import<'_, '_> {
    /// Daily values for `[from, to)`, a span of the type's rollup limit at a time.
    pub(super) async fn daily_roll_ups(
        &mut self,
        data_type: &'static DataType,
        from: Date,
        to: Date,
    ) -> Result<(), SyncError> {
        // One day short of the limit: see `daily_roll_up_range`.
        let span_days = data_type.roll_up_max_days().saturating_sub(1).max(1);
        for (start, end) in spans_newest_first(from, to, span_days) {
            let days = self.daily_roll_up_range(data_type, start, end).await?;
            let mut years: BTreeMap<String, Series> = BTreeMap::new();
            for (date, value) in days {
                let time = points::date_time(date);
                years
                    .entry(Tier::Standard.period_of(time.start.ms))
                    .or_insert_with(|| Series::new(Shape::Date))
                    .push_value(time, &Value::Object(value))
                    .map_err(|detail| SyncError::UnexpectedValue {
                        context: format!("dailyRollUp {}", data_type.id),
                        detail,
                    })?;
            }
            self.stage(
                Tier::Standard,
                data_type,
                (civil_ms_of(start), civil_ms_of(end)),
                years,
            )
            .await?;
        }
        Ok(())
    }

    /// The days of `[start, end)` with their value objects. Whether Google counts `range.end`
    /// is unknown (§2.6: the discovery document says it does not, a live client that it does,
    /// a live recording that it does not), so `end` is sent as it is, in a span one day short
    /// of the type's limit: the days wanted are covered, and the limit kept, under either
    /// reading. The end day an inclusive answer adds is the next span's, and dropped here.
    async fn daily_roll_up_range(
        &mut self,
        data_type: &'static DataType,
        start: Date,
        end: Date,
    ) -> Result<BTreeMap<Date, serde_json::Map<String, Value>>, SyncError> {
        let context = format!("dataPoints.dailyRollUp {} {start}..{end}", data_type.id);
        let question = Question::roll_up_page_size("dailyRollUp", data_type);
        let mut page_sizes = self.dialect.order(&question, self.now).into_iter();
        let mut page_size = page_sizes.next().unwrap_or(PAGE_SIZE_SENT);
        let mut days = BTreeMap::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        loop {
            let request = DailyRollUpRequest {
                start,
                end,
                window_days: 1,
                page_size: (page_size == PAGE_SIZE_SENT).then(|| data_type.roll_up_max_days()),
                page_token: token.clone(),
            };
            let result = self
                .session
                .call(&context, |api, access| {
                    let request = request.clone();
                    async move { api.daily_roll_up(&access, data_type.id, &request).await }
                })
                .await;
            let Some(page) = self
                .answered(result, &token, &question, (&mut page_size, &mut page_sizes))
                .await?
            else {
                continue;
            };
            for point in page.points {
                let date = point.start.date();
                if !(start..end).contains(&date) {
                    continue;
                }
                let value = match point.value.get(data_type.union_key) {
                    Some(Value::Object(value)) => value.clone(),
                    _ => {
                        return Err(SyncError::UnexpectedValue {
                            context,
                            detail: format!("day {date} has no {} object", data_type.union_key),
                        });
                    }
                };
                days.insert(date, value);
            }
            token = next_page(&mut tokens_seen, page.next_page_token, &context)?;
            if token.is_none() {
                return Ok(days);
            }
        }
    }

    /// A rollup page Google answered, or `None` when it refused a first page and `page_size`
    /// now names the next variant to try (a peer saw `dailyRollUp` of `total-calories` refuse
    /// `pageSize`). A first page answered is evidence for the variant it was sent with.
    async fn answered<T>(
        &mut self,
        result: Result<T, SyncError>,
        token: &Option<String>,
        question: &Question,
        (page_size, variants): (&mut &'static str, &mut impl Iterator<Item = &'static str>),
    ) -> Result<Option<T>, SyncError> {
        match result {
            Err(SyncError::Api {
                source: ApiError::InvalidArgument { .. },
                ..
            }) if token.is_none()
                && let Some(next) = variants.next() =>
            {
                *page_size = next;
                Ok(None)
            }
            result => {
                let page = result?;
                if token.is_none() {
                    self.dialect.worked(question, page_size, self.now).await?;
                }
                Ok(Some(page))
            }
        }
    }

    /// `rollUp` windows of `window_s` seconds over `[from, to)` (UTC days), for intraday data
    /// at a chosen resolution.
    pub(super) async fn roll_ups(
        &mut self,
        data_type: &'static DataType,
        from: Date,
        to: Date,
        window_s: u32,
    ) -> Result<(), SyncError> {
        for (start, end) in spans_newest_first(from, to, data_type.roll_up_max_days()) {
            let months = self.roll_up_range(data_type, start, end, window_s).await?;
            self.stage(
                Tier::Intraday,
                data_type,
                (civil_ms_of(start), civil_ms_of(end)),
                months,
            )
            .await?;
        }
        Ok(())
    }

    async fn roll_up_range(
        &mut self,
        data_type: &'static DataType,
        start: Date,
        end: Date,
        window_s: u32,
    ) -> Result<BTreeMap<String, Series>, SyncError> {
        let context = format!("dataPoints.rollUp {} {start}..{end}", data_type.id);
        let instant = |date: Date| {
            Timestamp::from_millisecond(civil_ms_of(date)).map_err(|_| SyncError::DateOutOfRange)
        };
        let question = Question::roll_up_page_size("rollUp", data_type);
        let mut page_sizes = self.dialect.order(&question, self.now).into_iter();
        let mut page_size = page_sizes.next().unwrap_or(PAGE_SIZE_SENT);
        let mut months: BTreeMap<String, Series> = BTreeMap::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        loop {
            let request = RollUpRequest {
                start: instant(start)?,
                end: instant(end)?,
                window_seconds: window_s,
                page_size: (page_size == PAGE_SIZE_SENT).then_some(1440),
                page_token: token.clone(),
            };
            let result = self
                .session
                .call(&context, |api, access| {
                    let request = request.clone();
                    async move { api.roll_up(&access, data_type.id, &request).await }
                })
                .await;
            let Some(page) = self
                .answered(result, &token, &question, (&mut page_size, &mut page_sizes))
                .await?
            else {
                continue;
            };
            for point in &page.points {
                let window = window_time(point).map_err(|detail| SyncError::UnexpectedValue {
                    context: context.clone(),
                    detail,
                })?;
                let Some(value @ Value::Object(_)) = point.get(data_type.union_key) else {
                    continue;
                };
                months
                    .entry(Tier::Intraday.period_of(window.start.ms))
                    .or_insert_with(|| Series::new(Shape::Window))
                    .push_value(window, value)
                    .map_err(|detail| SyncError::UnexpectedValue {
                        context: context.clone(),
                        detail,
                    })?;
            }
            token = next_page(&mut tokens_seen, page.next_page_token, &context)?;
            if token.is_none() {
                return Ok(months);
            }
        }
    }
}

fn window_time(point: &Value) -> Result<PointTime, String> {
    let instant = |name: &str| -> Result<Instant, String> {
        parse_instant(
            point
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a rollup window has no {name}"))?,
        )
    };
    Ok(PointTime {
        start: instant("startTime")?,
        end: instant("endTime")?,
        start_offset_s: None,
        end_offset_s: None,
    })
}
