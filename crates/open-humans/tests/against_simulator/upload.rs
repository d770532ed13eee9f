//! The three-step direct upload, replacement and its failure modes.

use open_humans::{Error, FileMetadata, NewFile};
use serde_json::json;

use crate::helpers::{MEMBER_ID, header, metadata, new_file, spawn};

#[tokio::test]
async fn an_upload_puts_the_bytes_without_content_type_and_lists_the_file() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let bytes = br#"{"version":1,"steps":[1,2,3]}"#.to_vec();
    let mut meta = metadata("Daily Fitbit data");
    meta.md5 = Some("3c1a0e7e32a7b2b5fb1b5b0e0b7a1f11".into());
    meta.extra.insert("schema_version".into(), json!(1));
    let file = NewFile {
        filename: "fitbit-daily.json".into(),
        bytes: bytes.clone(),
        metadata: meta.clone(),
    };

    let uploaded = app.client.upload(&tokens.access_token, file).await.unwrap();
    assert_eq!(uploaded.size, bytes.len() as u64);

    let puts = app.journal("PUT", "/s3/");
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].status, 200);
    assert_eq!(header(&puts[0], "content-type"), None);
    assert_eq!(header(&puts[0], "content-md5"), None);
    assert_eq!(
        header(&puts[0], "content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert!(
        puts[0]
            .headers
            .iter()
            .all(|(name, _)| !name.starts_with("x-amz-"))
    );

    let stored = app.sim.files(MEMBER_ID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, uploaded.id);
    assert!(stored[0].completed);
    assert_eq!(stored[0].bytes.as_deref(), Some(bytes.as_slice()));
    assert_eq!(stored[0].metadata, serde_json::to_value(&meta).unwrap());

    let member = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap();
    assert_eq!(member.files.len(), 1);
    let listed = &member.files[0];
    assert_eq!(listed.id, uploaded.id);
    assert_eq!(listed.basename, "fitbit-daily.json");
    assert_eq!(listed.metadata, serde_json::to_value(&meta).unwrap());
    let echoed: FileMetadata = serde_json::from_value(listed.metadata.clone()).unwrap();
    assert_eq!(echoed, meta);
}

#[tokio::test]
async fn replacing_a_file_leaves_exactly_one_copy() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let old = app
        .client
        .upload(
            &tokens.access_token,
            new_file("fitbit-2024-03.json.gz", b"old"),
        )
        .await
        .unwrap();
    let new = app
        .client
        .upload(
            &tokens.access_token,
            new_file("fitbit-2024-03.json.gz", b"newer"),
        )
        .await
        .unwrap();

    let deleted = app
        .client
        .delete_file(&tokens.access_token, old.id)
        .await
        .unwrap();
    assert_eq!(deleted, [old.id]);
    let member = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap();
    let ids: Vec<u64> = member.files.iter().map(|f| f.id).collect();
    assert_eq!(ids, [new.id]);
    let stored = app.sim.files(MEMBER_ID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].bytes.as_deref(), Some(&b"newer"[..]));

    // Deleting again is harmless.
    let again = app
        .client
        .delete_file(&tokens.access_token, old.id)
        .await
        .unwrap();
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_failed_put_is_upload_failed_and_completes_nothing() {
    let app = spawn().await;
    let tokens = app.connect().await;
    app.inject(json!({
        "method": "PUT",
        "path": "^/s3/",
        "status": 403,
        "content_type": "application/xml",
        "body": "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
    }));
    let error = app.failed_upload(&tokens).await;
    assert!(
        matches!(&error, Error::UploadFailed { status: 403, code } if code == "AccessDenied"),
        "{error:?}"
    );
    assert!(
        app.journal("POST", "/api/direct-sharing/project/files/upload/complete/")
            .is_empty()
    );
    assert_eq!(app.sim.files(MEMBER_ID)[0].bytes, None);
    app.assert_nothing_visible(&tokens).await;
}

#[tokio::test]
async fn a_storage_outage_is_transient() {
    let app = spawn().await;
    let tokens = app.connect().await;
    app.inject(json!({"method": "PUT", "path": "^/s3/", "status": 503}));
    let error = app.failed_upload(&tokens).await;
    assert!(matches!(error, Error::Server { status: 503 }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn completing_without_stored_bytes_is_file_not_present() {
    let app = spawn().await;
    let tokens = app.connect().await;
    // The PUT "succeeds" without reaching storage.
    app.inject(json!({"method": "PUT", "path": "^/s3/", "status": 200, "body": ""}));
    let error = app.failed_upload(&tokens).await;
    assert!(matches!(error, Error::FileNotPresent), "{error:?}");
    app.assert_nothing_visible(&tokens).await;
}

#[tokio::test]
async fn invalid_metadata_is_rejected_with_the_field_error() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let mut file = new_file("a.json", b"{}");
    file.metadata.md5 = Some("not-an-md5".into());
    let error = app
        .client
        .upload(&tokens.access_token, file)
        .await
        .unwrap_err();
    let Error::Rejected { status, body } = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(*status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        json!({"metadata": ["Invalid MD5 specified"]})
    );

    let error = app
        .client
        .upload(&tokens.access_token, new_file("", b"{}"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Rejected { status: 400, body } if body.contains(r#""filename":["This field is required."]"#)),
        "{error:?}"
    );
    assert!(app.sim.files(MEMBER_ID).is_empty());
    assert!(app.journal("PUT", "/s3/").is_empty());
}
