//! A `list` page, parsed once: each data point goes to the caller's [`PointSink`] as the page
//! is read, so a caller reading millions of points builds its own form straight from the text
//! (parsing every point into a JSON tree first was most of an import's CPU time).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Receives a page's data points one at a time, each as a deserializer over its JSON object.
pub trait PointSink {
    fn point<'de, D: Deserializer<'de>>(&mut self, point: D) -> Result<(), D::Error>;
}

/// Collects the points as JSON values.
impl PointSink for Vec<Value> {
    fn point<'de, D: Deserializer<'de>>(&mut self, point: D) -> Result<(), D::Error> {
        self.push(de::Deserialize::deserialize(point)?);
        Ok(())
    }
}

/// One page of raw data points, newest first, as Google sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct ListPage {
    body: String,
}

impl ListPage {
    /// Checks only the outline (UTF-8, an object); [`ListPage::read`] parses the rest.
    pub(crate) fn from_json(body: Vec<u8>) -> serde_json::Result<Self> {
        let body = String::from_utf8(body).map_err(de::Error::custom)?;
        if !body.trim_start().starts_with('{') {
            return Err(de::Error::custom("the response is not a JSON object"));
        }
        Ok(Self { body })
    }

    /// Gives each point to `sink`, newest first, and returns the next page token: `None` when
    /// Google omitted it or sent `""`. A non-final page may be empty: loop on the token, not on
    /// emptiness.
    pub fn read(&self, sink: &mut impl PointSink) -> serde_json::Result<Option<String>> {
        let mut deserializer = serde_json::Deserializer::from_str(&self.body);
        let token = deserializer.deserialize_map(Response { sink })?;
        deserializer.end()?;
        Ok(token.filter(|token| !token.is_empty()))
    }

    /// The points as JSON values, and the next page token.
    pub fn values(&self) -> serde_json::Result<(Vec<Value>, Option<String>)> {
        let mut points = Vec::new();
        let token = self.read(&mut points)?;
        Ok((points, token))
    }
}

struct Response<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: PointSink> Visitor<'de> for Response<'_, S> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "dataPoints" => map.next_value_seed(Points {
                    sink: &mut *self.sink,
                })?,
                "nextPageToken" => token = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(token)
    }
}

/// `dataPoints`: an array of objects, or `null`.
struct Points<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: PointSink> DeserializeSeed<'de> for Points<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: PointSink> Visitor<'de> for Points<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of data points")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(OnePoint {
                sink: &mut *self.sink,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct OnePoint<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: PointSink> DeserializeSeed<'de> for OnePoint<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.sink.point(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(body: &str) -> serde_json::Result<(Vec<Value>, Option<String>)> {
        ListPage::from_json(body.as_bytes().to_vec())?.values()
    }

    #[test]
    fn points_and_token_are_read_in_any_order() {
        let body = r#" { "nextPageToken" : "a\"b" , "other": {"x": [1, "]"]},
            "dataPoints": [ {"s": "}\\"} ,{"t": [{}, []]} ] } "#;
        let (points, token) = page(body).unwrap();
        assert_eq!(points, [json!({"s": "}\\"}), json!({"t": [{}, []]})]);
        assert_eq!(token.as_deref(), Some("a\"b"));
        assert_eq!(page("{}").unwrap(), (vec![], None));
        assert_eq!(
            page(r#"{"dataPoints": null, "nextPageToken": ""}"#).unwrap(),
            (vec![], None)
        );
    }

    #[test]
    fn broken_structure_is_an_error() {
        for body in [
            "",
            "[]",
            "{",
            r#"{"dataPoints": [{}"#,
            r#"{"a" 1}"#,
            r#"{"a": 1,}"#,
            r#"{"a": "x}"#,
            r#"{"a": 1} x"#,
            r#"{"nextPageToken": 5}"#,
            r#"{"dataPoints": {}}"#,
        ] {
            assert!(page(body).is_err(), "{body:?}");
        }
    }
}
