//! The `metadata` of an uploaded file (§5.3), which Open Humans stores and echoes back as is.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// Open Humans requires `description` and `tags`, checks the dates and `md5` when present,
/// and keeps any other key. Serialised as a JSON object; the upload form sends it as the JSON
/// *string* Open Humans' form field expects (§1.3).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct FileMetadata {
    pub description: String,
    pub tags: Vec<String>,
    #[serde(default)]
    pub start_date: Option<Date>,
    #[serde(default)]
    pub end_date: Option<Date>,
    #[serde(default)]
    pub creation_date: Option<Timestamp>,
    /// Lower-case hex MD5 of the bytes, so a reader can verify a download.
    #[serde(default)]
    pub md5: Option<String>,
    /// Size of the bytes, so a file list can show it: Open Humans' listing does not.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Anything else worth keeping with the file (schema version, month, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FileMetadata {
    /// The value of the `metadata` form field.
    pub(crate) fn to_form_value(&self) -> String {
        Value::Object(self.to_map()).to_string()
    }

    /// The known fields win over `extra` entries of the same name, so the object never has
    /// two values for one key.
    fn to_map(&self) -> Map<String, Value> {
        let mut map = self.extra.clone();
        map.insert("description".into(), self.description.clone().into());
        map.insert("tags".into(), self.tags.clone().into());
        let optional = [
            ("start_date", self.start_date.map(|d| d.to_string().into())),
            ("end_date", self.end_date.map(|d| d.to_string().into())),
            (
                "creation_date",
                self.creation_date.map(|t| t.to_string().into()),
            ),
            ("md5", self.md5.clone().map(Value::from)),
            ("size_bytes", self.size_bytes.map(Value::from)),
        ];
        for (key, value) in optional {
            match value {
                Some(value) => map.insert(key.into(), value),
                None => map.remove(key),
            };
        }
        map
    }
}

impl Serialize for FileMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> FileMetadata {
        let mut extra = Map::new();
        extra.insert("schema_version".into(), json!(1));
        extra.insert("description".into(), json!("shadowed"));
        FileMetadata {
            description: "Fitbit intraday data, March 2024".into(),
            tags: vec!["fitbit".into(), "intraday".into()],
            start_date: Some(jiff::civil::date(2024, 3, 1)),
            end_date: Some(jiff::civil::date(2024, 3, 31)),
            creation_date: Some("2024-04-01T02:03:04Z".parse().unwrap()),
            md5: Some("0123456789abcdef0123456789abcdef".into()),
            size_bytes: Some(193),
            extra,
        }
    }

    #[test]
    fn the_form_value_is_one_json_object_with_iso_dates() {
        let value: Value = serde_json::from_str(&sample().to_form_value()).unwrap();
        assert_eq!(
            value,
            json!({
                "description": "Fitbit intraday data, March 2024",
                "tags": ["fitbit", "intraday"],
                "start_date": "2024-03-01",
                "end_date": "2024-03-31",
                "creation_date": "2024-04-01T02:03:04Z",
                "md5": "0123456789abcdef0123456789abcdef",
                "size_bytes": 193,
                "schema_version": 1,
            })
        );
    }

    #[test]
    fn absent_optional_fields_are_left_out() {
        let metadata = FileMetadata {
            description: String::new(),
            ..FileMetadata::default()
        };
        assert_eq!(metadata.to_form_value(), r#"{"description":"","tags":[]}"#);
    }

    #[test]
    fn metadata_read_back_from_open_humans_round_trips() {
        let mut expected = sample();
        expected.extra.remove("description");
        let echoed = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            serde_json::from_value::<FileMetadata>(echoed).unwrap(),
            expected
        );
    }
}
