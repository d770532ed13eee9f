//! The simulator over real HTTP: the answers a faithful Open Humans gives to requests a
//! well-behaved client never sends.

use jiff::SignedDuration;
use reqwest::{Client, StatusCode, header, redirect::Policy};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use url::Url;

use super::{OpenHumansSim, OpenHumansSimConfig, webhook};
use crate::SimClock;

const REDIRECT_URI: &str = "http://127.0.0.1:8000/complete/";

struct Harness {
    sim: OpenHumansSim,
    http: Client,
    config: OpenHumansSimConfig,
}

async fn start_with(config: OpenHumansSimConfig) -> Harness {
    let sim = OpenHumansSim::start(
        "127.0.0.1:0".parse().unwrap(),
        config.clone(),
        SimClock::real(),
    )
    .await
    .unwrap();
    let http = Client::builder().redirect(Policy::none()).build().unwrap();
    Harness { sim, http, config }
}

async fn start() -> Harness {
    start_with(OpenHumansSimConfig::local(REDIRECT_URI)).await
}

impl Harness {
    fn url(&self, path: &str) -> Url {
        self.sim.base_url().join(path).unwrap()
    }

    /// An access token, through the admin authorize endpoint and the token endpoint.
    async fn token(&self) -> String {
        let authorized: Value = self
            .http
            .post(self.url("__admin/authorize"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = authorized["code"].as_str().unwrap();
        let tokens: Value = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
            ])
            .await
            .json()
            .await
            .unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        let project = &self.config.project;
        self.http
            .post(self.url("oauth2/token/"))
            .basic_auth(&project.client_id, Some(&project.client_secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A presigned PUT URL for a new file.
    async fn presigned_put(&self, token: &str) -> Url {
        let direct: Value = self
            .http
            .post(self.url("api/direct-sharing/project/files/upload/direct/"))
            .bearer_auth(token)
            .form(&[
                ("filename", "a.json"),
                ("metadata", r#"{"description":"","tags":[]}"#),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Url::parse(direct["url"].as_str().unwrap()).unwrap()
    }
}

async fn status_and_body(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn api_authentication_errors_have_drf_shapes() {
    let h = start().await;
    let url = h.url("api/direct-sharing/project/exchange-member/");
    let cases = [
        (None, "Authentication credentials were not provided."),
        (
            Some("Bearer"),
            "Invalid token header. No credentials provided.",
        ),
        (
            Some("Bearer a b"),
            "Invalid token header. Token string should not contain spaces.",
        ),
        (Some("Bearer unknown"), "Invalid token."),
    ];
    for (authorization, detail) in cases {
        let mut request = h.http.get(url.clone());
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
        assert!(
            response.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"detail": detail})
        );
    }
}

#[tokio::test]
async fn the_method_is_checked_after_authentication_and_slashes_are_required() {
    let h = start().await;
    let token = h.token().await;
    let path = "api/direct-sharing/project/exchange-member/";
    let response = h.http.post(h.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = status_and_body(
        h.http
            .post(h.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, r#"{"detail":"Method \"POST\" not allowed."}"#);

    let unslashed = h
        .http
        .get(h.url(path.trim_end_matches('/')))
        .send()
        .await
        .unwrap();
    assert_eq!(unslashed.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(unslashed.headers()[header::LOCATION], format!("/{path}"));
    let post = h
        .http
        .post(h.url("api/direct-sharing/project/files/delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn token_endpoint_errors_follow_oauthlib() {
    let h = start().await;
    let body = |response: reqwest::Response| async move {
        let status = response.status();
        (status, response.json::<Value>().await.unwrap())
    };
    assert_eq!(
        body(h.token_request(&[("grant_type", "password")]).await).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
    assert_eq!(
        body(
            h.token_request(&[("grant_type", "authorization_code")])
                .await
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Missing code parameter."})
        )
    );
    assert_eq!(
        body(h.token_request(&[("grant_type", "refresh_token")]).await).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "Missing refresh token parameter."})
        )
    );
    let response = h
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .await;
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        body(response).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let wrong_client = h
        .http
        .post(h.url("oauth2/token/"))
        .basic_auth("someone", Some("else"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_client.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_client\""
    );
    assert_eq!(
        body(wrong_client).await,
        (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}))
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect() {
    let h = start().await;
    let mut url = h.url("direct-sharing/projects/oauth2/authorize/");
    url.query_pairs_mut()
        .append_pair("client_id", &h.config.project.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "https://evil.example/complete/");
    let response = h.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    let mut url = h.url("direct-sharing/projects/oauth2/authorize/");
    url.query_pairs_mut().append_pair("client_id", "unknown");
    assert_eq!(
        h.http.get(url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn s3_refuses_unsigned_headers_and_expired_urls() {
    let h = start().await;
    let token = h.token().await;
    let url = h.presigned_put(&token).await;

    let (status, body) = status_and_body(
        h.http
            .put(url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    let with_amz = h
        .http
        .put(url.clone())
        .header("x-amz-acl", "private")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(with_amz.status(), StatusCode::FORBIDDEN);

    let ok = h.http.put(url.clone()).body("{}").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()[header::ETAG],
        "\"99914b932bd37a50b983c5e7c90ae93b\""
    );

    h.sim
        .instruments()
        .clock
        .advance(SignedDuration::from_secs(6 * 3600 + 1));
    let (status, body) = status_and_body(h.http.put(url).body("{}").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
}

/// Sends a hand-written request, for what reqwest will not send, and returns the status.
async fn raw_status(url: &Url, head: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(url.socket_addrs(|| None).unwrap()[0])
        .await
        .unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    let request = format!(
        "PUT {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{head}\r\n{body}",
        url.authority()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn s3_requires_a_content_length_and_refuses_chunked_bodies() {
    let h = start().await;
    let token = h.token().await;
    let url = h.presigned_put(&token).await;
    let chunked = "Transfer-Encoding: chunked\r\n";
    assert_eq!(raw_status(&url, chunked, "2\r\n{}\r\n0\r\n\r\n").await, 501);
    assert_eq!(raw_status(&url, "", "").await, 411);
    assert_eq!(raw_status(&url, "Content-Length: 2\r\n", "{}").await, 200);
}

/// Accepts one webhook POST, answers it with `status`, and returns its head and body.
async fn receive_webhook(listener: &TcpListener, status: u16) -> (String, String) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            if body.len() >= length || read == 0 {
                let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(answer.as_bytes()).await.unwrap();
                return (head.to_owned(), body.to_owned());
            }
        }
    }
}

#[tokio::test]
async fn leaving_sends_a_signed_webhook_and_retries_it_double_encoded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = OpenHumansSimConfig::local(REDIRECT_URI);
    let secret = "0123456789abcdef0123";
    config.project.deauth_webhook = Some(
        Url::parse(&format!(
            "http://{}/openhumans/deauth/",
            listener.local_addr().unwrap()
        ))
        .unwrap(),
    );
    config.project.webhook_secret = Some(secret.to_owned());
    let h = start_with(config).await;
    h.token().await;

    let leave = h
        .http
        .post(h.url("__admin/members/12345678/leave"))
        .json(&json!({"erasure_requested": true}))
        .send();
    let leaving = tokio::spawn(leave);
    let first = receive_webhook(&listener, 500).await;
    let second = receive_webhook(&listener, 200).await;
    let left = leaving.await.unwrap();
    let left: Value = left.unwrap().json().await.unwrap();
    assert_eq!(left["webhook"][0]["status"], 500);
    assert_eq!(left["webhook"][1]["status"], 200);

    let (head, body) = first;
    assert!(head.starts_with("POST /openhumans/deauth/ HTTP/1.1"));
    let signature = webhook::sign(secret, &body).unwrap();
    assert!(
        head.contains(&format!("X-OpenHumans-Webhooks-Signature: {signature}")),
        "{head}"
    );
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["project_member_id"], "12345678");
    assert_eq!(payload["erasure_requested"], true);
    assert!(payload["timestamp"].as_str().unwrap().ends_with("+00:00"));

    let (_, retried) = second;
    assert_eq!(
        serde_json::from_str::<Value>(&retried).unwrap(),
        Value::String(body)
    );
}
