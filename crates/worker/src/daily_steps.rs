//! Daily step counts for the member's whole history, with `dailyRollUp`, newest window first.

use std::collections::{BTreeMap, HashSet};

use google_health::{DailyRollUpRequest, DailyRollupPoint};
use jiff::{ToSpan, civil::Date};

use crate::{error::SyncError, google::GoogleSession};

/// Steps allow rollup ranges of 90 days, and whether the range's end day is included is
/// unknown (reference §2.6). Ranges 89 days apart cover 90 days under the inclusive reading and
/// 89 under the exclusive one, so they are accepted either way and always fit one page.
const SPAN_DAYS: i32 = 89;
const PAGE_SIZE: u32 = 90;
/// A window never needs more pages than this; more means the server is repeating itself.
const MAX_PAGES_PER_WINDOW: u32 = 4;
/// With no known membership start, history is over after this many windows in a row without a
/// single step count (about a year).
const EMPTY_WINDOWS_BEFORE_STOP: u32 = 4;

/// Steps per civil day, for the days the API returned. `None`: the API returned the day without
/// a count, which in proto3 JSON means zero, unless the API returns empty windows for days
/// without data (a variant seen for other types); the file keeps it as `null` rather than
/// guess.
pub type DailySteps = BTreeMap<Date, Option<u64>>;

/// Reads `[first, last]`. When `first` is only a floor (the membership start is unknown), the
/// walk stops after a year without a step count.
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
            .checked_sub(SPAN_DAYS.days())
            .map_or(first, |start| start.max(first));
        let counted = fetch_window(session, start, end, &mut days).await?;
        empty_windows = if counted == 0 { empty_windows + 1 } else { 0 };
        if !first_is_known && empty_windows >= EMPTY_WINDOWS_BEFORE_STOP {
            break;
        }
        end = start;
    }
    Ok(days)
}

/// One window `[start, end)`, following page tokens; returns how many days had a count. A day
/// outside the window (the end day, if the API includes it) is left to the neighbouring window.
async fn fetch_window(
    session: &mut GoogleSession<'_>,
    start: Date,
    end: Date,
    days: &mut DailySteps,
) -> Result<usize, SyncError> {
    let context = format!("dailyRollUp steps {start}..{end}");
    let mut counted = 0;
    let mut page_token: Option<String> = None;
    let mut seen_tokens = HashSet::new();
    for _ in 0..MAX_PAGES_PER_WINDOW {
        let request = DailyRollUpRequest {
            start,
            end,
            window_days: 1,
            page_size: Some(PAGE_SIZE),
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
                let count = step_count(point, &context)?;
                counted += usize::from(count.is_some());
                days.insert(date, count);
            }
        }
        match page.next_page_token {
            None => return Ok(counted),
            Some(token) if !seen_tokens.insert(token.clone()) => {
                return Err(unexpected(&context, "a page token came back twice"));
            }
            Some(token) => page_token = Some(token),
        }
    }
    Err(unexpected(
        &context,
        &format!("more than {MAX_PAGES_PER_WINDOW} pages for one window"),
    ))
}

/// `countSum` is an int64 in proto3 JSON: a decimal string, omitted when zero.
fn step_count(point: &DailyRollupPoint, context: &str) -> Result<Option<u64>, SyncError> {
    let Some(steps) = point.value.get("steps") else {
        return Err(unexpected(
            context,
            &format!("day {} has no steps member", point.start.date()),
        ));
    };
    match steps.get("countSum") {
        None => Ok(None),
        Some(serde_json::Value::String(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| unexpected(context, &format!("countSum {text:?} is not a count"))),
        Some(other) => Err(unexpected(
            context,
            &format!("countSum {other} is not a string"),
        )),
    }
}

fn unexpected(context: &str, detail: &str) -> SyncError {
    SyncError::UnexpectedValue {
        context: context.to_owned(),
        detail: detail.to_owned(),
    }
}
