//! Connecting Fitbit: Google OAuth with PKCE for the Google Health read scopes, then the
//! member's identity, time zone and history start, then the first sync is queued.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use google_health::{ApiError, AuthorizationRequest, ClientCredentials, OAuthError, Pkce, Scope};
use jiff::Timestamp;
use oh_fitbit_core::{
    Provider,
    clients::GOOGLE_CALLBACK,
    error_chain,
    members::{FitbitAccount, GoogleTokens, Member, OwnClient},
    random_token,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    error::{AccountProblem, CallbackProblem, OwnClientProblem, WebError},
    routes::{
        callback::{self, CallbackQuery},
        sync_now,
    },
    session::{self, FLOW_LIFETIME, FlowProvider, PendingClient, PendingFlow, SignedIn},
    state::{AppState, requested_scopes},
};

/// `?client=own` runs consent with the member's own OAuth client (set up on the intraday
/// page); otherwise with this service's.
#[derive(Deserialize)]
pub(crate) struct ConnectQuery {
    client: Option<String>,
}

pub(crate) async fn connect(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    Query(query): Query<ConnectQuery>,
) -> Result<Response, WebError> {
    let own_client = match query.client.as_deref() {
        None | Some("service") => false,
        Some("own") => true,
        Some(_) => return Err(WebError::BadForm),
    };
    let member = state.signed_in_member(&id).await?;
    let credentials = client_for(&state, &member, own_client)?;
    start_consent(&state, jar, &member, &credentials, own_client, None).await
}

/// Sends the member to Google's consent with `credentials`, the flow (and a pending own
/// client, if any) in the flow cookie.
pub(crate) async fn start_consent(
    state: &AppState,
    jar: PrivateCookieJar,
    member: &Member,
    credentials: &ClientCredentials,
    own_client: bool,
    pending_client: Option<PendingClient>,
) -> Result<Response, WebError> {
    let csrf = random_token();
    let pkce = Pkce::generate();
    state
        .states
        .issue(&csrf, FLOW_LIFETIME.unsigned_abs())
        .await?;
    let redirect_uri = state.public_url.join(GOOGLE_CALLBACK);
    let url = state.google_oauth.authorize_url(&AuthorizationRequest {
        credentials,
        redirect_uri: &redirect_uri,
        scopes: &requested_scopes(&member.preferences),
        state: &csrf,
        code_challenge: pkce.challenge(),
    });
    let flow = PendingFlow {
        provider: FlowProvider::Google,
        state: csrf,
        verifier: Some(pkce.verifier().expose_secret().to_owned()),
        member: Some(member.id.clone()),
        own_client,
        pending_client,
        started_at: Timestamp::now(),
    };
    let jar = session::start_flow(jar, &flow, state.secure_cookies());
    Ok((jar, Redirect::to(url.as_str())).into_response())
}

/// This service's client, or the member's own: a member who has none set up is sent to set
/// it up.
fn client_for(
    state: &AppState,
    member: &Member,
    own_client: bool,
) -> Result<ClientCredentials, WebError> {
    if !own_client {
        return Ok(state.google_client.clone());
    }
    let own = member.own_client.as_ref().ok_or(WebError::NoOwnClient)?;
    Ok(ClientCredentials {
        client_id: own.client_id.clone(),
        client_secret: own.client_secret.clone(),
    })
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    jar: PrivateCookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let (jar, verified) = callback::verify(&state, jar, query, Provider::Google).await;
    match connect_account(&state, &member, verified).await {
        Ok(()) => (jar, Redirect::to("/dashboard")).into_response(),
        Err(error) => (jar, error).into_response(),
    }
}

async fn connect_account(
    state: &AppState,
    member: &open_humans::ProjectMemberId,
    verified: Result<callback::VerifiedCallback, WebError>,
) -> Result<(), WebError> {
    let verified = verified?;
    let wrong_member = || WebError::BadCallback {
        provider: Provider::Google,
        problem: CallbackProblem::WrongMember,
    };
    if verified.flow.member.as_ref() != Some(member) {
        return Err(wrong_member());
    }
    let verifier = SecretString::from(verified.flow.verifier.ok_or_else(wrong_member)?);
    let own_client = verified.flow.own_client;
    let previous = state.signed_in_member(member).await?;
    let pending = verified.flow.pending_client;
    let credentials = match &pending {
        Some(pending) => ClientCredentials {
            client_id: pending.client_id.clone(),
            client_secret: SecretString::from(pending.client_secret.clone()),
        },
        None => client_for(state, &previous, own_client)?,
    };
    let redirect_uri = state.public_url.join(GOOGLE_CALLBACK);
    let tokens = state
        .google_oauth
        .exchange_code(&credentials, &verified.code, &redirect_uri, &verifier)
        .await
        .map_err(|error| match error {
            OAuthError::InvalidGrant => WebError::CodeRefused(Provider::Google),
            // The member's own client may have been deleted or its secret reset since it was
            // checked; this service's client being refused is the operator's to fix.
            OAuthError::InvalidClient if own_client => {
                WebError::OwnClient(OwnClientProblem::RefusedByGoogle)
            }
            OAuthError::InvalidClient => WebError::internal(error),
            other => WebError::unavailable(Provider::Google, other),
        })?;
    if !tokens.granted_scopes.contains(&Scope::ActivityAndFitness) {
        // Nothing of this grant will be used: hand it back rather than keep it unused.
        if let Err(error) = state.google_oauth.revoke(&tokens.access_token).await {
            tracing::warn!(error = %error_chain(&error), "revoking an unusable grant failed");
        }
        return Err(WebError::FitbitAccount(AccountProblem::ActivityNotGranted));
    }
    let refresh_token = tokens
        .refresh_token
        .ok_or(WebError::FitbitAccount(AccountProblem::NoOfflineAccess))?;

    let access = &tokens.access_token;
    let identity = state.health.identity(access).await.map_err(account_error)?;
    let settings = optional(state.health.settings(access).await)?;
    let profile = optional(state.health.profile(access).await)?;

    let now = Timestamp::now();
    let account = FitbitAccount {
        health_user_id: identity.health_user_id,
        legacy_user_id: identity.legacy_user_id,
        time_zone: settings.and_then(|settings| settings.time_zone),
        membership_start: profile.and_then(|profile| profile.membership_start_date),
        granted_scopes: tokens
            .granted_scopes
            .iter()
            .map(|scope| scope.url().to_owned())
            .collect(),
        connected_at: now,
        via_own_client: own_client,
    };
    let stored = GoogleTokens {
        access_token: tokens.access_token,
        refresh_token,
        expires_at: now + tokens.expires_in,
        refresh_expires_at: tokens
            .refresh_token_expires_in
            .map(|lifetime| now + lifetime),
    };
    let new_client = pending.as_ref().map(|_| OwnClient {
        client_id: credentials.client_id.clone(),
        client_secret: credentials.client_secret.clone(),
    });
    state
        .members
        .connect_fitbit(member, &account, &stored, new_client.as_ref())
        .await?;
    if let Some(pending) = &pending {
        let mut preferences = previous.preferences.clone();
        preferences.intraday = Some(pending.resolution);
        state.members.save_preferences(member, &preferences).await?;
    }
    // The grant to the other client, or to the own client just replaced, is no longer used.
    let switched_client = previous.fitbit.as_ref().is_some_and(|earlier| {
        earlier.via_own_client != own_client || (earlier.via_own_client && pending.is_some())
    });
    if switched_client {
        // The grant to the other client is no longer used: hand it back.
        if let Err(error) = state.tokens.revoke_google(&previous).await {
            tracing::warn!(error = %error_chain(&error), "revoking the replaced grant failed");
        }
    }
    if previous.fitbit.is_some() {
        sync_now::queue_sync(state, member).await?;
    } else {
        sync_now::queue_first_sync(state, member).await?;
    }
    tracing::info!(%member, "member connected Fitbit");
    Ok(())
}

/// Settings and profile only refine the import (time zone, where history starts): a scope the
/// member did not grant leaves them unknown rather than failing the connection.
fn optional<T>(result: Result<T, ApiError>) -> Result<Option<T>, WebError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ApiError::ScopeNotGranted { .. }) => Ok(None),
        Err(error) => Err(account_error(error)),
    }
}

fn account_error(error: ApiError) -> WebError {
    match error {
        ApiError::AccountNotLinked => WebError::FitbitAccount(AccountProblem::NotLinked),
        ApiError::NoHealthProfile => WebError::FitbitAccount(AccountProblem::NoProfile),
        ApiError::LegacyFitbitAccount => WebError::FitbitAccount(AccountProblem::LegacyLogin),
        other => WebError::unavailable(Provider::Google, other),
    }
}
