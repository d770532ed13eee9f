//! The S3 bucket behind Open Humans' presigned URLs (§11.2 B3, B6): PUT stores an object,
//! GET and HEAD read it, all under SigV2 query authentication. Served path-style under
//! `/s3/<bucket>/<key>`.

use std::sync::Arc;

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use md5::{Digest, Md5};

use super::{
    signing::{Refusal, SignedRequest, decode_key},
    state::{S3Object, SimState},
};

/// S3's limit for a single PUT.
const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

pub(super) fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/s3/{*path}", any(object))
}

/// An S3 error, answered as S3's XML error document.
#[derive(Debug)]
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            code,
            message,
        }
    }
}

impl From<Refusal> for S3Error {
    fn from(refusal: Refusal) -> Self {
        let forbidden = |code, message| Self::new(StatusCode::FORBIDDEN, code, message);
        match refusal {
            Refusal::MissingParameters => forbidden(
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            ),
            Refusal::UnknownAccessKey => forbidden(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            Refusal::Expired => forbidden("AccessDenied", "Request has expired"),
            Refusal::SignatureDoesNotMatch { .. } => forbidden(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
        }
    }
}

/// One handler for the whole bucket: the response carries the request id that S3 puts in
/// every answer, success or error.
async fn object(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let request_id = state.rng.hex(8).to_ascii_uppercase();
    let host_id = BASE64.encode(state.rng.bytes(48));
    let is_head = request.method() == Method::HEAD;
    let mut response = match serve(&state, request).await {
        Ok(response) => response,
        Err(error) if is_head => error.status.into_response(),
        Err(error) => error_document(&error, &request_id, &host_id),
    };
    let headers = response.headers_mut();
    for (name, value) in [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn error_document(error: &S3Error, request_id: &str, host_id: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>",
        error.code, error.message
    );
    (
        error.status,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}

async fn serve(state: &SimState, request: Request) -> Result<Response, S3Error> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let resource = path.strip_prefix("/s3").unwrap_or(path);
    let (bucket, encoded_key) = resource
        .strip_prefix('/')
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or((resource.trim_start_matches('/'), ""));
    if bucket != state.signer.bucket {
        return Err(S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        ));
    }
    let key = decode_key(encoded_key)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidURI",
                "Couldn't parse the specified URI.",
            )
        })?;
    let header = |name: HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    let content_md5 = header(HeaderName::from_static("content-md5"));
    let content_type = header(header::CONTENT_TYPE);
    state.signer.verify(&SignedRequest {
        method: parts.method.as_str(),
        resource,
        query: parts.uri.query().unwrap_or(""),
        content_md5: &content_md5,
        content_type: &content_type,
        amz_headers: amz_headers(&parts.headers),
        now: state.now().as_second(),
    })?;
    match parts.method {
        Method::PUT => put(state, &parts.headers, key, body).await,
        Method::GET | Method::HEAD => get(state, &key, parts.method == Method::HEAD),
        _ => Err(S3Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )),
    }
}

fn amz_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-amz-"))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn put(
    state: &SimState,
    headers: &HeaderMap,
    key: String,
    body: Body,
) -> Result<Response, S3Error> {
    let chunked = headers
        .get(header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return Err(S3Error::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        ));
    }
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            S3Error::new(
                StatusCode::LENGTH_REQUIRED,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            )
        })?;
    let too_large = || {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
        )
    };
    if length > MAX_OBJECT_BYTES {
        return Err(too_large());
    }
    let limit = usize::try_from(length).map_err(|_| too_large())?;
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        )
    })?;
    let etag = hex::encode(Md5::digest(&bytes));
    let version_id = state.rng.alphanumeric(32);
    let object = S3Object {
        bytes: bytes.to_vec(),
        etag: etag.clone(),
        version_id: version_id.clone(),
        last_modified: state.now(),
    };
    state.lock().objects.insert(key, object);
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, format!("\"{etag}\"")),
            (HeaderName::from_static("x-amz-version-id"), version_id),
        ],
    )
        .into_response())
}

fn get(state: &SimState, key: &str, head: bool) -> Result<Response, S3Error> {
    let object = state.lock().objects.get(key).cloned().ok_or_else(|| {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    })?;
    let headers = [
        (header::CONTENT_TYPE, "binary/octet-stream".to_owned()),
        (header::CONTENT_LENGTH, object.bytes.len().to_string()),
        (header::ETAG, format!("\"{}\"", object.etag)),
        (
            header::LAST_MODIFIED,
            object
                .last_modified
                .strftime("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ),
        (
            HeaderName::from_static("x-amz-version-id"),
            object.version_id,
        ),
    ];
    let body = if head {
        Body::empty()
    } else {
        Body::from(object.bytes)
    };
    Ok((StatusCode::OK, headers, body).into_response())
}
