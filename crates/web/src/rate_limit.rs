//! A limit on the OAuth start and callback routes per client address: each request there
//! costs a Redis state and a round trip to a provider, and a flood of them is either an attack
//! or a loop. A fixed one-minute window counted in Redis, so it holds across web processes.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use jiff::Timestamp;

use crate::{error::WebError, state::AppState};

pub async fn limit_oauth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let minute = Timestamp::now().as_second() / 60;
    let key = state.redis.key(&format!(
        "ratelimit:oauth:{}:{minute}",
        client_address(&request)
    ));
    let counted: Result<(i64,), oh_fitbit_core::Error> = async {
        Ok(redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, 120)
            .ignore()
            .query_async(&mut state.redis.get().await?)
            .await?)
    }
    .await;
    match counted {
        Ok((count,)) if count > i64::from(state.oauth_requests_per_minute) => {
            WebError::TooManyAttempts.into_response()
        }
        Ok(_) => next.run(request).await,
        Err(error) => {
            // Sign-in matters more than the limit: let it through, and say so.
            tracing::warn!(%error, "rate limit unavailable; request let through");
            next.run(request).await
        }
    }
}

/// Behind Heroku's router (or any proxy that appends to `X-Forwarded-For`), the last address
/// of that header is the one the proxy saw; earlier ones are whatever the client claimed.
/// Without the header, the peer's address.
fn client_address(request: &Request) -> String {
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .rfind(|address| !address.is_empty());
    if let Some(address) = forwarded {
        return address.to_owned();
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())
}
