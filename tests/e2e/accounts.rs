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
    MEMBER, ManualBrowser, TestStack, admin, browser, csrf_of, database, get_page, job_status,
    link_both_accounts, linked_with, member_id, raw_redis, recent, run_one_job, start, start_with,
    store_snapshot,
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
    let stack = linked_with(json!({}), recent(3)).await;
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
        .members
        .save_preferences(&member_id(), &recent(3))
        .await
        .unwrap();
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
async fn a_connected_member_whose_job_was_lost_is_queued_by_the_workers() {
    let stack = linked_with(json!({}), recent(3)).await;
    let queued = || async { job_status(&stack).await.state };
    stack.worker.maintain().await.unwrap();
    assert_eq!(queued().await.as_deref(), Some("ready"));
    // The web process stopped between connecting Fitbit and queueing the first sync.
    raw_redis(
        &stack,
        &["DEL", "ohfb:queue:ready", &format!("ohfb:job:{MEMBER}")],
    )
    .await;
    database(
        &stack,
        &format!("DELETE FROM sync_jobs WHERE member_id = '{MEMBER}'"),
    )
    .await;
    assert_eq!(queued().await, None);
    stack.worker.maintain().await.unwrap();
    assert_eq!(queued().await.as_deref(), Some("ready"));
    // Redis restarted empty.
    raw_redis(&stack, &["FLUSHALL"]).await;
    assert_eq!(queued().await, None);
    stack.worker.maintain().await.unwrap();
    assert_eq!(queued().await.as_deref(), Some("ready"));
    stack.worker.maintain().await.unwrap();
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Scheduled,
        "queued once"
    );
    assert!(matches!(
        stack
            .worker
            .try_execute_one(&CancellationToken::new())
            .await
            .unwrap(),
        oh_fitbit_worker::Execution::Empty
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

/// A grant from a client in Google's Testing status ends after 7 days: two days before, the
/// dashboard warns with a one-click reconnect and the member gets one Open Humans message.
#[tokio::test]
async fn a_member_is_told_ahead_when_a_testing_grant_is_about_to_end() {
    use oh_fitbit_sim::google::PublishingStatus;
    let stack = start(false).await;
    let mut client = stack.google.clients()[0].clone();
    client.publishing_status = PublishingStatus::Testing;
    stack.google.register_client(client);
    let member = browser();
    link_both_accounts(&stack, &member).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(2))
        .await
        .unwrap();
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    let granted = record.google_tokens.clone().unwrap();
    let ends = granted.refresh_expires_at.expect("a Testing grant ends");
    assert!(ends > jiff::Timestamp::now() + SignedDuration::from_hours(24 * 6));

    let (_, _, dashboard) = get_page(&member, stack.url("dashboard")).await;
    assert!(
        dashboard.contains(r#"class="notice" id="access-ends""#),
        "{dashboard}"
    );
    run_one_job(&stack, &CancellationToken::new()).await;
    assert!(
        stack.open_humans.messages().is_empty(),
        "a week ahead is no news"
    );

    // Five days later (our clock cannot move: the grant's end moves instead).
    let soon = oh_fitbit_core::members::GoogleTokens {
        refresh_expires_at: Some(jiff::Timestamp::now() + SignedDuration::from_hours(30)),
        ..granted
    };
    let account = record.fitbit.clone().unwrap();
    stack
        .members
        .connect_fitbit(&member_id(), &account, &soon, None)
        .await
        .unwrap();
    let (_, _, dashboard) = get_page(&member, stack.url("dashboard")).await;
    assert!(
        dashboard.contains(r#"class="error" id="access-ends""#),
        "{dashboard}"
    );
    assert!(
        dashboard.contains(r#"href="/fitbit/connect""#),
        "{dashboard}"
    );
    for _ in 0..2 {
        stack
            .worker
            .context()
            .queue
            .enqueue(&member_id(), jiff::Timestamp::now())
            .await
            .unwrap();
        run_one_job(&stack, &CancellationToken::new()).await;
    }
    let messages = stack.open_humans.messages();
    assert_eq!(messages.len(), 1, "told once: {messages:?}");
    assert!(
        messages[0].body.contains("Testing status"),
        "{}",
        messages[0].body
    );
    assert!(
        messages[0]
            .body
            .contains(&stack.url("dashboard").to_string())
    );
    stack.stack.stop().await;
}

/// Row 7 of issue 17: a token lifetime that would overflow the expiry arithmetic (i64::MAX
/// seconds) is refused with a clear page, not a panic that closes the connection, and nothing
/// is stored.
#[tokio::test]
async fn an_implausible_token_lifetime_from_open_humans_is_a_clear_error() {
    let stack = start(false).await;
    let before = store_snapshot(&stack).await;
    let body = r#"{"access_token": "a", "refresh_token": "r", "expires_in": 9223372036854775807, "token_type": "Bearer", "scope": "read write"}"#;
    let overflowing = json!([{"method": "POST", "path": "^/oauth2/token/$", "status": 200,
        "times": 1, "body": body, "content_type": "application/json"}]);
    admin(stack.open_humans.base_url(), "__admin/faults", overflowing).await;
    let (status, _, page) = get_page(&browser(), stack.url("openhumans/login")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{page}");
    assert!(page.contains("Open Humans"), "{page}");
    assert_eq!(store_snapshot(&stack).await, before, "nothing stored");
    stack.stack.stop().await;
}

/// A client registered with the simulated Google like the service's, under another id.
fn another_client(stack: &TestStack, name: &str) -> (String, String) {
    let mut client = stack.google.clients()[0].clone();
    client.client_id = format!("223456789012-{name}.apps.googleusercontent.com");
    client.client_secret = format!("GOCSPX-{name}-secret-0123456789");
    stack.google.register_client(client.clone());
    (client.client_id, client.client_secret)
}

/// Posts the intraday page's form with an own client; `browser` follows Google's consent or
/// not, as it was built.
async fn paste_client(
    stack: &TestStack,
    browser: &reqwest::Client,
    (id, secret): &(String, String),
) {
    let (_, _, page) = get_page(browser, stack.url("intraday")).await;
    let csrf = csrf_of(&page);
    let response = browser
        .post(stack.url("intraday"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("client_id", id),
            ("client_secret", secret),
            ("resolution", "5min"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.status()
    );
}

/// Row 5 of issue 17: a newly pasted own client replaces the working one only once Google's
/// consent with it succeeds; the grant to the one replaced is then handed back.
#[tokio::test]
async fn a_pasted_client_replaces_the_working_one_only_after_consent() {
    let stack = start(false).await;
    // One browser, seen through two clients: one follows redirects to Google's consent, the
    // other stops at the first (the member closes the tab).
    let cookies = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let member = reqwest::Client::builder()
        .cookie_provider(cookies.clone())
        .build()
        .unwrap();
    let walks_away = reqwest::Client::builder()
        .cookie_provider(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    link_both_accounts(&stack, &member).await;
    let first = another_client(&stack, "first");
    paste_client(&stack, &member, &first).await;
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert_eq!(record.own_client.as_ref().unwrap().client_id, first.0);
    assert!(record.fitbit.as_ref().unwrap().via_own_client);
    let revoked = stack
        .google
        .instruments()
        .journal
        .matching("POST", "/revoke")
        .len();

    // A second client pasted, and the member walks away from Google's consent page.
    let second = another_client(&stack, "second");
    let (_, _, page) = get_page(&member, stack.url("intraday")).await;
    let response = walks_away
        .post(stack.url("intraday"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("client_id", second.0.as_str()),
            ("client_secret", second.1.as_str()),
            ("resolution", "1min"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let unchanged = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert_eq!(unchanged.own_client.as_ref().unwrap().client_id, first.0);
    let access = |member: &oh_fitbit_core::members::Member| {
        use secrecy::ExposeSecret;
        let tokens = member.google_tokens.as_ref().unwrap();
        tokens.access_token.expose_secret().to_owned()
    };
    assert_eq!(access(&unchanged), access(&record), "the grant works on");
    assert_eq!(unchanged.preferences, record.preferences);

    // Finished, the consent replaces the client and hands the old grant back.
    paste_client(&stack, &member, &second).await;
    let replaced = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert_eq!(replaced.own_client.as_ref().unwrap().client_id, second.0);
    assert_ne!(access(&replaced), access(&record));
    assert_eq!(
        stack
            .google
            .instruments()
            .journal
            .matching("POST", "/revoke")
            .len(),
        revoked + 1,
        "the grant to the first client was revoked"
    );
    stack.stack.stop().await;
}
