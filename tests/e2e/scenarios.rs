//! The end-to-end scenarios of reference §8.7 that take more than one run or a particular
//! stretch of the persona's life: an access token expiring mid-import, a 429 storm, resuming
//! after a failed run, paging quirks, a time-zone change and sleep reprocessing.

use std::collections::BTreeMap;

use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, date},
    tz::TimeZone,
};
use oh_fitbit_core::{
    members::{ImportPreferences, IntradayResolution},
    queue::Completed,
};
use oh_fitbit_sim::JournalEntry;
use serde_json::{Value, json};

use crate::helpers::{
    TestStack, UNLIMITED_QUOTA, admin, assert_daily_values_match_truth, clear_faults,
    connected_with, files, job_status, linked_with, recent, run_again_now, runs, sim_today,
    token_requests, truth_points,
};

const DAILY_FILE: &str = "fitbit-daily.json.gz";
/// Moves the simulators' clock into the next per-minute quota window.
const PAST_THE_QUOTA_WINDOW: SignedDuration = SignedDuration::from_secs(61);

fn journal(stack: &TestStack) -> Vec<JournalEntry> {
    stack.google.instruments().journal.entries()
}

fn is_health_api(entry: &JournalEntry) -> bool {
    entry.path.starts_with("/v4/")
}

fn daily_roll_up_path(data_type: &str) -> String {
    format!("/v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp")
}

fn daily_roll_ups(entries: &[JournalEntry], data_type: &str) -> usize {
    let path = daily_roll_up_path(data_type);
    entries.iter().filter(|entry| entry.path == path).count()
}

/// The `pageToken` a request sent, if any (journal queries keep page tokens as sent).
fn page_token(entry: &JournalEntry) -> Option<&str> {
    entry
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("pageToken="))
}

fn authorization(entry: &JournalEntry) -> Option<&str> {
    entry
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str())
}

async fn set_quota(stack: &TestStack, per_minute: u32) {
    admin(
        stack.google.base_url(),
        "__admin/knobs",
        json!({"quota_per_user_per_min": per_minute}),
    )
    .await;
}

async fn last_outcome(stack: &TestStack) -> Option<String> {
    job_status(stack).await.last_outcome
}

fn assert_every_type_imported(daily: &Value) {
    for (data_type, status) in daily["coverage"].as_object().unwrap() {
        assert_eq!(status["status"], "imported", "{data_type}: {status}");
    }
}

/// Scenario 3: an access token that expires while an import is under way (between two of its
/// runs) is refused once, refreshed once, and the import carries on with the new token.
#[tokio::test]
async fn an_access_token_expiring_mid_import_is_refreshed_once_and_the_import_continues() {
    let stack = linked_with(json!({}), recent(30)).await;
    set_quota(&stack, 20).await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("later"));
    let first_run = journal(&stack);
    let old_token = authorization(first_run.iter().rfind(|e| is_health_api(e)).unwrap());
    let refreshes_before = token_requests(&stack);

    // Two hours on, Google's access token (one hour) has expired; our records still call it
    // fresh, since the worker's clock did not move.
    stack
        .google
        .instruments()
        .clock
        .advance(SignedDuration::from_hours(2));
    set_quota(&stack, UNLIMITED_QUOTA).await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("ok"));

    let second_run: Vec<JournalEntry> = journal(&stack)[first_run.len()..]
        .iter()
        .filter(|entry| is_health_api(entry))
        .cloned()
        .collect();
    assert_eq!(second_run[0].status, 401, "the first call finds it expired");
    assert_eq!(authorization(&second_run[0]), old_token);
    let refused = second_run
        .iter()
        .filter(|entry| entry.status == 401)
        .count();
    assert_eq!(refused, 1);
    assert!(
        second_run[1..]
            .iter()
            .all(|entry| authorization(entry) != old_token),
        "every later call uses the new token"
    );
    assert_eq!(token_requests(&stack) - refreshes_before, 1, "one refresh");
    let daily = &files(&stack)[DAILY_FILE];
    assert_every_type_imported(daily);
    // Through yesterday: the worker reads up to its own clock, two hours behind the
    // simulator's, so today's last two hours are legitimately not in the file yet.
    let yesterday = sim_today(&stack).yesterday().unwrap();
    assert_daily_values_match_truth(&stack, daily, "steps", yesterday);
}

/// Scenario 4, a 429 storm: at 10 requests a minute each run stops at its first 429 as a quota
/// wait (rescheduled, not failed) after publishing what it staged, and the runs that follow a
/// minute apart finish the import without ever going over the limit.
#[tokio::test]
async fn a_429_storm_ends_each_run_in_a_quota_wait_and_the_runs_finish_the_import() {
    const LIMIT: usize = 10;
    // Twenty days take about a hundred requests: ten or so runs at this limit.
    const MOST_RUNS: usize = 30;
    let stack = linked_with(json!({}), recent(20)).await;
    set_quota(&stack, LIMIT as u32).await;
    let clock = &stack.google.instruments().clock;
    let mut runs = 0;
    loop {
        assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
        runs += 1;
        let status = job_status(&stack).await;
        assert_eq!(status.attempts, 0, "a quota wait is no failure: {status:?}");
        match status.last_outcome.as_deref() {
            Some("ok") => break,
            Some("later") => {}
            other => panic!("run {runs} ended with {other:?}: {status:?}"),
        }
        if runs == 1 {
            assert!(
                files(&stack).contains_key(DAILY_FILE),
                "what the first run staged is published before it waits"
            );
        }
        assert!(runs < MOST_RUNS, "the import finishes");
        clock.advance(PAST_THE_QUOTA_WINDOW);
    }

    // The clock stands still during a run, so each run is one quota window.
    let mut windows: BTreeMap<Timestamp, (usize, usize)> = BTreeMap::new();
    for entry in journal(&stack).iter().filter(|e| is_health_api(e)) {
        let (served, refused) = windows.entry(entry.at).or_default();
        match entry.status {
            429 => *refused += 1,
            _ => *served += 1,
        }
    }
    assert_eq!(windows.len(), runs);
    for (at, (served, refused)) in &windows {
        assert!(
            *served <= LIMIT,
            "{served} requests served in the window of {at}"
        );
        assert!(
            *refused <= 1,
            "{refused} requests refused in the window of {at}"
        );
    }
    let refused: usize = windows.values().map(|(_, refused)| refused).sum();
    assert_eq!(refused, runs - 1, "one 429 for each run but the last");
    // Today's values grew while the clock moved from run to run; the days before are final.
    let yesterday = sim_today(&stack).yesterday().unwrap();
    let daily = &files(&stack)[DAILY_FILE];
    assert_every_type_imported(daily);
    for data_type in ["steps", "heart-rate"] {
        assert_daily_values_match_truth(&stack, daily, data_type, yesterday);
    }
}

/// Scenario 5, resuming after a failed run: 500s beyond the retry budget end the run after four
/// tries as a failure with a retry scheduled; the next run reads only what the first did not
/// stage, and the files end up complete.
#[tokio::test]
async fn a_run_that_fails_part_way_is_resumed_from_its_cursors() {
    let stack = linked_with(json!({}), recent(40)).await;
    // Heart-rate rollups are read 13 days at a time (one short of Google's 14, so that either
    // reading of the range's end covers them): the recent fortnight (13 days and 1) and the
    // 13 days before it are read, every request for the 14 days before that fails.
    admin(
        stack.google.base_url(),
        "__admin/faults",
        json!({"method": "POST", "path": format!("{}$", daily_roll_up_path("heart-rate")),
               "status": 500, "skip": 3, "times": 100}),
    )
    .await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    let status = job_status(&stack).await;
    assert_eq!(
        (status.attempts, status.last_outcome.as_deref()),
        (1, Some("retry")),
        "{status:?}"
    );
    assert!(status.run_at.unwrap() > Timestamp::now());
    let first_run = journal(&stack);
    let failures = first_run.iter().filter(|entry| entry.status == 500).count();
    assert_eq!(
        failures, 4,
        "the first try and three quick retries, no more"
    );
    assert!(
        files(&stack).contains_key(DAILY_FILE),
        "what was staged before the failure is published"
    );

    clear_faults(stack.google.base_url()).await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("ok"));
    let second_run = &journal(&stack)[first_run.len()..];

    // The types before heart-rate were read back to the first day by the first run, recent
    // days included: the second run does not ask for any of them again.
    for data_type in [
        "steps",
        "distance",
        "floors",
        "altitude",
        "active-energy-burned",
        "total-calories",
        "active-minutes",
    ] {
        assert!(daily_roll_ups(&first_run, data_type) >= 2, "{data_type}");
        assert_eq!(daily_roll_ups(second_run, data_type), 0, "{data_type}");
    }
    // The history starts 40 days before today in UTC, which is the member's today or their
    // tomorrow: 40 or 41 days, of which the first run read 27.
    let earliest = recent(40).earliest_date.unwrap();
    let lacked = i64::from((sim_today(&stack) - earliest).get_days()) + 1 - 27;
    assert!(lacked > 0, "{lacked}");
    assert_eq!(
        daily_roll_ups(second_run, "heart-rate") as i64,
        (lacked + 12) / 13,
        "heart-rate: only the {lacked} days the first run lacked, 13 at a time"
    );
    let daily = &files(&stack)[DAILY_FILE];
    assert_every_type_imported(daily);
    for data_type in ["steps", "heart-rate"] {
        assert_daily_values_match_truth(&stack, daily, data_type, sim_today(&stack));
    }
}

/// Scenario 7, paging: pages that are empty but carry a token, and a last page whose token is
/// `""`, are followed to the end, and every page token the importer sends continues the very
/// request that issued it (Google refuses one replayed with other parameters).
#[tokio::test]
async fn empty_pages_and_empty_final_tokens_are_paged_through() {
    let preferences = ImportPreferences {
        intraday: Some(IntradayResolution::Raw),
        ..recent(8)
    };
    let knobs = json!({"empty_pages_before_data": 1, "final_page_token": "empty"});
    let stack = connected_with(knobs, preferences).await;
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("ok"));

    let lists = stack
        .google
        .instruments()
        .journal
        .matching("GET", "/v4/users/me/dataTypes/");
    let continued: Vec<&JournalEntry> = lists
        .iter()
        .filter(|entry| page_token(entry).is_some())
        .collect();
    assert!(continued.len() * 2 >= lists.len(), "every walk was paged");
    for entry in continued {
        assert_ne!(page_token(entry), Some(""), "an empty token ends a walk");
        assert_eq!(entry.status, 200, "a token sent as issued: {entry:?}");
    }

    let files = files(&stack);
    let daily = &files[DAILY_FILE];
    let today = sim_today(&stack);
    assert_every_type_imported(daily);
    assert_daily_values_match_truth(&stack, daily, "steps", today);
    let first: Date = daily["coverage"]["daily-resting-heart-rate"]["first_date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        daily["records"]["daily-resting-heart-rate"],
        Value::Array(truth_points(
            &stack,
            "daily-resting-heart-rate",
            first,
            today
        ))
    );
    let months: Vec<&Value> = files
        .iter()
        .filter(|(name, _)| name.starts_with("fitbit-intraday-"))
        .map(|(_, month)| month)
        .collect();
    assert!(!months.is_empty());
    for month in months {
        let start: Date = format!("{}-01", month["month"].as_str().unwrap())
            .parse()
            .unwrap();
        let (from, to) = (start.max(first), start.last_of_month().min(today));
        for data_type in ["heart-rate", "steps"] {
            let expected = truth_points(&stack, data_type, from, to).len();
            assert_eq!(
                month["series"][data_type]["count"].as_u64(),
                Some(expected as u64),
                "{data_type} in {}",
                month["month"]
            );
        }
    }
}

/// Scenarios 6 and 7 together: a daily-type filter spelled the way Google silently answers
/// with nothing, behind pages that are empty but carry a token, is still caught and switched.
#[tokio::test]
async fn an_empty_filtered_walk_is_cross_checked_even_when_paged() {
    let knobs = json!({"daily_filter_prefix": "camel", "empty_pages_before_data": 1});
    let stack = connected_with(knobs, recent(20)).await;
    let daily = &files(&stack)[DAILY_FILE];
    assert!(
        !daily["records"]["daily-resting-heart-rate"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// Every step point of the intraday files as (civil date, UTC offset in seconds, steps), the
/// civil date being the point's instant plus its own UTC offset.
fn intraday_steps(files: &BTreeMap<String, Value>) -> Vec<(Date, i64, u64)> {
    let mut points = Vec::new();
    let months = files
        .iter()
        .filter(|(name, _)| name.starts_with("fitbit-intraday-"));
    for (_, month) in months {
        let steps = &month["series"]["steps"];
        // Months after the simulators' today have no points.
        let Some(starts) = steps["start_ms"].as_array() else {
            continue;
        };
        let mut start_ms = 0;
        for (index, (delta, offset)) in starts
            .iter()
            .zip(runs(&steps["start_utc_offset_s"]))
            .enumerate()
        {
            start_ms += delta.as_i64().unwrap();
            let offset = offset.as_i64().unwrap();
            let civil_date = Timestamp::from_millisecond(start_ms + offset * 1000)
                .unwrap()
                .to_zoned(TimeZone::UTC)
                .date();
            // Worn minutes without steps are listed without a count.
            let count = steps["values"]["count"][index].as_u64().unwrap_or(0);
            points.push((civil_date, offset, count));
        }
    }
    points
}

/// Imports daily and intraday data from `earliest` with the simulators' clock standing at
/// `now`, then asserts that the daily steps equal Google's dailyRollUp and that the intraday
/// points, summed by their own civil date, add up to them; and that each of `changes` is a day
/// with points at both UTC offsets, before and after the change.
async fn assert_steps_add_up_per_civil_day(
    now: &str,
    earliest: Date,
    changes: &[(Date, [i64; 2])],
) {
    let preferences = ImportPreferences {
        intraday: Some(IntradayResolution::Raw),
        earliest_date: Some(earliest),
        left_out: Default::default(),
    };
    // Points without their offset (which real accounts have) have no civil day to add to.
    let stack = linked_with(json!({"missing_offsets": false}), preferences).await;
    stack.google.instruments().clock.set(now.parse().unwrap());
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("ok"));

    let files = files(&stack);
    let daily = &files[DAILY_FILE];
    assert_daily_values_match_truth(&stack, daily, "steps", sim_today(&stack));
    let intraday = intraday_steps(&files);
    for (day, offsets_around_the_change) in changes {
        let mut offsets: Vec<i64> = intraday
            .iter()
            .filter(|(date, ..)| date == day)
            .map(|(_, offset, _)| *offset)
            .collect();
        offsets.dedup();
        assert_eq!(&offsets, offsets_around_the_change, "the offsets on {day}");
    }
    let steps = &daily["daily"]["steps"];
    let daily_totals: BTreeMap<Date, u64> = steps["date"]
        .as_array()
        .unwrap()
        .iter()
        .zip(steps["values"]["countSum"].as_array().unwrap())
        .map(|(date, sum)| {
            (
                date.as_str().unwrap().parse().unwrap(),
                sum.as_u64().unwrap(),
            )
        })
        .collect();
    let mut intraday_totals: BTreeMap<Date, u64> = BTreeMap::new();
    for (date, _, count) in intraday {
        *intraday_totals.entry(date).or_default() += count;
    }
    assert_eq!(intraday_totals, daily_totals);
    for (day, _) in changes {
        assert!(daily_totals.contains_key(day), "{day} was worn");
    }
}

const HOURS: i64 = 3600;

/// Scenario 8, time zones: across the day the clocks went back (25 hours long), every minute is
/// counted once, on its own civil day, in the daily totals and the intraday points alike.
#[tokio::test]
async fn steps_add_up_per_civil_day_across_a_daylight_saving_change() {
    // Los Angeles left daylight saving time on 2026-11-01.
    let clocks_went_back = date(2026, 11, 1);
    assert_steps_add_up_per_civil_day(
        "2026-11-03T20:00:00Z",
        clocks_went_back - 3.days(),
        &[(clocks_went_back, [-7 * HOURS, -8 * HOURS])],
    )
    .await;
}

/// Scenario 8, time zones: on the 18-hour day flying from New York to Berlin and the 30-hour day
/// flying back, every minute is counted once, on its own civil day.
#[tokio::test]
async fn steps_add_up_per_civil_day_across_a_trip_abroad() {
    assert_steps_add_up_per_civil_day(
        "2019-06-22T20:00:00Z",
        date(2019, 6, 8),
        &[
            (date(2019, 6, 10), [-4 * HOURS, 2 * HOURS]),
            (date(2019, 6, 20), [2 * HOURS, -4 * HOURS]),
        ],
    )
    .await;
}

/// Scenario 9, sleep reprocessing: a night imported before Google processed it is replaced at
/// the next sync by its processed version, which has the same `name`, and is kept once.
#[tokio::test]
async fn a_night_imported_unprocessed_is_replaced_by_its_processed_version() {
    let stack = linked_with(json!({}), recent(20)).await;
    let today = sim_today(&stack);
    let end_of = |session: &Value| -> Timestamp {
        session["sleep"]["interval"]["endTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (night_day, night) = (0..3)
        .map(|back| today - back.days())
        .flat_map(|day| {
            stack
                .google
                .ground_truth_points("sleep", day)
                .into_iter()
                .map(move |session| (day, session))
        })
        .max_by_key(|(_, session)| end_of(session))
        .expect("a night in the last three days");
    let name = night["name"].as_str().unwrap().to_owned();
    let session_named = |sessions: Vec<Value>| -> Vec<Value> {
        sessions
            .into_iter()
            .filter(|session| session["name"] == name.as_str())
            .collect()
    };
    let clock = &stack.google.instruments().clock;

    // Half an hour after waking the night is synced but not processed (two hours).
    clock.set(end_of(&night) + SignedDuration::from_mins(30));
    let unprocessed = session_named(stack.google.ground_truth_points("sleep", night_day));
    assert!(unprocessed[0]["sleep"]["metadata"]["processed"].is_null());
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    let imported = |stack: &TestStack| {
        let daily = files(stack).remove(DAILY_FILE).unwrap();
        session_named(daily["records"]["sleep"].as_array().unwrap().clone())
    };
    assert_eq!(imported(&stack), unprocessed);

    clock.set(end_of(&night) + SignedDuration::from_hours(3));
    let processed = session_named(stack.google.ground_truth_points("sleep", night_day));
    assert_eq!(processed[0]["sleep"]["metadata"]["processed"], true);
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(last_outcome(&stack).await.as_deref(), Some("ok"));
    assert_eq!(imported(&stack), processed, "one record, the processed one");
}
