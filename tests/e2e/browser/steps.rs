//! Steps the browser journeys share.

use std::time::{Duration, Instant};

use jiff::{Timestamp, ToSpan};

use super::webdriver::Browser;
use crate::helpers::{MEMBER, TestStack};

const PATIENCE: Duration = Duration::from_secs(120);

/// Landing page → "Connect with Open Humans" → the dashboard.
pub(super) async fn sign_in(browser: &mut Browser, stack: &TestStack) {
    browser.goto(stack.url("").as_str()).await;
    browser
        .click_through("a.button[href='/openhumans/login']")
        .await;
    assert_eq!(browser.path().await, "/dashboard");
    assert!(browser.text().await.contains(MEMBER));
}

/// On the settings page: import from `days` ago, intraday as `intraday` (a radio value), every
/// category ticked but `untick`; then saves.
pub(super) async fn save_settings(
    browser: &mut Browser,
    stack: &TestStack,
    days: i64,
    intraday: &str,
    untick: &[&str],
) {
    browser.goto(stack.url("settings").as_str()).await;
    let from = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date() - days.days();
    // A date field's typed format follows the browser's locale; its value does not.
    browser
        .execute(&format!(
            "document.getElementById('earliest-date').value = '{from}';"
        ))
        .await;
    browser
        .find(&format!("input[name=intraday][value='{intraday}']"))
        .await
        .click()
        .await;
    let untick: Vec<String> = untick.iter().map(|c| format!("'{c}'")).collect();
    browser
        .execute(&format!(
            "for (const box of document.querySelectorAll('input[name=category]')) \
             if (!box.disabled) box.checked = ![{}].includes(box.value);",
            untick.join(",")
        ))
        .await;
    browser.click_through("#save-settings").await;
}

/// Reloads the dashboard until its text contains every one of `needles`.
pub(super) async fn wait_on_dashboard(
    browser: &Browser,
    stack: &TestStack,
    needles: &[&str],
) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        browser.goto(stack.url("dashboard").as_str()).await;
        let text = browser.text().await;
        if needles.iter().all(|needle| text.contains(needle)) {
            return text;
        }
        assert!(Instant::now() < deadline, "waiting for {needles:?}: {text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
