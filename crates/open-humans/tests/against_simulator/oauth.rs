//! Connecting, refreshing, expiry and losing the grant.

use jiff::SignedDuration;
use open_humans::{Error, OpenHumans};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{MEMBER_ID, client_config, header, query_param, spawn};

#[tokio::test]
async fn first_connect_yields_the_member_with_no_files() {
    let app = spawn().await;
    let callback = app.consent("csrf-123").await;
    assert_eq!(callback.path(), "/openhumans/complete/");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("csrf-123"));
    assert_eq!(
        query_param(&callback, "origin").as_deref(),
        Some("external")
    );
    let code = query_param(&callback, "code").unwrap();

    let tokens = app.client.exchange_code(&code).await.unwrap();
    assert_eq!(tokens.expires_in, SignedDuration::from_secs(36_000));
    assert!(tokens.scope.contains("read"));
    let member = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap();
    assert_eq!(member.project_member_id.as_str(), MEMBER_ID);
    assert_eq!(member.username.as_deref(), Some("sim-member"));
    assert!(member.created.is_some());
    assert!(member.files.is_empty());

    // The client authenticated with HTTP Basic at the token endpoint and sent the access
    // token in the header only.
    let token_call = &app.journal("POST", "/oauth2/token/")[0];
    assert!(
        header(token_call, "authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let exchange = &app.journal("GET", "/api/direct-sharing/project/exchange-member/")[0];
    assert!(
        header(exchange, "authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert!(!exchange.query.contains("access_token"));

    // A code is single use.
    let reused = app.client.exchange_code(&code).await.unwrap_err();
    assert!(matches!(reused, Error::InvalidGrant), "{reused:?}");
}

#[tokio::test]
async fn refreshing_rotates_both_tokens() {
    let app = spawn().await;
    let first = app.connect().await;
    let second = app.client.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(
        second.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_ne!(
        second.refresh_token.expose_secret(),
        first.refresh_token.expose_secret()
    );

    let reused = app.client.refresh(&first.refresh_token).await.unwrap_err();
    assert!(matches!(reused, Error::InvalidGrant), "{reused:?}");
    assert!(reused.needs_reauthorization());
    let old_access = app
        .client
        .exchange_member(&first.access_token)
        .await
        .unwrap_err();
    assert!(
        matches!(&old_access, Error::Unauthorized { detail } if detail == "Invalid token."),
        "{old_access:?}"
    );
    let member = app
        .client
        .exchange_member(&second.access_token)
        .await
        .unwrap();
    assert_eq!(member.project_member_id.as_str(), MEMBER_ID);
}

#[tokio::test]
async fn invalid_grant_is_recognised_at_401_as_well() {
    let app = spawn().await;
    let tokens = app.connect().await;
    app.client.refresh(&tokens.refresh_token).await.unwrap();
    app.admin("__admin/settings", json!({"invalid_grant_status": 401}))
        .await;
    let error = app.client.refresh(&tokens.refresh_token).await.unwrap_err();
    assert!(matches!(error, Error::InvalidGrant), "{error:?}");
    assert_eq!(
        app.journal("POST", "/oauth2/token/").last().unwrap().status,
        401
    );
}

#[tokio::test]
async fn an_expired_access_token_is_unauthorized_until_refreshed() {
    let app = spawn().await;
    let tokens = app.connect().await;
    app.clock.advance(SignedDuration::from_secs(36_001));
    let error = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Unauthorized { detail } if detail == "Expired token."),
        "{error:?}"
    );
    assert!(!error.is_transient());
    let fresh = app.client.refresh(&tokens.refresh_token).await.unwrap();
    app.client
        .exchange_member(&fresh.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client() {
    let app = spawn().await;
    let callback = app.consent("s").await;
    let code = query_param(&callback, "code").unwrap();
    let mut config = client_config(app.sim.base_url());
    let right_secret = config.client_secret.clone();
    config.client_secret = "not-the-secret".into();
    let wrong = OpenHumans::new(config.clone(), app.http.clone());
    let error = wrong.exchange_code(&code).await.unwrap_err();
    assert!(matches!(error, Error::InvalidClient), "{error:?}");
    assert!(!error.needs_reauthorization());

    // The code survived the failed attempt, but only for the redirect URI it was issued for.
    config.client_secret = right_secret;
    config.redirect_uri = "http://127.0.0.1:8000/elsewhere/".parse().unwrap();
    let elsewhere = OpenHumans::new(config, app.http.clone());
    let error = elsewhere.exchange_code(&code).await.unwrap_err();
    assert!(
        matches!(&error, Error::Rejected { status: 400, body } if body.contains("Mismatching redirect URI.")),
        "{error:?}"
    );
    app.client.exchange_code(&code).await.unwrap();
}

#[tokio::test]
async fn a_denied_consent_comes_back_as_access_denied() {
    let app = spawn().await;
    app.admin("__admin/settings", json!({"deny_consent": true}))
        .await;
    let callback = app.consent("s").await;
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&callback, "state").as_deref(), Some("s"));
    assert_eq!(query_param(&callback, "code"), None);
}

#[tokio::test]
async fn leaving_the_project_kills_the_grant() {
    let app = spawn().await;
    let tokens = app.connect().await;
    let left = app
        .admin(
            &format!("__admin/members/{MEMBER_ID}/leave"),
            json!({"erasure_requested": true}),
        )
        .await;
    assert_eq!(left["erasure_requested"], true);
    let error = app
        .client
        .exchange_member(&tokens.access_token)
        .await
        .unwrap_err();
    assert!(error.needs_reauthorization(), "{error:?}");
    let error = app.client.refresh(&tokens.refresh_token).await.unwrap_err();
    assert!(matches!(error, Error::InvalidGrant), "{error:?}");

    // Authorising again restores access under the same project member id.
    let again = app.connect().await;
    let member = app
        .client
        .exchange_member(&again.access_token)
        .await
        .unwrap();
    assert_eq!(member.project_member_id.as_str(), MEMBER_ID);
}
