//! The two cookies, both private (encrypted and authenticated with a key derived from
//! `SESSION_KEY`):
//! * `ohfb_session` says which member is signed in, and is valid only while it carries the
//!   member's current [`SessionStamp`]: signing out everywhere, disconnecting and leaving end
//!   every session saved before;
//! * `ohfb_oauth` carries an OAuth flow in progress (its `state`, and the PKCE verifier for
//!   Google), binding the provider's callback to the browser that started it.

use axum::{extract::FromRequestParts, http::request::Parts};
use axum_extra::extract::{
    PrivateCookieJar,
    cookie::{Cookie, SameSite},
};
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::members::{IntradayResolution, SessionStamp};
use open_humans::ProjectMemberId;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{error::WebError, state::AppState};

const SESSION_COOKIE: &str = "ohfb_session";
const FLOW_COOKIE: &str = "ohfb_oauth";
const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 14);
/// How long a member has to finish a consent screen.
pub(crate) const FLOW_LIFETIME: SignedDuration = SignedDuration::from_mins(15);

#[derive(Serialize, Deserialize)]
struct SessionCookie {
    member: ProjectMemberId,
    stamp: SessionStamp,
    signed_in_at: Timestamp,
    /// Every form of the session carries it back; a cross-site form cannot know it.
    csrf: String,
}

/// The signed-in member; handlers that take it are only reachable after Open Humans sign-in.
pub(crate) struct SignedIn(pub ProjectMemberId);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let jar =
            PrivateCookieJar::<axum_extra::extract::cookie::Key>::from_request_parts(parts, state)
                .await
                .map_err(|_| WebError::NotSignedIn)?;
        let session = session(&jar).ok_or(WebError::NotSignedIn)?;
        let current = state.members.session_stamp(&session.member).await?;
        if current != Some(session.stamp) {
            return Err(WebError::NotSignedIn);
        }
        Ok(SignedIn(session.member))
    }
}

fn session(jar: &PrivateCookieJar) -> Option<SessionCookie> {
    let cookie = jar.get(SESSION_COOKIE)?;
    let session: SessionCookie = serde_json::from_str(cookie.value()).ok()?;
    (session.signed_in_at + SESSION_LIFETIME > Timestamp::now()).then_some(session)
}

pub(crate) fn signed_in_member(jar: &PrivateCookieJar) -> Option<ProjectMemberId> {
    session(jar).map(|session| session.member)
}

/// The token the session's forms carry.
pub(crate) fn csrf_token(jar: &PrivateCookieJar) -> Option<String> {
    session(jar).map(|session| session.csrf)
}

/// A form is accepted only with the token of the session that shows it (compared in constant
/// time).
pub(crate) fn check_csrf(jar: &PrivateCookieJar, submitted: Option<&str>) -> Result<(), WebError> {
    let expected = csrf_token(jar).ok_or(WebError::NotSignedIn)?;
    let matches = submitted
        .is_some_and(|submitted| bool::from(submitted.as_bytes().ct_eq(expected.as_bytes())));
    if matches {
        Ok(())
    } else {
        Err(WebError::FormExpired)
    }
}

pub(crate) fn sign_in(
    jar: PrivateCookieJar,
    member: &ProjectMemberId,
    stamp: SessionStamp,
    secure: bool,
) -> PrivateCookieJar {
    let session = SessionCookie {
        member: member.clone(),
        stamp,
        signed_in_at: Timestamp::now(),
        csrf: oh_fitbit_core::random_token(),
    };
    let value = serde_json::to_string(&session).expect("a session always serialises");
    jar.add(cookie(SESSION_COOKIE, value, SESSION_LIFETIME, secure))
}

/// This browser's session ends.
pub(crate) fn sign_out(jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"))
}

/// Which provider an OAuth flow is with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FlowProvider {
    OpenHumans,
    Google,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PendingFlow {
    pub provider: FlowProvider,
    pub state: String,
    /// PKCE code verifier (Google only).
    pub verifier: Option<String>,
    /// The member who started a Google flow.
    pub member: Option<ProjectMemberId>,
    /// A Google flow with the member's own OAuth client rather than this service's.
    #[serde(default)]
    pub own_client: bool,
    /// A newly pasted own client, kept here (encrypted, like the whole cookie) until Google's
    /// consent with it succeeds: only then does it replace the one that works.
    #[serde(default)]
    pub pending_client: Option<PendingClient>,
    pub started_at: Timestamp,
}

/// An own OAuth client checked with Google, and the resolution chosen with it.
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingClient {
    pub client_id: String,
    pub client_secret: String,
    pub resolution: IntradayResolution,
}

pub(crate) fn start_flow(
    jar: PrivateCookieJar,
    flow: &PendingFlow,
    secure: bool,
) -> PrivateCookieJar {
    let value = serde_json::to_string(flow).expect("a flow always serialises");
    jar.add(cookie(FLOW_COOKIE, value, FLOW_LIFETIME, secure))
}

/// Takes the pending flow out of the jar: whatever the callback's outcome, a flow is used once.
pub(crate) fn take_flow(jar: PrivateCookieJar) -> (PrivateCookieJar, Option<PendingFlow>) {
    let flow = jar
        .get(FLOW_COOKIE)
        .and_then(|cookie| serde_json::from_str::<PendingFlow>(cookie.value()).ok())
        .filter(|flow| flow.started_at + FLOW_LIFETIME > Timestamp::now());
    (jar.remove(Cookie::build(FLOW_COOKIE).path("/")), flow)
}

fn cookie(
    name: &'static str,
    value: String,
    lifetime: SignedDuration,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        // Lax, not Strict: the cookie must come back on the top-level redirect from the
        // provider's consent page to our callback.
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(lifetime.as_secs()))
        .build()
}
