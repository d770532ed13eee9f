//! The simulated Google Cloud console: a client created through `/console/clients` is one the
//! OAuth server then trusts with its own redirect URI, secret and publishing status.

#![cfg(feature = "google")]

use jiff::Timestamp;
use oh_fitbit_sim::{
    FaultSpec, SimClock,
    google::{GoogleSim, GoogleSimConfig, PublishingStatus, RegisteredClient},
};
use serde_json::Value;
use url::Url;

const NOW: &str = "2026-11-21T12:00:00Z";
/// The redirect URI of the configured client; console clients get others.
const CONFIGURED_REDIRECT_URI: &str = "http://127.0.0.1:1/google/callback";
const REDIRECT_URI: &str = "http://127.0.0.1:8080/byo/callback";
const SCOPE: &str = "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly";

struct Console {
    sim: GoogleSim,
    /// Follows no redirects, so tests see the consent screen's `Location`.
    http: reqwest::Client,
}

/// What the "client created" page shows.
#[derive(Debug)]
struct Created {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    publishing_status: String,
}

impl Console {
    async fn start() -> Self {
        let clock = SimClock::starting_at(NOW.parse::<Timestamp>().unwrap());
        clock.freeze(true);
        let sim = GoogleSim::start(
            "127.0.0.1:0".parse().unwrap(),
            GoogleSimConfig::local(CONFIGURED_REDIRECT_URI),
            clock,
        )
        .await
        .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { sim, http }
    }

    fn url(&self, path: &str) -> Url {
        self.sim.base_url().join(path).unwrap()
    }

    /// Submits the form as a browser would: (status, content type, page).
    async fn submit(&self, fields: &[(&str, &str)]) -> (u16, String, String) {
        let response = self
            .http
            .post(self.url("console/clients"))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        (status, content_type, response.text().await.unwrap())
    }

    /// Creates a client with `REDIRECT_URI` and reads it off the answer page.
    async fn create(&self, publishing_status: &str) -> Created {
        let (status, content_type, page) = self
            .submit(&[
                ("name", "My Fitbit export"),
                ("redirect_uri", REDIRECT_URI),
                ("publishing_status", publishing_status),
            ])
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let text = |id: &str| element_text(&page, id).unwrap_or_else(|| panic!("#{id}: {page}"));
        assert!(
            page.contains(&format!(
                "<code id=\"client-secret\">{}",
                text("client-secret")
            )),
            "the secret is shown as code: {page}"
        );
        Created {
            client_id: text("client-id"),
            client_secret: text("client-secret"),
            redirect_uri: text("redirect-uri"),
            publishing_status: text("publishing-status"),
        }
    }

    /// Opens the consent URL like a browser: (status, `Location`, page).
    async fn authorize(&self, client_id: &str, redirect_uri: &str) -> (u16, Option<Url>, String) {
        let mut url = self.url("o/oauth2/v2/auth");
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPE)
            .append_pair("access_type", "offline")
            .append_pair("state", "csrf-1");
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|value| Url::parse(value.to_str().unwrap()).unwrap());
        (status, location, response.text().await.unwrap())
    }

    /// A code for `client` through the browser flow.
    async fn code(&self, client: &Created) -> String {
        let (status, location, page) = self.authorize(&client.client_id, REDIRECT_URI).await;
        assert_eq!(status, 302, "{page}");
        let location = location.unwrap();
        assert!(
            location.as_str().starts_with(REDIRECT_URI),
            "back to the registered URI: {location}"
        );
        param(&location, "code").expect("a code")
    }

    /// `POST /token` with a code: (status, body).
    async fn exchange(&self, code: &str, client_id: &str, secret: &str) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The text of the element with `id` (up to its first child tag or end tag).
fn element_text(page: &str, id: &str) -> Option<String> {
    let start = page.find(&format!("id=\"{id}\""))?;
    let open_end = start + page[start..].find('>')? + 1;
    let len = page[open_end..].find('<')?;
    Some(
        page[open_end..open_end + len]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn the_form_asks_for_a_web_application_client() {
    let console = Console::start().await;
    let response = console
        .http
        .get(console.url("console/clients/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    for expected in [
        "Google Cloud \u{2014} Create OAuth client ID",
        "<form method=\"post\" action=\"/console/clients\">",
        "Web application",
        "id=\"redirect-uri\" name=\"redirect_uri\"",
        "name=\"name\"",
        "id=\"publishing-status\" name=\"publishing_status\"",
        "<option value=\"testing\" selected>",
        "<option value=\"production\">",
        "id=\"create-client\"",
    ] {
        assert!(page.contains(expected), "{expected:?} missing: {page}");
    }
    assert!(!page.contains("<script"), "no JavaScript");
    assert!(!page.contains("id=\"error\""), "{page}");
    console.sim.shutdown().await;
}

#[tokio::test]
async fn created_clients_have_googles_shapes_and_are_registered() {
    let console = Console::start().await;
    let shape =
        regex::Regex::new(r"^[0-9]{12}-[a-z0-9]{32}\.apps\.googleusercontent\.com$").unwrap();
    let secret_shape = regex::Regex::new(r"^GOCSPX-[A-Za-z0-9_-]{28}$").unwrap();
    let first = console.create("testing").await;
    let second = console.create("production").await;
    for created in [&first, &second] {
        assert!(shape.is_match(&created.client_id), "{created:?}");
        assert!(secret_shape.is_match(&created.client_secret), "{created:?}");
        assert_eq!(created.redirect_uri, REDIRECT_URI);
    }
    assert_ne!(first.client_id, second.client_id);
    assert_ne!(first.client_secret, second.client_secret);
    assert_eq!(first.publishing_status, "Testing");
    assert_eq!(second.publishing_status, "In production");

    let clients = console.sim.clients();
    assert_eq!(clients.len(), 3, "the configured client and two new ones");
    let registered = |created: &Created, status| RegisteredClient {
        client_id: created.client_id.clone(),
        client_secret: created.client_secret.clone(),
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        publishing_status: status,
    };
    assert_eq!(clients[1], registered(&first, PublishingStatus::Testing));
    assert_eq!(
        clients[2],
        registered(&second, PublishingStatus::Production)
    );
    console.sim.shutdown().await;
}

#[tokio::test]
async fn the_consent_screen_trusts_the_new_client_with_its_redirect_uri_only() {
    let console = Console::start().await;
    let created = console.create("testing").await;

    let (status, location, page) = console.authorize(&created.client_id, REDIRECT_URI).await;
    assert_eq!(status, 302, "{page}");
    let location = location.expect("a redirect");
    assert_eq!(
        location.as_str().split('?').next(),
        Some(REDIRECT_URI),
        "{location}"
    );
    assert!(param(&location, "code").is_some_and(|code| !code.is_empty()));
    assert_eq!(param(&location, "state").as_deref(), Some("csrf-1"));

    for other in [
        CONFIGURED_REDIRECT_URI,
        "http://127.0.0.1:8080/byo/callback/",
        "http://localhost:8080/byo/callback",
    ] {
        let (status, location, page) = console.authorize(&created.client_id, other).await;
        assert_eq!(status, 400, "{other}: {page}");
        assert!(location.is_none(), "{other}: no redirect");
        assert!(
            page.contains("Error 400: redirect_uri_mismatch"),
            "{other}: {page}"
        );
    }
    console.sim.shutdown().await;
}

#[tokio::test]
async fn the_token_endpoint_authenticates_the_new_client_by_its_secret() {
    let console = Console::start().await;
    let created = console.create("production").await;

    let code = console.code(&created).await;
    let (status, body) = console
        .exchange(
            &code,
            &created.client_id,
            "GOCSPX-not-the-secret-of-this-one",
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");

    let configured = GoogleSimConfig::local(CONFIGURED_REDIRECT_URI).clients[0].clone();
    let (status, body) = console
        .exchange(&code, &created.client_id, &configured.client_secret)
        .await;
    assert_eq!(status, 401, "another client's secret: {body}");

    let (status, body) = console
        .exchange(&code, &created.client_id, &created.client_secret)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    assert_eq!(body["scope"], SCOPE);
    assert!(
        body.get("refresh_token_expires_in").is_none(),
        "a production client's refresh token does not expire: {body}"
    );

    let identity = console
        .http
        .get(console.url("v4/users/me/identity"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(identity.status(), 401, "the access token is live");
    console.sim.shutdown().await;
}

#[tokio::test]
async fn a_testing_clients_refresh_token_lives_seven_days() {
    let console = Console::start().await;
    let created = console.create("testing").await;
    let code = console.code(&created).await;
    let (status, body) = console
        .exchange(&code, &created.client_id, &created.client_secret)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    assert_eq!(body["refresh_token_expires_in"], 604_799, "{body}");

    // The form's default is Testing too.
    let (status, _, page) = console.submit(&[("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        element_text(&page, "publishing-status").as_deref(),
        Some("Testing")
    );
    assert_eq!(
        console.sim.clients().last().unwrap().publishing_status,
        PublishingStatus::Testing
    );
    console.sim.shutdown().await;
}

#[tokio::test]
async fn bad_redirect_uris_are_refused_and_register_nothing() {
    let console = Console::start().await;
    let before = console.sim.clients();
    for bad in [
        "",
        "/byo/callback",
        "127.0.0.1:8080/byo/callback",
        "ftp://127.0.0.1/byo/callback",
        "http://127.0.0.1:8080/byo/callback#done",
        "https://",
        "not a url",
    ] {
        let (status, content_type, page) = console
            .submit(&[
                ("name", "Mine"),
                ("redirect_uri", bad),
                ("publishing_status", "production"),
            ])
            .await;
        assert_eq!(status, 400, "{bad:?} was accepted: {page}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let error = element_text(&page, "error").unwrap_or_else(|| panic!("{bad:?}: {page}"));
        assert!(error.starts_with("Invalid Redirect"), "{bad:?}: {error}");
        assert!(
            page.contains("id=\"create-client\""),
            "the form again: {page}"
        );
        assert!(
            page.contains(&format!("value=\"{}\"", bad.replace('"', "&quot;"))),
            "the form keeps what was typed: {page}"
        );
        assert!(
            page.contains("<option value=\"production\" selected>"),
            "and the chosen status: {page}"
        );
        assert!(!page.contains("id=\"client-secret\""), "{page}");
    }
    let (status, _, page) = console
        .submit(&[
            ("redirect_uri", REDIRECT_URI),
            ("publishing_status", "beta"),
        ])
        .await;
    assert_eq!(status, 400, "an unknown publishing status: {page}");
    assert!(element_text(&page, "error").is_some(), "{page}");
    assert_eq!(console.sim.clients(), before, "nothing registered");
    console.sim.shutdown().await;
}

#[tokio::test]
async fn the_console_is_not_journaled_or_faulted_and_its_clients_survive_a_reset() {
    let console = Console::start().await;
    console
        .sim
        .instruments()
        .faults
        .add(FaultSpec {
            method: None,
            path: "^/".to_owned(),
            status: Some(503),
            body: None,
            content_type: None,
            times: 100,
            skip: 0,
            delay_ms: 0,
        })
        .unwrap();
    let form = console
        .http
        .get(console.url("console/clients/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let created = console.create("testing").await;
    assert!(
        console.sim.instruments().journal.entries().is_empty(),
        "{:?}",
        console.sim.instruments().journal.entries()
    );
    let faulted = console.authorize(&created.client_id, REDIRECT_URI).await;
    assert_eq!(faulted.0, 503, "the fault applies to the OAuth routes");

    let reset = console
        .http
        .post(console.url("__admin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert!(
        console
            .sim
            .clients()
            .iter()
            .any(|client| client.client_id == created.client_id),
        "registered clients stay across a reset"
    );
    let (status, _, page) = console.authorize(&created.client_id, REDIRECT_URI).await;
    assert_eq!(status, 302, "{page}");
    console.sim.shutdown().await;
}
