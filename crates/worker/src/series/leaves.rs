//! The leaves of a value object (nested objects flattened with dots, arrays kept as JSON), read
//! straight from the API's JSON text into one reusable buffer: a month of heart-rate samples is
//! half a million objects, and building a `serde_json::Value` for each was most of an import's
//! CPU time.

use std::{borrow::Cow, fmt, ops::Range};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One leaf's value; text lives in the buffer.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Range<usize>),
    Json(Value),
}

/// The leaves of one value object, reused from point to point.
#[derive(Debug, Default)]
pub struct Leaves {
    text: String,
    entries: Vec<(Range<usize>, Leaf)>,
}

impl Leaves {
    pub fn clear(&mut self) {
        self.text.clear();
        self.entries.clear();
    }

    /// Each leaf as (dotted path, value, the text of a `Leaf::Text`).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Leaf, &str)> {
        self.entries.iter().map(|(path, leaf)| {
            let text = match leaf {
                Leaf::Text(range) => &self.text[range.clone()],
                _ => "",
            };
            (&self.text[path.clone()], leaf, text)
        })
    }

    /// Reads the members of a JSON object as leaves, except the time members (which place
    /// the point rather than measure something).
    pub fn read_object<'de, D: Deserializer<'de>>(
        &mut self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        self.clear();
        deserializer.deserialize_map(ObjectSeed {
            leaves: self,
            prefix: 0..0,
        })
    }

    /// The seed that reads one top-level member `key` as leaves; the caller starts with
    /// [`Leaves::clear`].
    pub fn member(&mut self, key: &str) -> LeafSeed<'_> {
        let path = self.push_path(&(0..0), key);
        LeafSeed { leaves: self, path }
    }

    fn push_path(&mut self, prefix: &Range<usize>, key: &str) -> Range<usize> {
        let start = self.text.len();
        if !prefix.is_empty() {
            self.text.extend_from_within(prefix.clone());
            self.text.push('.');
        }
        self.text.push_str(key);
        start..self.text.len()
    }

    fn push_text(&mut self, text: &str) -> Leaf {
        let start = self.text.len();
        self.text.push_str(text);
        Leaf::Text(start..self.text.len())
    }
}

/// A map key, borrowed from the input unless it had escapes.
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The members of one object, at `prefix`.
struct ObjectSeed<'b> {
    leaves: &'b mut Leaves,
    prefix: Range<usize>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if self.prefix.is_empty() && super::TIME_MEMBERS.contains(&key.as_ref()) {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            let path = self.leaves.push_path(&self.prefix, &key);
            map.next_value_seed(LeafSeed {
                leaves: self.leaves,
                path,
            })?;
        }
        Ok(())
    }
}

/// One member's value: a leaf, or a nested object whose members become leaves.
pub struct LeafSeed<'b> {
    leaves: &'b mut Leaves,
    path: Range<usize>,
}

impl LeafSeed<'_> {
    fn leaf<E>(self, leaf: Leaf) -> Result<(), E> {
        self.leaves.entries.push((self.path, leaf));
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for LeafSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeafSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf(Leaf::Null)
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.leaf(Leaf::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.leaf(Leaf::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.leaf(Leaf::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        match i64::try_from(value) {
            Ok(value) => self.leaf(Leaf::Int(value)),
            Err(_) => self.leaf(Leaf::Json(Value::from(value))),
        }
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        self.leaf(Leaf::Float(value))
    }

    fn visit_str<E>(self, text: &str) -> Result<(), E> {
        let leaf = self.leaves.push_text(text);
        self.leaf(leaf)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let array: Value =
            de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.leaf(Leaf::Json(array))
    }

    /// An empty object is a leaf (`{}`); a non-empty one is flattened.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let before = self.leaves.entries.len();
        let path = self.path.clone();
        ObjectSeed {
            leaves: &mut *self.leaves,
            prefix: path.clone(),
        }
        .visit_map(map)?;
        if self.leaves.entries.len() == before {
            self.leaves
                .entries
                .push((path, Leaf::Json(Value::Object(Default::default()))));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn owned(leaves: &Leaves) -> Vec<(String, Leaf, String)> {
        let text_at_zero = |leaf: &Leaf| match leaf {
            Leaf::Text(_) => Leaf::Text(0..0),
            leaf => leaf.clone(),
        };
        leaves
            .iter()
            .map(|(path, leaf, text)| (path.to_owned(), text_at_zero(leaf), text.to_owned()))
            .collect()
    }

    /// The leaves in the order of the text, after checking that reading the same object as a
    /// `Value` (whose members are sorted) gives the same set.
    fn leaves_of(text: &str) -> Vec<(String, Leaf, String)> {
        let mut leaves = Leaves::default();
        leaves
            .read_object(&mut serde_json::Deserializer::from_str(text))
            .unwrap();
        let from_text = owned(&leaves);
        let value: Value = serde_json::from_str(text).unwrap();
        leaves.read_object(&value).unwrap();
        let mut sorted = from_text.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut from_value = owned(&leaves);
        from_value.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(sorted, from_value, "text and Value read alike");
        from_text
    }

    #[test]
    fn nested_members_are_dotted_and_time_members_skipped() {
        let leaves = leaves_of(
            r#"{"sampleTime": {"physicalTime": "2026-01-01T00:00:00Z"}, "beatsPerMinute": "61",
                "metadata": {"motion": "SEDENTARY", "inner": {"x": 1.5}}, "tags": [1, 2],
                "empty": {}, "flag": true, "none": null, "esc\"aped": "a\nb"}"#,
        );
        let paths: Vec<&str> = leaves.iter().map(|(path, ..)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "beatsPerMinute",
                "metadata.motion",
                "metadata.inner.x",
                "tags",
                "empty",
                "flag",
                "none",
                "esc\"aped"
            ]
        );
        assert_eq!(leaves[0].2, "61");
        assert_eq!(leaves[2].1, Leaf::Float(1.5));
        assert_eq!(leaves[3].1, Leaf::Json(json!([1, 2])));
        assert_eq!(leaves[4].1, Leaf::Json(json!({})));
        assert_eq!(leaves[7].2, "a\nb");
    }
}
