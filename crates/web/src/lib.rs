//! The web process: the member's pages, the OAuth flows with Open Humans and Google (Fitbit),
//! and the dashboard. [`app`] builds the router (the test seam); [`serve`] runs it with graceful
//! shutdown.

mod charts;
mod error;
mod forms;
mod rate_limit;
mod routes;
mod session;
mod state;

use std::{future::Future, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware,
    routing::{get, post},
};
use tower_http::{
    limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use state::{AppState, Dependencies};

/// Forms on these pages are tiny; anything larger is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

pub fn app(state: AppState) -> Router {
    // Forms post here; some (intraday setup, settings) are answered with a redirect on to
    // Google's consent page, which `form-action` governs too.
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; \
         form-action 'self' {}; base-uri 'none'",
        state.google_consent_origin
    );
    let mut router = routes(&state).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).expect("an origin is a valid header value"),
    ));
    let security_headers = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
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

fn routes(state: &AppState) -> Router<AppState> {
    let oauth = Router::new()
        .route("/openhumans/login", get(routes::openhumans::login))
        .route("/openhumans/callback", get(routes::openhumans::callback))
        .route("/fitbit/connect", get(routes::fitbit::connect))
        .route("/fitbit/callback", get(routes::fitbit::callback))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_oauth,
        ));
    Router::new()
        .route("/", get(routes::pages::landing))
        .route("/healthz", get(routes::pages::health))
        .route("/static/style.css", get(routes::pages::stylesheet))
        .route("/static/copy.js", get(routes::pages::copy_script))
        .merge(oauth)
        .route(
            "/fitbit/disconnect",
            get(routes::disconnect::confirm).post(routes::disconnect::disconnect),
        )
        .route("/openhumans/deauth", post(routes::deauth::receive))
        .route("/dashboard", get(routes::dashboard::show))
        .route("/sync", post(routes::sync_now::sync_now))
        .route(
            "/settings",
            get(routes::settings::show).post(routes::settings::save),
        )
        .route(
            "/intraday",
            get(routes::intraday::show).post(routes::intraday::save_client),
        )
        .route("/intraday/skip", post(routes::intraday::skip))
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
    // The peer's address is what the OAuth routes' rate limit counts without a proxy.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
