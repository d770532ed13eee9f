//! AWS Signature Version 2 query-string authentication, as boto 2 presigns Open Humans'
//! upload URLs (§5.1): `Signature`, `Expires` and `AWSAccessKeyId` parameters, the
//! signature being a base64 HMAC-SHA1 over
//! `"<verb>\n<Content-MD5>\n<Content-Type>\n<Expires>\n<x-amz-* headers><resource>"`.

use std::{fmt, io};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use url::Url;

use super::random::SimRng;

type HmacSha1 = Hmac<Sha1>;

/// The simulated bucket and the credentials that sign its URLs.
pub(super) struct Signer {
    pub bucket: String,
    access_key_id: String,
    /// Keyed with the secret access key.
    mac: HmacSha1,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What a request presents for verification: the parts that enter the string to sign.
#[derive(Debug)]
pub(super) struct SignedRequest<'a> {
    pub method: &'a str,
    /// `/<bucket>/<key>` exactly as the request path carried it (percent-encoded).
    pub resource: &'a str,
    /// The raw query string.
    pub query: &'a str,
    pub content_md5: &'a str,
    pub content_type: &'a str,
    /// `(lower-case name, value)` of every `x-amz-*` header.
    pub amz_headers: Vec<(String, String)>,
    /// Unix seconds.
    pub now: i64,
}

/// Why S3 refuses a presigned request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    MissingParameters,
    UnknownAccessKey,
    Expired,
    SignatureDoesNotMatch { string_to_sign: String },
}

impl Signer {
    pub(super) fn new(rng: &SimRng) -> io::Result<Self> {
        let secret = rng.alphanumeric(40);
        let mac = HmacSha1::new_from_slice(secret.as_bytes()).map_err(io::Error::other)?;
        Ok(Self {
            bucket: "open-humans-sim".to_owned(),
            access_key_id: "AKIAOPENHUMANSSIM000".to_owned(),
            mac,
        })
    }

    /// A presigned URL for `method` on `key`, under `<base>s3/<bucket>/`.
    pub(super) fn presign(&self, base: &Url, method: &str, key: &str, expires: i64) -> Url {
        let resource = format!("/{}/{}", self.bucket, encode_key(key));
        let signature = self.sign(&string_to_sign(method, "", "", expires, &[], &resource));
        let mut url = base.clone();
        url.set_path(&format!("{}s3{resource}", base.path()));
        url.query_pairs_mut()
            .append_pair("Signature", &signature)
            .append_pair("Expires", &expires.to_string())
            .append_pair("AWSAccessKeyId", &self.access_key_id);
        url
    }

    /// Checks the request as received, so any header that enters the string to sign but
    /// was not signed (a Content-Type, say) makes the signature mismatch.
    pub(super) fn verify(&self, request: &SignedRequest<'_>) -> Result<(), Refusal> {
        let param = |name: &str| {
            url::form_urlencoded::parse(request.query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let (Some(signature), Some(expires), Some(key_id)) = (
            param("Signature"),
            param("Expires"),
            param("AWSAccessKeyId"),
        ) else {
            return Err(Refusal::MissingParameters);
        };
        if key_id != self.access_key_id {
            return Err(Refusal::UnknownAccessKey);
        }
        let Ok(expires) = expires.parse::<i64>() else {
            return Err(Refusal::MissingParameters);
        };
        if expires < request.now {
            return Err(Refusal::Expired);
        }
        let string_to_sign = string_to_sign(
            request.method,
            request.content_md5,
            request.content_type,
            expires,
            &request.amz_headers,
            request.resource,
        );
        let provided = BASE64.decode(signature.as_bytes()).unwrap_or_default();
        let mut mac = self.mac.clone();
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&provided)
            .map_err(|_| Refusal::SignatureDoesNotMatch { string_to_sign })
    }

    fn sign(&self, string_to_sign: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(string_to_sign.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }
}

fn string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    expires: i64,
    amz_headers: &[(String, String)],
    resource: &str,
) -> String {
    let mut amz: Vec<_> = amz_headers
        .iter()
        .map(|(name, value)| format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()))
        .collect();
    amz.sort();
    format!(
        "{method}\n{content_md5}\n{content_type}\n{expires}\n{}{resource}",
        amz.concat()
    )
}

/// Percent-encodes a key for the URL path as boto's `urllib.quote` does: everything but
/// unreserved characters and `/`.
pub(super) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The key a request path names; `None` for a broken escape or a non-UTF-8 key.
pub(super) fn decode_key(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "member-files/direct-sharing-128/9e66a62e-61a8-11e8-b07f-0adfe9ac8c63/fitbit 2024-03.json.gz";

    fn signer() -> Signer {
        Signer::new(&SimRng::new().unwrap()).unwrap()
    }

    /// A request for the presigned URL, presented as S3 would see it.
    fn request<'a>(url: &'a Url, method: &'a str, now: i64) -> SignedRequest<'a> {
        SignedRequest {
            method,
            resource: url.path().strip_prefix("/s3").unwrap(),
            query: url.query().unwrap(),
            content_md5: "",
            content_type: "",
            amz_headers: Vec::new(),
            now,
        }
    }

    fn presigned(signer: &Signer) -> Url {
        let base = Url::parse("http://127.0.0.1:4000/").unwrap();
        signer.presign(&base, "PUT", KEY, 1_530_615_100)
    }

    #[test]
    fn a_presigned_url_verifies_until_it_expires() {
        let signer = signer();
        let url = presigned(&signer);
        assert!(url.path().starts_with("/s3/open-humans-sim/member-files/"));
        assert!(url.path().ends_with("/fitbit%202024-03.json.gz"));
        assert_eq!(signer.verify(&request(&url, "PUT", 1_530_615_100)), Ok(()));
        assert_eq!(
            signer.verify(&request(&url, "PUT", 1_530_615_101)),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn unsigned_headers_or_another_method_break_the_signature() {
        let signer = signer();
        let url = presigned(&signer);
        let now = 1_530_000_000;
        let with_type = SignedRequest {
            content_type: "application/octet-stream",
            ..request(&url, "PUT", now)
        };
        let Err(Refusal::SignatureDoesNotMatch { string_to_sign }) = signer.verify(&with_type)
        else {
            panic!("a Content-Type must break the signature");
        };
        assert!(
            string_to_sign
                .starts_with("PUT\n\napplication/octet-stream\n1530615100\n/open-humans-sim/")
        );
        let with_md5 = SignedRequest {
            content_md5: "1B2M2Y8AsgTpgAmY7PhCfg==",
            ..request(&url, "PUT", now)
        };
        assert!(signer.verify(&with_md5).is_err());
        let with_amz = SignedRequest {
            amz_headers: vec![("x-amz-acl".into(), "private".into())],
            ..request(&url, "PUT", now)
        };
        assert!(signer.verify(&with_amz).is_err());
        assert!(signer.verify(&request(&url, "GET", now)).is_err());
    }

    #[test]
    fn a_tampered_or_foreign_signature_is_refused() {
        let signer = signer();
        let url = presigned(&signer);
        let other = presigned(&self::signer());
        let forged = SignedRequest {
            query: other.query().unwrap(),
            ..request(&url, "PUT", 0)
        };
        assert!(matches!(
            signer.verify(&forged),
            Err(Refusal::SignatureDoesNotMatch { .. })
        ));
        let missing = SignedRequest {
            query: "Expires=1",
            ..request(&url, "PUT", 0)
        };
        assert_eq!(signer.verify(&missing), Err(Refusal::MissingParameters));
    }

    #[test]
    fn the_string_to_sign_matches_boto() {
        assert_eq!(
            string_to_sign("PUT", "", "", 1_527_445_347, &[], "/bucket/a/b.csv"),
            "PUT\n\n\n1527445347\n/bucket/a/b.csv"
        );
    }

    #[test]
    fn keys_round_trip_through_the_path_encoding() {
        let encoded = encode_key("a/b c+d%é.json");
        assert_eq!(encoded, "a/b%20c%2Bd%25%C3%A9.json");
        assert_eq!(decode_key(&encoded).as_deref(), Some("a/b c+d%é.json"));
        assert_eq!(decode_key("bad%2"), None);
    }
}
