//! The web process: the member's pages, the OAuth flows with Open Humans and Google (Fitbit),
//! and the dashboard. [`app`] builds the router (the test seam); [`serve`] runs it with graceful
//! shutdown.

mod charts;
mod error;
mod forms;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
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
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer, trace::TraceLayer,
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
        .layer(CatchPanicLayer::custom(panic_page))
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
        .route(
            "/openhumans/deauth",
            post(routes::deauth::receive).route_layer(middleware::from_fn_with_state(
                state.clone(),
                rate_limit::limit_webhook,
            )),
        )
        .route("/dashboard", get(routes::dashboard::show))
        .route("/signout", post(routes::signout::sign_out))
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

/// A handler that panicked answers with the error page (and the panic is logged), rather than
/// with a closed connection.
fn panic_page(panic: Box<dyn std::any::Any + Send>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let detail = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    error::WebError::Internal(format!("a handler panicked: {detail}").into()).into_response()
}

/// The path only: query strings carry OAuth codes and states, which never go to a log.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
}

/// How long a client has to send a request's headers, on a new connection or on one kept alive
/// between requests: a client that opens connections and sends nothing holds none for long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once: each costs a task and buffers, and a 512 MB dyno must keep
/// room for the process' other work. More wait in the listen backlog until one ends.
const MAX_CONNECTIONS: usize = 1024;

/// Serves the router with HTTP/1.1 (which Heroku's router speaks to dynos) until `shutdown`,
/// then lets the requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    let router = app(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // the next accept may work.
                    tracing::warn!(%error, "accepting a connection failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer's address is what the rate limits count without a trusted proxy.
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
            drop(slot);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    async fn panics() -> StatusCode {
        panic!("provider sent nonsense")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_with_the_error_page() {
        let router: Router = Router::new()
            .route("/", get(panics))
            .layer(CatchPanicLayer::custom(panic_page));
        let response = router
            .oneshot(axum::http::Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let page = String::from_utf8_lossy(&body);
        assert!(page.contains("Something went wrong on our side"), "{page}");
        assert!(!page.contains("nonsense"), "the panic stays in the log");
    }
}
