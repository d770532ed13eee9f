//! Request bodies as DRF hands them to Django forms (§1.3): form-urlencoded, multipart or
//! JSON, with the quirks a form field sees.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use serde_json::Value;

use super::responses::ApiError;

/// One field's value as a Django form receives it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Field {
    Text(String),
    /// A JSON array or object in a JSON body. A `CharField` turns it into a Python repr,
    /// which is never valid JSON, so `metadata` sent as an object fails to parse.
    Nested(Value),
}

#[derive(Debug, Default)]
pub(super) struct Fields(HashMap<String, Field>);

/// Django's message for an `IntegerField` that is not one.
pub(super) const NOT_A_WHOLE_NUMBER: &str = "Enter a whole number.";

impl Fields {
    pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if body.is_empty() {
            return Ok(Self::default());
        }
        match media_type.as_str() {
            "application/x-www-form-urlencoded" => Ok(Self::from_form(body)),
            "application/json" => Self::from_json(body),
            "multipart/form-data" => Self::from_multipart(content_type, body),
            _ => Err(ApiError::UnsupportedMediaType(content_type.to_owned())),
        }
    }

    /// A repeated key keeps its last value, as `QueryDict.get()` does (faithful quirk).
    fn from_form(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Field::Text(v.into_owned())))
                .collect(),
        )
    }

    fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::detail(&format!("JSON parse error - {e}")))?;
        let Value::Object(object) = value else {
            return Err(ApiError::detail(
                "JSON parse error - the body must be a JSON object",
            ));
        };
        Ok(Self(
            object
                .into_iter()
                .filter_map(|(key, value)| {
                    let field = match value {
                        Value::Null => return None,
                        Value::String(text) => Field::Text(text),
                        // What `str()` of a Python bool gives, which BooleanField reads back.
                        Value::Bool(flag) => {
                            Field::Text(if flag { "True" } else { "False" }.into())
                        }
                        Value::Number(n) => Field::Text(n.to_string()),
                        nested => Field::Nested(nested),
                    };
                    Some((key, field))
                })
                .collect(),
        ))
    }

    /// Text parts only; file parts are ignored because no endpoint here takes a file.
    fn from_multipart(content_type: &str, body: &[u8]) -> Result<Self, ApiError> {
        let parse_error =
            || ApiError::detail("Multipart form parse error - Invalid boundary in multipart");
        let boundary = content_type
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"'))
            .find(|b| !b.is_empty())
            .ok_or_else(parse_error)?;
        let text = String::from_utf8_lossy(body);
        let delimiter = format!("--{boundary}");
        let mut fields = HashMap::new();
        let mut parts = text.split(delimiter.as_str());
        parts.next();
        for part in parts {
            if part.starts_with("--") {
                return Ok(Self(fields));
            }
            let part = part.strip_prefix("\r\n").ok_or_else(parse_error)?;
            let (head, value) = part.split_once("\r\n\r\n").ok_or_else(parse_error)?;
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            let disposition = head
                .lines()
                .find(|line| {
                    line.to_ascii_lowercase()
                        .starts_with("content-disposition:")
                })
                .ok_or_else(parse_error)?;
            if disposition.contains("filename=") {
                continue;
            }
            let name = disposition
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("name="))
                .map(|n| n.trim_matches('"'))
                .next()
                .ok_or_else(parse_error)?;
            fields.insert(name.to_owned(), Field::Text(value.to_owned()));
        }
        Err(parse_error())
    }

    pub(super) fn get(&self, name: &str) -> Option<&Field> {
        self.0.get(name)
    }

    /// A `CharField`: absent and empty are the same.
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(Field::Text(text)) if !text.is_empty() => Some(text),
            _ => None,
        }
    }

    /// A `BooleanField`: empty, `false` in any case and `0` are false, anything else true.
    pub(super) fn flag(&self, name: &str) -> bool {
        match self.0.get(name) {
            None => false,
            Some(Field::Nested(_)) => true,
            Some(Field::Text(text)) => {
                let text = text.trim();
                !(text.is_empty() || text.eq_ignore_ascii_case("false") || text == "0")
            }
        }
    }

    /// An optional `IntegerField`; `Err` carries Django's message.
    pub(super) fn integer(&self, name: &str) -> Result<Option<i64>, &'static str> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Field::Nested(_)) => Err(NOT_A_WHOLE_NUMBER),
            Some(Field::Text(text)) => {
                let text = text.trim();
                if text.is_empty() {
                    Ok(None)
                } else {
                    text.parse().map(Some).map_err(|_| NOT_A_WHOLE_NUMBER)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn a_repeated_form_key_keeps_the_last_value() {
        let fields = Fields::parse(
            &headers("application/x-www-form-urlencoded"),
            b"project_member_ids=11111111&project_member_ids=22222222&all_files=False",
        )
        .unwrap();
        assert_eq!(fields.text("project_member_ids"), Some("22222222"));
        assert!(!fields.flag("all_files"));
    }

    #[test]
    fn json_values_become_what_a_form_field_sees() {
        let fields = Fields::parse(
            &headers("application/json; charset=utf-8"),
            br#"{"file_id": 12, "all_files": true, "metadata": {"tags": []}, "subject": null}"#,
        )
        .unwrap();
        assert_eq!(fields.integer("file_id"), Ok(Some(12)));
        assert!(fields.flag("all_files"));
        assert!(matches!(fields.get("metadata"), Some(Field::Nested(_))));
        assert_eq!(fields.get("subject"), None);
    }

    #[test]
    fn multipart_text_parts_are_read() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"filename\"\r\n\r\na.json\r\n--XyZ\r\nContent-Disposition: form-data; name=\"data_file\"; filename=\"a\"\r\n\r\nbytes\r\n--XyZ--\r\n";
        let fields = Fields::parse(
            &headers("multipart/form-data; boundary=XyZ"),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(fields.text("filename"), Some("a.json"));
        assert_eq!(fields.get("data_file"), None);
    }

    #[test]
    fn unknown_media_types_and_bad_numbers_are_refused() {
        assert!(matches!(
            Fields::parse(&headers("text/plain"), b"x"),
            Err(ApiError::UnsupportedMediaType(t)) if t == "text/plain"
        ));
        let fields =
            Fields::parse(&headers("application/x-www-form-urlencoded"), b"file_id=x").unwrap();
        assert_eq!(fields.integer("file_id"), Err(NOT_A_WHOLE_NUMBER));
    }
}
