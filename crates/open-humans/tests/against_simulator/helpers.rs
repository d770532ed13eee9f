//! A simulator and a client wired to it, one pair per test.

use oh_fitbit_sim::{
    FaultSpec, JournalEntry, SimClock,
    openhumans::{OpenHumansSim, OpenHumansSimConfig},
};
use open_humans::{Config, FileMetadata, NewFile, OpenHumans, Tokens};
use reqwest::{StatusCode, header::LOCATION, redirect::Policy};
use serde_json::Value;
use url::Url;

pub(crate) const MEMBER_ID: &str = "12345678";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:8000/openhumans/complete/";

pub(crate) struct TestApp {
    pub sim: OpenHumansSim,
    pub clock: SimClock,
    pub client: OpenHumans,
    /// Does not follow redirects, like the client's own.
    pub http: reqwest::Client,
}

pub(crate) async fn spawn() -> TestApp {
    spawn_with(OpenHumansSimConfig::local(REDIRECT_URI)).await
}

pub(crate) async fn spawn_with(config: OpenHumansSimConfig) -> TestApp {
    let clock = SimClock::real();
    let sim = OpenHumansSim::start("127.0.0.1:0".parse().unwrap(), config, clock.clone())
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let client = OpenHumans::new(client_config(sim.base_url()), http.clone());
    TestApp {
        sim,
        clock,
        client,
        http,
    }
}

/// The configuration of a client registered as the simulator's local project.
pub(crate) fn client_config(base_url: &Url) -> Config {
    let project = OpenHumansSimConfig::local(REDIRECT_URI).project;
    Config {
        base_url: base_url.clone(),
        client_id: project.client_id,
        client_secret: project.client_secret.into(),
        redirect_uri: Url::parse(REDIRECT_URI).unwrap(),
    }
}

impl TestApp {
    /// Follows the authorize URL as a browser would (the simulator consents at once) and
    /// returns the redirect back to us.
    pub(crate) async fn consent(&self, state: &str) -> Url {
        let response = self
            .http
            .get(self.client.authorize_url(state))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()[LOCATION].to_str().unwrap();
        Url::parse(location).unwrap()
    }

    /// A member who has just connected.
    pub(crate) async fn connect(&self) -> Tokens {
        let callback = self.consent("some-state").await;
        let code = query_param(&callback, "code").expect("the redirect carries a code");
        self.client.exchange_code(&code).await.unwrap()
    }

    /// Uploads a small file that is expected to fail, and returns the error.
    pub(crate) async fn failed_upload(&self, tokens: &Tokens) -> open_humans::Error {
        self.client
            .upload(&tokens.access_token, new_file("a.json", b"{}"))
            .await
            .unwrap_err()
    }

    /// After a failed upload: the simulator holds one incomplete file and the member sees none.
    pub(crate) async fn assert_nothing_visible(&self, tokens: &Tokens) {
        let stored = self.sim.files(MEMBER_ID);
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].completed);
        let member = self
            .client
            .exchange_member(&tokens.access_token)
            .await
            .unwrap();
        assert!(member.files.is_empty());
    }

    pub(crate) fn journal(&self, method: &str, path_prefix: &str) -> Vec<JournalEntry> {
        self.sim.instruments().journal.matching(method, path_prefix)
    }

    pub(crate) fn inject(&self, fault: Value) {
        let spec: FaultSpec = serde_json::from_value(fault).unwrap();
        self.sim.instruments().faults.add(spec).unwrap();
    }

    /// A call to one of the simulator's control endpoints.
    pub(crate) async fn admin(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(self.sim.base_url().join(path).unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }
}

pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(crate) fn header<'a>(entry: &'a JournalEntry, name: &str) -> Option<&'a str> {
    entry
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn metadata(description: &str) -> FileMetadata {
    FileMetadata {
        description: description.to_owned(),
        tags: vec!["fitbit".to_owned(), "test".to_owned()],
        start_date: Some(jiff::civil::date(2024, 3, 1)),
        end_date: Some(jiff::civil::date(2024, 3, 31)),
        ..FileMetadata::default()
    }
}

pub(crate) fn new_file(filename: &str, bytes: &[u8]) -> NewFile {
    NewFile {
        filename: filename.to_owned(),
        bytes: bytes.to_vec(),
        metadata: metadata("Fitbit data for a test"),
    }
}
