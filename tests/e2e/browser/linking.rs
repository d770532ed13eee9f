//! Linking both accounts in a browser, then watching the first import arrive.

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use jiff::{ToSpan, civil::Date};
use oh_fitbit::lab::stack::LocalStack;

use super::{steps::wait_on_dashboard, webdriver::Browser};
use crate::helpers::{
    MEMBER, job_status, member_id, placing_date, recent, sim_today, start, truth_points,
};

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

    // Once the two months are in, the charts show the simulator's last 30 days. "Complete"
    // shows as soon as the last days are read; the charts are those of the last finished sync.
    wait_on_dashboard(&browser, &stack, &["Complete: every day"]).await;
    let deadline = Instant::now() + PATIENCE;
    while job_status(&stack).await.last_outcome.as_deref() != Some("ok") {
        assert!(Instant::now() < deadline, "the first sync finishes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(stack.url("dashboard").as_str()).await;
    let today = sim_today(&stack);
    for (chart, truth) in truth_of_last_30_days(&stack, today) {
        let shown = charted(&browser, chart).await;
        assert!(
            shown.len() >= 20,
            "{chart}: most days have a value: {shown:?}"
        );
        let before_today: BTreeMap<Date, u64> =
            shown.into_iter().filter(|(day, _)| *day < today).collect();
        assert_eq!(
            before_today, truth,
            "{chart}: the chart shows the simulator's values"
        );
    }
    let daily = stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .find(|file| file.completed && file.basename == "fitbit-daily.json.gz")
        .unwrap();
    let size = daily.bytes.as_ref().unwrap().len() as u64;
    assert_eq!(daily.metadata["size_bytes"], size);
    let row = browser.find("table.files tbody tr").await.text().await;
    assert!(row.contains("fitbit-daily.json.gz"), "{row}");
    assert!(
        row.contains(&format!("to {today}")),
        "the days it covers: {row}"
    );
    assert!(
        row.contains(" kB") || row.contains(" MB"),
        "its size: {row}"
    );
    browser
        .execute("document.getElementById('recent').scrollIntoView();")
        .await;
    browser.screenshot("charts").await;

    browser.resize(390, 844).await;
    browser.screenshot("first-file-on-a-phone").await;
    browser.close().await;
    stack.stack.stop().await;
}

/// The days before today that each chart should show, from the simulator's own data: steps
/// from its daily rollups, resting heart rate from its daily points, minutes asleep summed over
/// the sleep sessions that ended on a day.
fn truth_of_last_30_days(
    stack: &LocalStack,
    today: Date,
) -> [(&'static str, BTreeMap<Date, u64>); 3] {
    let first = today - 29.days();
    let integer =
        |value: &serde_json::Value| value.as_str().and_then(|text| text.parse::<u64>().ok());
    let mut steps = BTreeMap::new();
    let mut resting = BTreeMap::new();
    let mut day = first;
    while day < today {
        let rollup = stack.google.ground_truth_daily_roll_up("steps", day);
        if let Some(count) = rollup
            .as_ref()
            .and_then(|value| integer(&value["countSum"]))
        {
            steps.insert(day, count);
        }
        for point in stack
            .google
            .ground_truth_points("daily-resting-heart-rate", day)
        {
            if let Some(bpm) = integer(&point["dailyRestingHeartRate"]["beatsPerMinute"]) {
                resting.insert(day, bpm);
            }
        }
        day = day.tomorrow().unwrap();
    }
    let sleep_type = google_health::catalogue::data_type("sleep").unwrap();
    let mut sleep = BTreeMap::new();
    for session in truth_points(stack, "sleep", first - 1.day(), today) {
        let ended = placing_date(sleep_type, &session);
        if let Some(minutes) = integer(&session["sleep"]["summary"]["minutesAsleep"])
            && (first..today).contains(&ended)
        {
            *sleep.entry(ended).or_insert(0) += minutes;
        }
    }
    [
        ("steps", steps),
        ("resting-heart-rate", resting),
        ("sleep", sleep),
    ]
}

/// The values one chart draws, by the day each mark is for.
async fn charted(browser: &Browser, chart: &str) -> BTreeMap<Date, u64> {
    let marks = browser
        .execute(&format!(
            "return Array.from(document.querySelectorAll('#chart-{chart} svg [data-date]'))\
             .map(mark => [mark.dataset.date, mark.dataset.value]);"
        ))
        .await;
    marks
        .as_array()
        .unwrap()
        .iter()
        .map(|mark| {
            (
                mark[0].as_str().unwrap().parse().unwrap(),
                mark[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}
