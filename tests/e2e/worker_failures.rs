//! The worker away from the happy path: each failure ends the run the way it should (wait,
//! retry, or ask the member to act), loses nothing, and the next run finishes the work.

use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::queue::{Completed, JobStatus};
use oh_fitbit_worker::Execution;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, TestStack, admin, browser, clear_faults, database, files, job_status,
    link_both_accounts, run_again_now, run_one_job, start, token_requests,
};

const DAILY_FILE: &str = "fitbit-daily.json.gz";

/// A linked member whose first sync reads the last month: long enough for a run to meet the
/// faults these tests inject, short enough to run in seconds.
async fn connected() -> TestStack {
    let stack = start(false).await;
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&crate::helpers::member_id(), &crate::helpers::recent(30))
        .await
        .unwrap();
    stack
}

async fn run_once(stack: &TestStack) -> Completed {
    run_one_job(stack, &CancellationToken::new()).await
}

/// Whether the worker finds no job to run now.
async fn nothing_is_due(stack: &TestStack) -> bool {
    matches!(
        stack
            .worker
            .try_execute_one(&CancellationToken::new())
            .await
            .unwrap(),
        Execution::Empty
    )
}

async fn job(stack: &TestStack) -> JobStatus {
    job_status(stack).await
}

fn completed_files(stack: &TestStack) -> Vec<oh_fitbit_sim::openhumans::SimFile> {
    stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .filter(|file| file.completed && file.basename == DAILY_FILE)
        .collect()
}

/// Requests to the Health API's data routes with a given status.
fn data_requests(stack: &TestStack, status: u16) -> usize {
    stack
        .google
        .instruments()
        .journal
        .entries()
        .iter()
        .filter(|entry| entry.path.starts_with("/v4/users/me/dataTypes/") && entry.status == status)
        .count()
}

#[tokio::test]
async fn a_quota_wait_is_rescheduled_without_counting_as_a_failure() {
    let stack = connected().await;
    admin(
        stack.google.base_url(),
        "__admin/knobs",
        json!({"quota_per_user_per_min": 10}),
    )
    .await;
    assert_eq!(run_once(&stack).await, Completed::Scheduled);
    let status = job(&stack).await;
    assert_eq!(status.attempts, 0, "a quota wait is not a failed attempt");
    assert_eq!(status.last_outcome.as_deref(), Some("later"));
    assert!(status.message.unwrap().contains("request limit"));
    assert!(status.run_at.unwrap() > Timestamp::now() + SignedDuration::from_secs(50));
    assert_eq!(
        data_requests(&stack, 429),
        1,
        "the run stops at the first 429"
    );
    assert!(
        completed_files(&stack).len() <= 1,
        "what was staged before the wait is published, once"
    );

    admin(
        stack.google.base_url(),
        "__admin/knobs",
        json!({"quota_per_user_per_min": crate::helpers::UNLIMITED_QUOTA}),
    )
    .await;
    stack
        .google
        .instruments()
        .clock
        .advance(SignedDuration::from_secs(61));
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(
        completed_files(&stack).len(),
        1,
        "the next run finishes the import"
    );
    assert_eq!(job(&stack).await.last_outcome.as_deref(), Some("ok"));
}

#[tokio::test]
async fn a_revoked_google_grant_parks_the_member_without_retrying() {
    let stack = connected().await;
    admin(stack.google.base_url(), "__admin/grants/revoke", json!({})).await;
    assert_eq!(run_once(&stack).await, Completed::Parked);
    let status = job(&stack).await;
    assert_eq!(status.state.as_deref(), Some("idle"));
    assert!(status.message.unwrap().contains("Reconnect Fitbit"));
    assert_eq!(
        token_requests(&stack),
        2,
        "one code exchange, one refresh attempt, no loop"
    );
    let messages = stack.open_humans.messages();
    assert_eq!(
        messages.len(),
        1,
        "one message asks the member to reconnect"
    );
    assert_eq!(messages[0].project_member_ids, [MEMBER]);
    assert!(messages[0].subject.contains("Reconnect Fitbit"));
    assert!(
        messages[0]
            .body
            .contains(&stack.url("dashboard").to_string())
    );
    assert!(nothing_is_due(&stack).await);
}

/// Scenario 10: an account state only the member can fix (not linked to Google Health, no
/// health profile, a legacy Fitbit login) parks the job with what to do, after one refused
/// request, and nothing is retried.
#[tokio::test]
async fn account_states_park_the_member_with_what_to_do_and_nothing_is_retried() {
    let cases = [
        ("not_linked", "Google Health (Fitbit) app"),
        ("no_profile", "profile is not set up"),
        ("legacy_fitbit_login", "Fitbit login"),
    ];
    for (state, advice) in cases {
        let stack = connected().await;
        admin(
            stack.google.base_url(),
            "__admin/knobs",
            json!({"persona_state": state}),
        )
        .await;
        assert_eq!(run_once(&stack).await, Completed::Parked, "{state}");
        let status = job(&stack).await;
        assert_eq!(status.state.as_deref(), Some("idle"), "{state}");
        let message = status.message.unwrap_or_default();
        assert!(message.contains(advice), "{state}: {message}");
        let refused = stack
            .google
            .instruments()
            .journal
            .entries()
            .iter()
            .filter(|entry| entry.path.starts_with("/v4/") && entry.status >= 400)
            .count();
        assert_eq!(refused, 1, "{state}: one refused request, no retry");
        assert!(
            nothing_is_due(&stack).await,
            "{state}: nothing is scheduled"
        );
        stack.stack.stop().await;
    }
}

#[tokio::test]
async fn server_errors_are_retried_within_the_run() {
    let stack = connected().await;
    admin(
        stack.google.base_url(),
        "__admin/faults",
        json!({"method": "POST", "path": "dailyRollUp$", "status": 503, "times": 2}),
    )
    .await;
    assert_eq!(run_once(&stack).await, Completed::Scheduled);
    assert_eq!(data_requests(&stack, 503), 2);
    assert_eq!(job(&stack).await.last_outcome.as_deref(), Some("ok"));
    assert_eq!(completed_files(&stack).len(), 1);
}

/// Rollup requests for one data type in the journal so far.
fn daily_roll_ups_of(stack: &TestStack, data_type: &str) -> usize {
    stack
        .google
        .instruments()
        .journal
        .matching(
            "POST",
            &format!("/v4/users/me/dataTypes/{data_type}/dataPoints:dailyRollUp"),
        )
        .len()
}

#[tokio::test]
async fn a_malformed_answer_fails_its_type_alone_and_a_later_run_reads_it() {
    let stack = connected().await;
    // The first rollup request of the import is the first of steps.
    admin(
        stack.google.base_url(),
        "__admin/faults",
        json!({"method": "POST", "path": "dailyRollUp$", "status": 200, "body": "{\"rollupDataPoints\": [", "times": 1}),
    )
    .await;
    assert_eq!(run_once(&stack).await, Completed::Scheduled);
    let status = job(&stack).await;
    assert_eq!(
        (status.attempts, status.last_outcome.as_deref()),
        (0, Some("ok"))
    );
    let coverage = &files(&stack)[DAILY_FILE]["coverage"];
    assert_eq!(coverage["steps"]["status"], "failed");
    assert_eq!(coverage["steps"]["problem"]["reason"], "unreadable");
    assert_eq!(coverage["distance"]["status"], "imported");

    // The type waits before it is tried again: a run now leaves it alone.
    let asked = daily_roll_ups_of(&stack, "steps");
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(daily_roll_ups_of(&stack, "steps"), asked);
    assert_eq!(
        files(&stack)[DAILY_FILE]["coverage"]["steps"]["problem"]["attempts"],
        1
    );

    // Once the wait is over, the next run reads it.
    database(&stack, "UPDATE type_failures SET retry_after = now()").await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    let coverage = &files(&stack)[DAILY_FILE]["coverage"];
    assert_eq!(coverage["steps"]["status"], "imported");
    assert!(coverage["steps"].get("problem").is_none());
    assert_eq!(completed_files(&stack).len(), 1);
}

#[tokio::test]
async fn tokens_that_expired_early_are_refreshed_once_and_the_import_continues() {
    let stack = connected().await;
    // Our records say the tokens are fresh; both services' clocks say otherwise.
    stack
        .google
        .instruments()
        .clock
        .advance(SignedDuration::from_hours(11));
    assert_eq!(run_once(&stack).await, Completed::Scheduled);
    assert_eq!(token_requests(&stack), 2, "one code exchange, one refresh");
    let unauthorized = stack
        .google
        .instruments()
        .journal
        .entries()
        .iter()
        .filter(|entry| entry.path.starts_with("/v4/") && entry.status == 401)
        .count();
    assert_eq!(
        unauthorized, 1,
        "the first Health API call finds the token expired"
    );
    assert_eq!(completed_files(&stack).len(), 1);
}

#[tokio::test]
async fn a_failed_upload_keeps_the_previous_file_and_the_next_run_replaces_it() {
    // The services' clock starts two days behind, so the first file lacks two whole days of
    // steps that a later run must add, whatever the time of day the test runs at.
    let stack = start(false).await;
    let clock = &stack.google.instruments().clock;
    clock.set(Timestamp::now() - SignedDuration::from_hours(48));
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&crate::helpers::member_id(), &crate::helpers::recent(30))
        .await
        .unwrap();
    assert_eq!(run_once(&stack).await, Completed::Scheduled);
    let first = completed_files(&stack);
    assert_eq!(first.len(), 1);

    // Two days later there is new data, and S3 fails every upload of this run.
    clock.set(Timestamp::now() + SignedDuration::from_hours(1));
    admin(
        stack.open_humans.base_url(),
        "__admin/faults",
        json!({"method": "PUT", "path": "^/s3/", "status": 500, "times": 5, "content_type": "application/xml",
               "body": "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code></Error>"}),
    )
    .await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    assert_eq!(job(&stack).await.last_outcome.as_deref(), Some("retry"));
    assert_eq!(
        completed_files(&stack),
        first,
        "the member still has the previous file"
    );

    clear_faults(stack.open_humans.base_url()).await;
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    let second = completed_files(&stack);
    assert_eq!(second.len(), 1, "the new file replaced the old one");
    assert_ne!(second[0].id, first[0].id);
    assert_ne!(second[0].metadata["md5"], first[0].metadata["md5"]);
}
