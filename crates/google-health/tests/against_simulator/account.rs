//! Identity, settings and profile; granular consent; the account states of §1.10.

use google_health::{ApiError, ListRequest, Scope};
use jiff::civil::date;
use serde_json::json;

use crate::harness::{Harness, NOW};

#[tokio::test]
async fn identity_settings_and_profile_describe_the_persona() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    let persona = h.sim.persona();

    let identity = h.api.identity(&tokens.access_token).await.unwrap();
    assert_eq!(identity.health_user_id, persona.health_user_id());
    assert_eq!(
        identity.legacy_user_id.as_deref(),
        Some(persona.legacy_user_id())
    );

    let settings = h.api.settings(&tokens.access_token).await.unwrap();
    let zone = persona.time_zone_at(NOW.parse().unwrap());
    assert_eq!(zone, "America/Los_Angeles");
    assert_eq!(settings.time_zone.as_deref(), Some(zone));
    assert_eq!(settings.raw["utcOffset"], "-28800s");

    let profile = h.api.profile(&tokens.access_token).await.unwrap();
    assert_eq!(profile.membership_start_date, Some(date(2016, 3, 1)));
    assert_eq!(profile.membership_start_date, Some(persona.history_start()));
}

#[tokio::test]
async fn scopes_withheld_on_the_consent_screen_are_not_granted() {
    let h = Harness::start().await;
    h.knobs(json!({"granted_scopes": ["settings.readonly"]}))
        .await;
    let tokens = h.connect().await;
    assert_eq!(tokens.granted_scopes, vec![Scope::Settings]);

    h.api.settings(&tokens.access_token).await.unwrap();
    h.api.identity(&tokens.access_token).await.unwrap();
    let error = h
        .api
        .list(&tokens.access_token, "steps", &ListRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::ScopeNotGranted { scope: Some(scope) } if scope == Scope::ActivityAndFitness.url()),
        "{error:?}"
    );
    let error = h.api.profile(&tokens.access_token).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::ScopeNotGranted { scope: Some(scope) } if scope == Scope::Profile.url()),
        "{error:?}"
    );
}

#[tokio::test]
async fn account_states_are_told_apart() {
    let h = Harness::start().await;
    let tokens = h.connect().await;
    h.knobs(json!({"persona_state": "not_linked"})).await;
    let error = h.api.identity(&tokens.access_token).await.unwrap_err();
    assert!(matches!(error, ApiError::AccountNotLinked), "{error:?}");
    h.knobs(json!({"persona_state": "no_profile"})).await;
    let error = h.api.settings(&tokens.access_token).await.unwrap_err();
    assert!(matches!(error, ApiError::NoHealthProfile), "{error:?}");
    h.knobs(json!({"persona_state": "legacy_fitbit_login"}))
        .await;
    let error = h
        .api
        .list(&tokens.access_token, "steps", &ListRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::LegacyFitbitAccount), "{error:?}");
    assert!(!error.is_transient());
    h.knobs(json!({"persona_state": "linked"})).await;
    h.api.identity(&tokens.access_token).await.unwrap();
}
