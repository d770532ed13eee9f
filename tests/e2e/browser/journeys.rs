//! The member's journeys past linking, in a browser: intraday data through their own Google
//! client, changing their choices, disconnecting and leaving.

use std::collections::BTreeSet;

use google_health::Scope;
use jiff::{Timestamp, ToSpan};
use oh_fitbit_core::members::IntradayResolution;

use super::{
    steps::{save_settings, sign_in, wait_on_dashboard},
    webdriver::Browser,
};
use crate::helpers::{
    files, leave_on_open_humans, member_id, start, start_as_deployed, store_snapshot,
};

/// In the simulated Google Cloud console: a Web client in Testing status with one redirect URI.
async fn create_client(browser: &Browser, console: &str, redirect_uri: &str) -> (String, String) {
    browser.goto(console).await;
    browser.find("#redirect-uri").await.fill(redirect_uri).await;
    browser.click_through("#create-client").await;
    let id = browser.find("#client-id").await.text().await;
    let secret = browser.find("#client-secret").await.text().await;
    (id, secret)
}

/// On our intraday page: pastes a client, picks a resolution, submits.
async fn paste_client(browser: &Browser, intraday_page: &str, id: &str, secret: &str) {
    browser.goto(intraday_page).await;
    browser.find("#client-id").await.fill(id).await;
    browser.find("#client-secret").await.fill(secret).await;
    browser
        .find("input[name=resolution][value='5min']")
        .await
        .click()
        .await;
    browser.click_through("#save-client").await;
}

/// The refusal our intraday page shows.
async fn client_problem(browser: &Browser) -> String {
    if browser.count("#client-problem").await == 0 {
        panic!(
            "no refusal on {}: {}",
            browser.path().await,
            browser.text().await
        );
    }
    browser.find("#client-problem").await.text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sets_up_their_own_client_and_gets_monthly_intraday_files() {
    let stack = start_as_deployed().await;
    let mut browser = Browser::start("own-client", 1280, 2000).await;
    sign_in(&mut browser, &stack).await;
    save_settings(&mut browser, &stack, 40, "off", &[]).await;
    browser
        .click_through("a.button[href='/fitbit/connect']")
        .await;
    wait_on_dashboard(&browser, &stack, &["fitbit-daily.json.gz"]).await;

    let intraday_page = stack.url("intraday").to_string();
    browser.goto(&intraday_page).await;
    let redirect_uri = browser
        .find("#redirect-uri")
        .await
        .attribute("value")
        .await
        .unwrap();
    assert_eq!(redirect_uri, stack.url("fitbit/callback").as_str());
    let console = browser
        .find("#console-link")
        .await
        .attribute("href")
        .await
        .unwrap();
    browser.screenshot("guide").await;

    paste_client(
        &browser,
        &intraday_page,
        "my-client",
        "GOCSPX-0123456789abcdefghijkl",
    )
    .await;
    let problem = client_problem(&browser).await;
    assert!(
        problem.contains("not a Google OAuth client ID"),
        "{problem}"
    );
    browser.screenshot("malformed-id").await;

    let (wrong_uri_id, wrong_uri_secret) =
        create_client(&browser, &console, "http://127.0.0.1:9/elsewhere").await;
    browser.screenshot("console-created").await;
    paste_client(&browser, &intraday_page, &wrong_uri_id, &wrong_uri_secret).await;
    let problem = client_problem(&browser).await;
    assert!(problem.contains("redirect_uri_mismatch"), "{problem}");
    browser.screenshot("redirect-uri-mismatch").await;

    let (id, secret) = create_client(&browser, &console, &redirect_uri).await;
    paste_client(
        &browser,
        &intraday_page,
        &id,
        "GOCSPX-not-the-secret-of-it-at-all",
    )
    .await;
    let problem = client_problem(&browser).await;
    assert!(problem.contains("not with this secret"), "{problem}");
    let member = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(member.own_client.is_none(), "nothing stored while refused");
    assert_eq!(member.preferences.intraday, None);

    paste_client(&browser, &intraday_page, &id, &secret).await;
    assert_eq!(
        browser.path().await,
        "/dashboard",
        "consent ran and came back: {}",
        browser.text().await
    );
    let member = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(member.fitbit.as_ref().unwrap().via_own_client);
    assert_eq!(member.own_client.as_ref().unwrap().client_id, id);
    assert_eq!(
        member.preferences.intraday,
        Some(IntradayResolution::FiveMinutes)
    );
    let stored = store_snapshot(&stack).await;
    assert!(
        stored.values().all(|value| !value.contains(&secret)),
        "the secret is stored sealed"
    );
    let ends = browser.find("#access-ends").await.text().await;
    assert!(ends.contains("Testing status"), "{ends}");
    assert_eq!(
        browser
            .find("#reconnect")
            .await
            .attribute("href")
            .await
            .as_deref(),
        Some("/fitbit/connect?client=own")
    );

    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let months: BTreeSet<String> = [today - 40.days(), today]
        .iter()
        .map(|day| format!("fitbit-intraday-{}.json.gz", day.strftime("%Y-%m")))
        .collect();
    let needles: Vec<&str> = months.iter().map(String::as_str).collect();
    let dashboard = wait_on_dashboard(&browser, &stack, &needles).await;
    assert!(dashboard.contains("On, 5-minute summaries"), "{dashboard}");
    for name in &months {
        let file = &files(&stack)[name];
        assert_eq!(file["resolution"], "300s", "{name}");
    }
    browser.screenshot("intraday-files").await;
    browser.close().await;
    stack.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_changes_their_choices_disconnects_and_leaves() {
    let stack = start(true).await;
    let mut browser = Browser::start("choices-and-leaving", 1280, 1600).await;
    sign_in(&mut browser, &stack).await;
    save_settings(&mut browser, &stack, 20, "off", &["sleep"]).await;
    browser.screenshot("settings-saved").await;
    browser
        .click_through("a.button[href='/fitbit/connect']")
        .await;
    let granted = |member: &oh_fitbit_core::members::Member| {
        member.fitbit.as_ref().unwrap().granted_scopes.clone()
    };
    let member = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(
        !granted(&member).contains(&Scope::Sleep.url().to_owned()),
        "only what was chosen is asked for"
    );
    wait_on_dashboard(&browser, &stack, &["fitbit-daily.json.gz", "Complete"]).await;
    let bars = browser.find("ul.progress").await.text().await;
    assert!(
        bars.contains("Activity and fitness") && !bars.contains("Sleep"),
        "{bars}"
    );

    // Sleep back in, from further back: Google is asked for sleep, then the sync reads it.
    browser.goto(stack.url("settings").as_str()).await;
    browser.screenshot("settings").await;
    save_settings(&mut browser, &stack, 30, "off", &["nutrition"]).await;
    let member = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(
        granted(&member).contains(&Scope::Sleep.url().to_owned()),
        "consent ran again"
    );
    assert!(member.preferences.left_out.contains(&Scope::Nutrition));
    let dashboard = wait_on_dashboard(&browser, &stack, &["Sleep", "Complete"]).await;
    assert!(
        dashboard.contains("of 31 days") || dashboard.contains("of 30 days"),
        "{dashboard}"
    );
    browser.screenshot("choices-changed").await;

    // The new consent started that sync: Sync now waits, as it would after a Sync now.
    assert!(browser.text().await.contains("you can ask again from"));

    browser.goto(stack.url("fitbit/disconnect").as_str()).await;
    browser.find("input[name=delete_files]").await.click().await;
    browser.screenshot("disconnect").await;
    browser.click_through("#disconnect").await;
    let dashboard = wait_on_dashboard(&browser, &stack, &["Not connected", "No files yet"]).await;
    assert!(!dashboard.contains("fitbit-daily"), "{dashboard}");
    assert!(
        files(&stack).is_empty(),
        "our files on Open Humans are deleted"
    );
    browser.screenshot("disconnected").await;

    leave_on_open_humans(&stack).await;
    browser.goto(stack.url("dashboard").as_str()).await;
    let page = browser.text().await;
    assert!(page.contains("Please sign in"), "{page}");
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    browser.screenshot("left").await;
    browser.close().await;
    stack.stack.stop().await;
}
