//! Linking both accounts in a browser, then watching the first import arrive.

use std::time::{Duration, Instant};

use super::webdriver::Browser;
use crate::helpers::{MEMBER, member_id, recent, start};

const PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_links_both_accounts_and_sees_the_first_file_and_the_progress() {
    let stack = start(true).await;
    let mut browser = Browser::start("linking", 1280, 1400).await;

    browser.goto(stack.url("").as_str()).await;
    let landing = browser.text().await;
    assert!(landing.contains("Connect with Open Humans"), "{landing}");
    browser.screenshot("landing").await;

    browser
        .find("a.button[href='/openhumans/login']")
        .await
        .click()
        .await;
    assert_eq!(browser.path().await, "/dashboard");
    let dashboard = browser.text().await;
    assert!(dashboard.contains(MEMBER), "{dashboard}");
    assert!(dashboard.contains("Connect Fitbit"), "{dashboard}");
    browser.screenshot("signed-in").await;

    // The last two months only, so the import takes seconds.
    stack
        .members
        .save_preferences(&member_id(), &recent(60))
        .await
        .unwrap();
    browser
        .find("a.button[href='/fitbit/connect']")
        .await
        .click()
        .await;
    assert_eq!(browser.path().await, "/dashboard");
    let connected = browser.text().await;
    assert!(connected.contains("Connected (time zone:"), "{connected}");
    browser.screenshot("fitbit-connected").await;

    let deadline = Instant::now() + PATIENCE;
    while !browser.text().await.contains("fitbit-daily.json.gz") {
        assert!(Instant::now() < deadline, "{}", browser.text().await);
        tokio::time::sleep(Duration::from_millis(250)).await;
        browser.goto(stack.url("dashboard").as_str()).await;
    }
    let bars = browser.count("ul.progress progress").await;
    assert!(bars >= 3, "a bar per category: {bars}");
    let first_bar = browser.find("ul.progress progress").await;
    let total: i32 = first_bar.attribute("max").await.unwrap().parse().unwrap();
    let done: i32 = first_bar.attribute("value").await.unwrap().parse().unwrap();
    assert!((60..=61).contains(&total), "two months of days: {total}");
    assert!((1..=total).contains(&done), "{done} of {total}");
    let summary = browser.find("#progress-summary").await.text().await;
    assert!(
        summary.starts_with("Complete") || summary.contains("left") || summary.contains("Working"),
        "{summary}"
    );
    browser.screenshot("first-file").await;

    browser.resize(390, 844).await;
    browser.screenshot("first-file-on-a-phone").await;
    browser.close().await;
    stack.stack.stop().await;
}
