//! A wrong, replayed or missing `state` on either OAuth callback gets a clear error page and
//! changes nothing stored.

use reqwest::StatusCode;

use crate::helpers::{
    LogCapture, ManualBrowser, TestStack, start, store_snapshot, with_param, without_param,
};

/// Sends `callback` and checks the answer is a 400 page saying `expected`, with Redis untouched.
async fn refused(stack: &TestStack, browser: &mut ManualBrowser, callback: &str, expected: &str) {
    let before = store_snapshot(stack).await;
    let answer = browser.get(callback).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(
        answer.body.contains(expected),
        "expected {expected:?} in: {}",
        answer.body
    );
    assert!(
        answer.body.contains("Nothing was changed"),
        "{}",
        answer.body
    );
    assert_eq!(
        store_snapshot(stack).await,
        before,
        "a refused callback changed Redis"
    );
}

async fn check_state_handling(stack: &TestStack, browser: &ManualBrowser, start_path: &str) {
    let start_url = stack.url(start_path).to_string();

    let mut missing = browser.clone();
    let callback = missing.begin_flow(&start_url).await;
    refused(
        stack,
        &mut missing,
        &without_param(&callback, "state"),
        "incomplete",
    )
    .await;

    let mut forged = browser.clone();
    let callback = forged.begin_flow(&start_url).await;
    let forged_url = with_param(&callback, "state", Some("0123456789abcdef0123456789abcdef"));
    refused(stack, &mut forged, &forged_url, "does not belong").await;

    let mut original = browser.clone();
    let callback = original.begin_flow(&start_url).await;
    let mut other_browser = ManualBrowser {
        cookies: browser.cookies.clone(),
    };
    refused(
        stack,
        &mut other_browser,
        &callback,
        "connection in progress",
    )
    .await;

    let mut replayer = original.clone();
    let accepted = original.get(&callback).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(accepted.location.as_deref(), Some("/dashboard"));
    refused(stack, &mut replayer, &callback, "already used").await;
}

#[tokio::test]
async fn open_humans_callback_refuses_bad_states() {
    let stack = start(false).await;
    check_state_handling(&stack, &ManualBrowser::default(), "openhumans/login").await;
}

#[tokio::test]
async fn fitbit_callback_refuses_bad_states() {
    let stack = start(false).await;
    let mut member = ManualBrowser::default();
    let callback = member
        .begin_flow(stack.url("openhumans/login").as_str())
        .await;
    let signed_in = member.get(&callback).await;
    assert_eq!(signed_in.location.as_deref(), Some("/dashboard"));
    check_state_handling(&stack, &member, "fitbit/connect").await;
}

#[tokio::test]
async fn a_declined_consent_gets_a_clear_page() {
    let stack = start(false).await;
    let mut member = ManualBrowser::default();
    let callback = member
        .begin_flow(stack.url("openhumans/login").as_str())
        .await;
    member.get(&callback).await;
    let callback = member
        .begin_flow(stack.url("fitbit/connect").as_str())
        .await;
    let declined = without_param(
        &with_param(&callback, "error", Some("access_denied")),
        "code",
    );
    let answer = member.get(&declined).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("You chose not to give access"),
        "{}",
        answer.body
    );
    let member_record = stack
        .members
        .load(&crate::helpers::MEMBER.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        member_record.fitbit.is_none(),
        "declining connected nothing"
    );
}

/// Row 6 of issue 17: `?error=` is the provider's, or anyone's who crafts the link, and it is
/// logged; a newline in it must not start a line of its own, nor an escape colour the log.
// One thread, so the spawned web server logs through the test's capturing subscriber.
#[tokio::test(flavor = "current_thread")]
async fn an_error_on_a_callback_cannot_forge_log_lines() {
    let logs = LogCapture::start();
    let stack = start(false).await;
    let forged_line = "2026-12-04T10:00:00.000000Z  INFO oh_fitbit_web: member left the project";
    let mut member = ManualBrowser::default();
    let callback = member
        .begin_flow(stack.url("openhumans/login").as_str())
        .await;
    let hostile = format!("server_error\n{forged_line}\r\u{1b}[31m");
    let before = store_snapshot(&stack).await;
    let answer = member
        .get(&without_param(
            &with_param(&callback, "error", Some(&hostile)),
            "code",
        ))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    // The flow's one-time state is spent; nothing else changes.
    let tables = |snapshot: std::collections::BTreeMap<String, String>| {
        snapshot
            .into_iter()
            .filter(|(key, _)| key.starts_with("table "))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tables(store_snapshot(&stack).await),
        tables(before),
        "a refused consent changed the database"
    );
    assert!(
        !member.cookies.contains_key("ohfb_session"),
        "no one was signed in"
    );
    let logged = logs.text();
    let warning = logged
        .lines()
        .find(|line| line.contains("answered the consent with an error"))
        .unwrap_or_else(|| panic!("the error is logged: {logged}"));
    assert!(
        warning.contains(&format!("server_error\\n{forged_line}\\r\\u{{1b}}[31m")),
        "the error is logged escaped, on the warning's own line: {warning}"
    );
    assert!(
        !logged.lines().any(|line| line.starts_with(forged_line)),
        "a forged line reached the log: {logged}"
    );
    assert!(!logged.contains('\u{1b}'), "an escape reached the log");
}

#[tokio::test]
async fn pages_for_members_need_a_sign_in() {
    let stack = start(false).await;
    for path in [
        "dashboard",
        "fitbit/connect",
        "fitbit/callback?code=x&state=y",
    ] {
        let answer = ManualBrowser::default().get(stack.url(path).as_str()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            answer.body.contains("Sign in with Open Humans"),
            "{path}: {}",
            answer.body
        );
    }
}
