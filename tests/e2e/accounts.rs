//! Grants over time: a scope withheld at consent, a lapsed Open Humans grant renewed by signing
//! in again, token refreshes that race, a member whose job was lost, and a worker shutting down
//! mid-job.

use std::time::Duration;

use jiff::SignedDuration;
use oh_fitbit_core::{config::WorkerConfig, queue::Completed};
use reqwest::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, ManualBrowser, admin, browser, get_page, job_status, link_both_accounts, member_id,
    run_one_job, start, start_with,
};

#[tokio::test]
async fn a_member_who_withholds_activity_data_is_told_and_nothing_is_stored() {
    let stack = start(false).await;
    let knobs = json!({"granted_scopes": ["profile.readonly", "settings.readonly"]});
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    let browser = browser();
    get_page(&browser, stack.url("openhumans/login")).await;
    let (status, _, page) = get_page(&browser, stack.url("fitbit/connect")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("activity and fitness"), "{page}");
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(record.fitbit.is_none() && record.google_tokens.is_none());
    let revoked = stack
        .google
        .instruments()
        .journal
        .matching("POST", "/revoke");
    assert_eq!(revoked.len(), 1, "the unusable grant is handed back");
    assert_eq!(revoked[0].status, 200);
}

#[tokio::test]
async fn signing_in_again_resumes_a_member_whose_open_humans_grant_lapsed() {
    let stack = start(false).await;
    link_both_accounts(&stack, &browser()).await;
    // Open Humans stops accepting our tokens for the member (a lost refresh token; a member
    // who leaves the project is forgotten through the webhook instead).
    let lapsed = json!([
        {"path": "^/api/", "status": 401, "body": r#"{"detail": "Invalid token."}"#,
         "content_type": "application/json"},
        {"method": "POST", "path": "^/oauth2/token/$", "status": 400,
         "body": r#"{"error": "invalid_grant"}"#, "content_type": "application/json"},
    ]);
    admin(stack.open_humans.base_url(), "__admin/faults", lapsed).await;
    let shutdown = CancellationToken::new();
    assert_eq!(run_one_job(&stack, &shutdown).await, Completed::Parked);
    let status = job_status(&stack).await;
    assert!(
        status
            .message
            .unwrap()
            .contains("Sign in with Open Humans again")
    );

    // Joining again and signing in puts the import back in the queue.
    let mut returning = ManualBrowser::default();
    let callback = returning
        .begin_flow(stack.url("openhumans/login").as_str())
        .await;
    assert_eq!(
        returning.get(&callback).await.location.as_deref(),
        Some("/dashboard")
    );
    let status = job_status(&stack).await;
    assert_eq!(status.state.as_deref(), Some("ready"));
    assert_eq!(run_one_job(&stack, &shutdown).await, Completed::Scheduled);
    assert_eq!(
        stack
            .open_humans
            .files(MEMBER)
            .iter()
            .filter(|f| f.completed)
            .count(),
        1
    );
}

#[tokio::test]
async fn racing_requests_refresh_an_expired_token_once() {
    let stack = start(false).await;
    let browser = browser();
    link_both_accounts(&stack, &browser).await;
    stack
        .worker
        .try_execute_one(&CancellationToken::new())
        .await
        .unwrap();
    // Open Humans' clock says our access token expired; our record does not know yet.
    stack
        .open_humans
        .instruments()
        .clock
        .advance(SignedDuration::from_hours(11));
    let tokens_before = stack
        .open_humans
        .instruments()
        .journal
        .matching("POST", "/oauth2/token/");
    let (first, second, third) = tokio::join!(
        get_page(&browser, stack.url("dashboard")),
        get_page(&browser, stack.url("dashboard")),
        get_page(&browser, stack.url("dashboard")),
    );
    for (status, _, page) in [first, second, third] {
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("fitbit-daily.json.gz"),
            "every page lists the file: {page}"
        );
    }
    let tokens_after = stack
        .open_humans
        .instruments()
        .journal
        .matching("POST", "/oauth2/token/");
    assert_eq!(
        tokens_after.len() - tokens_before.len(),
        1,
        "one refresh for the three requests (Open Humans rotates refresh tokens)"
    );
}

#[tokio::test]
async fn a_connected_member_whose_job_was_lost_is_queued_at_worker_start() {
    let stack = start(false).await;
    link_both_accounts(&stack, &browser()).await;
    assert_eq!(stack.worker.queue_unscheduled_members().await.unwrap(), 0);
    // Redis lost the queue (or the web process died between connecting and queueing).
    let client =
        redis::Client::open(secrecy::ExposeSecret::expose_secret(&stack.redis.url)).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("ohfb:queue:ready")
        .arg(format!("ohfb:job:{MEMBER}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(stack.worker.queue_unscheduled_members().await.unwrap(), 1);
    assert_eq!(
        stack.worker.queue_unscheduled_members().await.unwrap(),
        0,
        "idempotent"
    );
    let status = job_status(&stack).await;
    assert!(matches!(
        status.state.as_deref(),
        Some("ready" | "scheduled")
    ));
}

#[tokio::test]
async fn a_job_running_at_shutdown_is_handed_back_without_costing_an_attempt() {
    let worker = WorkerConfig {
        shutdown_grace: Duration::ZERO,
        ..WorkerConfig::default()
    };
    let stack = start_with(false, worker).await;
    link_both_accounts(&stack, &browser()).await;
    let slow = json!({"method": "POST", "path": "dailyRollUp$", "delay_ms": 60_000, "times": 1});
    admin(stack.google.base_url(), "__admin/faults", slow).await;
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    assert_eq!(run_one_job(&stack, &shutdown).await, Completed::Scheduled);
    let status = job_status(&stack).await;
    assert_eq!(status.last_outcome.as_deref(), Some("later"));
    assert_eq!(status.attempts, 0);
    assert!(status.run_at.unwrap() <= jiff::Timestamp::now());
}
