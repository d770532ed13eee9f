//! The deauthorisation webhook Open Humans POSTs when a member leaves (§2.6): JSON signed
//! with HMAC-SHA1 of the raw body, re-sent once double-encoded when the first answer is not
//! 2xx. Delivered over plain HTTP/1.1, because a simulator only ever calls a local app.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use url::{Host, Url};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One POST of the webhook and how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(super) struct Attempt {
    pub body: String,
    /// `sha1=<hex>`, when the project has a webhook secret.
    pub signature: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// The body as Python's `json.dumps` writes it, which is what gets signed.
pub(super) fn payload(project_member_id: &str, erasure_requested: bool, timestamp: &str) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "{{\"project_member_id\": {}, \"erasure_requested\": {erasure_requested}, \"timestamp\": {}}}",
        text(project_member_id),
        text(timestamp)
    )
}

pub(super) async fn deliver(url: &Url, secret: Option<&str>, payload: &str) -> Vec<Attempt> {
    let first = attempt(url, secret, payload.to_owned()).await;
    let delivered = first.status.is_some_and(|s| (200..300).contains(&s));
    let mut attempts = vec![first];
    // "202007 legacy support": an answer that is not 2xx gets the JSON as a JSON string.
    if !delivered && attempts[0].status.is_some() {
        let double_encoded = serde_json::Value::from(payload).to_string();
        attempts.push(attempt(url, secret, double_encoded).await);
    }
    attempts
}

async fn attempt(url: &Url, secret: Option<&str>, body: String) -> Attempt {
    let signature = secret.and_then(|secret| sign(secret, &body));
    let result = tokio::time::timeout(TIMEOUT, post(url, &body, signature.as_deref()))
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()));
    let (status, error) = match result {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error)),
    };
    Attempt {
        body,
        signature,
        status,
        error,
    }
}

pub(super) fn sign(secret: &str, body: &str) -> Option<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body.as_bytes());
    Some(format!("sha1={}", hex::encode(mac.finalize().into_bytes())))
}

/// A minimal HTTP/1.1 POST that returns the response status.
async fn post(url: &Url, body: &str, signature: Option<&str>) -> Result<u16, String> {
    if url.scheme() != "http" {
        return Err(format!(
            "the simulator only delivers webhooks over http, not {}",
            url.scheme()
        ));
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => name.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the webhook URL has no host".to_owned()),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let signature_header = signature
        .map(|s| format!("X-OpenHumans-Webhooks-Signature: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: open-humans-sim\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{signature_header}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("could not connect: {e}"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("could not send: {e}"))?;
    let mut head = Vec::new();
    let mut buffer = [0; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|e| format!("could not read the answer: {e}"))?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    head.split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| "the answer is not HTTP".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_formatted_like_python_json_dumps() {
        assert_eq!(
            payload("12345678", true, "2020-06-30T20:00:00+00:00"),
            r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00+00:00"}"#
        );
    }

    #[test]
    fn the_signature_is_hex_hmac_sha1_of_the_body() {
        // RFC 2202 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?").as_deref(),
            Some("sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
    }
}
