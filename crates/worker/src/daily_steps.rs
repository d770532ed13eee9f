//! Daily step counts for the member's whole history, with `dailyRollUp` in windows of at most
//! 90 days (the API's cap for steps), newest first.

use std::collections::BTreeMap;

use google_health::{DailyRollUpRequest, DailyRollupPoint};
use jiff::{ToSpan, civil::Date};

use crate::{error::SyncError, google::GoogleSession};

/// The API's `dailyRollUp` range cap for steps, and its page-size maximum.
const WINDOW_DAYS: i32 = 90;
/// With no known membership start, history is over after this many empty windows in a row
/// (a year without a single step).
const EMPTY_WINDOWS_BEFORE_STOP: u32 = 4;

/// Steps per civil day, for the days the API reports.
pub type DailySteps = BTreeMap<Date, u64>;

/// Reads `[first, last]`. When `first` is only a floor (the membership start is unknown), the
/// walk stops after a year of empty windows.
pub async fn fetch(
    session: &mut GoogleSession<'_>,
    first: Date,
    last: Date,
    first_is_known: bool,
) -> Result<DailySteps, SyncError> {
    let mut days = DailySteps::new();
    let mut end = last.tomorrow().map_err(|_| SyncError::DateOutOfRange)?;
    let mut empty_windows = 0;
    while end > first {
        let start = end
            .checked_sub(WINDOW_DAYS.days())
            .map_or(first, |start| start.max(first));
        let found = fetch_window(session, start, end, &mut days).await?;
        empty_windows = if found == 0 { empty_windows + 1 } else { 0 };
        if !first_is_known && empty_windows >= EMPTY_WINDOWS_BEFORE_STOP {
            break;
        }
        end = start;
    }
    Ok(days)
}

/// One window `[start, end)`, following page tokens. Days outside the window are ignored:
/// whether the API treats `range.end` as inclusive is not settled (reference §2.6), and the
/// neighbouring window reads that day anyway.
async fn fetch_window(
    session: &mut GoogleSession<'_>,
    start: Date,
    end: Date,
    days: &mut DailySteps,
) -> Result<usize, SyncError> {
    let context = format!("dailyRollUp steps {start}..{end}");
    let mut found = 0;
    let mut page_token = None;
    loop {
        let request = DailyRollUpRequest {
            start,
            end,
            window_days: 1,
            page_size: Some(WINDOW_DAYS as u32),
            page_token: page_token.take(),
        };
        let page = session
            .call(&context, |api, token| {
                let request = request.clone();
                async move { api.daily_roll_up(&token, "steps", &request).await }
            })
            .await?;
        for point in &page.points {
            let date = point.start.date();
            if (start..end).contains(&date) {
                days.insert(date, step_count(point, &context)?);
                found += 1;
            }
        }
        match page.next_page_token {
            Some(token) => page_token = Some(token),
            None => return Ok(found),
        }
    }
}

/// `countSum` is an int64 in proto3 JSON: a decimal string, omitted when zero.
fn step_count(point: &DailyRollupPoint, context: &str) -> Result<u64, SyncError> {
    let malformed = |detail: String| SyncError::UnexpectedValue {
        context: context.to_owned(),
        detail,
    };
    let Some(steps) = point.value.get("steps") else {
        return Err(malformed(format!(
            "day {} has no steps member",
            point.start.date()
        )));
    };
    match steps.get("countSum") {
        None => Ok(0),
        Some(serde_json::Value::String(text)) => text
            .parse()
            .map_err(|_| malformed(format!("countSum {text:?} is not a count"))),
        Some(other) => Err(malformed(format!("countSum {other} is not a string"))),
    }
}
