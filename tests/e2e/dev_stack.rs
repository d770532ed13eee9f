//! `oh-fitbit dev` as a newcomer uses it: the worker loop runs by itself, and within a minute of
//! connecting Fitbit the dashboard lists the uploaded file.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{MEMBER, browser, get_page, link_both_accounts, start};

#[tokio::test]
async fn the_dashboard_lists_the_file_within_a_minute_of_connecting() {
    let stack = start(true).await;
    let browser = browser();
    link_both_accounts(&stack, &browser).await;
    let file = stack
        .open_humans
        .wait_for_completed_file(MEMBER, "fitbit-daily.json.gz", Duration::from_secs(60))
        .await
        .expect("the worker uploads the file within 60 seconds");
    let (status, _, page) = get_page(&browser, stack.url("dashboard")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("fitbit-daily.json.gz"), "{page}");
    assert!(
        page.contains("datafile-download"),
        "the file has a download link: {page}"
    );
    assert!(
        file.bytes
            .is_some_and(|bytes| bytes.starts_with(&[0x1f, 0x8b])),
        "gzip"
    );
    stack.stack.stop().await;
}
