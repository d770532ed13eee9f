//! Google's response shapes: the JSON error envelope (`google.rpc.Status`, AIP-193) with the
//! bodies of reference §3.3, the front end's HTML 404 page, the OAuth error pages, and JSON
//! success bodies with Google's content type.

use axum::{
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

use super::knobs::ScopeErrorShape;

const JSON: &str = "application/json; charset=UTF-8";
const HTML: &str = "text/html; charset=UTF-8";
const REALM: &str = r#"Bearer realm="https://accounts.google.com/""#;
const SERVICE: &str = "health.googleapis.com";
/// `ErrorInfo.domain` of authentication and quota errors (Google's front end).
const FRONT_END: &str = "googleapis.com";

/// A JSON body with Google's content type.
pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, JSON)], bytes).into_response(),
        Err(_) => GoogleError::internal().into_response(),
    }
}

/// A JSON body already rendered, with Google's content type.
pub(crate) fn json_text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

/// The message of an `INVALID_ARGUMENT` with several field violations (Google's generic one).
pub(crate) const INVALID_ARGUMENT_MESSAGE: &str = "Request contains an invalid argument.";

/// A Google JSON error: `{"error": {code, message, status, details}}` plus headers, or (for
/// the OAuth-shaped scope error) `{"error": "<code>", "error_description": "…"}`.
#[derive(Debug)]
pub(crate) struct GoogleError {
    status: StatusCode,
    canonical: &'static str,
    message: String,
    details: Vec<Value>,
    headers: Vec<(HeaderName, String)>,
    /// The body is RFC 6750's `{"error":"insufficient_scope",…}`, not `google.rpc.Status`
    /// (the only OAuth-shaped error of the Health API).
    oauth_insufficient_scope: bool,
}

impl GoogleError {
    fn new(status: StatusCode, canonical: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            canonical,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
            oauth_insufficient_scope: false,
        }
    }

    fn error_info(mut self, reason: &str, domain: &str, metadata: Option<Value>) -> Self {
        let mut info = json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": domain,
        });
        if let Some(metadata) = metadata {
            info["metadata"] = metadata;
        }
        self.details.push(info);
        self
    }

    /// Adds a `google.rpc.BadRequest` field violation.
    pub(crate) fn field_violation(self, field: Option<&str>, description: &str) -> Self {
        self.field_violations(&[(field, description)])
    }

    /// Adds one `google.rpc.BadRequest` holding these field violations, in order.
    pub(crate) fn field_violations(mut self, violations: &[(Option<&str>, &str)]) -> Self {
        let violations: Vec<Value> = violations
            .iter()
            .map(|(field, description)| {
                let mut violation = json!({ "description": description });
                if let Some(field) = field {
                    violation["field"] = json!(field);
                }
                violation
            })
            .collect();
        self.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
        self
    }

    fn header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn method_metadata(method: &str) -> Value {
        json!({ "method": method, "service": SERVICE })
    }

    /// 401 without any credential (verbatim live capture).
    pub(crate) fn credentials_missing(method: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        .error_info("CREDENTIALS_MISSING", FRONT_END, Some(Self::method_metadata(method)))
        .header(header::WWW_AUTHENTICATE, REALM.to_owned())
    }

    /// 401 for an API key where an OAuth token is required.
    pub(crate) fn api_key_rejected(method: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication",
        )
        .error_info("CREDENTIALS_MISSING", FRONT_END, Some(Self::method_metadata(method)))
        .header(header::WWW_AUTHENTICATE, REALM.to_owned())
    }

    /// 401 for an unknown, expired or revoked access token (verbatim live capture).
    pub(crate) fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        .header(header::WWW_AUTHENTICATE, format!(r#"{REALM}, error="invalid_token""#))
    }

    /// 403 when the token lacks the scope (`scope`: the scope(s) that would do), in the shape
    /// the `scope_error_shape` knob asks for. Both shapes carry the same challenge.
    pub(crate) fn scope_insufficient(method: &str, scope: &str, shape: ScopeErrorShape) -> Self {
        let error = Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        )
        .header(
            header::WWW_AUTHENTICATE,
            format!(r#"{REALM}, error="insufficient_scope", scope="{scope}""#),
        );
        match shape {
            ScopeErrorShape::Aip193 => error.error_info(
                "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                FRONT_END,
                Some(Self::method_metadata(method)),
            ),
            // RFC 6750 §3.1's `insufficient_scope`; the description's wording is not from a
            // capture (none exists for this shape), so Google's AIP-193 message is reused.
            ScopeErrorShape::Oauth => Self {
                oauth_insufficient_scope: true,
                ..error
            },
        }
    }

    /// 400 when the Google account has no Google Health account linked.
    pub(crate) fn account_not_linked() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "The account is not linked to Google Health.",
        )
        .error_info(
            "ACCOUNT_NOT_LINKED",
            SERVICE,
            Some(json!({ "redirect_uri": "https://fitbit.google.com/auth/signup" })),
        )
    }

    /// 412 when the member has no Google Health profile yet.
    pub(crate) fn no_profile() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "FAILED_PRECONDITION",
            "Precondition check failed.",
        )
    }

    /// 403 for an account that still signs in with a legacy Fitbit login ("Could not mint
    /// UberMint from GaiaMint" is only in Google's logs, not in the body).
    pub(crate) fn legacy_login() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission.",
        )
    }

    /// 429 per-user quota error (reference §3.3).
    pub(crate) fn quota_exceeded(project: &str, limit: u32, retry_after: Option<u64>) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            format!(
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service '{SERVICE}' for consumer 'project_number:{project}'."
            ),
        )
        .error_info(
            "RATE_LIMIT_EXCEEDED",
            FRONT_END,
            Some(json!({
                "consumer": format!("projects/{project}"),
                "quota_metric": "health.googleapis.com/default_requests",
                "quota_limit": "RequestsPerMinutePerUser",
                "quota_limit_value": limit.to_string(),
                "quota_location": "global",
                "service": SERVICE,
            })),
        );
        error.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{
                "description": "Request a higher quota limit.",
                "url": "https://cloud.google.com/docs/quotas/help/request_increase",
            }],
        }));
        match retry_after {
            Some(seconds) => error.header(header::RETRY_AFTER, seconds.to_string()),
            None => error,
        }
    }

    /// 400 `INVALID_ARGUMENT` with a Health API `ErrorInfo.reason`.
    pub(crate) fn invalid_argument(reason: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
            .error_info(reason, SERVICE, None)
    }

    /// 400 `INVALID_ARGUMENT` for a request that does not parse (JSON payload, query
    /// parameters): Google's parser errors carry no `ErrorInfo`, only the field violation.
    pub(crate) fn bad_payload(field: Option<&str>, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
            .field_violation(field, message)
    }

    /// 400 `INVALID_ARGUMENT` for a request with invalid fields, every one of them in one
    /// `BadRequest` (`(field, description)` in order). Like [`GoogleError::bad_payload`] the
    /// message is the description when there is one violation; with several it is Google's
    /// generic "Request contains an invalid argument." (INFERRED: no capture lists several).
    pub(crate) fn bad_fields(violations: &[(String, String)]) -> Self {
        let message = match violations {
            [(_, description)] => description.as_str(),
            _ => INVALID_ARGUMENT_MESSAGE,
        };
        let violations: Vec<(Option<&str>, &str)> = violations
            .iter()
            .map(|(field, description)| (Some(field.as_str()), description.as_str()))
            .collect();
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
            .field_violations(&violations)
    }

    /// 400 `INVALID_ARGUMENT` for a `filter` that is rejected, in the shape recorded live:
    /// `ErrorInfo.reason` `INVALID_DATA_POINT_FILTER` whatever the problem, the specific
    /// reason(s) in `metadata.detailedReasons`, and one `filter` field violation per problem.
    pub(crate) fn invalid_filter(
        detailed_reasons: &str,
        message: &str,
        descriptions: &[&str],
    ) -> Self {
        let violations: Vec<(Option<&str>, &str)> = descriptions
            .iter()
            .map(|description| (Some("filter"), *description))
            .collect();
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
            .error_info(
                "INVALID_DATA_POINT_FILTER",
                SERVICE,
                Some(json!({ "detailedReasons": detailed_reasons })),
            )
            .field_violations(&violations)
    }

    /// 400 for a page token that was not issued for this request.
    pub(crate) fn invalid_page_token(description: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid page token.",
        )
        .field_violation(Some("page_token"), description)
    }

    /// 404 JSON for a well-formed name that does not exist.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
        )
    }

    /// 500, for states the simulator cannot represent (never expected).
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let body = match self.oauth_insufficient_scope {
            true => json!({ "error": "insufficient_scope", "error_description": self.message }),
            false => {
                let mut error = json!({
                    "code": self.status.as_u16(),
                    "message": self.message,
                    "status": self.canonical,
                });
                if !self.details.is_empty() {
                    error["details"] = Value::Array(self.details);
                }
                json!({ "error": error })
            }
        };
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, JSON)],
            body.to_string(),
        )
            .into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// An HTML page, never cached (the console's pages show client secrets).
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HTML),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The Google front end's 404 page for a path no route matches (before any authentication).
pub(crate) fn not_found_html(path: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <meta name=viewport content=\"initial-scale=1, minimum-scale=1, width=device-width\">\n  <title>Error 404 (Not Found)!!1</title>\n  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n  <p><b>404.</b> <ins>That\u{2019}s an error.</ins>\n  <p>The requested URL <code>{}</code> was not found on this server.  <ins>That\u{2019}s all we know.</ins>\n",
        escape_html(path)
    );
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, HTML)], body).into_response()
}

/// Google's consent-screen error page ("Access blocked: Authorization Error"), shown instead
/// of redirecting when the client or the redirect URI cannot be trusted. `heading` is Google's
/// line such as `Error 400: redirect_uri_mismatch`.
pub(crate) fn oauth_error_page(heading: &str, detail: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en>\n<head><meta charset=utf-8><title>{heading}</title></head>\n<body>\n<h1>Access blocked: Authorization Error</h1>\n<p>{}</p>\n<p><b>{heading}</b></p>\n</body>\n</html>\n",
        escape_html(detail),
        heading = escape_html(heading),
    );
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, HTML)],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> (StatusCode, axum::http::HeaderMap, String) {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn credentials_missing_is_the_verbatim_capture() {
        let (status, headers, text) = body(
            GoogleError::credentials_missing(
                "google.devicesandservices.health.v4.DataPointsService.ListDataPoints",
            )
            .into_response(),
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(headers[header::WWW_AUTHENTICATE], REALM);
        assert_eq!(headers[header::CONTENT_TYPE], JSON);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["status"], "UNAUTHENTICATED");
        assert_eq!(
            value["error"]["details"][0]["reason"],
            "CREDENTIALS_MISSING"
        );
        assert_eq!(
            value["error"]["details"][0]["metadata"]["method"],
            "google.devicesandservices.health.v4.DataPointsService.ListDataPoints"
        );
    }

    #[tokio::test]
    async fn quota_errors_carry_retry_after_only_when_set() {
        let (status, headers, text) =
            body(GoogleError::quota_exceeded("123", 300, Some(7)).into_response()).await;
        assert_eq!(status, 429);
        assert_eq!(headers[header::RETRY_AFTER], "7");
        assert!(
            text.contains("RATE_LIMIT_EXCEEDED") && text.contains("\"quota_limit_value\":\"300\"")
        );
        let (_, headers, _) =
            body(GoogleError::quota_exceeded("123", 300, None).into_response()).await;
        assert!(!headers.contains_key(header::RETRY_AFTER));
    }

    #[tokio::test]
    async fn scope_errors_come_in_both_shapes_with_the_same_challenge() {
        let scope = "https://www.googleapis.com/auth/googlehealth.sleep.readonly";
        let method = "google.devicesandservices.health.v4.DataPointsService.ListDataPoints";
        let challenge = format!(r#"{REALM}, error="insufficient_scope", scope="{scope}""#);
        let (status, headers, text) = body(
            GoogleError::scope_insufficient(method, scope, ScopeErrorShape::Aip193).into_response(),
        )
        .await;
        assert_eq!(
            (
                status.as_u16(),
                headers[header::WWW_AUTHENTICATE].to_str().unwrap()
            ),
            (403, &challenge[..])
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["status"], "PERMISSION_DENIED");
        assert_eq!(
            value["error"]["details"][0]["reason"],
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
        );
        let (status, headers, text) = body(
            GoogleError::scope_insufficient(method, scope, ScopeErrorShape::Oauth).into_response(),
        )
        .await;
        assert_eq!(
            (
                status.as_u16(),
                headers[header::WWW_AUTHENTICATE].to_str().unwrap()
            ),
            (403, &challenge[..])
        );
        assert_eq!(headers[header::CONTENT_TYPE], JSON);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({"error": "insufficient_scope", "error_description": "Request had insufficient authentication scopes."})
        );
    }

    #[tokio::test]
    async fn several_field_violations_share_one_bad_request() {
        let one = [("range.end".to_owned(), "range.end is required.".to_owned())];
        let (_, _, text) = body(GoogleError::bad_fields(&one).into_response()).await;
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["message"], "range.end is required.");
        let two = [
            ("range.start".to_owned(), "a".to_owned()),
            ("range".to_owned(), "b".to_owned()),
        ];
        let (status, _, text) = body(GoogleError::bad_fields(&two).into_response()).await;
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, 400);
        assert_eq!(value["error"]["message"], INVALID_ARGUMENT_MESSAGE);
        assert_eq!(value["error"]["details"].as_array().unwrap().len(), 1);
        assert_eq!(
            value["error"]["details"][0]["fieldViolations"],
            json!([{"field": "range.start", "description": "a"}, {"field": "range", "description": "b"}])
        );
    }

    #[tokio::test]
    async fn the_404_page_echoes_the_escaped_path() {
        let (status, headers, text) = body(not_found_html("/v4/<x>")).await;
        assert_eq!(status, 404);
        assert_eq!(headers[header::CONTENT_TYPE], HTML);
        assert!(text.contains("<code>/v4/&lt;x&gt;</code> was not found on this server."));
    }
}
