//! Turning HTTP answers from the project API into values or [`Error`]s, the same way for
//! every endpoint.

use reqwest::{RequestBuilder, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};

use crate::Error;

/// A fully read answer: the status and the raw body, so that an error can quote the body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct Detail {
    detail: String,
}

impl Reply {
    pub(crate) async fn send(request: RequestBuilder) -> Result<Self, Error> {
        let response = request.send().await.map_err(Error::transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(Error::transport)?.to_vec();
        Ok(Self { status, body })
    }

    /// The body of a 2xx answer read as `T`, or the error the answer stands for.
    pub(crate) fn json<T: DeserializeOwned>(self, what: &'static str) -> Result<T, Error> {
        if !self.status.is_success() {
            return Err(self.into_api_error());
        }
        serde_json::from_slice(&self.body).map_err(|source| Error::Malformed { what, source })
    }

    /// Success with a body nobody needs (Open Humans answers `"success"` to messages).
    pub(crate) fn ok(self) -> Result<(), Error> {
        if self.status.is_success() {
            Ok(())
        } else {
            Err(self.into_api_error())
        }
    }

    /// DRF's `{"detail": "…"}`, which the API uses for 401s and some 400s.
    pub(crate) fn detail(&self) -> Option<String> {
        serde_json::from_slice::<Detail>(&self.body)
            .ok()
            .map(|d| d.detail)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error for a non-2xx answer from an API endpoint authenticated with a bearer token.
    pub(crate) fn into_api_error(self) -> Error {
        let status = self.status.as_u16();
        if self.status == StatusCode::UNAUTHORIZED {
            let detail = self.detail().unwrap_or_else(|| self.text());
            Error::Unauthorized { detail }
        } else if self.status.is_server_error() {
            Error::Server { status }
        } else {
            Error::Rejected {
                status,
                body: self.text(),
            }
        }
    }
}

/// A reply as the server would have sent it, for the unit tests of the modules reading replies.
#[cfg(test)]
pub(crate) fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status: StatusCode::from_u16(status).unwrap(),
        body: body.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_carries_the_detail() {
        let error = reply(401, r#"{"detail":"Expired token."}"#).into_api_error();
        assert!(matches!(error, Error::Unauthorized { detail } if detail == "Expired token."));
    }

    #[test]
    fn other_client_errors_keep_the_body_and_server_errors_are_transient() {
        let body = r#"{"metadata":["\"tags\" is a required field of the metadata"]}"#;
        let error = reply(400, body).into_api_error();
        assert!(matches!(&error, Error::Rejected { status: 400, body: b } if b == body));
        assert!(reply(502, "<html>").into_api_error().is_transient());
    }

    #[test]
    fn a_2xx_body_of_the_wrong_shape_is_malformed() {
        let error = reply(200, "<html></html>")
            .json::<Detail>("test")
            .unwrap_err();
        assert!(matches!(error, Error::Malformed { what: "test", .. }));
    }
}
