//! Project messages.

use crate::helpers::{MEMBER_ID, spawn};

#[tokio::test]
async fn a_message_is_sent_to_the_member() {
    let app = spawn().await;
    let tokens = app.connect().await;
    app.client
        .message(
            &tokens.access_token,
            "Reconnect Fitbit",
            "Member {{ PROJECT_MEMBER_ID }}: your Fitbit connection needs renewing.",
        )
        .await
        .unwrap();
    let messages = app.sim.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].project_member_ids, [MEMBER_ID]);
    assert_eq!(
        messages[0].subject,
        "[Open Humans Project Message] Reconnect Fitbit"
    );
    assert_eq!(
        messages[0].body,
        format!("Member {MEMBER_ID}: your Fitbit connection needs renewing.")
    );
}

#[tokio::test]
async fn an_empty_message_is_rejected() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let error = app
        .client
        .message(&tokens.access_token, "Subject", "")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, open_humans::Error::Rejected { status: 400, body } if body.contains("This field is required.")),
        "{error:?}"
    );
    assert!(app.sim.messages().is_empty());
}
