//! Open Humans' checks of an upload's `metadata` and `datatypes` fields (§5.3, §5.4), with
//! their exact messages.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::body::Field;

/// An ISO 8601 date or date-time as `arrow.get` reads it.
static ISO_8601: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4})(?:-?([0-9]{2})(?:-?([0-9]{2}))?)?(?:[T ][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$",
    )
    .ok()
});

/// `Ok` with the stored JSON object, or the message Open Humans puts under `"metadata"`.
pub(super) fn validate_metadata(field: Option<&Field>) -> Result<Value, &'static str> {
    let text = match field {
        None => return Err("This field is required."),
        Some(Field::Text(text)) if text.is_empty() => return Err("This field is required."),
        Some(Field::Text(text)) => text,
        Some(Field::Nested(_)) => return Err("could not parse the uploaded metadata"),
    };
    let metadata: Value =
        serde_json::from_str(text).map_err(|_| "could not parse the uploaded metadata")?;
    let Value::Object(object) = &metadata else {
        return Err("\"description\" is a required field of the metadata");
    };
    match object.get("description") {
        None => return Err("\"description\" is a required field of the metadata"),
        Some(Value::String(_)) => {}
        Some(_) => return Err("\"description\" must be a string"),
    }
    match object.get("tags") {
        None => return Err("\"tags\" is a required field of the metadata"),
        Some(Value::Array(_)) => {}
        Some(_) => return Err("\"tags\" must be an array of strings"),
    }
    for date_field in ["creation_date", "start_date", "end_date"] {
        if object.get(date_field).is_some_and(|v| !is_iso_8601(v)) {
            return Err("Dates must be in ISO 8601 format");
        }
    }
    if object.get("md5").is_some_and(|md5| !is_md5(md5)) {
        return Err("Invalid MD5 specified");
    }
    Ok(metadata)
}

/// Numbers pass because `arrow.get` reads them as Unix timestamps.
fn is_iso_8601(value: &Value) -> bool {
    let text = match value {
        Value::Number(_) => return true,
        Value::String(text) => text,
        _ => return false,
    };
    let Some(captures) = ISO_8601.as_ref().and_then(|re| re.captures(text)) else {
        return false;
    };
    let part = |i: usize, default: i8| {
        captures
            .get(i)
            .map_or(Some(default), |m| m.as_str().parse().ok())
    };
    let year = captures.get(1).and_then(|m| m.as_str().parse::<i16>().ok());
    match (year, part(2, 1), part(3, 1)) {
        (Some(year), Some(month), Some(day)) => jiff::civil::Date::new(year, month, day).is_ok(),
        _ => false,
    }
}

/// `re.match(r"[a-z0-9]{32}", md5, re.IGNORECASE)`: anchored at the start only, and not
/// limited to hex digits (faithful quirk).
fn is_md5(value: &Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    text.len() >= 32 && text.bytes().take(32).all(|b| b.is_ascii_alphanumeric())
}

/// `Ok(())` when the datatypes field is absent or names none; the simulated project has no
/// registered datatypes, so any named one is unknown.
pub(super) fn validate_datatypes(field: Option<&Field>) -> Result<(), String> {
    let parsed = match field {
        None => return Ok(()),
        Some(Field::Text(text)) if text.is_empty() => return Ok(()),
        Some(Field::Text(text)) => serde_json::from_str::<Value>(text).map_err(|_| text.clone()),
        Some(Field::Nested(value)) => Err(value.to_string()),
    };
    match parsed {
        Ok(Value::Array(items)) if items.is_empty() => Ok(()),
        Ok(Value::Array(items)) => {
            let names: Vec<String> = items.iter().map(python_repr).collect();
            Err(format!(
                "The following datatypes don't match items in our database: [{}]",
                names.join(", ")
            ))
        }
        Ok(other) => Err(format!(
            "Could not parse the uploaded datatypes from: '{other}'"
        )),
        Err(raw) => Err(format!(
            "Could not parse the uploaded datatypes from: '{raw}'"
        )),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(metadata: &str) -> Result<Value, &'static str> {
        validate_metadata(Some(&Field::Text(metadata.to_owned())))
    }

    #[test]
    fn the_minimal_metadata_is_accepted_and_echoed() {
        assert_eq!(
            check(r#"{"tags": [], "description": ""}"#),
            Ok(json!({"tags": [], "description": ""}))
        );
        let full = r#"{"description": "d", "tags": ["a"], "start_date": "2024-03-01",
            "end_date": "2024-03-31T23:59:59.999+01:00", "creation_date": "2024-04-01T02:03:04Z",
            "md5": "0123456789ABCDEF0123456789abcdef", "schema": 2}"#;
        assert!(check(full).is_ok());
    }

    #[test]
    fn each_rule_has_open_humans_message() {
        let cases = [
            ("not json", "could not parse the uploaded metadata"),
            ("{}", "\"description\" is a required field of the metadata"),
            (
                r#"{"tags": []}"#,
                "\"description\" is a required field of the metadata",
            ),
            (
                r#"{"description": 5, "tags": []}"#,
                "\"description\" must be a string",
            ),
            (
                r#"{"description": "d"}"#,
                "\"tags\" is a required field of the metadata",
            ),
            (
                r#"{"description": "d", "tags": "a"}"#,
                "\"tags\" must be an array of strings",
            ),
            (
                r#"{"description": "d", "tags": [], "start_date": "01/03/2024"}"#,
                "Dates must be in ISO 8601 format",
            ),
            (
                r#"{"description": "d", "tags": [], "end_date": "2024-13-01"}"#,
                "Dates must be in ISO 8601 format",
            ),
            (
                r#"{"description": "d", "tags": [], "md5": "abc"}"#,
                "Invalid MD5 specified",
            ),
        ];
        for (metadata, message) in cases {
            assert_eq!(check(metadata), Err(message), "{metadata}");
        }
    }

    #[test]
    fn an_object_instead_of_a_string_does_not_parse() {
        let nested = Field::Nested(json!({"tags": [], "description": ""}));
        assert_eq!(
            validate_metadata(Some(&nested)),
            Err("could not parse the uploaded metadata")
        );
        assert_eq!(validate_metadata(None), Err("This field is required."));
    }

    #[test]
    fn datatypes_are_optional_and_unknown_ones_are_named() {
        assert_eq!(validate_datatypes(None), Ok(()));
        assert_eq!(validate_datatypes(Some(&Field::Text("[]".into()))), Ok(()));
        assert_eq!(
            validate_datatypes(Some(&Field::Text(r#"["steps", 3]"#.into()))),
            Err("The following datatypes don't match items in our database: ['steps', 3]".into())
        );
        assert_eq!(
            validate_datatypes(Some(&Field::Text("steps".into()))),
            Err("Could not parse the uploaded datatypes from: 'steps'".into())
        );
    }
}
