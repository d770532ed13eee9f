//! The complete import (issue 3): every type in the daily file, intraday months for members
//! who opt in, consent and dialect variants, checked against the simulator's ground truth.

use std::io::Read;

use jiff::{Timestamp, ToSpan, civil::Date};
use oh_fitbit_core::members::{ImportPreferences, IntradayResolution};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, TestStack, admin, browser, link_both_accounts, member_id, run_one_job, start,
};

fn decompress(bytes: &[u8]) -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The completed files on Open Humans, decompressed, by name.
fn files(stack: &TestStack) -> std::collections::BTreeMap<String, Value> {
    stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .filter(|file| file.completed)
        .map(|file| {
            (
                file.basename.clone(),
                decompress(file.bytes.as_ref().unwrap()),
            )
        })
        .collect()
}

async fn connected_with(knobs: Value, preferences: ImportPreferences) -> TestStack {
    let stack = start(false).await;
    // The ground truth is read after the import: a stopped clock keeps "now" the same for both.
    stack.google.instruments().clock.freeze(true);
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&member_id(), &preferences)
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    stack
}

fn recent(days: i64) -> ImportPreferences {
    ImportPreferences {
        intraday: None,
        earliest_date: Some(
            Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date() - days.days(),
        ),
    }
}

fn today(stack: &TestStack) -> Date {
    stack.google.persona().today(Timestamp::now())
}

/// Every point the simulator has for `data_type` on the days `[from, to]`.
fn truth(stack: &TestStack, data_type: &str, from: Date, to: Date) -> Vec<Value> {
    let mut points = Vec::new();
    let mut day = from;
    while day <= to {
        points.extend(stack.google.ground_truth_points(data_type, day));
        day = day.tomorrow().unwrap();
    }
    points
}

/// Decodes a run-length column.
fn runs(column: &Value) -> Vec<Value> {
    column
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| {
            let repeat = run[1].as_u64().unwrap() as usize;
            std::iter::repeat_n(run[0].clone(), repeat)
        })
        .collect()
}

#[tokio::test]
async fn the_daily_file_holds_every_type_and_records_match_the_ground_truth() {
    let stack = connected_with(json!({}), recent(40)).await;
    let files = files(&stack);
    let daily = &files["fitbit-daily.json.gz"];
    assert_eq!(daily["schema_version"], 2);
    let from = daily["coverage"]["steps"]["first_date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let to = today(&stack);
    for (data_type, status) in daily["coverage"].as_object().unwrap() {
        assert_eq!(status["status"], "imported", "{data_type}: {status}");
    }
    for data_type in ["sleep", "exercise", "weight", "daily-resting-heart-rate"] {
        let mut expected = truth(&stack, data_type, from, to);
        let got = daily["records"][data_type].as_array().unwrap();
        assert!(!expected.is_empty(), "the persona has {data_type} data");
        // Records are kept exactly as listed; the window edges may differ by how each type is
        // placed (sleep by its end), so compare the sets inside the range.
        expected.retain(|point| got.contains(point));
        assert!(
            expected.len() * 10 >= got.len() * 9,
            "{data_type}: most listed points match"
        );
    }
    let steps = &daily["daily"]["steps"];
    let dates = steps["date"].as_array().unwrap();
    let sums = steps["values"]["countSum"].as_array().unwrap();
    for (date, sum) in dates.iter().zip(sums) {
        let date: Date = date.as_str().unwrap().parse().unwrap();
        let truth = stack.google.ground_truth_daily_roll_up("steps", date);
        let expected = truth
            .as_ref()
            .and_then(|value| value.get("countSum"))
            .and_then(Value::as_str)
            .map(|sum| sum.parse::<u64>().unwrap());
        assert_eq!(sum.as_u64(), expected, "steps on {date}");
    }
    assert!(
        daily["account"]["paired_devices"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    stack.stack.stop().await;
}

#[tokio::test]
async fn intraday_members_get_one_file_per_month_equal_to_the_raw_points() {
    let preferences = ImportPreferences {
        intraday: Some(IntradayResolution::Raw),
        ..recent(35)
    };
    let stack = connected_with(json!({}), preferences).await;
    let files = files(&stack);
    let months: Vec<&String> = files
        .keys()
        .filter(|name| name.starts_with("fitbit-intraday-"))
        .collect();
    assert!((2..=3).contains(&months.len()), "{months:?}");
    let name = months.last().unwrap();
    let month = &files[*name];
    assert_eq!(month["schema"], "oh-fitbit/intraday");
    let heart = &month["series"]["heart-rate"];
    let count = heart["count"].as_u64().unwrap() as usize;
    let first = month["month"].as_str().unwrap();
    let first: Date = format!("{first}-01").parse().unwrap();
    let expected = truth(
        &stack,
        "heart-rate",
        first,
        today(&stack).min(first.last_of_month()),
    );
    assert_eq!(count, expected.len(), "one sample per listed point");
    let mut time = 0i64;
    let offsets = runs(&heart["utc_offset_s"]);
    for (index, point) in expected.iter().enumerate() {
        time += heart["time_ms"][index].as_i64().unwrap();
        let sample = &point["heartRate"];
        let physical: Timestamp = sample["sampleTime"]["physicalTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(time, physical.as_millisecond(), "sample {index}");
        let offset = format!("{}s", offsets[index]);
        assert_eq!(sample["sampleTime"]["utcOffset"], offset);
        let bpm: i64 = sample["beatsPerMinute"].as_str().unwrap().parse().unwrap();
        assert_eq!(heart["values"]["beatsPerMinute"][index], bpm);
    }
    stack.stack.stop().await;
}

#[tokio::test]
async fn a_category_left_unticked_is_skipped_and_shown_as_such() {
    let knobs = json!({"granted_scopes": ["activity_and_fitness.readonly",
        "health_metrics_and_measurements.readonly", "profile.readonly", "settings.readonly"]});
    let stack = connected_with(knobs, recent(20)).await;
    let daily = &files(&stack)["fitbit-daily.json.gz"];
    assert_eq!(daily["coverage"]["sleep"]["status"], "scope_not_granted");
    assert_eq!(daily["records"]["sleep"], json!([]));
    assert_eq!(daily["coverage"]["steps"]["status"], "imported");
    assert!(
        !daily["records"]["daily-resting-heart-rate"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let job = crate::helpers::job_status(&stack).await;
    assert_eq!(job.last_outcome.as_deref(), Some("ok"), "{job:?}");
    stack.stack.stop().await;
}

#[tokio::test]
async fn filter_dialects_fall_back_and_are_remembered() {
    let knobs = json!({"daily_filter_prefix": "camel", "sleep_filter": "reject_all"});
    let stack = connected_with(knobs, recent(20)).await;
    let daily = &files(&stack)["fitbit-daily.json.gz"];
    assert!(
        !daily["records"]["daily-resting-heart-rate"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(!daily["records"]["sleep"].as_array().unwrap().is_empty());
    let learned = stack.members.dialect().load().await.unwrap();
    assert_eq!(
        learned["daily_filter_prefix:daily-resting-heart-rate"],
        "camel"
    );
    assert_eq!(learned["sleep_filter"], "rejected");
    stack.stack.stop().await;
}
