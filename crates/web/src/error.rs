//! The web crate's one error type, and the only place that turns errors into responses: a plain
//! page that says what happened and what to do. Internal details are logged once, with their
//! whole cause chain, and never shown.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use oh_fitbit_core::{Provider, error_chain};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What is wrong with an OAuth callback request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackProblem {
    MissingState,
    MissingCode,
    /// No flow cookie (never started here, started in another browser, or older than 15 min).
    NoFlowInProgress,
    StateMismatch,
    /// The state was already used (a replayed callback URL) or expired.
    StateUsed,
    /// A Google flow started by one member finishing in another member's session.
    WrongMember,
}

/// Why the member's Fitbit account cannot be read yet (Google Health account states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountProblem {
    NotLinked,
    NoProfile,
    LegacyLogin,
    NoOfflineAccess,
    /// The member unticked activity and fitness on Google's consent screen: that is the data
    /// this service imports.
    ActivityNotGranted,
}

/// What is wrong with the member's own OAuth client (intraday setup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnClientProblem {
    MalformedId,
    MalformedSecret,
    /// Google knows no client with this id.
    UnknownClient,
    RedirectUriNotRegistered,
    WrongSecret,
    /// Google refused the client when the consent's code was exchanged (deleted or its secret
    /// reset after the check).
    RefusedByGoogle,
}

impl OwnClientProblem {
    /// What happened and what to do, for the setup page.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::MalformedId => {
                "That is not a Google OAuth client ID. It looks like \
                 123456789012-abc123.apps.googleusercontent.com: copy it from the \
                 \"Client ID\" field of your client in Google Cloud."
            }
            Self::MalformedSecret => {
                "That is not a Google OAuth client secret. It usually starts with GOCSPX- and \
                 has only letters, digits, - and _: copy it from the \"Client secret\" field of \
                 your client in Google Cloud."
            }
            Self::UnknownClient => {
                "Google does not know this client ID (invalid_client). Check that you copied \
                 the whole ID of a client that still exists in your Google Cloud project."
            }
            Self::RedirectUriNotRegistered => {
                "Google refuses this service's redirect URI for your client \
                 (redirect_uri_mismatch). Add the redirect URI shown on this page, exactly as \
                 shown, under \"Authorized redirect URIs\" of your client, save, wait a minute \
                 and try again."
            }
            Self::WrongSecret => {
                "Google knows this client ID but not with this secret (invalid_client). Copy \
                 the secret again, or reset it in Google Cloud and paste the new one."
            }
            Self::RefusedByGoogle => {
                "Google refused your OAuth client when finishing the connection \
                 (invalid_client): it may have been deleted, or its secret reset. Enter its \
                 current ID and secret again."
            }
        }
    }
}

/// Why a deauthorisation webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookProblem {
    /// A secret is configured and the signature is missing or wrong.
    BadSignature,
    /// Not the documented JSON (or its double-encoded form).
    Malformed,
    /// Unsigned, and Open Humans still accepts the member's grant: not believed.
    NotConfirmed,
    /// Its timestamp is further from now than `WEBHOOK_MAX_AGE_MINUTES`.
    Stale,
    /// The same notice was acted on already.
    Replayed,
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not signed in")]
    NotSignedIn,
    #[error("bad {provider} OAuth callback: {problem:?}")]
    BadCallback {
        provider: Provider,
        problem: CallbackProblem,
    },
    #[error("the member declined consent at {0}")]
    Declined(Provider),
    #[error("{0} refused the authorization code")]
    CodeRefused(Provider),
    #[error("{provider} could not be reached or failed")]
    Unavailable {
        provider: Provider,
        #[source]
        source: BoxError,
    },
    #[error("the member's Fitbit account is not ready: {0:?}")]
    FitbitAccount(AccountProblem),
    #[error("a form without the session's CSRF token")]
    FormExpired,
    #[error("a form that is not what the page sends")]
    BadForm,
    #[error("the member's own OAuth client was refused: {0:?}")]
    OwnClient(OwnClientProblem),
    #[error("a consent with the member's own client, which is not set up")]
    NoOwnClient,
    #[error("too many requests from one address to the sign-in routes")]
    TooManyAttempts,
    #[error("a manual sync asked for too soon after the last one")]
    SyncTooSoon { next_allowed: String },
    #[error("refused deauthorisation webhook: {0:?}")]
    BadWebhook(WebhookProblem),
    /// The database (or Redis) is away for a moment: a restart, a failover, a maintenance.
    #[error("a store is unavailable")]
    StoreUnavailable(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl WebError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    pub fn unavailable(
        provider: Provider,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            provider,
            source: Box::new(error),
        }
    }
}

impl From<oh_fitbit_core::Error> for WebError {
    fn from(error: oh_fitbit_core::Error) -> Self {
        use oh_fitbit_core::Error;
        match error {
            Error::Redis(_) | Error::RedisPool(_) => Self::StoreUnavailable(Box::new(error)),
            error if error.is_database_unavailable() => Self::StoreUnavailable(Box::new(error)),
            error => Self::internal(error),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub title: String,
    pub message: String,
    pub action_href: &'static str,
    pub action_label: &'static str,
}

impl ErrorPage {
    fn new(
        title: impl Into<String>,
        message: impl Into<String>,
        action_href: &'static str,
        action_label: &'static str,
    ) -> Self {
        Self {
            title: title.into(),
            message: message.into(),
            action_href,
            action_label,
        }
    }

    pub(crate) fn render_with(&self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(error = %error, "rendering the error page failed");
                (status, self.message.clone()).into_response()
            }
        }
    }
}

fn restart_for(provider: Provider) -> (&'static str, &'static str) {
    match provider {
        Provider::OpenHumans => ("/openhumans/login", "Sign in with Open Humans again"),
        Provider::Google => ("/fitbit/connect", "Connect Fitbit again"),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, page) = match &self {
            WebError::NotSignedIn => (
                StatusCode::UNAUTHORIZED,
                ErrorPage::new(
                    "Please sign in",
                    "This page belongs to a signed-in member. Sign in with your Open Humans account first.",
                    "/openhumans/login",
                    "Sign in with Open Humans",
                ),
            ),
            WebError::BadCallback { provider, problem } => {
                let message = match problem {
                    CallbackProblem::MissingState | CallbackProblem::MissingCode => format!(
                        "The link back from {provider} is incomplete, so the connection was not made. \
                         Nothing was changed. Please start again."
                    ),
                    CallbackProblem::NoFlowInProgress => format!(
                        "This browser has no {provider} connection in progress (it may have taken \
                         longer than 15 minutes, or started in another browser). Nothing was changed. \
                         Please start again."
                    ),
                    CallbackProblem::StateMismatch | CallbackProblem::WrongMember => format!(
                        "The answer from {provider} does not belong to the connection this browser \
                         started, so it was refused. Nothing was changed. Please start again."
                    ),
                    CallbackProblem::StateUsed => format!(
                        "This link back from {provider} was already used or has expired, so it was \
                         refused. Nothing was changed. Please start again."
                    ),
                };
                let (href, label) = restart_for(*provider);
                (
                    StatusCode::BAD_REQUEST,
                    ErrorPage::new(
                        "The connection could not be completed",
                        message,
                        href,
                        label,
                    ),
                )
            }
            WebError::Declined(provider) => {
                let (href, label) = restart_for(*provider);
                (
                    StatusCode::BAD_REQUEST,
                    ErrorPage::new(
                        "Nothing was connected",
                        format!(
                            "You chose not to give access at {provider}, so nothing was connected or \
                             changed. You can connect whenever you like."
                        ),
                        href,
                        label,
                    ),
                )
            }
            WebError::CodeRefused(provider) => {
                let (href, label) = restart_for(*provider);
                (
                    StatusCode::BAD_REQUEST,
                    ErrorPage::new(
                        "The connection could not be completed",
                        format!(
                            "{provider} did not accept the sign-in (it may have expired). Nothing was \
                             changed. Please start again."
                        ),
                        href,
                        label,
                    ),
                )
            }
            WebError::Unavailable { provider, source } => {
                tracing::warn!(%provider, error = %error_chain(source.as_ref()), "outside service failed");
                let (href, label) = restart_for(*provider);
                (
                    StatusCode::BAD_GATEWAY,
                    ErrorPage::new(
                        "A service did not answer",
                        format!(
                            "{provider} did not answer properly just now. Nothing was changed. Please \
                             try again in a minute."
                        ),
                        href,
                        label,
                    ),
                )
            }
            WebError::FitbitAccount(problem) => {
                let message = match problem {
                    AccountProblem::NotLinked => {
                        "Your Google account is not linked to Google Health yet. Open the Google Health \
                         (Fitbit) app and sign in with this Google account once, then connect again."
                    }
                    AccountProblem::NoProfile => {
                        "Your Google Health profile is not set up yet. Finish setting it up in the \
                         Google Health (Fitbit) app, then connect again."
                    }
                    AccountProblem::LegacyLogin => {
                        "Your Fitbit account still signs in with a Fitbit login. Move it to a Google \
                         account in the Fitbit app, then connect again."
                    }
                    AccountProblem::NoOfflineAccess => {
                        "Google did not grant lasting access, which the daily import needs. Please \
                         connect again and approve the request."
                    }
                    AccountProblem::ActivityNotGranted => {
                        "You did not allow access to your activity and fitness data, which is what \
                         this service imports, so nothing was connected. Connect again and leave \
                         \"activity and fitness\" ticked on Google's screen."
                    }
                };
                (
                    StatusCode::CONFLICT,
                    ErrorPage::new(
                        "Your Fitbit data cannot be read yet",
                        message,
                        "/fitbit/connect",
                        "Connect Fitbit again",
                    ),
                )
            }
            WebError::FormExpired => (
                StatusCode::FORBIDDEN,
                ErrorPage::new(
                    "This form has expired",
                    "The form was not sent from your current session (it may be from an old tab, \
                     or from another site). Nothing was changed. Open your dashboard and try again.",
                    "/dashboard",
                    "Open your dashboard",
                ),
            ),
            WebError::BadForm => (
                StatusCode::BAD_REQUEST,
                ErrorPage::new(
                    "This form could not be read",
                    "What was sent is not what the page's form sends. Nothing was changed. Open \
                     your dashboard and try again.",
                    "/dashboard",
                    "Open your dashboard",
                ),
            ),
            WebError::OwnClient(problem) => (
                StatusCode::BAD_REQUEST,
                ErrorPage::new(
                    "Your Google client was refused",
                    format!("{} Nothing was changed.", problem.explanation()),
                    "/intraday",
                    "Set up your client again",
                ),
            ),
            WebError::NoOwnClient => (
                StatusCode::CONFLICT,
                ErrorPage::new(
                    "Your own Google client is not set up",
                    "Intraday data is read through your own Google OAuth client, and none is set \
                     up for your account (it is deleted when you disconnect Fitbit). Nothing was \
                     changed. Set it up again, or skip intraday data.",
                    "/intraday",
                    "Set up intraday data",
                ),
            ),
            WebError::TooManyAttempts => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorPage::new(
                    "Too many attempts",
                    "There were too many sign-in attempts from your network in the last minute. \
                     Nothing was changed. Please wait a minute and try again.",
                    "/",
                    "Back to the start page",
                ),
            ),
            WebError::SyncTooSoon { next_allowed } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorPage::new(
                    "A sync was asked for a moment ago",
                    format!(
                        "Each sync reads from Google, which limits how often data can be read, so \
                         a new one can be asked for from {next_allowed}. The daily sync runs by \
                         itself meanwhile."
                    ),
                    "/dashboard",
                    "Open your dashboard",
                ),
            ),
            WebError::BadWebhook(problem) => {
                tracing::warn!(?problem, "refused a deauthorisation webhook");
                let (status, message) = match problem {
                    WebhookProblem::BadSignature => (
                        StatusCode::FORBIDDEN,
                        "The webhook's signature does not match the project's webhook secret. \
                         Nothing was changed.",
                    ),
                    WebhookProblem::Malformed => (
                        StatusCode::BAD_REQUEST,
                        "The webhook's body is not the JSON Open Humans sends \
                         (project_member_id, erasure_requested, timestamp). Nothing was changed.",
                    ),
                    WebhookProblem::NotConfirmed => (
                        StatusCode::FORBIDDEN,
                        "Open Humans still lists this member as authorised, so the unsigned \
                         webhook was not believed. Nothing was changed.",
                    ),
                    WebhookProblem::Stale => (
                        StatusCode::BAD_REQUEST,
                        "The webhook's timestamp is too far from now (a notice is accepted for \
                         WEBHOOK_MAX_AGE_MINUTES, 10 by default). Nothing was changed.",
                    ),
                    WebhookProblem::Replayed => (
                        StatusCode::CONFLICT,
                        "This notice was received and acted on already. Nothing was changed.",
                    ),
                };
                (
                    status,
                    ErrorPage::new("Webhook refused", message, "/", "Start page"),
                )
            }
            WebError::StoreUnavailable(source) => {
                tracing::warn!(error = %error_chain(source.as_ref()), "a store is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorPage::new(
                        "Back in a moment",
                        "The service cannot reach its database right now (a restart or a \
                         maintenance, which takes a minute or two). Nothing of yours is lost. \
                         Please try again in a minute.",
                        "/dashboard",
                        "Try again",
                    ),
                )
            }
            WebError::Internal(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorPage::new(
                        "Something went wrong",
                        "Something went wrong on our side and has been logged. Nothing you did caused \
                         it. Please try again in a few minutes.",
                        "/",
                        "Back to the start page",
                    ),
                )
            }
        };
        page.render_with(status)
    }
}
