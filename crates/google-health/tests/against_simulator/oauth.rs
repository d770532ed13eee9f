//! Consent, code exchange, refresh and revocation.

use google_health::{ApiError, OAuthError, Pkce, Scope};
use jiff::SignedDuration;
use oh_fitbit_sim::google::PublishingStatus;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::harness::{Harness, REDIRECT_URI, SCOPES};

#[tokio::test]
async fn consent_redirect_and_pkce_code_exchange() {
    let h = Harness::start().await;
    let pkce = Pkce::generate();
    let redirect = h.consent(&h.credentials, &SCOPES, &pkce).await;
    assert_eq!(redirect.state.as_deref(), Some("csrf-state-1"));
    assert_eq!(redirect.error, None);
    let code = redirect.code.expect("a code");
    let granted: Vec<&str> = redirect.scope.as_deref().unwrap().split(' ').collect();
    assert_eq!(granted, SCOPES.map(Scope::url));

    let wrong = Pkce::generate();
    let error = h
        .oauth
        .exchange_code(&h.credentials, &code, &h.redirect_uri, wrong.verifier())
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::InvalidGrant), "{error:?}");

    let tokens = h
        .oauth
        .exchange_code(&h.credentials, &code, &h.redirect_uri, pkce.verifier())
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_in, SignedDuration::from_secs(3599));
    assert_eq!(
        tokens.refresh_token_expires_in, None,
        "production clients' refresh tokens do not expire"
    );
    let mut expected = SCOPES.to_vec();
    expected.sort();
    assert_eq!(tokens.granted_scopes, expected);
    h.api.identity(&tokens.access_token).await.unwrap();

    let reused = h
        .oauth
        .exchange_code(&h.credentials, &code, &h.redirect_uri, pkce.verifier())
        .await
        .unwrap_err();
    assert!(
        matches!(reused, OAuthError::InvalidGrant),
        "codes are single use: {reused:?}"
    );
}

#[tokio::test]
async fn untrusted_clients_and_redirects_get_an_error_page_not_a_redirect() {
    let h = Harness::start().await;
    let base = h.sim.base_url().join("o/oauth2/v2/auth").unwrap();
    let scope = Scope::Settings.url();
    for (client_id, redirect_uri, error) in [
        (
            "unknown.apps.googleusercontent.com",
            REDIRECT_URI,
            "invalid_client",
        ),
        (
            h.credentials.client_id.as_str(),
            "http://127.0.0.1:1/google/callback/",
            "redirect_uri_mismatch",
        ),
    ] {
        let mut url = base.clone();
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", scope);
        let response = h.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(response.text().await.unwrap().contains(error));
    }
}

#[tokio::test]
async fn a_denied_consent_redirects_with_access_denied() {
    let h = Harness::start().await;
    h.knobs(json!({"consent": "deny"})).await;
    let redirect = h.consent(&h.credentials, &SCOPES, &Pkce::generate()).await;
    assert_eq!(redirect.error.as_deref(), Some("access_denied"));
    assert_eq!(redirect.state.as_deref(), Some("csrf-state-1"));
    assert_eq!(redirect.code, None);
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client() {
    let h = Harness::start().await;
    let pkce = Pkce::generate();
    let code = h
        .consent(&h.credentials, &SCOPES, &pkce)
        .await
        .code
        .unwrap();
    let mut credentials = h.credentials.clone();
    credentials.client_secret = SecretString::from("GOCSPX-wrong");
    let error = h
        .oauth
        .exchange_code(&credentials, &code, &h.redirect_uri, pkce.verifier())
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::InvalidClient), "{error:?}");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    h.api.identity(&tokens.access_token).await.unwrap();
    h.clock.advance(SignedDuration::from_secs(3600));
    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(matches!(error, ApiError::Unauthorized), "{error:?}");
    assert!(!error.is_transient());

    let refreshed = h
        .oauth
        .refresh(&h.credentials, tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert!(
        refreshed.refresh_token.is_none(),
        "Google keeps the refresh token"
    );
    assert_ne!(
        refreshed.access_token.expose_secret(),
        tokens.access_token.expose_secret()
    );
    assert_eq!(refreshed.granted_scopes, tokens.granted_scopes);
    h.api.identity(&refreshed.access_token).await.unwrap();
}

#[tokio::test]
async fn testing_clients_lose_their_refresh_token_after_seven_days() {
    let h = Harness::start().await;
    let credentials = h.register(
        "987654321098-testing.apps.googleusercontent.com",
        PublishingStatus::Testing,
    );
    let tokens = h.connect_with(&credentials, &SCOPES).await;
    assert_eq!(
        tokens.refresh_token_expires_in,
        Some(SignedDuration::from_secs(604_799))
    );
    let refresh_token = tokens.refresh_token.unwrap();

    h.clock.advance(SignedDuration::from_hours(24 * 6));
    let refreshed = h.oauth.refresh(&credentials, &refresh_token).await.unwrap();
    assert_eq!(
        refreshed.refresh_token_expires_in,
        Some(SignedDuration::from_secs(86_399))
    );

    h.clock.advance(SignedDuration::from_hours(24));
    let error = h
        .oauth
        .refresh(&credentials, &refresh_token)
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::InvalidGrant), "{error:?}");
}

#[tokio::test]
async fn revoking_ends_the_whole_grant() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let refresh_token = tokens.refresh_token.clone().unwrap();
    h.oauth.revoke(&refresh_token).await.unwrap();

    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(matches!(error, ApiError::Unauthorized), "{error:?}");
    let error = h
        .oauth
        .refresh(&h.credentials, &refresh_token)
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::InvalidGrant), "{error:?}");
    let error = h.oauth.revoke(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(&error, OAuthError::Rejected { error, .. } if error == "invalid_token"),
        "{error:?}"
    );
}

#[tokio::test]
async fn rotated_refresh_tokens_are_handed_over() {
    let h = Harness::start().await;
    h.knobs(json!({"rotate_refresh_tokens": true})).await;
    let tokens = h.connect().await;
    let old = tokens.refresh_token.unwrap();
    let rotated = h.oauth.refresh(&h.credentials, &old).await.unwrap();
    let new = rotated.refresh_token.expect("a rotated refresh token");
    assert_ne!(new.expose_secret(), old.expose_secret());
    h.clock.advance(SignedDuration::from_secs(120));
    assert!(matches!(
        h.oauth.refresh(&h.credentials, &old).await.unwrap_err(),
        OAuthError::InvalidGrant
    ));
    h.oauth.refresh(&h.credentials, &new).await.unwrap();
}
