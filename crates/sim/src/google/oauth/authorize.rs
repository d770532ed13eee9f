//! `GET /o/oauth2/v2/auth`: the consent screen, answered automatically for the persona.
//!
//! Google shows an error page without redirecting while it cannot trust the client or the
//! redirect URI (and for malformed requests); once it can, problems go back to the client as
//! `?error=…&state=…`, and a consent as `?state=…&code=…&scope=…`.

use std::sync::Arc;

use axum::{
    extract::{RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use url::Url;

use super::{
    field, form_fields, is_pkce_string,
    store::{ChallengeMethod, Grantee},
};
use crate::google::{
    accounts::PERSONA_ACCOUNT,
    knobs::Consent,
    responses::oauth_error_page,
    scopes,
    state::{Shared, SimState},
};

/// The parameters of a consent request: the query of the consent URL, or the JSON body of the
/// `POST /__admin/authorize` shortcut.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ConsentRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub access_type: Option<String>,
    pub prompt: Option<String>,
    pub include_granted_scopes: Option<String>,
    /// The account that signs in (Google preselects it); the persona's own without one.
    pub login_hint: Option<String>,
}

impl ConsentRequest {
    fn from_query(query: &str) -> Self {
        let fields = form_fields(query.as_bytes());
        let get = |name: &str| field(&fields, name).map(str::to_owned);
        Self {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            response_type: get("response_type"),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            access_type: get("access_type"),
            prompt: get("prompt"),
            include_granted_scopes: get("include_granted_scopes"),
            login_hint: get("login_hint"),
        }
    }
}

/// What the consent screen does.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An error page, no redirect (`heading` like `Error 400: redirect_uri_mismatch`).
    ErrorPage {
        heading: &'static str,
        detail: String,
    },
    /// Back to the client; `code` is set when consent was given.
    Redirect { location: Url, code: Option<String> },
}

fn page(heading: &'static str, detail: impl Into<String>) -> Outcome {
    Outcome::ErrorPage {
        heading,
        detail: detail.into(),
    }
}

/// Google's page for a malformed request.
fn invalid_request(detail: impl Into<String>) -> Outcome {
    page("Error 400: invalid_request", detail)
}

fn missing(name: &str) -> Outcome {
    invalid_request(format!("Missing required parameter: {name}"))
}

/// Back to the client with `params` (and `state`) appended to its redirect URI.
fn redirect(mut location: Url, state: Option<&str>, params: &[(&str, &str)]) -> Outcome {
    {
        let mut query = location.query_pairs_mut();
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    let code = params
        .iter()
        .find(|(name, _)| *name == "code")
        .map(|(_, code)| (*code).to_owned());
    Outcome::Redirect { location, code }
}

/// The registered client and redirect URI of the request: until both are known, Google
/// cannot redirect anywhere safely.
fn trusted_redirect<'a>(
    state: &SimState,
    request: &'a ConsentRequest,
) -> Result<(&'a str, &'a str, Url), Outcome> {
    let client_id = request
        .client_id
        .as_deref()
        .ok_or_else(|| missing("client_id"))?;
    let client = state.client(client_id).ok_or_else(|| {
        page(
            "Error 401: invalid_client",
            "The OAuth client was not found.",
        )
    })?;
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .ok_or_else(|| missing("redirect_uri"))?;
    if !client
        .redirect_uris
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        return Err(page(
            "Error 400: redirect_uri_mismatch",
            format!(
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're the app developer, register the redirect URI in the Google Cloud Console. Request details: redirect_uri={redirect_uri}"
            ),
        ));
    }
    let location = Url::parse(redirect_uri)
        .map_err(|_| invalid_request(format!("Invalid redirect_uri: {redirect_uri}")))?;
    Ok((client_id, redirect_uri, location))
}

/// The well-formed parameters of a consent request.
struct Parameters<'a> {
    response_type: &'a str,
    scopes: Vec<&'a str>,
    challenge: Option<(String, ChallengeMethod)>,
    offline: bool,
    prompts: Vec<&'a str>,
}

fn parameters(request: &ConsentRequest) -> Result<Parameters<'_>, Outcome> {
    let response_type = request
        .response_type
        .as_deref()
        .ok_or_else(|| missing("response_type"))?;
    let scopes: Vec<&str> = request
        .scope
        .as_deref()
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    if scopes.is_empty() {
        return Err(missing("scope"));
    }
    let challenge = match (
        request.code_challenge.as_deref(),
        request.code_challenge_method.as_deref(),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(invalid_request(
                "code_challenge_method is set but code_challenge is missing.",
            ));
        }
        (Some(challenge), method) => {
            let method = match method {
                Some("S256") => ChallengeMethod::S256,
                None | Some("plain") => ChallengeMethod::Plain,
                Some(other) => {
                    return Err(invalid_request(format!(
                        "Invalid code_challenge_method: {other}"
                    )));
                }
            };
            if !is_pkce_string(challenge) {
                return Err(invalid_request("Invalid code_challenge."));
            }
            Some((challenge.to_owned(), method))
        }
    };
    let offline = match request.access_type.as_deref() {
        None | Some("online") => false,
        Some("offline") => true,
        Some(other) => return Err(invalid_request(format!("Invalid access_type: {other}"))),
    };
    let prompts: Vec<&str> = request
        .prompt
        .as_deref()
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "consent" | "select_account"))
    {
        return Err(invalid_request(format!("Invalid prompt: {bad}")));
    }
    Ok(Parameters {
        response_type,
        scopes,
        challenge,
        offline,
        prompts,
    })
}

/// The checks of the consent screen, then the persona's automatic answer.
pub(crate) fn consent(shared: &Shared, request: &ConsentRequest) -> Outcome {
    let now = shared.now();
    let mut state = shared.lock();
    let (client_id, redirect_uri, location) = match trusted_redirect(&state, request) {
        Ok(trusted) => trusted,
        Err(page) => return page,
    };
    let parameters = match parameters(request) {
        Ok(parameters) => parameters,
        Err(page) => return page,
    };
    let state_param = request.state.as_deref();
    if parameters.response_type != "code" {
        return redirect(
            location,
            state_param,
            &[("error", "unsupported_response_type")],
        );
    }
    if let Some(unknown) = parameters
        .scopes
        .iter()
        .find(|scope| !scopes::is_known(scope))
    {
        let description = format!("Some requested scopes were invalid. {{invalid=[{unknown}]}}");
        return redirect(
            location,
            state_param,
            &[
                ("error", "invalid_scope"),
                ("error_description", &description),
            ],
        );
    }
    if state.knobs.consent == Consent::Deny {
        return redirect(location, state_param, &[("error", "access_denied")]);
    }
    let account = request
        .login_hint
        .as_deref()
        .filter(|hint| !hint.is_empty())
        .unwrap_or(PERSONA_ACCOUNT);
    let grantee = Grantee::new(account, client_id);
    let granted = granted_scopes(
        &state,
        &grantee,
        &parameters.scopes,
        request.include_granted_scopes.as_deref() == Some("true"),
    );
    // Google returns a refresh token for an offline grant the first time, and again only when
    // the consent screen was forced.
    let first_grant = state.oauth.granted(&grantee).is_none();
    let issue_refresh_token =
        parameters.offline && (first_grant || parameters.prompts.contains(&"consent"));
    let scope = granted.join(" ");
    let code = state.oauth.issue_code(
        &grantee,
        redirect_uri,
        parameters.challenge,
        granted,
        issue_refresh_token,
        now,
    );
    redirect(
        location,
        state_param,
        &[
            ("code", &code),
            ("scope", &scope),
            ("authuser", "0"),
            ("prompt", "consent"),
        ],
    )
}

/// The requested scopes the persona grants: all of them, or only those the `granted_scopes`
/// knob lists (granular consent; non-Health scopes are always granted), plus the earlier grant
/// with `include_granted_scopes=true`.
fn granted_scopes(
    state: &SimState,
    grantee: &Grantee,
    requested: &[&str],
    include_granted: bool,
) -> Vec<String> {
    let allowed: Option<Vec<String>> = state
        .knobs
        .granted_scopes
        .as_ref()
        .map(|scopes| scopes.iter().map(|scope| scopes::expand(scope)).collect());
    let mut granted: Vec<String> = requested
        .iter()
        .filter(|scope| {
            !scopes::is_health(scope)
                || allowed
                    .as_ref()
                    .is_none_or(|allowed| allowed.iter().any(|a| a == *scope))
        })
        .map(|scope| (*scope).to_owned())
        .collect();
    if include_granted && let Some(earlier) = state.oauth.granted(grantee) {
        granted.extend(earlier.iter().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    granted.retain(|scope| seen.insert(scope.clone()));
    granted
}

pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let request = ConsentRequest::from_query(query.as_deref().unwrap_or(""));
    match consent(&shared, &request) {
        Outcome::ErrorPage { heading, detail } => oauth_error_page(heading, &detail),
        Outcome::Redirect { location, .. } => (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        admin::Instruments,
        clock::SimClock,
        google::{GoogleSimConfig, oauth::store::AuthCode},
    };

    const REDIRECT: &str = "https://oh.example/callback";

    fn shared() -> Shared {
        Shared::new(
            GoogleSimConfig::local(REDIRECT),
            Instruments::new(SimClock::real()),
        )
    }

    fn request(shared: &Shared) -> ConsentRequest {
        ConsentRequest {
            client_id: Some(shared.lock().clients[0].client_id.clone()),
            redirect_uri: Some(REDIRECT.to_owned()),
            response_type: Some("code".to_owned()),
            scope: Some(format!("{} openid", scopes::Category::Sleep.read_scope())),
            state: Some("s".to_owned()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
            code_challenge_method: Some("S256".to_owned()),
            access_type: Some("offline".to_owned()),
            prompt: None,
            include_granted_scopes: None,
            login_hint: None,
        }
    }

    fn param(outcome: &Outcome, name: &str) -> Option<String> {
        let Outcome::Redirect { location, .. } = outcome else {
            panic!("expected a redirect, got {outcome:?}");
        };
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    fn issued(shared: &Shared, outcome: &Outcome) -> AuthCode {
        let code = param(outcome, "code").expect("a code");
        let client_id = shared.lock().clients[0].client_id.clone();
        shared
            .lock()
            .oauth
            .code(&code, &client_id, shared.now())
            .cloned()
            .expect("a live code")
    }

    #[test]
    fn malformed_requests_get_pages_and_bad_choices_get_redirects() {
        let shared = shared();
        let page_heading = |request: &ConsentRequest| match consent(&shared, request) {
            Outcome::ErrorPage { heading, .. } => heading,
            other => panic!("expected a page, got {other:?}"),
        };
        let mut no_scope = request(&shared);
        no_scope.scope = Some(" ".to_owned());
        assert_eq!(page_heading(&no_scope), "Error 400: invalid_request");
        let mut bad_method = request(&shared);
        bad_method.code_challenge_method = Some("S512".to_owned());
        assert_eq!(page_heading(&bad_method), "Error 400: invalid_request");
        let mut short_challenge = request(&shared);
        short_challenge.code_challenge = Some("abc".to_owned());
        assert_eq!(page_heading(&short_challenge), "Error 400: invalid_request");

        let mut token = request(&shared);
        token.response_type = Some("token".to_owned());
        let outcome = consent(&shared, &token);
        assert_eq!(
            param(&outcome, "error").as_deref(),
            Some("unsupported_response_type")
        );
        assert_eq!(param(&outcome, "state").as_deref(), Some("s"));
        let mut fitness = request(&shared);
        fitness.scope = Some("https://www.googleapis.com/auth/fitness.activity.read".to_owned());
        assert_eq!(
            param(&consent(&shared, &fitness), "error").as_deref(),
            Some("invalid_scope")
        );
    }

    #[test]
    fn refresh_tokens_come_with_the_first_offline_grant_or_a_forced_consent() {
        let shared = shared();
        let first = consent(&shared, &request(&shared));
        assert_eq!(
            param(&first, "scope"),
            Some(format!("{} openid", scopes::Category::Sleep.read_scope()))
        );
        let code = issued(&shared, &first);
        assert!(code.issue_refresh_token);
        assert_eq!(
            code.challenge.as_ref().map(|c| c.1),
            Some(ChallengeMethod::S256)
        );
        shared
            .lock()
            .oauth
            .redeem_code(&param(&first, "code").unwrap());

        let again = consent(&shared, &request(&shared));
        assert!(!issued(&shared, &again).issue_refresh_token);
        let mut forced = request(&shared);
        forced.prompt = Some("consent".to_owned());
        assert!(issued(&shared, &consent(&shared, &forced)).issue_refresh_token);
        let mut online = request(&shared);
        online.access_type = None;
        online.prompt = Some("consent".to_owned());
        assert!(!issued(&shared, &consent(&shared, &online)).issue_refresh_token);
    }

    #[test]
    fn each_hinted_account_gets_a_grant_of_its_own() {
        let shared = shared();
        let persona = consent(&shared, &request(&shared));
        assert_eq!(issued(&shared, &persona).grantee.user, PERSONA_ACCOUNT);
        shared
            .lock()
            .oauth
            .redeem_code(&param(&persona, "code").unwrap());
        let mut hinted = request(&shared);
        hinted.login_hint = Some("member-2@example.com".to_owned());
        let code = issued(&shared, &consent(&shared, &hinted));
        assert_eq!(code.grantee.user, "member-2@example.com");
        assert!(
            code.issue_refresh_token,
            "another account's first grant comes with a refresh token"
        );
    }

    #[test]
    fn granular_consent_and_incremental_grants() {
        let shared = shared();
        shared.lock().knobs.granted_scopes = Some(vec!["settings.readonly".to_owned()]);
        let mut both = request(&shared);
        both.scope = Some(format!(
            "{} {}",
            scopes::Category::Sleep.read_scope(),
            scopes::Category::Settings.read_scope()
        ));
        let outcome = consent(&shared, &both);
        assert_eq!(
            issued(&shared, &outcome).scopes,
            vec![scopes::Category::Settings.read_scope()]
        );
        shared
            .lock()
            .oauth
            .redeem_code(&param(&outcome, "code").unwrap());
        shared.lock().knobs.granted_scopes = None;
        let mut more = request(&shared);
        more.include_granted_scopes = Some("true".to_owned());
        let scopes = issued(&shared, &consent(&shared, &more)).scopes;
        assert!(scopes.contains(&scopes::Category::Settings.read_scope()));
        assert!(scopes.contains(&scopes::Category::Sleep.read_scope()));
    }
}
