//! The web process: the member's pages, the OAuth flows with Open Humans and Google (Fitbit),
//! and the dashboard. [`app`] builds the router (the test seam); [`serve`] runs it with graceful
//! shutdown.

mod error;
mod routes;
mod session;
mod state;

use std::{future::Future, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, StatusCode, header},
    routing::{get, post},
};
use tower_http::{
    limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use state::{AppState, Dependencies, REQUESTED_SCOPES};

/// Forms on these pages are tiny; anything larger is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

pub fn app(state: AppState) -> Router {
    let security_headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; \
             form-action 'self' https:; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut router = Router::new()
        .route("/", get(routes::pages::landing))
        .route("/healthz", get(routes::pages::health))
        .route("/static/style.css", get(routes::pages::stylesheet))
        .route("/openhumans/login", get(routes::openhumans::login))
        .route("/openhumans/callback", get(routes::openhumans::callback))
        .route("/fitbit/connect", get(routes::fitbit::connect))
        .route("/fitbit/callback", get(routes::fitbit::callback))
        .route(
            "/fitbit/disconnect",
            get(routes::disconnect::confirm).post(routes::disconnect::disconnect),
        )
        .route("/openhumans/deauth", post(routes::deauth::receive))
        .route("/dashboard", get(routes::dashboard::show));
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if state.secure_cookies() {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
        // Pages show a member's own data and download links: never kept by caches.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(25),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The path only: query strings carry OAuth codes and states, which never go to a log.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
