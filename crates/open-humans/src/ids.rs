//! The member's id within our project, the key of every member record.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A project member id as Open Humans issues it: 8 digits, or 16 for legacy members (§4.1).
/// Holding one proves the string was checked, so it is safe in Redis keys and paths.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectMemberId(String);

/// A string that is not a project member id; it names the value so a log shows what came in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an Open Humans project member id (8 or 16 digits)")]
pub struct ParseProjectMemberIdError {
    pub value: String,
}

impl ProjectMemberId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProjectMemberId {
    type Err = ParseProjectMemberIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let well_formed =
            matches!(value.len(), 8 | 16) && value.bytes().all(|b| b.is_ascii_digit());
        if well_formed {
            Ok(Self(value.to_owned()))
        } else {
            Err(ParseProjectMemberIdError {
                value: value.to_owned(),
            })
        }
    }
}

impl fmt::Display for ProjectMemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ProjectMemberId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for ProjectMemberId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProjectMemberId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_and_sixteen_digit_ids_parse() {
        for id in ["12345678", "0000000000000001"] {
            let parsed: ProjectMemberId = id.parse().unwrap();
            assert_eq!(parsed.as_str(), id);
            assert_eq!(parsed.to_string(), id);
        }
    }

    #[test]
    fn anything_else_is_rejected_and_named() {
        for bad in [
            "",
            "1234567",
            "123456789",
            "1234abcd",
            "１２３４５６７８",
            " 12345678",
        ] {
            let error = bad.parse::<ProjectMemberId>().unwrap_err();
            assert_eq!(error.value, bad);
            assert!(error.to_string().contains(&format!("{bad:?}")));
        }
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let id: ProjectMemberId = serde_json::from_str("\"87654321\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"87654321\"");
        let error = serde_json::from_str::<ProjectMemberId>("\"8765\"").unwrap_err();
        assert!(error.to_string().contains("\"8765\""));
    }
}
