//! Quota, server faults and malformed bodies.

use std::time::Duration;

use google_health::ApiError;
use jiff::{SignedDuration, civil::date};
use serde_json::json;

use crate::harness::{Harness, one_day_windows};

#[tokio::test]
async fn the_per_user_quota_resets_with_the_next_minute() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    h.knobs(json!({"quota_per_user_per_min": 3, "retry_after": 17}))
        .await;
    // The frozen clock may sit anywhere in its minute: start at a window boundary.
    let now = h.clock.now().as_second();
    h.clock
        .advance(SignedDuration::from_secs(60 - now.rem_euclid(60)));
    for _ in 0..3 {
        h.api.identity(&tokens.access_token).await.unwrap();
    }
    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(error, ApiError::QuotaExceeded { retry_after: Some(wait) } if wait == Duration::from_secs(17)),
        "{error:?}"
    );
    assert!(error.is_transient());
    h.clock.advance(SignedDuration::from_secs(60));
    h.api.identity(&tokens.access_token).await.unwrap();
}

#[tokio::test]
async fn server_errors_are_transient() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    h.fault(json!({"method": "GET", "path": "^/v4/users/me/identity$", "status": 503}))
        .await;
    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(error, ApiError::Server { status: 503 }),
        "{error:?}"
    );
    assert!(error.is_transient());
    h.fault(json!({
        "path": "^/v4/users/me/settings$", "status": 502,
        "body": "<html><title>502 Bad Gateway</title></html>", "content_type": "text/html"
    }))
    .await;
    let error = h.api.settings(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(error, ApiError::Server { status: 502 }),
        "{error:?}"
    );
    h.api.identity(&tokens.access_token).await.unwrap();
}

#[tokio::test]
async fn malformed_success_bodies_name_the_method() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    h.fault(json!({
        "method": "POST", "path": "dailyRollUp$", "status": 200, "body": r#"{"rollupDataPoints": 5}"#
    }))
    .await;
    let request = one_day_windows(date(2026, 1, 1), date(2026, 1, 8));
    let error = h
        .api
        .daily_roll_up(&tokens.access_token, "steps", &request)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::Malformed { what, .. } if what.contains("dailyRollUp") && what.contains("steps")),
        "{error:?}"
    );
    h.fault(json!({"path": "identity$", "status": 200, "body": "{\"healthUserId\": 7"}))
        .await;
    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Malformed { what, .. } if what == "users.getIdentity"),
        "{error:?}"
    );
    h.api
        .daily_roll_up(&tokens.access_token, "steps", &request)
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let h = Harness::start().await;
    let url = h.sim.base_url().join("v4/users/me/devices").unwrap();
    let response = h.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Error 404 (Not Found)!!1")
    );
    // With the client: a data type id that would leave its path segment stays inside it.
    let tokens = h.connect().await;
    let error = h
        .api
        .list(
            &tokens.access_token,
            "steps/dataPoints/x",
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::InvalidArgument { .. }),
        "{error:?}"
    );
}
