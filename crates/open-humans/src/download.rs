//! Reading back a file we published (§6.2): its `download_url` answers with a redirect to a
//! short-lived presigned storage URL. Neither needs a token (the key in the URL is the
//! capability), and neither URL reaches a log.

use reqwest::{StatusCode, header};
use url::Url;

use crate::{Error, OpenHumans, RemoteFile, reply::Reply};

impl OpenHumans {
    /// The bytes of `file`, as the latest `exchange-member` listed it (its download key lives
    /// an hour).
    pub async fn download(&self, file: &RemoteFile) -> Result<Vec<u8>, Error> {
        let mut response = self.get(file.download_url.clone()).await?;
        if response.status().is_redirection() {
            // Our HTTP client follows no redirect by itself: this one is followed once, to
            // storage, with nothing of ours attached.
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| Url::parse(value).ok())
                .ok_or_else(|| Error::Rejected {
                    status: StatusCode::FOUND.as_u16(),
                    body: "the download redirected to something that is not a URL".into(),
                })?;
            response = self.get(location).await?;
        }
        let status = response.status();
        let body = response.bytes().await.map_err(Error::transport)?.to_vec();
        let reply = Reply { status, body };
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(reply.into_api_error())
        }
    }

    async fn get(&self, url: Url) -> Result<reqwest::Response, Error> {
        self.http.get(url).send().await.map_err(Error::transport)
    }
}
