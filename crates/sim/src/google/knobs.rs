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
    /// Empty pages, each carrying a `nextPageToken`, that `list` answers before every page of
    /// points (live: a non-final page may be empty, reference §2.3); 0 for none.
    pub empty_pages_before_data: u32,
    /// Whether worn minutes without steps (or distance) are listed as points (without
    /// `count`).
    pub emit_true_zeros: bool,
    /// Which filter prefix spelling `daily-*` types accept (reference §2.4, live report 1).
    pub daily_filter_prefix: DailyFilterPrefix,
    /// Which `sleep` filters are accepted (reference §2.4, live report 2).
    pub sleep_filter: SleepFilter,
    /// Seconds between heart-rate samples on worn time (1–3600; the benchmark uses 5).
    pub hr_interval_s: u32,
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
            empty_pages_before_data: 0,
            emit_true_zeros: true,
            daily_filter_prefix: DailyFilterPrefix::Both,
            sleep_filter: SleepFilter::Documented,
            hr_interval_s: 60,
        }
    }
}

/// The knobs that change what the persona's data looks like (rather than how requests are
/// answered): generated days depend on them, so they are part of every cache key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Generation {
    pub hr_interval_s: u32,
    pub emit_true_zeros: bool,
}

impl Default for Generation {
    fn default() -> Self {
        Knobs::default().generation()
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

/// The filter prefix of `daily-*` types: the guide documents snake_case
/// (`daily_resting_heart_rate.date`), the `list` reference example camelCase, and one live
/// report saw snake_case accepted with HTTP 200 but answered with zero points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DailyFilterPrefix {
    /// snake_case works; camelCase is 400 `INVALID_DATA_POINT_FILTER_COLLECTION_MISMATCH`
    /// (the prefix does not name the collection; the live reason is not known).
    Snake,
    /// camelCase works; snake_case is accepted (200) and selects nothing.
    Camel,
    Both,
}

/// Sleep filters: the documented `end_time` / `civil_end_time` members, none at all (one
/// client saw every member rejected), or additionally `civil_start_time` (which another
/// client uses successfully).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SleepFilter {
    Documented,
    /// Every sleep filter is 400 `INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER`.
    RejectAll,
    /// `sleep.interval.civil_start_time` is accepted too.
    StartOk,
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
        let knobs: Knobs = serde_json::from_value(serde_json::Value::Object(current))
            .map_err(|error| error.to_string())?;
        if !(1..=3600).contains(&knobs.hr_interval_s) {
            return Err(format!(
                "hr_interval_s must be between 1 and 3600, got {}",
                knobs.hr_interval_s
            ));
        }
        Ok(knobs)
    }

    pub(crate) fn generation(&self) -> Generation {
        Generation {
            // A config built in code skips `merged`'s check; 0 would mean no samples at all.
            hr_interval_s: self.hr_interval_s.clamp(1, 3600),
            emit_true_zeros: self.emit_true_zeros,
        }
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
        assert!(
            Knobs::default()
                .merged(&json!({"hr_interval_s": 0}))
                .is_err()
        );
        let dialect = Knobs::default()
            .merged(&json!({"daily_filter_prefix": "camel", "sleep_filter": "start_ok", "hr_interval_s": 5}))
            .unwrap();
        assert_eq!(dialect.daily_filter_prefix, DailyFilterPrefix::Camel);
        assert_eq!(dialect.sleep_filter, SleepFilter::StartOk);
        assert_eq!(dialect.generation().hr_interval_s, 5);
    }
}
