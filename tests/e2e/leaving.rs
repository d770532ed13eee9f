//! Leaving: the Open Humans deauthorisation webhook (a member leaves the project) and the
//! member's own "Disconnect Fitbit". Google's grant is revoked, our tokens deleted, and what
//! the member asks to be erased is erased by their next job.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::queue::Completed;
use reqwest::{Client, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha1::Sha1;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, TestStack, admin, browser, clear_faults, connected_with, csrf_of, get_page,
    leave_on_open_humans, link_both_accounts, member_id, recent, run_one_job, start,
    start_without_webhook_secret, store_snapshot,
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

/// A notice as Open Humans writes it, stamped `minutes_ago` before now (Python's `isoformat`).
fn notice(minutes_ago: i64) -> String {
    let stamp = Timestamp::now() - SignedDuration::from_mins(minutes_ago);
    format!(
        r#"{{"project_member_id": "{MEMBER}", "erasure_requested": true, "timestamp": "{}"}}"#,
        stamp.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    )
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
    let valid = notice(1);
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
            notice(1).replace(MEMBER, "1234"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "no timestamp",
            format!(r#"{{"project_member_id": "{MEMBER}", "erasure_requested": true}}"#),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "stamped 11 minutes ago",
            notice(11),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "stamped 11 minutes ahead",
            notice(-11),
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
    // The same notice again is refused as seen, and does nothing.
    assert_eq!(
        post_webhook(
            &stack,
            &double_encoded,
            Some(&sign(&stack, &double_encoded))
        )
        .await,
        StatusCode::CONFLICT
    );
    assert_eq!(revocations(&stack), [200]);
    stack.stack.stop().await;
}

/// Row 1 of issue 17: a captured, correctly signed notice replayed after the member joined
/// again erases nothing.
#[tokio::test]
async fn a_captured_notice_replayed_after_the_member_joined_again_changes_nothing() {
    let stack = connected_with(json!({}), recent(2)).await;
    let left = leave_on_open_humans(&stack).await;
    let captured = &left["webhook"][0];
    assert_eq!(captured["status"], 200, "{left}");
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());

    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&member_id(), &recent(2))
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    let before = store_snapshot(&stack).await;
    let status = post_webhook(
        &stack,
        captured["body"].as_str().unwrap(),
        captured["signature"].as_str(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "a replay is refused");
    assert_eq!(store_snapshot(&stack).await, before, "nothing changed");
    assert_eq!(revocations(&stack), [200], "only the real leave revoked");
    stack.stack.stop().await;
}

/// Without a webhook secret anybody could post a member id: the claim is believed only once
/// Open Humans refuses the member's token.
#[tokio::test]
async fn an_unsigned_webhook_is_believed_only_when_open_humans_refuses_the_member() {
    let stack = start_without_webhook_secret().await;
    link_both_accounts(&stack, &browser()).await;
    let before = store_snapshot(&stack).await;
    assert_eq!(
        post_webhook(&stack, &notice(0), None).await,
        StatusCode::FORBIDDEN,
        "the member is still authorised on Open Humans"
    );
    assert_eq!(store_snapshot(&stack).await, before, "nothing changed");

    // Row 2 of issue 17: Open Humans refusing the member's token twice (a transient fault, or
    // an access token that lapsed) is not their leaving: their refresh token still works.
    let refused_twice = json!([{"path": "^/api/", "status": 401, "times": 2,
        "body": r#"{"detail": "Invalid token."}"#, "content_type": "application/json"}]);
    admin(
        stack.open_humans.base_url(),
        "__admin/faults",
        refused_twice,
    )
    .await;
    assert_eq!(
        post_webhook(&stack, &notice(0), None).await,
        StatusCode::FORBIDDEN
    );
    // Open Humans' token endpoint failing says nothing either.
    let down = json!([
        {"path": "^/api/", "status": 401, "times": 1,
         "body": r#"{"detail": "Invalid token."}"#, "content_type": "application/json"},
        {"method": "POST", "path": "^/oauth2/token/$", "status": 503, "times": 1},
    ]);
    admin(stack.open_humans.base_url(), "__admin/faults", down).await;
    assert_eq!(
        post_webhook(&stack, &notice(0), None).await,
        StatusCode::BAD_GATEWAY
    );
    assert!(stack.members.load(&member_id()).await.unwrap().is_some());
    assert!(revocations(&stack).is_empty());
    clear_faults(stack.open_humans.base_url()).await;

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

/// Signs in with Open Humans in `browser`; the dashboard is then open to it.
async fn sign_in(stack: &TestStack, browser: &Client) {
    let (status, path, _) = get_page(browser, stack.url("openhumans/login")).await;
    assert_eq!((status, path.as_str()), (StatusCode::OK, "/dashboard"));
}

async fn dashboard_status(stack: &TestStack, browser: &Client) -> StatusCode {
    get_page(browser, stack.url("dashboard")).await.0
}

async fn sign_out(stack: &TestStack, browser: &Client, everywhere: bool) -> StatusCode {
    let (_, _, page) = get_page(browser, stack.url("dashboard")).await;
    assert!(page.contains("Sign out everywhere"), "every page offers it");
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    if everywhere {
        form.push(("everywhere", "yes"));
    }
    let response = browser
        .post(stack.url("signout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/");
    response.status()
}

/// Row 8 of issue 17: signing out ends this browser's session, signing out everywhere ends
/// every one, and a cookie saved before a member left does not work after they joined again.
#[tokio::test]
async fn sessions_end_on_sign_out_everywhere_and_with_the_member_who_left() {
    let stack = start(false).await;
    let (laptop, phone, lost) = (browser(), browser(), browser());
    link_both_accounts(&stack, &laptop).await;
    for other in [&phone, &lost] {
        sign_in(&stack, other).await;
        assert_eq!(dashboard_status(&stack, other).await, StatusCode::OK);
    }

    assert_eq!(sign_out(&stack, &phone, false).await, StatusCode::OK);
    assert_eq!(
        dashboard_status(&stack, &phone).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        dashboard_status(&stack, &laptop).await,
        StatusCode::OK,
        "only that browser"
    );

    sign_out(&stack, &laptop, true).await;
    for browser in [&laptop, &lost] {
        assert_eq!(
            dashboard_status(&stack, browser).await,
            StatusCode::UNAUTHORIZED,
            "every session ended"
        );
    }
    sign_in(&stack, &lost).await;
    assert_eq!(dashboard_status(&stack, &lost).await, StatusCode::OK);

    // The member leaves and joins again: the cookie `lost` kept is of a record that is gone.
    leave_on_open_humans(&stack).await;
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    link_both_accounts(&stack, &laptop).await;
    assert_eq!(
        dashboard_status(&stack, &lost).await,
        StatusCode::UNAUTHORIZED,
        "a cookie from before leaving"
    );
    assert_eq!(dashboard_status(&stack, &laptop).await, StatusCode::OK);
    stack.stack.stop().await;
}
