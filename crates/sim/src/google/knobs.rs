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
    /// Whether dailyRollUp's `range.end` day is included or not. Exclusive by default, as the
    /// discovery document says and as a live recording showed (12-31..01-07 answered with the
    /// windows 12-31..01-06 although 01-07 had steps); `inclusive` is what one peer reported.
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
    /// Data type ids (`"total-calories"`) whose `rollUp` and `dailyRollUp` refuse a request
    /// that carries `pageSize` (400 `INVALID_ARGUMENT`, field violation `page_size`): a peer
    /// (partymola/google-health-mcp) reports "dailyRollUp answers total-calories with 400 when
    /// it is present". Without `pageSize` such requests are served as always.
    pub page_size_refused: Vec<String>,
    /// `list` of `sleep` returns the persona's most recent session in progress: no end, no
    /// summary (Home Assistant's fixture of what Google returns for a night not yet over).
    /// Which session and how filters treat it: `persona::sleep`.
    pub in_progress_sleep: bool,
    /// Data calls (list, get, rollUp, dailyRollUp) for these data type ids answer 403 "scope
    /// insufficient", as if the member had withdrawn the type's scope after consent although
    /// the token still lists it.
    pub insufficient_scope_types: Vec<String>,
    /// The shape of every scope-insufficient 403 (also when `granted_scopes` left the scope
    /// out): Google's AIP-193 envelope, or the OAuth (RFC 6750) body one peer's client handles.
    pub scope_error_shape: ScopeErrorShape,
    /// Shapes real accounts have (issue 16 item 5); each a knob so a test can turn it off. What
    /// each produces, where and how often: `persona::quirks`.
    ///
    /// A phone syncing through Health Connect beside the tracker: 30-minute `steps` and
    /// `distance` points from a Samsung phone on some days.
    pub health_connect_phone: bool,
    /// Some weigh-ins typed in (`recordingMethod: MANUAL`, no `device`); off: all on the scale.
    pub manual_weight_entries: bool,
    /// Some days' points carry `"device": {}` or `"dataSource": {}`.
    pub empty_source_objects: bool,
    /// Some days' stream points carry no `utcOffset` / `startUtcOffset` / `endUtcOffset`.
    pub missing_offsets: bool,
    /// Sub-second times: some sample and interval times with 3 or 6 fractional digits, and
    /// `createTime` / `updateTime` with 6.
    pub sub_second_times: bool,
    /// Some doubles of `list` points spelled `"NaN"` (proto3 JSON), never in rollups.
    pub nan_doubles: bool,
    /// About one day in 30 samples heart rate every 2–3 s (alternating) instead of
    /// `hr_interval_s`.
    pub fast_hr_days: bool,
    /// Some exercises' `caloriesKcal` is a JSON integer.
    pub integer_calories: bool,
    /// Some nights' heart-rate-variability samples carry `standardDeviationMilliseconds: 0`
    /// ("not computed", as the Pixel Watch sends it).
    pub zero_sdnn: bool,
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
            daily_rollup_end: RollupEnd::Exclusive,
            empty_rollup_windows: EmptyWindows::Omit,
            final_page_token: FinalPageToken::Omitted,
            empty_pages_before_data: 0,
            emit_true_zeros: true,
            daily_filter_prefix: DailyFilterPrefix::Both,
            sleep_filter: SleepFilter::Documented,
            hr_interval_s: 60,
            page_size_refused: Vec::new(),
            in_progress_sleep: false,
            insufficient_scope_types: Vec::new(),
            scope_error_shape: ScopeErrorShape::Aip193,
            health_connect_phone: true,
            manual_weight_entries: true,
            empty_source_objects: true,
            missing_offsets: true,
            sub_second_times: true,
            nan_doubles: false,
            fast_hr_days: false,
            integer_calories: true,
            zero_sdnn: true,
        }
    }
}

/// The knobs that change what the persona's data looks like (rather than how requests are
/// answered): generated days depend on them, so they are part of every cache key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Generation {
    pub hr_interval_s: u32,
    pub emit_true_zeros: bool,
    pub in_progress_sleep: bool,
    pub health_connect_phone: bool,
    pub manual_weight_entries: bool,
    pub empty_source_objects: bool,
    pub missing_offsets: bool,
    pub sub_second_times: bool,
    pub nan_doubles: bool,
    pub fast_hr_days: bool,
    pub integer_calories: bool,
    pub zero_sdnn: bool,
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

/// The body and challenge of a 403 for a scope the token lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeErrorShape {
    /// `{"error":{"code":403,…,"status":"PERMISSION_DENIED"}}` with `ErrorInfo.reason`
    /// `ACCESS_TOKEN_SCOPE_INSUFFICIENT` (reference §3.3, modeled on Google-wide behaviour).
    Aip193,
    /// `{"error":"insufficient_scope","error_description":"…"}`: RFC 6750's shape, which one
    /// peer's client handles; the `WWW-Authenticate` challenge is the same in both shapes.
    Oauth,
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
            in_progress_sleep: self.in_progress_sleep,
            health_connect_phone: self.health_connect_phone,
            manual_weight_entries: self.manual_weight_entries,
            empty_source_objects: self.empty_source_objects,
            missing_offsets: self.missing_offsets,
            sub_second_times: self.sub_second_times,
            nan_doubles: self.nan_doubles,
            fast_hr_days: self.fast_hr_days,
            integer_calories: self.integer_calories,
            zero_sdnn: self.zero_sdnn,
        }
    }

    /// Whether `rollUp` / `dailyRollUp` of `data_type` refuse a request with `pageSize`.
    pub(crate) fn refuses_page_size(&self, data_type: &str) -> bool {
        self.page_size_refused.iter().any(|id| id == data_type)
    }

    /// Whether data calls for `data_type` answer 403 as if its scope had been withdrawn.
    pub(crate) fn scope_withdrawn(&self, data_type: &str) -> bool {
        self.insufficient_scope_types
            .iter()
            .any(|id| id == data_type)
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

    #[test]
    fn the_new_knobs_have_their_defaults_and_merge() {
        let defaults = Knobs::default();
        assert_eq!(defaults.daily_rollup_end, RollupEnd::Exclusive);
        assert!(
            defaults.page_size_refused.is_empty() && defaults.insufficient_scope_types.is_empty()
        );
        assert_eq!(defaults.scope_error_shape, ScopeErrorShape::Aip193);
        assert!(!defaults.in_progress_sleep && !defaults.nan_doubles && !defaults.fast_hr_days);
        assert!(defaults.health_connect_phone && defaults.manual_weight_entries);
        assert!(defaults.empty_source_objects && defaults.missing_offsets);
        assert!(defaults.sub_second_times && defaults.integer_calories && defaults.zero_sdnn);
        let knobs = defaults
            .merged(&json!({
                "page_size_refused": ["total-calories"],
                "insufficient_scope_types": ["sleep"],
                "scope_error_shape": "oauth",
                "in_progress_sleep": true,
                "fast_hr_days": true,
                "daily_rollup_end": "inclusive",
            }))
            .unwrap();
        assert!(knobs.refuses_page_size("total-calories") && !knobs.refuses_page_size("steps"));
        assert!(knobs.scope_withdrawn("sleep") && !knobs.scope_withdrawn("steps"));
        assert_eq!(knobs.scope_error_shape, ScopeErrorShape::Oauth);
        assert_eq!(knobs.daily_rollup_end, RollupEnd::Inclusive);
        let generation = knobs.generation();
        assert!(generation.in_progress_sleep && generation.fast_hr_days);
        assert_ne!(
            generation,
            Knobs::default().generation(),
            "part of the cache key"
        );
        assert!(
            Knobs::default()
                .merged(&json!({"scope_error_shape": "html"}))
                .is_err()
        );
    }
}
