//! Google's strict parsing of JSON request bodies (proto3 JSON), with its error wording
//! (reference §3.3, §8.3 step 7): unknown field names, values of the wrong type, octal-looking
//! numbers and malformed JSON are 400 `INVALID_ARGUMENT` before any business rule runs.
//!
//! A body is checked against a small schema and normalized: JSON or proto field names become
//! the JSON names, `null` members disappear, and int32 values given as strings become numbers,
//! so the handler can deserialize it with plain serde.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::google::responses::GoogleError;

#[derive(Debug)]
pub(crate) enum Kind {
    Int32,
    String,
    /// `google.protobuf.Timestamp`: an RFC 3339 string.
    Timestamp,
    /// `google.protobuf.Duration`: seconds with up to nine fractional digits and an `s`.
    Duration,
    Message(&'static Message),
}

#[derive(Debug)]
pub(crate) struct Field {
    pub json: &'static str,
    pub proto: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub(crate) struct Message {
    /// Fully qualified proto name, as Google's messages print it.
    pub name: &'static str,
    pub fields: &'static [Field],
}

const fn field(json: &'static str, proto: &'static str, kind: Kind) -> Field {
    Field { json, proto, kind }
}

static DATE: Message = Message {
    name: "google.type.Date",
    fields: &[
        field("year", "year", Kind::Int32),
        field("month", "month", Kind::Int32),
        field("day", "day", Kind::Int32),
    ],
};

static TIME_OF_DAY: Message = Message {
    name: "google.type.TimeOfDay",
    fields: &[
        field("hours", "hours", Kind::Int32),
        field("minutes", "minutes", Kind::Int32),
        field("seconds", "seconds", Kind::Int32),
        field("nanos", "nanos", Kind::Int32),
    ],
};

static CIVIL_DATE_TIME: Message = Message {
    name: "google.devicesandservices.health.v4.CivilDateTime",
    fields: &[
        field("date", "date", Kind::Message(&DATE)),
        field("time", "time", Kind::Message(&TIME_OF_DAY)),
    ],
};

static CIVIL_TIME_INTERVAL: Message = Message {
    name: "google.devicesandservices.health.v4.CivilTimeInterval",
    fields: &[
        field("start", "start", Kind::Message(&CIVIL_DATE_TIME)),
        field("end", "end", Kind::Message(&CIVIL_DATE_TIME)),
    ],
};

/// `DailyRollUpDataPointsRequest` of the discovery document.
pub(crate) static DAILY_ROLL_UP_REQUEST: Message = Message {
    name: "google.devicesandservices.health.v4.DailyRollUpDataPointsRequest",
    fields: &[
        field("range", "range", Kind::Message(&CIVIL_TIME_INTERVAL)),
        field("windowSizeDays", "window_size_days", Kind::Int32),
        field("pageSize", "page_size", Kind::Int32),
        field("pageToken", "page_token", Kind::String),
        field("dataSourceFamily", "data_source_family", Kind::String),
    ],
};

static INTERVAL: Message = Message {
    name: "google.type.Interval",
    fields: &[
        field("startTime", "start_time", Kind::Timestamp),
        field("endTime", "end_time", Kind::Timestamp),
    ],
};

/// `RollUpDataPointsRequest` of the discovery document.
pub(crate) static ROLL_UP_REQUEST: Message = Message {
    name: "google.devicesandservices.health.v4.RollUpDataPointsRequest",
    fields: &[
        field("range", "range", Kind::Message(&INTERVAL)),
        field("windowSize", "window_size", Kind::Duration),
        field("pageSize", "page_size", Kind::Int32),
        field("pageToken", "page_token", Kind::String),
        field("dataSourceFamily", "data_source_family", Kind::String),
    ],
};

/// Whether `text` is a proto3 JSON `Duration` (`"60s"`, `"-1.5s"`).
fn is_duration(text: &str) -> bool {
    let Some(number) = text.strip_suffix('s') else {
        return false;
    };
    let number = number.strip_prefix('-').unwrap_or(number);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && fraction.len() <= 9
}

/// A rejected payload: Google's message and the field it names, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PayloadError {
    pub field: Option<String>,
    pub message: String,
}

impl PayloadError {
    fn invalid_json(detail: &str) -> Self {
        Self {
            field: None,
            message: format!("Invalid JSON payload received. {detail}"),
        }
    }
}

/// Whether the JSON text has a number with a leading zero (`09`), which Google's parser
/// reports as an octal number rather than a generic syntax error.
fn has_octal_number(body: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut previous = b' ';
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'0'
            && !previous.is_ascii_digit()
            && previous != b'.'
            && !matches!(previous, b'e' | b'E' | b'+')
            && body.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            return true;
        }
        if !b.is_ascii_whitespace() || in_string {
            previous = b;
        }
    }
    false
}

/// Parses `body` as `message` into the handler's request type; what Google would refuse is its
/// 400, and a body that passes the schema always deserializes.
pub(crate) fn request<T: DeserializeOwned>(
    body: &[u8],
    message: &Message,
) -> Result<T, GoogleError> {
    let normalized = parse(body, message)
        .map_err(|error| GoogleError::bad_payload(error.field.as_deref(), &error.message))?;
    serde_json::from_value(normalized).map_err(|_| GoogleError::internal())
}

/// Parses and normalizes `body` as `message`. An empty body is an empty message.
pub(crate) fn parse(body: &[u8], message: &Message) -> Result<Value, PayloadError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if has_octal_number(body) {
        return Err(PayloadError::invalid_json(
            "Octal/hex numbers are not valid JSON values.",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| PayloadError::invalid_json(&format!("Syntax error: {error}.")))?;
    let Value::Object(object) = value else {
        return Err(PayloadError::invalid_json(
            "Root element must be a message.",
        ));
    };
    walk(&object, message, "").map(Value::Object)
}

fn walk(
    object: &Map<String, Value>,
    message: &Message,
    path: &str,
) -> Result<Map<String, Value>, PayloadError> {
    let mut normalized = Map::new();
    for (name, value) in object {
        let Some(field) = message
            .fields
            .iter()
            .find(|f| f.json == name || f.proto == name)
        else {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at '{path}'")
            };
            return Err(PayloadError::invalid_json(&format!(
                "Unknown name {name:?}{at}: Cannot find field."
            )));
        };
        if value.is_null() {
            continue;
        }
        let field_path = if path.is_empty() {
            field.proto.to_owned()
        } else {
            format!("{path}.{}", field.proto)
        };
        let invalid = |type_name: &str| PayloadError {
            message: format!("Invalid value at '{field_path}' ({type_name}), {value}"),
            field: Some(field_path.clone()),
        };
        let normalized_value = match &field.kind {
            Kind::Int32 => {
                let number = match value {
                    Value::Number(number) => number.as_i64().or_else(|| {
                        number
                            .as_f64()
                            .filter(|f| f.fract() == 0.0)
                            .map(|f| f as i64)
                    }),
                    Value::String(text) => text.trim().parse::<i64>().ok(),
                    _ => None,
                };
                let number = number
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| invalid("TYPE_INT32"))?;
                Value::from(number)
            }
            Kind::String => match value {
                Value::String(_) => value.clone(),
                _ => return Err(invalid("TYPE_STRING")),
            },
            Kind::Timestamp => match value {
                Value::String(text) if text.parse::<jiff::Timestamp>().is_ok() => value.clone(),
                _ => return Err(invalid("type.googleapis.com/google.protobuf.Timestamp")),
            },
            Kind::Duration => match value {
                Value::String(text) if is_duration(text) => value.clone(),
                _ => return Err(invalid("type.googleapis.com/google.protobuf.Duration")),
            },
            Kind::Message(inner) => match value {
                Value::Object(inner_object) => {
                    Value::Object(walk(inner_object, inner, &field_path)?)
                }
                _ => return Err(invalid(&format!("type.googleapis.com/{}", inner.name))),
            },
        };
        normalized.insert(field.json.to_owned(), normalized_value);
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_rollup(body: &str) -> Result<Value, PayloadError> {
        parse(body.as_bytes(), &DAILY_ROLL_UP_REQUEST)
    }

    #[test]
    fn valid_bodies_are_normalized() {
        let value = parse_rollup(
            r#"{"range":{"start":{"date":{"year":2026,"month":"9","day":1.0}},"end":{"date":{"year":2026,"month":9,"day":30}, "time": null}},
                "window_size_days":1,"pageToken":"t"}"#,
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"range": {"start": {"date": {"year": 2026, "month": 9, "day": 1}}, "end": {"date": {"year": 2026, "month": 9, "day": 30}}},
                   "windowSizeDays": 1, "pageToken": "t"})
        );
        assert_eq!(parse_rollup("  ").unwrap(), json!({}));
    }

    #[test]
    fn timestamps_and_durations_are_checked() {
        let body = r#"{"range":{"start_time":"2026-09-01T00:00:00Z","endTime":"2026-09-02T00:00:00.5+02:00"},"windowSize":"60s"}"#;
        let value = parse(body.as_bytes(), &ROLL_UP_REQUEST).unwrap();
        assert_eq!(value["range"]["startTime"], "2026-09-01T00:00:00Z");
        for bad in [
            r#"{"range":{"startTime":"2026-09-01"}}"#,
            r#"{"windowSize":"60"}"#,
            r#"{"windowSize":60}"#,
            r#"{"windowSize":"1.0000000001s"}"#,
        ] {
            let error = parse(bad.as_bytes(), &ROLL_UP_REQUEST).unwrap_err();
            assert!(
                error
                    .message
                    .contains("type.googleapis.com/google.protobuf"),
                "{bad}"
            );
        }
        assert!(is_duration("-1.5s") && is_duration("0s") && !is_duration("s"));
    }

    #[test]
    fn unknown_names_are_reported_with_their_path() {
        assert_eq!(
            parse_rollup(r#"{"foo":1}"#).unwrap_err().message,
            r#"Invalid JSON payload received. Unknown name "foo": Cannot find field."#
        );
        assert_eq!(
            parse_rollup(r#"{"range":{"start":{"date":{"year":2026},"zone":"UTC"}}}"#)
                .unwrap_err()
                .message,
            r#"Invalid JSON payload received. Unknown name "zone" at 'range.start': Cannot find field."#
        );
    }

    #[test]
    fn wrong_values_and_bad_json_are_rejected() {
        let error = parse_rollup(r#"{"pageSize":"ten"}"#).unwrap_err();
        assert_eq!(
            error.message,
            r#"Invalid value at 'page_size' (TYPE_INT32), "ten""#
        );
        assert_eq!(error.field.as_deref(), Some("page_size"));
        assert!(parse_rollup(r#"{"pageSize":1.5}"#).is_err());
        assert!(parse_rollup(r#"{"pageSize":3000000000}"#).is_err());
        assert!(parse_rollup(r#"{"pageToken":5}"#).is_err());
        assert!(
            parse_rollup(r#"{"range":5}"#)
                .unwrap_err()
                .message
                .contains("CivilTimeInterval")
        );
        assert_eq!(
            parse_rollup(r#"{"range":{"start":{"date":{"year":2026,"month":09,"day":1}}}}"#)
                .unwrap_err()
                .message,
            "Invalid JSON payload received. Octal/hex numbers are not valid JSON values."
        );
        assert!(
            parse_rollup(r#"{"pageToken":"09","pageSize":10, "x": 0.05}"#)
                .unwrap_err()
                .message
                .contains("Unknown name")
        );
        assert!(
            parse_rollup("{")
                .unwrap_err()
                .message
                .starts_with("Invalid JSON payload received.")
        );
        assert_eq!(
            parse_rollup("[]").unwrap_err().message,
            "Invalid JSON payload received. Root element must be a message."
        );
    }
}
