//! The Google Health API v4 client (reference §2).

use reqwest::{
    RequestBuilder,
    header::{ACCEPT, RETRY_AFTER, WWW_AUTHENTICATE},
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{
    error::ApiError,
    list_page::ListPage,
    types::{
        DailyRollUpPage, DailyRollUpRequest, Identity, ListRequest, PairedDevicesPage, Profile,
        RollUpPage, RollUpRequest, Settings,
    },
};

/// Google Health API client. Each method is exactly one HTTP request; the caller pages, retries
/// and refreshes, because it knows the member's quota and token state.
#[derive(Clone, Debug)]
pub struct HealthApi {
    http: reqwest::Client,
    base_url: Url,
}

impl HealthApi {
    /// `base_url` is `https://health.googleapis.com/` for Google, or a simulator's base URL;
    /// a missing trailing slash is added.
    pub fn new(base_url: Url, http: reqwest::Client) -> Self {
        let mut base_url = base_url;
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        Self { http, base_url }
    }

    /// `users.getIdentity`: the stable `healthUserId` and the legacy Fitbit id. Works with any
    /// Google Health read scope.
    pub async fn identity(&self, access_token: &SecretString) -> Result<Identity, ApiError> {
        let url = self.url(&["users", "me", "identity"]);
        let body = self
            .send(self.http.get(url), access_token, "users.getIdentity")
            .await?;
        decode(Identity::from_json(&body), "users.getIdentity")
    }

    /// `users.getSettings` (needs the settings scope): the member's current time zone.
    pub async fn settings(&self, access_token: &SecretString) -> Result<Settings, ApiError> {
        let url = self.url(&["users", "me", "settings"]);
        let body = self
            .send(self.http.get(url), access_token, "users.getSettings")
            .await?;
        decode(Settings::from_json(&body), "users.getSettings")
    }

    /// `users.getProfile` (needs the profile scope): the account's membership start date.
    pub async fn profile(&self, access_token: &SecretString) -> Result<Profile, ApiError> {
        let url = self.url(&["users", "me", "profile"]);
        let body = self
            .send(self.http.get(url), access_token, "users.getProfile")
            .await?;
        decode(Profile::from_json(&body), "users.getProfile")
    }

    /// One page of `POST …/dataTypes/{data_type}/dataPoints:dailyRollUp`.
    pub async fn daily_roll_up(
        &self,
        access_token: &SecretString,
        data_type: &str,
        request: &DailyRollUpRequest,
    ) -> Result<DailyRollUpPage, ApiError> {
        let what = format!("dataPoints.dailyRollUp({data_type})");
        let url = self.url(&[
            "users",
            "me",
            "dataTypes",
            data_type,
            "dataPoints:dailyRollUp",
        ]);
        let builder = self.http.post(url).json(&request.to_wire());
        let body = self.send(builder, access_token, &what).await?;
        decode(DailyRollUpPage::from_json(&body), &what)
    }

    /// One page of `POST …/dataTypes/{data_type}/dataPoints:rollUp` (physical-time windows).
    pub async fn roll_up(
        &self,
        access_token: &SecretString,
        data_type: &str,
        request: &RollUpRequest,
    ) -> Result<RollUpPage, ApiError> {
        let what = format!("dataPoints.rollUp({data_type})");
        let url = self.url(&["users", "me", "dataTypes", data_type, "dataPoints:rollUp"]);
        let builder = self.http.post(url).json(&request.to_wire());
        let body = self.send(builder, access_token, &what).await?;
        decode(RollUpPage::from_json(&body), &what)
    }

    /// One page of `users.pairedDevices.list` (settings scope; at most 100 per page).
    pub async fn paired_devices(
        &self,
        access_token: &SecretString,
        page_token: Option<&str>,
    ) -> Result<PairedDevicesPage, ApiError> {
        let what = "users.pairedDevices.list";
        let mut url = self.url(&["users", "me", "pairedDevices"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("pageSize", "100");
            if let Some(page_token) = page_token {
                query.append_pair("pageToken", page_token);
            }
        }
        let body = self.send(self.http.get(url), access_token, what).await?;
        decode(PairedDevicesPage::from_json(&body), what)
    }

    /// One page of `GET …/dataTypes/{data_type}/dataPoints` (raw points, newest first).
    pub async fn list(
        &self,
        access_token: &SecretString,
        data_type: &str,
        request: &ListRequest,
    ) -> Result<ListPage, ApiError> {
        let what = format!("dataPoints.list({data_type})");
        let mut url = self.url(&["users", "me", "dataTypes", data_type, "dataPoints"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(filter) = &request.filter {
                query.append_pair("filter", filter);
            }
            if let Some(page_size) = request.page_size {
                query.append_pair("pageSize", &page_size.to_string());
            }
            if let Some(page_token) = &request.page_token {
                query.append_pair("pageToken", page_token);
            }
        }
        let body = self.send(self.http.get(url), access_token, &what).await?;
        decode(ListPage::from_json(body), &what)
    }

    /// `{base}v4/` followed by `segments`, each percent-encoded as one path segment (so a data
    /// type id can never add or remove segments).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // Only URLs that cannot be a base refuse segments; reqwest rejects those schemes, so the
        // request fails as a transport error instead.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v4").extend(segments);
        }
        url
    }

    /// Sends with the bearer token and returns the body of a 2xx response.
    async fn send(
        &self,
        builder: RequestBuilder,
        access_token: &SecretString,
        what: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let response = builder
            .bearer_auth(access_token.expose_secret())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| ApiError::Transport(error.without_url()))?;
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let www_authenticate = header(WWW_AUTHENTICATE);
        let retry_after = header(RETRY_AFTER);
        let body = response
            .bytes()
            .await
            .map_err(|error| ApiError::Transport(error.without_url()))?;
        if status.is_success() {
            return Ok(body.into());
        }
        let error = ApiError::from_response(
            status.as_u16(),
            www_authenticate.as_deref(),
            retry_after.as_deref(),
            &body,
        );
        tracing::debug!(method = what, status = status.as_u16(), %error, "Google Health API request failed");
        Err(error)
    }
}

fn decode<T>(result: serde_json::Result<T>, what: &str) -> Result<T, ApiError> {
    result.map_err(|source| ApiError::Malformed {
        what: what.to_owned(),
        source,
    })
}
