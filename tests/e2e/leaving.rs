//! Leaving: the Open Humans deauthorisation webhook (a member leaves the project) and the
//! member's own "Disconnect Fitbit". Google's grant is revoked, our tokens deleted, and what
//! the member asks to be erased is erased by their next job.

use hmac::{Hmac, Mac};
use oh_fitbit_core::queue::Completed;
use reqwest::{Client, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha1::Sha1;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, TestStack, browser, connected_with, csrf_of, get_page, leave_on_open_humans,
    link_both_accounts, member_id, recent, run_one_job, start, start_without_webhook_secret,
    store_snapshot,
};

fn revocations(stack: &TestStack) -> Vec<u16> {
    stack
        .google
        .instruments()
        .journal
        .matching("POST", "/revoke")
        .into_iter()
        .map(|entry| entry.status)
        .collect()
}

fn sign(stack: &TestStack, body: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(
        stack
            .webhook_secret
            .as_ref()
            .unwrap()
            .expose_secret()
            .as_bytes(),
    )
    .unwrap();
    mac.update(body.as_bytes());
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_webhook(stack: &TestStack, body: &str, signature: Option<&str>) -> StatusCode {
    let mut request = Client::new()
        .post(stack.url("openhumans/deauth"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-OpenHumans-Webhooks-Signature", signature);
    }
    request.send().await.unwrap().status()
}

fn files_on_open_humans(stack: &TestStack) -> usize {
    stack.open_humans.files(MEMBER).len()
}

/// Scenario 3 of §8.7, last clause: a member who leaves on Open Humans has their Google grant
/// revoked, and nothing of theirs stays with us.
#[tokio::test]
async fn leaving_on_open_humans_revokes_the_google_grant_and_erases_what_we_hold() {
    let stack = connected_with(json!({}), recent(3)).await;
    assert!(stack.staged_member_dir().is_dir(), "the import staged data");
    assert!(revocations(&stack).is_empty());

    let left = leave_on_open_humans(&stack).await;
    let attempts = left["webhook"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "accepted the first time: {left}");
    assert_eq!(attempts[0]["status"], 200, "{left}");
    assert_eq!(
        revocations(&stack),
        [200],
        "Google's /revoke was called once"
    );
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    assert!(stack.members.member_ids().await.unwrap().is_empty());

    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Forgotten
    );
    assert!(!stack.staged_member_dir().exists(), "staged files erased");
    let left_behind: Vec<(String, String)> = store_snapshot(&stack)
        .await
        .into_iter()
        .filter(|(key, value)| key.contains(MEMBER) || value.contains(MEMBER))
        .collect();
    assert!(
        left_behind.is_empty(),
        "nothing in Redis or the database names the member: {left_behind:?}"
    );
    stack.stack.stop().await;
}

#[tokio::test]
async fn webhooks_unsigned_wrongly_signed_or_malformed_change_nothing() {
    let stack = connected_with(json!({}), recent(2)).await;
    let before = store_snapshot(&stack).await;
    let valid = format!(
        r#"{{"project_member_id": "{MEMBER}", "erasure_requested": true, "timestamp": "2026-11-21T10:00:00.000000+00:00"}}"#
    );
    let other_secret = {
        let mut mac = Hmac::<Sha1>::new_from_slice(b"not-the-project-secret").unwrap();
        mac.update(valid.as_bytes());
        format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
    };
    let tampered = valid.replace("true", "false");
    let cases: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        ("unsigned", valid.clone(), None, StatusCode::FORBIDDEN),
        (
            "signed with another secret",
            valid.clone(),
            Some(other_secret),
            StatusCode::FORBIDDEN,
        ),
        (
            "a body other than the one signed",
            tampered,
            Some(sign(&stack, &valid)),
            StatusCode::FORBIDDEN,
        ),
        (
            "a signature that is not sha1=<hex>",
            valid.clone(),
            Some("sha256=00".to_owned()),
            StatusCode::FORBIDDEN,
        ),
        (
            "not JSON",
            "project_member_id=12345678".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "no member id",
            r#"{"erasure_requested": true}"#.to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a member id that is not 8 or 16 digits",
            r#"{"project_member_id": "1234", "erasure_requested": true}"#.to_owned(),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (case, body, signature, expected) in cases {
        // Bodies that are only malformed are signed correctly, so they reach the parsing.
        let signature = signature
            .or_else(|| (expected == StatusCode::BAD_REQUEST).then(|| sign(&stack, &body)));
        let status = post_webhook(&stack, &body, signature.as_deref()).await;
        assert_eq!(status, expected, "{case}");
        assert_eq!(
            store_snapshot(&stack).await,
            before,
            "{case} changed nothing"
        );
    }
    assert!(revocations(&stack).is_empty(), "nothing was revoked");

    // Open Humans' re-post carries the JSON as a JSON string; it is read like the first.
    let double_encoded = Value::from(valid.as_str()).to_string();
    let status = post_webhook(
        &stack,
        &double_encoded,
        Some(&sign(&stack, &double_encoded)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revocations(&stack), [200]);
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    // A repeated notice is harmless.
    assert_eq!(
        post_webhook(&stack, &valid, Some(&sign(&stack, &valid))).await,
        StatusCode::OK
    );
    assert_eq!(revocations(&stack), [200]);
    stack.stack.stop().await;
}

/// Without a webhook secret anybody could post a member id: the claim is believed only once
/// Open Humans refuses the member's token.
#[tokio::test]
async fn an_unsigned_webhook_is_believed_only_when_open_humans_refuses_the_member() {
    let stack = start_without_webhook_secret().await;
    link_both_accounts(&stack, &browser()).await;
    let before = store_snapshot(&stack).await;
    let forged = format!(r#"{{"project_member_id": "{MEMBER}", "erasure_requested": true}}"#);
    assert_eq!(
        post_webhook(&stack, &forged, None).await,
        StatusCode::FORBIDDEN,
        "the member is still authorised on Open Humans"
    );
    assert_eq!(store_snapshot(&stack).await, before, "nothing changed");
    assert!(revocations(&stack).is_empty());

    let left = leave_on_open_humans(&stack).await;
    assert_eq!(left["webhook"][0]["signature"], Value::Null, "{left}");
    assert_eq!(left["webhook"][0]["status"], 200, "{left}");
    assert_eq!(revocations(&stack), [200]);
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    stack.stack.stop().await;
}

#[tokio::test]
async fn disconnecting_fitbit_revokes_the_grant_and_deletes_the_files_when_asked() {
    let stack = start(false).await;
    let member = browser();
    link_both_accounts(&stack, &member).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(2))
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    assert!(files_on_open_humans(&stack) > 0);

    let (status, _, page) = get_page(&member, stack.url("fitbit/disconnect")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&page);
    let before = store_snapshot(&stack).await;
    let refused = [
        vec![("delete_files", "yes")],
        vec![
            ("csrf", "0123456789abcdef0123456789abcdef"),
            ("delete_files", "yes"),
        ],
    ];
    for form in refused {
        let response = member
            .post(stack.url("fitbit/disconnect"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Nothing was changed")
        );
    }
    let unknown_choice = member
        .post(stack.url("fitbit/disconnect"))
        .form(&[("csrf", csrf.as_str()), ("delete_files", "maybe")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_choice.status(), StatusCode::BAD_REQUEST);
    let stranger = browser()
        .post(stack.url("fitbit/disconnect"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED, "not signed in");
    assert_eq!(
        store_snapshot(&stack).await,
        before,
        "refused forms change nothing"
    );
    assert!(revocations(&stack).is_empty());

    let response = member
        .post(stack.url("fitbit/disconnect"))
        .form(&[("csrf", csrf.as_str()), ("delete_files", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/dashboard");
    let dashboard = response.text().await.unwrap();
    assert!(dashboard.contains("Not connected"), "{dashboard}");
    assert_eq!(revocations(&stack), [200]);
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(record.google_tokens.is_none() && record.fitbit.is_none());

    // The member's next job deletes the files, the staged copies and the import's progress,
    // then waits for them to connect again.
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Parked
    );
    assert_eq!(files_on_open_humans(&stack), 0);
    assert!(!stack.staged_member_dir().exists());
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(record.cursors.is_empty() && record.pending_periods.is_empty());
    assert!(
        stack
            .members
            .erasure_requested(&member_id())
            .await
            .unwrap()
            .is_none(),
        "the erasure is done"
    );

    // Reconnecting starts the import again from nothing.
    let (_, path, _) = get_page(&member, stack.url("fitbit/connect")).await;
    assert_eq!(path, "/dashboard");
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Scheduled
    );
    assert!(files_on_open_humans(&stack) > 0);
    stack.stack.stop().await;
}
