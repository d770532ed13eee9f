//! Reading the member's files back: paging and downloads.

use open_humans::NewFile;
use reqwest::header::CONTENT_TYPE;

use crate::helpers::{metadata, spawn};

#[tokio::test]
async fn every_page_of_a_long_file_list_is_read() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let mut uploaded = Vec::new();
    for n in 0..105 {
        let file = NewFile {
            filename: format!("part-{n:03}.json"),
            bytes: format!("{{\"n\":{n}}}").into_bytes(),
            metadata: metadata(&format!("part {n}")),
        };
        uploaded.push(
            app.client
                .upload(&tokens.access_token, file)
                .await
                .unwrap()
                .id,
        );
    }

    let member = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap();
    let listed: Vec<u64> = member.files.iter().map(|f| f.id).collect();
    assert_eq!(listed, uploaded);
    assert_eq!(member.own_files().count(), 105);

    let pages = app.journal("GET", "/api/direct-sharing/project/exchange-member/");
    assert_eq!(pages.len(), 2);
    assert!(pages[1].query.contains("offset=100"), "{}", pages[1].query);
    assert!(pages.iter().all(|p| !p.query.contains("access_token")));
}

#[tokio::test]
async fn a_listed_download_url_serves_the_bytes() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let bytes = b"\x1f\x8b not really gzip".to_vec();
    let file = NewFile {
        filename: "fitbit-2024-03.json.gz".into(),
        bytes: bytes.clone(),
        metadata: metadata("March"),
    };
    app.client.upload(&tokens.access_token, file).await.unwrap();
    let member = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap();
    let listed = &member.files[0];
    assert_eq!(listed.source, "direct-sharing-128");
    assert!(
        !format!("{listed:?}").contains("key="),
        "Debug must hide the download key"
    );

    let following = reqwest::Client::new();
    let response = following
        .get(listed.download_url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "binary/octet-stream");
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // The key is good for an hour only.
    app.clock.advance(jiff::SignedDuration::from_secs(3601));
    let response = following
        .get(listed.download_url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
