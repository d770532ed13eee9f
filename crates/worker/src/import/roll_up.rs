//! Rollups: one value per civil day (`dailyRollUp`, the standard tier) or per fixed window of
//! 1, 5 or 15 minutes (`rollUp`, intraday data at a chosen resolution), read in ranges of the
//! type's largest allowed span, newest first.

use std::collections::{BTreeMap, HashSet};

use google_health::{ApiError, DailyRollUpRequest, RollUpRequest, catalogue::DataType};
use jiff::{Timestamp, civil::Date};
use serde_json::Value;

use super::{Import, next_page, spans_newest_first};
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
        for (start, end) in spans_newest_first(from, to, data_type.roll_up_max_days()) {
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
    /// is unknown (§2.6): the request is first sent with the documented exclusive end; if
    /// Google refuses the span or returns the end day, it is inclusive, and the end sent is
    /// the last day wanted — either way one request covers the whole span.
    async fn daily_roll_up_range(
        &mut self,
        data_type: &'static DataType,
        start: Date,
        end: Date,
    ) -> Result<BTreeMap<Date, serde_json::Map<String, Value>>, SyncError> {
        let context = format!("dataPoints.dailyRollUp {} {start}..{end}", data_type.id);
        let mut days = BTreeMap::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        loop {
            let inclusive = self.dialect.roll_up_end_inclusive();
            let request = DailyRollUpRequest {
                start,
                end: if inclusive {
                    end.yesterday().map_err(|_| SyncError::DateOutOfRange)?
                } else {
                    end
                },
                window_days: 1,
                page_size: Some(data_type.roll_up_max_days()),
                page_token: token.clone(),
            };
            let result = self
                .session
                .call(&context, |api, access| {
                    let request = request.clone();
                    async move { api.daily_roll_up(&access, data_type.id, &request).await }
                })
                .await;
            let page = match result {
                Err(SyncError::Api {
                    source: ApiError::InvalidArgument { .. },
                    ..
                }) if token.is_none() && !inclusive => {
                    self.dialect.set_roll_up_end_inclusive().await?;
                    continue;
                }
                result => result?,
            };
            for point in page.points {
                let date = point.start.date();
                if date == end && !inclusive {
                    self.dialect.set_roll_up_end_inclusive().await?;
                }
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
        let mut months: BTreeMap<String, Series> = BTreeMap::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = HashSet::new();
        loop {
            let request = RollUpRequest {
                start: instant(start)?,
                end: instant(end)?,
                window_seconds: window_s,
                page_size: Some(1440),
                page_token: token.clone(),
            };
            let page = self
                .session
                .call(&context, |api, access| {
                    let request = request.clone();
                    async move { api.roll_up(&access, data_type.id, &request).await }
                })
                .await?;
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
