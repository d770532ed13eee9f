//! The dashboard's summary of the member's last 30 days, read back from staging whenever a sync
//! changed their daily data: steps from the daily rollups, resting heart rate and minutes asleep
//! from the records as Google sent them.

use google_health::catalogue::{self, DataType};
use jiff::civil::Date;
use oh_fitbit_core::recent::{DaySummary, RecentDays};
use open_humans::ProjectMemberId;
use serde_json::Value;

use crate::{
    chunks::{self, Records, Tier, TierPeriods, civil_date, civil_ms_of},
    context::WorkerContext,
    error::SyncError,
    points,
    series::Series,
};

const DAY_MS: i64 = 86_400_000;

pub(crate) async fn summarise(
    ctx: &WorkerContext,
    member: &ProjectMemberId,
    today: Date,
) -> Result<RecentDays, SyncError> {
    let mut recent = RecentDays::ending(today);
    let first = recent.first_day().unwrap_or(today);
    let years = Tier::Standard.periods(civil_ms_of(first), civil_ms_of(today) + DAY_MS);
    for year in &years {
        let key = chunks::key(member, Tier::Standard, "steps", year);
        if let Some(steps) = chunks::load::<Series>(&ctx.staging, &key, false).await? {
            for (row, time) in steps.times().iter().enumerate() {
                if let Some(day) = recent.day_mut(civil_date(time.local_start_ms())) {
                    day.steps = steps.value(row, "countSum").as_ref().and_then(integer);
                }
            }
        }
        for (date, record) in records(ctx, member, "daily-resting-heart-rate", year).await? {
            if let Some(day) = recent.day_mut(date) {
                day.resting_heart_rate =
                    integer(&record["dailyRestingHeartRate"]["beatsPerMinute"])
                        .and_then(|bpm| u32::try_from(bpm).ok());
            }
        }
        for (date, record) in records(ctx, member, "sleep", year).await? {
            if let Some(day) = recent.day_mut(date) {
                add_sleep(day, &record);
            }
        }
    }
    Ok(recent)
}

/// A day's sleep is every session that ended on it, main sleep and naps alike, as Fitbit
/// counted it.
fn add_sleep(day: &mut DaySummary, record: &Value) {
    let Some(minutes) = integer(&record["sleep"]["summary"]["minutesAsleep"])
        .and_then(|minutes| u32::try_from(minutes).ok())
    else {
        return;
    };
    day.sleep_minutes = Some(day.sleep_minutes.unwrap_or(0) + minutes);
}

/// One type's staged records of a year, each with the civil day that places it (a sleep
/// session by its end).
async fn records(
    ctx: &WorkerContext,
    member: &ProjectMemberId,
    type_id: &str,
    year: &str,
) -> Result<Vec<(Date, Value)>, SyncError> {
    let data_type: &DataType =
        catalogue::data_type(type_id).expect("the summarised types are in the catalogue");
    let key = chunks::key(member, Tier::Standard, type_id, year);
    let Some(Records(records)) = chunks::load::<Records>(&ctx.staging, &key, false).await? else {
        return Ok(Vec::new());
    };
    Ok(records
        .into_iter()
        // A session in progress, or a record kept as it came, says nothing sure of its day.
        .filter(|record| record.get(chunks::NOTE).is_none())
        .filter_map(|record| {
            let (_, civil_ms) = points::place(data_type, &record).ok()?;
            Some((civil_date(civil_ms), record))
        })
        .collect())
}

/// An int64 as proto3 JSON spells it (a string), or as a number once stored column-wise.
fn integer(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use serde_json::json;

    use super::*;

    #[test]
    fn sleep_sums_every_session_of_the_day_and_ignores_one_without_a_summary() {
        let mut day = DaySummary {
            date: date(2026, 11, 20),
            ..DaySummary::default()
        };
        add_sleep(&mut day, &json!({"sleep": {"type": "STAGES"}}));
        assert_eq!(day.sleep_minutes, None);
        add_sleep(
            &mut day,
            &json!({"sleep": {"summary": {"minutesAsleep": "392"}}}),
        );
        add_sleep(
            &mut day,
            &json!({"sleep": {"summary": {"minutesAsleep": "31"}}}),
        );
        assert_eq!(day.sleep_minutes, Some(423));
    }

    #[test]
    fn int64_values_are_read_as_strings_or_numbers() {
        assert_eq!(integer(&json!("58")), Some(58));
        assert_eq!(integer(&json!(58)), Some(58));
        assert_eq!(integer(&json!("fifty")), None);
        assert_eq!(integer(&Value::Null), None);
    }
}
