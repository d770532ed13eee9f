//! The walking skeleton's journey: link both accounts over HTTP, let the worker import the whole
//! step history, and find the file on Open Humans holding exactly the simulator's step counts.

use std::io::Read;

use jiff::{Timestamp, ToSpan, civil::Date};
use oh_fitbit_core::queue::Completed;
use oh_fitbit_worker::Execution;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    LogCapture, MEMBER, admin, browser, get_page, link_both_accounts, start, store_snapshot,
};

fn decompress(bytes: &[u8]) -> serde_json::Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn steps_in_file(file: &serde_json::Value) -> Vec<(Date, Option<u64>)> {
    let steps = &file["daily"]["steps"];
    let dates = steps["date"].as_array().unwrap();
    let counts = steps["values"]["countSum"].as_array().unwrap();
    assert_eq!(dates.len(), counts.len(), "columns have one value per day");
    dates
        .iter()
        .zip(counts)
        .map(|(date, count)| (date.as_str().unwrap().parse().unwrap(), count.as_u64()))
        .collect()
}

/// Runs the worker until the queue has nothing due.
async fn run_worker_until_idle(stack: &oh_fitbit::lab::stack::LocalStack) -> Vec<Completed> {
    let shutdown = CancellationToken::new();
    let mut completed = Vec::new();
    loop {
        match stack.worker.try_execute_one(&shutdown).await.unwrap() {
            Execution::Ran {
                completed: outcome, ..
            } => completed.push(outcome),
            Execution::Empty => return completed,
        }
    }
}

/// How the API may answer rollups (reference §2.6): a day without data omitted or returned as an
/// empty window, the end day included or not, the last page's token absent or empty.
enum RollupConvention {
    OmittedInclusive,
    EmptyExclusive,
}

// One thread, so the spawned web server logs through the test's capturing subscriber.
#[tokio::test(flavor = "current_thread")]
async fn a_member_links_both_accounts_and_their_whole_step_history_arrives() {
    journey(RollupConvention::OmittedInclusive).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_history_arrives_whatever_the_rollup_convention() {
    journey(RollupConvention::EmptyExclusive).await;
}

async fn journey(convention: RollupConvention) {
    let logs = LogCapture::start();
    let stack = start(false).await;
    if let RollupConvention::EmptyExclusive = convention {
        let knobs = serde_json::json!({"empty_rollup_windows": "empty_object",
            "daily_rollup_end": "exclusive", "final_page_token": "empty"});
        admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    }
    let browser = browser();
    link_both_accounts(&stack, &browser).await;

    assert_eq!(
        run_worker_until_idle(&stack).await,
        vec![Completed::Scheduled]
    );

    let (status, _, page) = get_page(&browser, stack.url("dashboard")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("fitbit-daily.json.gz"),
        "the dashboard lists the file: {page}"
    );
    assert!(page.contains("Next sync:"), "{page}");

    let files: Vec<_> = stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .filter(|file| file.completed)
        .collect();
    assert_eq!(files.len(), 1, "exactly one file on Open Humans");
    let file = &files[0];
    assert_eq!(file.basename, "fitbit-daily.json.gz");
    let bytes = file.bytes.as_ref().expect("the file's bytes were uploaded");
    let json = decompress(bytes);
    assert_eq!(json["schema"], "oh-fitbit/daily");
    assert_eq!(json["schema_version"], 2);

    let persona = stack.google.persona();
    let today = persona.today(Timestamp::now());
    // The API's JSON omits a zero count, and empty windows carry none: both are null. Today is
    // still being walked (the persona's total is the whole day's), so through yesterday.
    let mut expected = Vec::new();
    let mut day = persona.history_start();
    while day < today {
        match (persona.daily_steps(day), &convention) {
            (Some(steps), _) => expected.push((day, Some(steps).filter(|&n| n > 0))),
            (None, RollupConvention::EmptyExclusive) => expected.push((day, None)),
            (None, RollupConvention::OmittedInclusive) => {}
        }
        day = day.checked_add(1.day()).unwrap();
    }
    let counted = expected.iter().filter(|(_, count)| count.is_some()).count();
    assert!(
        counted > 3000,
        "the persona has about ten years of days with data"
    );
    let imported: Vec<_> = steps_in_file(&json)
        .into_iter()
        .filter(|(day, _)| *day < today)
        .collect();
    assert_eq!(
        imported, expected,
        "the file holds exactly the simulator's step counts"
    );

    let metadata = &file.metadata;
    assert_eq!(metadata["md5"], md5_hex(bytes));
    assert_eq!(metadata["start_date"], persona.history_start().to_string());
    assert_eq!(metadata["end_date"], today.to_string());
    assert!(
        metadata["tags"]
            .as_array()
            .unwrap()
            .contains(&"fitbit".into())
    );
    assert!(
        metadata["description"]
            .as_str()
            .unwrap()
            .contains("whole history")
    );

    let member = stack
        .members
        .load(&MEMBER.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let google = member.google_tokens.as_ref().unwrap();
    let secrets = [
        member.open_humans.access_token.expose_secret(),
        member.open_humans.refresh_token.expose_secret(),
        google.access_token.expose_secret(),
        google.refresh_token.expose_secret(),
    ];
    let stored = format!("{:?}", store_snapshot(&stack).await);
    let logged = logs.text();
    assert!(
        logged.contains("sync succeeded"),
        "the capture sees the service's logs"
    );
    for secret in secrets {
        assert!(secret.len() >= 10);
        assert!(
            !stored.contains(secret),
            "a token is readable in Redis or the database"
        );
        assert!(!logged.contains(secret), "a token appears in the logs");
    }

    // The next sync replaces the file (or finds it unchanged): still exactly one copy.
    stack
        .worker
        .context()
        .queue
        .enqueue(&member.id, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        run_worker_until_idle(&stack).await,
        vec![Completed::Scheduled]
    );
    let completed = stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .filter(|f| f.completed)
        .count();
    assert_eq!(completed, 1);
    stack.stack.stop().await;
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
