//! The switches of reference §8.6 that apply to this slice of the simulator. Where Google's
//! behaviour is unknown or varies between accounts, it is a knob, so tests can cover every
//! variant. Set at start ([`super::GoogleSimConfig::knobs`]), by `POST /__admin/reset`, or
//! changed field by field with `POST /__admin/knobs`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Knobs {
    /// What the persona answers on the consent screen.
    pub consent: Consent,
    /// Granular consent: when set, only these of the requested scopes are granted (full scope
    /// strings, or short ones such as `"sleep.readonly"`). Non-Health scopes are always granted.
    pub granted_scopes: Option<Vec<String>>,
    /// The Google Health state of the persona's account.
    pub persona_state: PersonaState,
    /// Requests per user per fixed 60-second window of the sim clock (Google: 300).
    pub quota_per_user_per_min: u32,
    /// `Retry-After` seconds on a 429; Google does not document sending one.
    pub retry_after: Option<u64>,
    /// Access-token lifetime in seconds (Google: 3599).
    pub access_token_ttl_s: u32,
    /// Return a new refresh token on every refresh; the old one keeps working for a minute.
    pub rotate_refresh_tokens: bool,
    /// Whether dailyRollUp's `range.end` day is included (live report) or not (discovery).
    pub daily_rollup_end: RollupEnd,
    /// Whether dailyRollUp windows without data are omitted or returned with an empty value.
    pub empty_rollup_windows: EmptyWindows,
    /// How the last page says there are no more: no `nextPageToken`, or `""`.
    pub final_page_token: FinalPageToken,
    /// Whether worn minutes without steps are listed as points (without `count`).
    pub emit_true_zeros: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            consent: Consent::Allow,
            granted_scopes: None,
            persona_state: PersonaState::Linked,
            quota_per_user_per_min: 300,
            retry_after: None,
            access_token_ttl_s: 3599,
            rotate_refresh_tokens: false,
            daily_rollup_end: RollupEnd::Inclusive,
            empty_rollup_windows: EmptyWindows::Omit,
            final_page_token: FinalPageToken::Omitted,
            emit_true_zeros: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    Allow,
    /// Redirect back with `error=access_denied`.
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonaState {
    Linked,
    /// 400 `FAILED_PRECONDITION` / `ACCOUNT_NOT_LINKED` on every Health API call.
    NotLinked,
    /// 412 "Precondition check failed." on every Health API call.
    NoProfile,
    /// 403 "The caller does not have permission." (legacy Fitbit login) on every call.
    #[serde(alias = "legacy")]
    LegacyFitbitLogin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupEnd {
    Inclusive,
    Exclusive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyWindows {
    Omit,
    EmptyObject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalPageToken {
    Omitted,
    #[serde(alias = "empty_string")]
    Empty,
}

impl Knobs {
    /// These knobs with the fields present in `changes` replaced. Unknown fields and bad
    /// values are rejected with serde's explanation.
    pub fn merged(&self, changes: &serde_json::Value) -> Result<Knobs, String> {
        let serde_json::Value::Object(changes) = changes else {
            return Err("knobs must be a JSON object".to_owned());
        };
        let mut current = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(current)) => current,
            _ => return Err("the current knobs do not serialize to an object".to_owned()),
        };
        for (name, value) in changes {
            current.insert(name.clone(), value.clone());
        }
        serde_json::from_value(serde_json::Value::Object(current))
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merging_changes_only_the_given_fields() {
        let knobs = Knobs::default()
            .merged(&json!({"quota_per_user_per_min": 5, "daily_rollup_end": "exclusive", "persona_state": "legacy"}))
            .unwrap();
        assert_eq!(knobs.quota_per_user_per_min, 5);
        assert_eq!(knobs.daily_rollup_end, RollupEnd::Exclusive);
        assert_eq!(knobs.persona_state, PersonaState::LegacyFitbitLogin);
        assert_eq!(knobs.access_token_ttl_s, 3599);
        assert!(Knobs::default().merged(&json!({"nope": 1})).is_err());
        assert!(
            Knobs::default()
                .merged(&json!({"consent": "maybe"}))
                .is_err()
        );
        assert!(Knobs::default().merged(&json!([1])).is_err());
    }
}
