//! Client for Google OAuth 2.0 and the Google Health API v4 (`health.googleapis.com`), the
//! successor of the retired Fitbit Web API.
//!
//! The crate is deliberately thin: each method is one HTTP request, so the caller (the worker)
//! owns retries, pacing, token refresh and paging, where it has the member's state at hand.
//! What the crate does own is the wire format — Google's OAuth token responses, proto3 JSON
//! (int64 as strings, zero members omitted, civil date-times as `{date, time}` objects) and the
//! Google error envelope — so callers branch on typed errors ([`OAuthError`], [`ApiError`])
//! instead of on message strings.
//!
//! Every base URL is configurable ([`OAuthEndpoints::under`], [`HealthApi::new`]) so the same
//! code runs against Google and against the simulator in `oh-fitbit-sim`.
//!
//! Tokens are always [`secrecy::SecretString`]s: they are sent only in `Authorization` headers and
//! form bodies, never in URLs, and never logged.

mod api;
pub mod catalogue;
mod civil;
mod client_check;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod list_page;
mod oauth;
mod pkce;
mod scope;
mod types;

pub use api::HealthApi;
pub use client_check::ClientCheck;
pub use error::{ApiError, OAuthError};
pub use list_page::{ListPage, PointSink};
pub use oauth::{
    AuthorizationRequest, ClientCredentials, GoogleOAuth, GoogleTokens, OAuthEndpoints,
};
pub use pkce::Pkce;
pub use scope::{Scope, UnknownScope};
pub use types::{
    DailyRollUpPage, DailyRollUpRequest, DailyRollupPoint, Identity, ListRequest,
    PairedDevicesPage, Profile, RollUpPage, RollUpRequest, Settings,
};
