//! Limits per client address on the routes that cost us something for each request: the OAuth
//! start and callback routes (a Redis state and a round trip to a provider) and the
//! deauthorisation webhook (an Open Humans call when unsigned). A fixed one-minute window
//! counted in Redis, so it holds across web processes.
//!
//! The address is the one the outermost trusted proxy saw (`TRUSTED_PROXY_HOPS`): anything
//! further left in `X-Forwarded-For` is what the client wrote, so it never chooses its key.
//! Keys are bounded: an address parsed and printed by us (an IPv6 client by its /64, which
//! is what one client can vary), so neither the size nor the number of keys is the client's
//! to grow.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use jiff::Timestamp;

use crate::{error::WebError, state::AppState};

pub(crate) async fn limit_oauth(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.limits.oauth_requests_per_minute;
    limited(&state, "oauth", limit, request, next).await
}

pub(crate) async fn limit_webhook(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.limits.webhooks_per_minute;
    limited(&state, "webhook", limit, request, next).await
}

async fn limited(
    state: &AppState,
    route: &str,
    per_minute: u32,
    request: Request,
    next: Next,
) -> Response {
    let minute = Timestamp::now().as_second() / 60;
    let address = client_address(&request, state.limits.trusted_proxy_hops);
    let key = state.redis.key(&format!(
        "ratelimit:{route}:{}:{minute}",
        address_key(address)
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
        Ok((count,)) if count > i64::from(per_minute) => WebError::TooManyAttempts.into_response(),
        Ok(_) => next.run(request).await,
        Err(error) => {
            // Sign-in matters more than the limit: let it through, and say so.
            tracing::warn!(%error, route, "rate limit unavailable; request let through");
            next.run(request).await
        }
    }
}

/// The client's address: with `hops` trusted proxies, the `hops`-th address from the right of
/// `X-Forwarded-For` (each proxy appends the address it saw); with none, or when the header
/// holds fewer addresses than there are proxies (so a proxy was bypassed) or not an address
/// where a proxy wrote one, the peer's address.
fn client_address(request: &Request, hops: usize) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|index| forwarded[index].parse().ok())
        .or(peer)
}

/// What the limit counts an address as: IPv4 whole, IPv6 by its /64.
fn address_key(address: Option<IpAddr>) -> String {
    match address {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Request {
        let mut request = Request::new(Body::empty());
        for value in forwarded {
            request
                .headers_mut()
                .append("x-forwarded-for", value.parse().unwrap());
        }
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
        request
    }

    #[test]
    fn only_addresses_written_by_trusted_proxies_count() {
        let key = |request: &Request, hops| address_key(client_address(request, hops));
        let forged = request("10.0.0.1:5000", &["1.2.3.4, 5.6.7.8", "9.9.9.9"]);
        assert_eq!(key(&forged, 0), "10.0.0.1");
        assert_eq!(key(&forged, 1), "9.9.9.9");
        assert_eq!(key(&forged, 2), "5.6.7.8");
        // Fewer addresses than proxies: one was bypassed, so the peer is the client.
        assert_eq!(key(&forged, 4), "10.0.0.1");
        let garbage = request("10.0.0.1:5000", &["not an address"]);
        assert_eq!(key(&garbage, 1), "10.0.0.1");
        let long = "a".repeat(7000);
        assert_eq!(key(&request("10.0.0.1:5000", &[&long]), 1), "10.0.0.1");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_prefix() {
        let one = request("[2001:db8:1:2:aaaa::1]:5000", &[]);
        let other = request("[2001:db8:1:2:bbbb::9]:5000", &[]);
        let key = |request: &Request| address_key(client_address(request, 0));
        assert_eq!(key(&one), "2001:db8:1:2::/64");
        assert_eq!(key(&one), key(&other));
        assert_eq!(key(&request("[::ffff:1.2.3.4]:1", &[])), "1.2.3.4");
    }
}
