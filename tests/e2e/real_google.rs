//! What real Google sends (issue 16): rollup ranges that lose no day under either reading of
//! `range.end`, a dialect learned only from answers that worked, and each data type failing
//! alone — against the simulator's recorded shapes and error bodies.

use std::time::Duration;

use google_health::catalogue::{CATALOGUE, Standard, data_type};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use oh_fitbit_core::config::WorkerConfig;
use oh_fitbit_core::members::{ImportPreferences, IntradayResolution};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    TestStack, admin, assert_daily_values_match_truth, assert_standard_file_matches_truth, browser,
    clear_faults, files, get_page, job_status, link_both_accounts, linked_with, listed_truth,
    member_id, recent, record_texts, run_again_now, run_one_job, runs, sim_today, start_with,
    truth_points,
};

/// Every shape real accounts have that the simulator can produce, the rarer ones included.
fn every_shape(range_end: &str) -> Value {
    json!({
        "daily_rollup_end": range_end,
        "health_connect_phone": true,
        "manual_weight_entries": true,
        "empty_source_objects": true,
        "missing_offsets": true,
        "sub_second_times": true,
        "nan_doubles": true,
        "fast_hr_days": true,
        "integer_calories": true,
        "zero_sdnn": true,
    })
}

/// A 400 on the first `dailyRollUp` request of every rollup type: the error an old importer
/// read as "the range end is inclusive".
async fn refuse_first_roll_up_of_every_type(stack: &TestStack) {
    for data_type in CATALOGUE
        .iter()
        .filter(|data_type| data_type.standard == Standard::DailyRollUp)
    {
        let fault = json!({"method": "POST", "status": 400, "times": 1,
            "path": format!("dataTypes/{}/dataPoints:dailyRollUp$", data_type.id)});
        admin(stack.google.base_url(), "__admin/faults", fault).await;
    }
}

async fn ten_year_import_equals_the_truth(range_end: &str) {
    let stack = start_with(false, WorkerConfig::default()).await;
    stack.google.instruments().clock.freeze(true);
    admin(
        stack.google.base_url(),
        "__admin/knobs",
        every_shape(range_end),
    )
    .await;
    refuse_first_roll_up_of_every_type(&stack).await;
    link_both_accounts(&stack, &browser()).await;
    run_one_job(&stack, &CancellationToken::new()).await;
    assert_eq!(job_status(&stack).await.last_outcome.as_deref(), Some("ok"));
    assert_standard_file_matches_truth(&stack, 3600);
    stack.stack.stop().await;
}

#[tokio::test]
async fn ten_years_equal_the_truth_when_the_range_end_is_exclusive_and_first_pages_fail() {
    ten_year_import_equals_the_truth("exclusive").await;
}

#[tokio::test]
async fn ten_years_equal_the_truth_when_the_range_end_is_inclusive_and_first_pages_fail() {
    ten_year_import_equals_the_truth("inclusive").await;
}

/// The types the misbehaving simulator breaks, each in its own way.
const WITHDRAWN: &str = "respiratory-rate-sleep-summary";
const REFUSED: &str = "body-fat";
const UNREADABLE: &str = "daily-heart-rate-variability";

async fn misbehave(stack: &TestStack) {
    let knobs = json!({"in_progress_sleep": true, "page_size_refused": ["total-calories"],
        "insufficient_scope_types": [WITHDRAWN], "scope_error_shape": "oauth"});
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    let refused = json!({"method": "GET", "status": 400, "times": 1000,
        "path": format!("dataTypes/{REFUSED}/dataPoints$")});
    admin(stack.google.base_url(), "__admin/faults", refused).await;
    let unreadable = json!({"method": "GET", "status": 200, "times": 1000,
        "content_type": "application/json", "body": r#"{"dataPoints": [{"dailyHeartRateVariability": "#,
        "path": format!("dataTypes/{UNREADABLE}/dataPoints$")});
    admin(stack.google.base_url(), "__admin/faults", unreadable).await;
}

async fn behave(stack: &TestStack) {
    let knobs = json!({"in_progress_sleep": false, "page_size_refused": [],
        "insufficient_scope_types": []});
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    clear_faults(stack.google.base_url()).await;
}

/// The records of a listed type, without the notes the importer adds.
fn without_notes(records: &Value) -> Vec<Value> {
    records
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(|mut record| {
            record.as_object_mut().unwrap().remove("importerNote");
            record
        })
        .collect()
}

/// The records of `id` equal the ground truth; returns how many there are.
fn assert_listed_type_matches_truth(stack: &TestStack, daily: &Value, id: &str) -> usize {
    let data_type = data_type(id).unwrap();
    let first = daily["coverage"][id]["first_date"]
        .as_str()
        .unwrap_or_else(|| panic!("{id}: {}", daily["coverage"][id]))
        .parse()
        .unwrap();
    let truth = listed_truth(stack, data_type, first, sim_today(stack));
    assert_eq!(
        record_texts(&without_notes(&daily["records"][id])),
        record_texts(&truth),
        "{id}: every record"
    );
    truth.len()
}

#[tokio::test]
async fn each_misbehaving_type_fails_alone_and_the_next_sync_completes_it() {
    let worker = WorkerConfig {
        type_retry_wait: Duration::ZERO,
        ..WorkerConfig::default()
    };
    let stack = start_with(false, worker).await;
    // Yesterday at 20:00 UTC the persona is awake: its last night's sleep has ended, and is
    // served in progress only while the simulator is told to.
    let clock = &stack.google.instruments().clock;
    clock.freeze(true);
    let yesterday = Timestamp::now()
        .to_zoned(TimeZone::UTC)
        .date()
        .yesterday()
        .unwrap();
    clock.set(
        yesterday
            .at(20, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp(),
    );
    let member = browser();
    link_both_accounts(&stack, &member).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(60))
        .await
        .unwrap();
    misbehave(&stack).await;
    run_one_job(&stack, &CancellationToken::new()).await;
    let job = job_status(&stack).await;
    assert_eq!(job.last_outcome.as_deref(), Some("ok"), "{job:?}");

    let daily = &files(&stack)["fitbit-daily.json.gz"];
    let coverage = &daily["coverage"];
    assert_eq!(coverage[WITHDRAWN]["status"], "scope_not_granted");
    assert_eq!(coverage[WITHDRAWN]["problem"]["reason"], "not_granted");
    assert_eq!(coverage[REFUSED]["status"], "failed");
    assert_eq!(coverage[REFUSED]["problem"]["reason"], "refused");
    assert_eq!(coverage[UNREADABLE]["status"], "failed");
    assert_eq!(coverage[UNREADABLE]["problem"]["reason"], "unreadable");
    for (id, status) in coverage.as_object().unwrap() {
        if ![WITHDRAWN, REFUSED, UNREADABLE].contains(&id.as_str()) {
            assert_eq!(status["status"], "imported", "{id}: {status}");
            assert!(status.get("problem").is_none(), "{id}: {status}");
        }
    }
    // Every other type is whole; total-calories was read without `pageSize`.
    for data_type in CATALOGUE
        .iter()
        .filter(|data_type| data_type.standard != Standard::No)
        .filter(|data_type| ![WITHDRAWN, REFUSED, UNREADABLE].contains(&data_type.id))
    {
        match data_type.standard {
            Standard::DailyRollUp => {
                assert_daily_values_match_truth(&stack, daily, data_type.id, sim_today(&stack))
            }
            _ => drop(assert_listed_type_matches_truth(
                &stack,
                daily,
                data_type.id,
            )),
        }
    }
    // The session in progress is kept, noted, and has no end yet.
    let sleep = daily["records"]["sleep"].as_array().unwrap();
    let in_progress: Vec<&Value> = sleep
        .iter()
        .filter(|record| record.get("importerNote").is_some())
        .collect();
    assert_eq!(in_progress.len(), 1, "one session in progress");
    assert!(in_progress[0]["sleep"]["interval"].get("endTime").is_none());
    assert!(
        in_progress[0]["importerNote"]
            .as_str()
            .unwrap()
            .starts_with("in progress")
    );
    // The dashboard says, in plain words, what could not be read.
    let (_, _, page) = get_page(&member, stack.url("dashboard")).await;
    for (id, words) in [
        (WITHDRAWN, "no longer share this data"),
        (REFUSED, "Google refused our request"),
        (UNREADABLE, "could not be read"),
    ] {
        let row = page
            .split(&format!(r#"<li data-type="{id}">"#))
            .nth(1)
            .unwrap_or_else(|| panic!("the dashboard names {id}: {page}"));
        let row = row.split("</li>").next().unwrap();
        assert!(row.contains(words), "{id}: {row}");
        assert!(row.contains("tried again automatically"), "{id}: {row}");
    }

    // Google behaves again: the next sync completes every type.
    behave(&stack).await;
    run_again_now(&stack).await;
    let daily = &files(&stack)["fitbit-daily.json.gz"];
    for (id, status) in daily["coverage"].as_object().unwrap() {
        assert_eq!(status["status"], "imported", "{id}: {status}");
        assert!(status.get("problem").is_none(), "{id}: {status}");
    }
    for id in [WITHDRAWN, REFUSED, UNREADABLE, "sleep"] {
        let records = assert_listed_type_matches_truth(&stack, daily, id);
        assert!(records > 0, "{id} has data in the window");
    }
    let sleep = daily["records"]["sleep"].as_array().unwrap();
    assert!(
        sleep
            .iter()
            .all(|record| record.get("importerNote").is_none()),
        "the finished session replaced the one in progress"
    );
    let (_, _, page) = get_page(&member, stack.url("dashboard")).await;
    assert!(!page.contains("could not be read yet"), "{page}");
    stack.stack.stop().await;
}

/// The filter requests of one data type, as the simulator saw them, oldest first.
fn filters_sent(stack: &TestStack, id: &str) -> Vec<String> {
    stack
        .google
        .instruments()
        .journal
        .matching("GET", &format!("/v4/users/me/dataTypes/{id}/dataPoints"))
        .into_iter()
        .filter_map(|entry| {
            url::form_urlencoded::parse(entry.query.as_bytes())
                .find(|(name, _)| name == "filter")
                .map(|(_, filter)| filter.into_owned())
        })
        .collect()
}

/// What the deployment knows of one dialect question: the variant, and in how many runs.
async fn known(stack: &TestStack, question: &str) -> (String, u32) {
    let known = stack.worker.context().dialect.load().await.unwrap();
    let evidence = &known[question];
    (evidence.variant.clone(), evidence.confirmations)
}

#[tokio::test]
async fn one_refused_filter_changes_nothing_for_the_next_run() {
    let stack = start_with(false, WorkerConfig::default()).await;
    stack.google.instruments().clock.freeze(true);
    let refused = json!({"method": "GET", "status": 400, "times": 1,
        "path": "dataTypes/daily-resting-heart-rate/dataPoints$"});
    admin(stack.google.base_url(), "__admin/faults", refused).await;
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(20))
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    let daily = &files(&stack)["fitbit-daily.json.gz"];
    assert!(assert_listed_type_matches_truth(&stack, daily, "daily-resting-heart-rate") > 0);
    // The camelCase spelling answered after the refusal; that is one run's evidence.
    assert_eq!(
        known(&stack, "list:daily-resting-heart-rate:filter").await,
        ("camel".to_owned(), 1)
    );

    stack.google.instruments().journal.clear();
    run_again_now(&stack).await;
    let sent = filters_sent(&stack, "daily-resting-heart-rate");
    assert!(
        sent.first()
            .is_some_and(|filter| filter.starts_with("daily_resting_heart_rate.date")),
        "the next run starts with the documented spelling: {sent:?}"
    );
    assert_eq!(
        known(&stack, "list:daily-resting-heart-rate:filter").await,
        ("snake".to_owned(), 1)
    );
    stack.stack.stop().await;
}

#[tokio::test]
async fn a_spelling_seen_working_in_two_runs_goes_first_for_every_run() {
    let stack = start_with(false, WorkerConfig::default()).await;
    stack.google.instruments().clock.freeze(true);
    let knobs = json!({"daily_filter_prefix": "camel", "sleep_filter": "reject_all"});
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(20))
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    run_again_now(&stack).await;
    assert_eq!(
        known(&stack, "list:daily-resting-heart-rate:filter").await,
        ("camel".to_owned(), 2)
    );
    assert_eq!(
        known(&stack, "list:sleep:filter").await,
        ("unfiltered".to_owned(), 2)
    );

    stack.google.instruments().journal.clear();
    run_again_now(&stack).await;
    let sent = filters_sent(&stack, "daily-resting-heart-rate");
    assert!(
        !sent.is_empty()
            && sent
                .iter()
                .all(|filter| filter.starts_with("dailyRestingHeartRate.")),
        "every request uses the confirmed spelling: {sent:?}"
    );
    assert_eq!(filters_sent(&stack, "sleep"), Vec::<String>::new());
    let daily = &files(&stack)["fitbit-daily.json.gz"];
    for id in ["daily-resting-heart-rate", "sleep"] {
        assert!(
            assert_listed_type_matches_truth(&stack, daily, id) > 0,
            "{id}"
        );
    }
    stack.stack.stop().await;
}

/// The samples of `id` in an intraday month, as the file holds them: (start ms, UTC offset s).
fn stored_samples(month: &Value, id: &str) -> Vec<(i64, Value)> {
    let series = &month["series"][id];
    let mut time = 0;
    series["time_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|delta| {
            time += delta.as_i64().unwrap();
            time
        })
        .zip(runs(&series["utc_offset_s"]))
        .collect()
}

/// A sample's time as the simulator sent it: physical ms and the offset its civil time shows
/// (`civilTime` is there whether or not `utcOffset` is).
fn truth_sample(point: &Value) -> (i64, Value) {
    let sample = point
        .as_object()
        .unwrap()
        .values()
        .find_map(|value| value.get("sampleTime"))
        .unwrap();
    let physical = sample["physicalTime"]
        .as_str()
        .unwrap()
        .parse::<Timestamp>()
        .unwrap()
        .as_millisecond();
    let (date, time) = (&sample["civilTime"]["date"], &sample["civilTime"]["time"]);
    let part = |value: &Value| value.as_i64().unwrap_or(0);
    let civil = jiff::civil::date(
        part(&date["year"]) as i16,
        part(&date["month"]) as i8,
        part(&date["day"]) as i8,
    )
    .at(
        part(&time["hours"]) as i8,
        part(&time["minutes"]) as i8,
        part(&time["seconds"]) as i8,
        part(&time["nanos"]) as i32,
    );
    let civil_ms = civil
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_millisecond();
    (physical, json!((civil_ms - physical) / 1000))
}

/// The latest day, in the year before `today`, on which some sample of `id` matches `odd`.
fn latest_day_with(
    stack: &TestStack,
    id: &str,
    today: Date,
    odd: impl Fn(&[Value]) -> bool,
) -> Date {
    (0..365)
        .map(|back| today - back.days())
        .find(|day| odd(&truth_points(stack, id, *day, *day)))
        .unwrap_or_else(|| panic!("no {id} day of that shape in the last year"))
}

fn sample_member<'a>(point: &'a Value, member: &str) -> &'a Value {
    let value = point
        .as_object()
        .unwrap()
        .values()
        .find(|value| value.get("sampleTime").is_some());
    &value.unwrap()["sampleTime"][member]
}

#[tokio::test]
async fn intraday_months_keep_every_sample_of_the_odd_shapes() {
    let stack = linked_with(every_shape("exclusive"), recent(1)).await;
    let today = sim_today(&stack);
    let shaped = [
        latest_day_with(&stack, "heart-rate", today, |points| {
            points
                .iter()
                .any(|point| sample_member(point, "utcOffset").is_null())
        }),
        latest_day_with(&stack, "heart-rate", today, |points| {
            points.iter().any(|point| {
                sample_member(point, "physicalTime")
                    .as_str()
                    .unwrap()
                    .contains('.')
            })
        }),
        latest_day_with(&stack, "heart-rate", today, |points| {
            let times: Vec<i64> = points.iter().map(|point| truth_sample(point).0).collect();
            times
                .windows(2)
                .any(|pair| (pair[0] - pair[1]).abs() < 5_000)
        }),
        latest_day_with(&stack, "oxygen-saturation", today, |points| {
            points
                .iter()
                .any(|point| point["oxygenSaturation"]["percentage"] == "NaN")
        }),
    ];
    let earliest = *shaped.iter().min().unwrap();
    let preferences = ImportPreferences {
        intraday: Some(IntradayResolution::Raw),
        earliest_date: Some(earliest),
        left_out: Default::default(),
    };
    stack
        .members
        .save_preferences(&member_id(), &preferences)
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    assert_eq!(job_status(&stack).await.last_outcome.as_deref(), Some("ok"));

    let files = files(&stack);
    let mut month_start = earliest.first_of_month();
    while month_start <= today {
        let name = format!("fitbit-intraday-{}.json.gz", month_start.strftime("%Y-%m"));
        let month = files
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        let (from, to) = (
            month_start.max(earliest),
            today.min(month_start.last_of_month()),
        );
        for id in ["heart-rate", "oxygen-saturation"] {
            let truth = truth_points(&stack, id, from, to);
            let mut expected: Vec<(i64, Value)> = truth.iter().map(truth_sample).collect();
            expected.sort_by_key(|(time, _)| *time);
            let stored = stored_samples(month, id);
            assert_eq!(
                stored.len(),
                expected.len(),
                "{name} {id}: every sample once"
            );
            for (index, (got, want)) in stored.iter().zip(&expected).enumerate() {
                assert_eq!(got, want, "{name} {id} sample {index}: time and offset");
            }
        }
        let truth_nans = truth_points(&stack, "oxygen-saturation", from, to)
            .iter()
            .filter(|point| point["oxygenSaturation"]["percentage"] == "NaN")
            .count();
        let stored_nans = month["series"]["oxygen-saturation"]["values"]["percentage"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|value| *value == "NaN")
            .count();
        assert_eq!(stored_nans, truth_nans, "{name}: NaN kept as sent");
        month_start = month_start.last_of_month().tomorrow().unwrap();
    }
    stack.stack.stop().await;
}
