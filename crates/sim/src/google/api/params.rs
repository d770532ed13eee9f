//! Request parameters shared by the data point methods: the query string (with Google's
//! rejection of unknown names), the data type of the path, page sizes, data source families and
//! the last page's token.

use super::{
    Route,
    catalogue::{self, DataType},
    paging::{Fingerprint, PageTokens, TokenError},
};
use crate::google::{
    knobs::{FinalPageToken, Knobs},
    persona::Persona,
    responses::GoogleError,
};

/// System parameters every Google API accepts (discovery `parameters`).
const SYSTEM_PARAMETERS: &[&str] = &[
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "upload_protocol",
    "uploadType",
    "$.xgafv",
];

/// A decoded query string.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// The value of a parameter given by its JSON or proto name; the last occurrence wins.
    pub(crate) fn get(&self, json_name: &str, proto_name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(name, _)| name == json_name || name == proto_name)
            .map(|(_, value)| value.as_str())
    }

    /// Rejects names that are neither system parameters nor in `allowed` (JSON and proto
    /// names), with Google's wording.
    pub(crate) fn check_names(&self, allowed: &[&str]) -> Result<(), GoogleError> {
        match self.pairs.iter().find(|(name, _)| {
            !SYSTEM_PARAMETERS.contains(&name.as_str()) && !allowed.contains(&name.as_str())
        }) {
            Some((name, _)) => Err(GoogleError::bad_payload(
                None,
                &format!(
                    "Invalid JSON payload received. Unknown name {name:?}: Cannot bind query parameter. Field '{name}' could not be found in request message."
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The catalogue entry of the route's `{dataType}`, or Google's 400 for an unknown id.
pub(crate) fn data_type(route: &Route) -> Result<&'static DataType, GoogleError> {
    let id = route.data_type.as_deref().unwrap_or("");
    catalogue::find(id).ok_or_else(|| {
        let reason = if catalogue::is_well_formed(id) {
            "INVALID_PARENT_DATA_TYPE_COLLECTION"
        } else {
            "INVALID_PARENT_DATA_TYPE_COLLECTION_FORMAT"
        };
        GoogleError::invalid_argument(reason, "Request contains an invalid argument.")
    })
}

/// 400 for a method the data type does not support (reason INFERRED, reference §8.3).
pub(crate) fn unsupported(data_type: &DataType, method: &str) -> GoogleError {
    GoogleError::invalid_argument(
        "UNSUPPORTED_OPERATION_FOR_DATA_TYPE",
        "Request contains an invalid argument.",
    )
    .field_violation(
        Some("parent"),
        &format!("{method} is not supported for data type {}", data_type.id),
    )
}

/// The effective page size: absent or 0 is the default, above the maximum is truncated,
/// negative is an error.
pub(crate) fn page_size(
    requested: Option<i64>,
    default: u32,
    max: u32,
) -> Result<u32, GoogleError> {
    match requested {
        None | Some(0) => Ok(default),
        Some(size) if size < 0 => Err(GoogleError::bad_payload(
            Some("page_size"),
            &format!("page_size must not be negative, got {size}"),
        )),
        Some(size) => Ok(u32::try_from(size).unwrap_or(max).min(max)),
    }
}

/// Parses an int32 query parameter the way Google's transcoder does.
pub(crate) fn int32(
    query: &Query,
    json_name: &str,
    proto_name: &str,
) -> Result<Option<i64>, GoogleError> {
    let Some(text) = query.get(json_name, proto_name) else {
        return Ok(None);
    };
    text.trim()
        .parse::<i32>()
        .map(|value| Some(i64::from(value)))
        .map_err(|_| {
            GoogleError::bad_payload(
                Some(proto_name),
                &format!("Invalid value at '{proto_name}' (TYPE_INT32), \"{text}\""),
            )
        })
}

/// Whether the persona's (tracker) data belongs to the requested data source family; a
/// malformed family, or one on a type that cannot be filtered by family, is rejected.
pub(crate) fn includes_persona_data(
    family: Option<&str>,
    persona: &Persona,
    data_type: &DataType,
    listing: bool,
) -> Result<bool, GoogleError> {
    let Some(family) = family.filter(|family| !family.is_empty()) else {
        return Ok(true);
    };
    let invalid = |description: String| {
        GoogleError::invalid_argument(
            "INVALID_DATA_POINT_DATA_SOURCE_FAMILY",
            "Request contains an invalid argument.",
        )
        .field_violation(Some("data_source_family"), &description)
    };
    if listing && !data_type.lists_by_data_source_family() {
        return Err(invalid(format!(
            "filtering {} by data source family is not supported",
            data_type.id
        )));
    }
    let parts: Vec<&str> = family.split('/').collect();
    match parts.as_slice() {
        ["users", user, "dataSourceFamilies", name]
            if *user == "me" || *user == persona.health_user_id() =>
        {
            match *name {
                "all-sources" | "google-wearables" | "google-sources" => Ok(true),
                "self-sources" => Ok(false),
                _ => Err(invalid(format!("unknown data source family {family:?}"))),
            }
        }
        _ => Err(invalid(format!(
            "{family:?} is not of the form users/{{user}}/dataSourceFamilies/{{family}}"
        ))),
    }
}

/// The cursor of the request's page token, `N` integers (`None` for a first page, `""`
/// included).
pub(crate) fn cursor<const N: usize>(
    tokens: &PageTokens,
    token: Option<&str>,
    fingerprint: Fingerprint,
) -> Result<Option<[i64; N]>, GoogleError> {
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Ok(None);
    };
    tokens
        .redeem(token, fingerprint)
        .and_then(|cursor| <[i64; N]>::try_from(cursor).map_err(|_| TokenError::NotIssued))
        .map(Some)
        .map_err(|error| GoogleError::invalid_page_token(error.description()))
}

/// The `nextPageToken` to send: the token, or on the last page what the knob says.
pub(crate) fn next_page_token(knobs: &Knobs, token: Option<String>) -> Option<String> {
    token.or_else(|| (knobs.final_page_token == FinalPageToken::Empty).then(String::new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;

    #[test]
    fn page_sizes_default_clamp_and_reject_negatives() {
        assert_eq!(page_size(None, 1440, 10_000).unwrap(), 1440);
        assert_eq!(page_size(Some(0), 1440, 10_000).unwrap(), 1440);
        assert_eq!(page_size(Some(20_000), 1440, 10_000).unwrap(), 10_000);
        assert_eq!(page_size(Some(7), 1440, 10_000).unwrap(), 7);
        assert!(page_size(Some(-1), 1440, 10_000).is_err());
    }

    #[test]
    fn query_names_are_checked_and_values_parsed() {
        let query = Query::parse(Some("pageSize=5&filter=a%20b&prettyPrint=false"));
        assert!(query.check_names(&["pageSize", "filter"]).is_ok());
        assert!(query.check_names(&["filter"]).is_err());
        assert_eq!(query.get("filter", "filter"), Some("a b"));
        assert_eq!(int32(&query, "pageSize", "page_size").unwrap(), Some(5));
        assert!(int32(&Query::parse(Some("page_size=x")), "pageSize", "page_size").is_err());
    }

    #[test]
    fn data_source_families() {
        let persona = Persona::new(42, SimClock::real());
        let steps = catalogue::find("steps").unwrap();
        let sleep = catalogue::find("sleep").unwrap();
        let check = |family: &str, data_type| {
            includes_persona_data(Some(family), &persona, data_type, true)
        };
        assert!(check("users/me/dataSourceFamilies/all-sources", steps).unwrap());
        assert!(!check("users/me/dataSourceFamilies/self-sources", steps).unwrap());
        let own = format!(
            "users/{}/dataSourceFamilies/google-wearables",
            persona.health_user_id()
        );
        assert!(check(&own, steps).unwrap());
        assert!(check("users/someone/dataSourceFamilies/all-sources", steps).is_err());
        assert!(check("all-sources", steps).is_err());
        assert!(check("users/me/dataSourceFamilies/all-sources", sleep).is_err());
        assert!(includes_persona_data(None, &persona, sleep, true).unwrap());
    }
}
