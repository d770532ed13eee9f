//! The one error type of the crate, shaped by what a caller has to do next: retry later,
//! ask the member to authorise again, or log and give up.

/// Why a call to Open Humans (or to the S3 bucket it hands out URLs for) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The authorization code or refresh token was rejected (`invalid_grant`, as 400 or 401):
    /// the member must authorise again.
    #[error("Open Humans rejected the authorization code or refresh token (invalid_grant)")]
    InvalidGrant,
    /// Our client id/secret were rejected.
    #[error("Open Humans rejected our client credentials (invalid_client)")]
    InvalidClient,
    /// The API answered 401 (`Expired token.`, `Invalid token.`, …) — carries OH's `detail`.
    #[error("Open Humans refused the access token: {detail}")]
    Unauthorized { detail: String },
    /// Another 4xx with OH's JSON error body (field errors etc.), kept verbatim for the log.
    #[error("Open Humans rejected the request with status {status}: {body}")]
    Rejected { status: u16, body: String },
    /// The presigned PUT failed (S3 XML error code such as `SignatureDoesNotMatch`,
    /// `AccessDenied`).
    #[error("the upload to storage failed with status {status} ({code})")]
    UploadFailed { status: u16, code: String },
    /// upload/complete/ answered `file not present`.
    #[error("Open Humans did not find the uploaded bytes when completing the upload")]
    FileNotPresent,
    /// 5xx from OH or S3.
    #[error("Open Humans or its storage failed with status {status}")]
    Server { status: u16 },
    /// Network error; built with `reqwest::Error::without_url()` so no URL (tokens,
    /// signatures) reaches a log.
    #[error("could not talk to Open Humans")]
    Transport(#[source] reqwest::Error),
    /// A 2xx body that does not have the documented shape; `what` names the endpoint.
    #[error("Open Humans answered {what} with an unexpected body")]
    Malformed {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Whether the same call may succeed later without anything changing on our side.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Server { .. } | Self::Transport(_))
    }

    /// Whether the member's grant is gone, so that retrying (or refreshing) cannot help and
    /// only a new authorisation will. Callers refresh access tokens before they expire, so
    /// a 401 from the API means the member left or the grant was revoked.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(self, Self::InvalidGrant | Self::Unauthorized { .. })
    }

    /// Strips the URL first: request URLs carry presigned signatures and download keys.
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        Self::Transport(error.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed() -> Error {
        let source = serde_json::from_str::<u64>("x").unwrap_err();
        Error::Malformed {
            what: "test",
            source,
        }
    }

    #[test]
    fn only_server_and_transport_errors_are_transient() {
        assert!(Error::Server { status: 503 }.is_transient());
        assert!(!Error::InvalidGrant.is_transient());
        assert!(!Error::FileNotPresent.is_transient());
        assert!(
            !Error::UploadFailed {
                status: 403,
                code: "AccessDenied".into()
            }
            .is_transient()
        );
        assert!(!malformed().is_transient());
    }

    #[test]
    fn only_a_lost_grant_needs_reauthorization() {
        assert!(Error::InvalidGrant.needs_reauthorization());
        assert!(
            Error::Unauthorized {
                detail: "Invalid token.".into()
            }
            .needs_reauthorization()
        );
        assert!(!Error::InvalidClient.needs_reauthorization());
        assert!(
            !Error::Rejected {
                status: 400,
                body: "{}".into()
            }
            .needs_reauthorization()
        );
        assert!(!Error::Server { status: 500 }.needs_reauthorization());
    }
}
