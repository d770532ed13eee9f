//! Typed errors of the OAuth endpoints and the Health API.
//!
//! Google's error *messages* change without notice, so classification uses only the HTTP
//! status, the canonical `error.status` and the `ErrorInfo.reason` of the Google error envelope
//! (reference §3.2), plus the OAuth `error` code. Each variant maps to one thing the importer
//! does differently (§3.4): refresh, skip a type, wait, ask the member to act, or give up.

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

/// Why an OAuth token or revoke request failed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_grant`: the code is bad, used or expired, the PKCE verifier does not match, or
    /// the refresh token expired or was revoked. The member must connect again.
    #[error("Google rejected the grant (expired, revoked or invalid); the member must reconnect")]
    InvalidGrant,
    /// `invalid_client`: the client id is unknown or the secret is wrong (configuration).
    #[error("Google rejected the OAuth client credentials")]
    InvalidClient,
    /// Any other OAuth error code (`invalid_request`, `redirect_uri_mismatch`,
    /// `invalid_token` from revoke…).
    #[error("Google rejected the OAuth request: {error}")]
    Rejected {
        error: String,
        description: Option<String>,
    },
    /// Google's OAuth server failed (5xx); worth retrying later.
    #[error("Google's OAuth server answered HTTP {status}")]
    Server { status: u16 },
    /// No usable HTTP exchange (connection, timeout, TLS…).
    #[error("could not reach Google's OAuth server")]
    Transport(#[source] reqwest::Error),
    /// A body that is not in the documented shape.
    #[error("malformed {what} from Google's OAuth server")]
    Malformed {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Why a Health API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the access token expired or was revoked. Refresh once and retry once; a second 401
    /// means the grant is broken.
    #[error("the access token was not accepted (401)")]
    Unauthorized,
    /// 403 `ACCESS_TOKEN_SCOPE_INSUFFICIENT`: the member did not grant the scope this data type
    /// needs. Skip the type. `scope` is the scope Google named in `WWW-Authenticate`.
    #[error("the member did not grant the scope this request needs")]
    ScopeNotGranted { scope: Option<String> },
    /// 429 / `RESOURCE_EXHAUSTED`: per-user or per-project quota. Wait and retry; `retry_after`
    /// is Google's `Retry-After` when it sent one (it usually does not).
    #[error("Google Health API quota exceeded")]
    QuotaExceeded { retry_after: Option<Duration> },
    /// 400 `FAILED_PRECONDITION` / `ACCOUNT_NOT_LINKED`: the Google account has no Google
    /// Health (Fitbit) account linked. The member must sign in to the Google Health app.
    #[error("the Google account is not linked to Google Health")]
    AccountNotLinked,
    /// 412: the member has not set up a Google Health profile yet.
    #[error("the member has no Google Health profile yet")]
    NoHealthProfile,
    /// 403 `PERMISSION_DENIED` without a reason ("The caller does not have permission."): the
    /// account still uses a legacy Fitbit login and must be moved to a Google account.
    #[error("the account still uses a legacy Fitbit login")]
    LegacyFitbitAccount,
    /// Any other 403 (`SERVICE_DISABLED`, `RESOURCE_PERMISSION_DENIED` after a broken grant…).
    #[error("permission denied ({})", reason.as_deref().unwrap_or("no reason given"))]
    PermissionDenied { reason: Option<String> },
    /// 400 `INVALID_ARGUMENT` (and any other rejected request): a bug or grammar drift, e.g.
    /// `INVALID_DATA_POINT_FILTER`. Not worth retrying unchanged.
    #[error("invalid request ({}): {message}", reason.as_deref().unwrap_or("no reason given"))]
    InvalidArgument {
        reason: Option<String>,
        /// `ErrorInfo.metadata.detailedReasons`, where live filter errors put the specific
        /// reason (`INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER`).
        detailed_reasons: Option<String>,
        /// The `field` of each `BadRequest` violation (`filter`, `range.end`, `page_size`).
        fields: Vec<String>,
        message: String,
    },
    /// 404, as Google's HTML routing page (wrong path or verb) or JSON `NOT_FOUND`.
    #[error("not found (404)")]
    NotFound,
    /// 5xx (including the front end's HTML 502), or a status Google never documents.
    #[error("Google Health API answered HTTP {status}")]
    Server { status: u16 },
    /// No usable HTTP exchange (connection, timeout, TLS…).
    #[error("could not reach the Google Health API")]
    Transport(#[source] reqwest::Error),
    /// A 2xx body that is not in the documented shape; `what` names the method and data type.
    #[error("malformed response to {what}")]
    Malformed {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ApiError {
    /// Whether the same request may succeed later without anyone acting: quota waits, server
    /// errors and network failures. Everything else needs a refresh, a member's action or a fix.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::QuotaExceeded { .. } => true,
            ApiError::Server { status } => *status >= 500,
            ApiError::Transport(error) => !error.is_builder(),
            _ => false,
        }
    }

    /// Classifies a non-2xx response.
    pub(crate) fn from_response(
        status: u16,
        www_authenticate: Option<&str>,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> Self {
        let envelope = serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|envelope| envelope.error);
        let canonical = envelope.as_ref().map(|e| e.status.as_str());
        let reason = envelope.as_ref().and_then(Status::reason);
        // RFC 6750 §3.1: a bearer resource server names the missing scope in its own shape, an
        // OAuth `error` in the body and the challenge, which some Google front ends answer.
        let oauth_error = serde_json::from_slice::<OAuthErrorBody>(body)
            .ok()
            .map(|body| body.error)
            .or_else(|| www_authenticate.and_then(|header| auth_param(header, "error")));
        match (status, canonical, reason.as_deref()) {
            (_, _, Some("ACCOUNT_NOT_LINKED")) => ApiError::AccountNotLinked,
            (401, ..) => ApiError::Unauthorized,
            (403, _, Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT")) => ApiError::ScopeNotGranted {
                scope: www_authenticate.and_then(|header| auth_param(header, "scope")),
            },
            (403, None, None) if oauth_error.as_deref() == Some("insufficient_scope") => {
                ApiError::ScopeNotGranted {
                    scope: www_authenticate.and_then(|header| auth_param(header, "scope")),
                }
            }
            (429, ..) | (_, Some("RESOURCE_EXHAUSTED"), _) => ApiError::QuotaExceeded {
                retry_after: retry_after.and_then(parse_retry_after),
            },
            (412, ..) => ApiError::NoHealthProfile,
            (403, Some("PERMISSION_DENIED"), None) => ApiError::LegacyFitbitAccount,
            (403, ..) => ApiError::PermissionDenied { reason },
            (404, ..) => ApiError::NotFound,
            (400..=499, ..) => ApiError::InvalidArgument {
                reason,
                detailed_reasons: envelope.as_ref().and_then(Status::detailed_reasons),
                fields: envelope
                    .as_ref()
                    .map(Status::violated_fields)
                    .unwrap_or_default(),
                message: envelope
                    .map(|e| e.message)
                    .filter(|message| !message.is_empty())
                    .unwrap_or_else(|| format!("HTTP {status}")),
            },
            _ => ApiError::Server { status },
        }
    }
}

/// `{"error": google.rpc.Status}` (AIP-193).
#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl Status {
    /// The details of one `@type` (`google.rpc.ErrorInfo`, `google.rpc.BadRequest`).
    fn details_of(&self, kind: &'static str) -> impl Iterator<Item = &serde_json::Value> {
        self.details.iter().filter(move |detail| {
            detail
                .get("@type")
                .and_then(serde_json::Value::as_str)
                .and_then(|name| name.rsplit_once('/'))
                .is_some_and(|(_, name)| name == kind)
        })
    }

    /// The `reason` of the first `google.rpc.ErrorInfo` detail.
    fn reason(&self) -> Option<String> {
        self.details_of("google.rpc.ErrorInfo")
            .find_map(|detail| detail.get("reason")?.as_str().map(str::to_owned))
    }

    fn detailed_reasons(&self) -> Option<String> {
        self.details_of("google.rpc.ErrorInfo").find_map(|detail| {
            let reasons = detail.get("metadata")?.get("detailedReasons")?;
            Some(match reasons {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            })
        })
    }

    fn violated_fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self
            .details_of("google.rpc.BadRequest")
            .filter_map(|detail| detail.get("fieldViolations")?.as_array())
            .flatten()
            .filter_map(|violation| violation.get("field")?.as_str().map(str::to_owned))
            .collect();
        fields.dedup();
        fields
    }
}

/// One quoted or bare parameter of a `WWW-Authenticate: Bearer k="v", …` challenge.
fn auth_param(header: &str, name: &str) -> Option<String> {
    let mut rest = header.trim_start().strip_prefix("Bearer")?;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let (key, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value.trim().to_owned());
        }
        rest = after;
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The `{"error": …, "error_description": …}` body of Google's OAuth endpoints.
#[derive(Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

impl OAuthError {
    /// Classifies a non-2xx response of the token or revoke endpoint.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        if status >= 500 {
            return OAuthError::Server { status };
        }
        match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(body) => match body.error.as_str() {
                "invalid_grant" => OAuthError::InvalidGrant,
                "invalid_client" => OAuthError::InvalidClient,
                _ => OAuthError::Rejected {
                    error: body.error,
                    description: body.error_description,
                },
            },
            Err(source) => OAuthError::Malformed {
                what: "error response",
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn classify(
        status: u16,
        www: Option<&str>,
        retry: Option<&str>,
        body: serde_json::Value,
    ) -> ApiError {
        ApiError::from_response(status, www, retry, body.to_string().as_bytes())
    }

    fn error_info(status: &str, code: u16, reason: &str) -> serde_json::Value {
        json!({"error": {"code": code, "message": "whatever Google says today", "status": status,
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]}})
    }

    #[test]
    fn account_states_are_recognised_by_status_and_reason() {
        assert!(matches!(
            classify(
                400,
                None,
                None,
                error_info("FAILED_PRECONDITION", 400, "ACCOUNT_NOT_LINKED")
            ),
            ApiError::AccountNotLinked
        ));
        assert!(matches!(
            classify(
                412,
                None,
                None,
                json!({"error": {"code": 412, "message": "Precondition check failed.", "status": "FAILED_PRECONDITION"}})
            ),
            ApiError::NoHealthProfile
        ));
        assert!(matches!(
            classify(
                403,
                None,
                None,
                json!({"error": {"code": 403, "message": "anything", "status": "PERMISSION_DENIED"}})
            ),
            ApiError::LegacyFitbitAccount
        ));
        assert!(matches!(
            classify(403, None, None, error_info("PERMISSION_DENIED", 403, "SERVICE_DISABLED")),
            ApiError::PermissionDenied { reason: Some(r) } if r == "SERVICE_DISABLED"
        ));
    }

    #[test]
    fn scope_errors_name_the_scope_from_www_authenticate() {
        let www = r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="https://www.googleapis.com/auth/googlehealth.sleep.readonly""#;
        let error = classify(
            403,
            Some(www),
            None,
            error_info("PERMISSION_DENIED", 403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
        );
        assert!(matches!(
            error,
            ApiError::ScopeNotGranted { scope: Some(s) } if s == "https://www.googleapis.com/auth/googlehealth.sleep.readonly"
        ));
    }

    #[test]
    fn a_scope_error_in_the_oauth_shape_is_a_scope_not_granted() {
        let scope = "https://www.googleapis.com/auth/googlehealth.sleep.readonly";
        let www = format!(
            r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{scope}""#
        );
        let body =
            json!({"error": "insufficient_scope", "error_description": "Insufficient scope"});
        assert!(matches!(
            classify(403, Some(&www), None, body),
            ApiError::ScopeNotGranted { scope: Some(s) } if s == scope
        ));
        // The challenge alone (an empty or HTML body) says the same.
        let bare = ApiError::from_response(403, Some(&www), None, b"");
        assert!(matches!(bare, ApiError::ScopeNotGranted { .. }));
        // Another OAuth error in a 403 stays a permission error.
        let other = classify(403, None, None, json!({"error": "access_denied"}));
        assert!(matches!(other, ApiError::PermissionDenied { reason: None }));
    }

    #[test]
    fn quota_errors_carry_retry_after() {
        let error = classify(
            429,
            None,
            Some("17"),
            error_info("RESOURCE_EXHAUSTED", 429, "RATE_LIMIT_EXCEEDED"),
        );
        assert!(
            matches!(error, ApiError::QuotaExceeded { retry_after: Some(d) } if d == Duration::from_secs(17))
        );
        assert!(error.is_transient());
        let later = jiff::fmt::rfc2822::to_string(
            &(Timestamp::now() + jiff::SignedDuration::from_secs(120))
                .to_zoned(jiff::tz::TimeZone::UTC),
        )
        .unwrap();
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait <= Duration::from_secs(120) && wait >= Duration::from_secs(100));
    }

    #[test]
    fn other_statuses_map_to_their_variants() {
        assert!(matches!(
            classify(401, None, None, json!({})),
            ApiError::Unauthorized
        ));
        let html = ApiError::from_response(404, None, None, b"<html>404</html>");
        assert!(matches!(html, ApiError::NotFound));
        let bad_gateway = ApiError::from_response(502, None, None, b"<html>502</html>");
        assert!(matches!(bad_gateway, ApiError::Server { status: 502 }));
        assert!(bad_gateway.is_transient());
        let invalid = classify(
            400,
            None,
            None,
            error_info("INVALID_ARGUMENT", 400, "INVALID_DATA_POINT_FILTER_SYNTAX"),
        );
        assert!(matches!(
            &invalid,
            ApiError::InvalidArgument { reason: Some(r), message, .. } if r == "INVALID_DATA_POINT_FILTER_SYNTAX" && message == "whatever Google says today"
        ));
        assert!(!invalid.is_transient());
    }

    #[test]
    fn a_live_filter_error_carries_its_detailed_reason_and_fields() {
        let body = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid data point filter: Member 'sleep.interval.start_time' is not supported for filtering. (at line 1, column 1)",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INVALID_DATA_POINT_FILTER",
                 "domain": "health.googleapis.com",
                 "metadata": {"detailedReasons": "INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER"}},
                {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                    {"field": "filter", "description": "Member 'sleep.interval.start_time' is not supported for filtering. (at line 1, column 1)"},
                    {"field": "filter", "description": "Member 'sleep.interval.start_time' is not supported for filtering. (at line 1, column 43)"}]}]}});
        assert!(matches!(
            classify(400, None, None, body),
            ApiError::InvalidArgument { reason: Some(r), detailed_reasons: Some(d), fields, .. }
                if r == "INVALID_DATA_POINT_FILTER" && d == "INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER" && fields == ["filter"]
        ));
        let range = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Request contains an invalid argument.",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                {"field": "range.start", "description": "a"}, {"field": "range.end", "description": "b"}, {"field": "range", "description": "c"}]}]}});
        assert!(matches!(
            classify(400, None, None, range),
            ApiError::InvalidArgument { reason: None, fields, .. } if fields == ["range.start", "range.end", "range"]
        ));
    }

    #[test]
    fn oauth_errors_are_classified_by_code() {
        let body =
            |error: &str| json!({"error": error, "error_description": "Bad Request"}).to_string();
        assert!(matches!(
            OAuthError::from_response(400, body("invalid_grant").as_bytes()),
            OAuthError::InvalidGrant
        ));
        assert!(matches!(
            OAuthError::from_response(401, body("invalid_client").as_bytes()),
            OAuthError::InvalidClient
        ));
        assert!(matches!(
            OAuthError::from_response(400, body("redirect_uri_mismatch").as_bytes()),
            OAuthError::Rejected { error, .. } if error == "redirect_uri_mismatch"
        ));
        assert!(matches!(
            OAuthError::from_response(503, b""),
            OAuthError::Server { status: 503 }
        ));
        assert!(matches!(
            OAuthError::from_response(400, b"<html>"),
            OAuthError::Malformed { .. }
        ));
    }
}
