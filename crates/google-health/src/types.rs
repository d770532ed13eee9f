//! Request and response types of the Health API methods this crate calls, and their proto3 JSON
//! wire forms (reference §1.10, §2.3, §2.6; shapes per the discovery document).
//!
//! Values whose shape varies per data type (data points, rollup values) stay
//! [`serde_json::Value`]s: the importer archives them losslessly, and a new field Google adds
//! is kept rather than dropped.

use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::civil::{WireCivilDateTime, WireDate};

/// One `dataPoints:dailyRollUp` request: civil days in the member's own time zone(s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyRollUpRequest {
    /// First day rolled up (inclusive). Google requires it to be aligned with the window.
    pub start: Date,
    /// End of the range, exclusive per the discovery document (`CivilTimeInterval`). One live
    /// report says Google treats it as inclusive, so callers should ignore windows starting on
    /// or after `end` instead of relying on either behaviour.
    pub end: Date,
    /// Days per window (Google's `windowSizeDays`; 1 for daily values).
    pub window_days: u32,
    /// Windows per page; Google's default and maximum is 90 (14 for heart-rate, total-calories,
    /// active-minutes and calories-in-heart-rate-zone).
    pub page_size: Option<u32>,
    /// The previous page's `next_page_token`; all other fields must be unchanged.
    pub page_token: Option<String>,
}

/// One page of daily rollup windows.
#[derive(Clone, Debug, PartialEq)]
pub struct DailyRollUpPage {
    pub points: Vec<DailyRollupPoint>,
    /// `None` when Google omitted the token or sent `""`: there are no more pages.
    pub next_page_token: Option<String>,
}

/// One rollup window.
#[derive(Clone, Debug, PartialEq)]
pub struct DailyRollupPoint {
    pub start: DateTime,
    pub end: DateTime,
    /// The whole rollup object minus `civilStartTime`/`civilEndTime`, e.g.
    /// `{"steps":{"countSum":"8412"}}`; proto3 omits zero sums, so `{"steps":{}}` means 0.
    pub value: Map<String, Value>,
}

/// One `dataPoints` list request (raw, "intraday" points).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// An AIP-160 filter such as
    /// `steps.interval.civil_start_time >= "2026-07-29" AND steps.interval.civil_start_time < "2026-07-30"`.
    pub filter: Option<String>,
    /// Points per page; Google's default is 1440 and its maximum 10000 (25 for sleep and
    /// exercise). Larger values are silently truncated by Google.
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// One `dataPoints:rollUp` request: fixed windows of physical time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollUpRequest {
    /// Start of the range (inclusive), aligned by the caller to the window.
    pub start: jiff::Timestamp,
    /// End of the range (exclusive). At most 14 or 90 days after `start` (§2.6).
    pub end: jiff::Timestamp,
    /// Window length in whole seconds (60, 300, 900…).
    pub window_seconds: u32,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// One page of physical-time rollup windows, each as Google sent it
/// (`{"startTime", "endTime", "<unionKey>": {…}}`).
#[derive(Clone, Debug, PartialEq)]
pub struct RollUpPage {
    pub points: Vec<Value>,
    pub next_page_token: Option<String>,
}

/// One page of `users/me/pairedDevices`, each device as Google sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedDevicesPage {
    pub devices: Vec<Value>,
    pub next_page_token: Option<String>,
}

/// `users/me/identity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The stable Google Health user id (not the OpenID `sub`).
    pub health_user_id: String,
    /// The old Fitbit user id, to match a member's earlier Fitbit history. Google allows it to
    /// be used for nothing else.
    pub legacy_user_id: Option<String>,
}

/// `users/me/settings`.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The member's current IANA time zone, e.g. `America/New_York`.
    pub time_zone: Option<String>,
    /// The whole response, for the fields the importer archives but does not interpret.
    pub raw: Value,
}

/// `users/me/profile`.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// When the member's account was created: the earliest day worth importing.
    pub membership_start_date: Option<Date>,
    pub raw: Value,
}

/// `DailyRollUpDataPointsRequest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireDailyRollUpRequest<'a> {
    range: WireCivilInterval,
    window_size_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Serialize)]
struct WireCivilInterval {
    start: WireCivilDateTime,
    end: WireCivilDateTime,
}

impl DailyRollUpRequest {
    pub(crate) fn to_wire(&self) -> WireDailyRollUpRequest<'_> {
        WireDailyRollUpRequest {
            range: WireCivilInterval {
                start: WireCivilDateTime::midnight(self.start),
                end: WireCivilDateTime::midnight(self.end),
            },
            window_size_days: self.window_days,
            page_size: self.page_size,
            page_token: self.page_token.as_deref(),
        }
    }
}

/// `RollUpDataPointsRequest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireRollUpRequest<'a> {
    range: WirePhysicalInterval,
    window_size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePhysicalInterval {
    start_time: String,
    end_time: String,
}

impl RollUpRequest {
    pub(crate) fn to_wire(&self) -> WireRollUpRequest<'_> {
        WireRollUpRequest {
            range: WirePhysicalInterval {
                start_time: self.start.to_string(),
                end_time: self.end.to_string(),
            },
            window_size: format!("{}s", self.window_seconds),
            page_size: self.page_size,
            page_token: self.page_token.as_deref(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRollUpResponse {
    #[serde(default)]
    rollup_data_points: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl RollUpPage {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let wire = WireRollUpResponse::deserialize(&object(body)?)?;
        Ok(Self {
            points: objects(wire.rollup_data_points),
            next_page_token: page_token(wire.next_page_token),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePairedDevices {
    #[serde(default)]
    paired_devices: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl PairedDevicesPage {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let wire = WirePairedDevices::deserialize(&object(body)?)?;
        Ok(Self {
            devices: objects(wire.paired_devices),
            next_page_token: page_token(wire.next_page_token),
        })
    }
}

fn objects(list: Option<Vec<Map<String, Value>>>) -> Vec<Value> {
    list.unwrap_or_default()
        .into_iter()
        .map(Value::Object)
        .collect()
}

/// A civil date-time member, validated while deserializing.
#[derive(Deserialize)]
#[serde(try_from = "WireCivilDateTime")]
struct CivilField(DateTime);

impl TryFrom<WireCivilDateTime> for CivilField {
    type Error = String;

    fn try_from(wire: WireCivilDateTime) -> Result<Self, Self::Error> {
        wire.to_datetime().map(CivilField)
    }
}

/// A `google.type.Date` member, validated while deserializing.
#[derive(Deserialize)]
#[serde(try_from = "WireDate")]
struct DateField(Date);

impl TryFrom<WireDate> for DateField {
    type Error = String;

    fn try_from(wire: WireDate) -> Result<Self, Self::Error> {
        wire.to_date().map(DateField)
    }
}

/// The body as a JSON object: serde would otherwise accept an array for a struct.
fn object(body: &[u8]) -> serde_json::Result<Value> {
    let value: Value = serde_json::from_slice(body)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(
            "the response is not a JSON object",
        ))
    }
}

/// An absent or empty `nextPageToken` both mean "last page" (live responses omit it, the
/// codelab shows `""`).
fn page_token(token: Option<String>) -> Option<String> {
    token.filter(|token| !token.is_empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDailyRollUpResponse {
    #[serde(default)]
    rollup_data_points: Option<Vec<WireRollupPoint>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRollupPoint {
    civil_start_time: CivilField,
    civil_end_time: CivilField,
    #[serde(flatten)]
    value: Map<String, Value>,
}

impl DailyRollUpPage {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let wire = WireDailyRollUpResponse::deserialize(&object(body)?)?;
        Ok(Self {
            points: wire
                .rollup_data_points
                .unwrap_or_default()
                .into_iter()
                .map(|point| DailyRollupPoint {
                    start: point.civil_start_time.0,
                    end: point.civil_end_time.0,
                    value: point.value,
                })
                .collect(),
            next_page_token: page_token(wire.next_page_token),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIdentity {
    health_user_id: String,
    #[serde(default)]
    legacy_user_id: Option<String>,
}

impl Identity {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let wire = WireIdentity::deserialize(&object(body)?)?;
        if wire.health_user_id.is_empty() {
            return Err(serde::de::Error::custom("healthUserId is empty"));
        }
        Ok(Self {
            health_user_id: wire.health_user_id,
            legacy_user_id: wire.legacy_user_id.filter(|id| !id.is_empty()),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSettings {
    #[serde(default)]
    time_zone: Option<String>,
}

impl Settings {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let raw = object(body)?;
        let wire = WireSettings::deserialize(&raw)?;
        Ok(Self {
            time_zone: wire.time_zone.filter(|zone| !zone.is_empty()),
            raw,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProfile {
    #[serde(default)]
    membership_start_date: Option<DateField>,
}

impl Profile {
    pub(crate) fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let raw = object(body)?;
        let wire = WireProfile::deserialize(&raw)?;
        Ok(Self {
            membership_start_date: wire.membership_start_date.map(|date| date.0),
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use serde_json::json;

    use super::*;

    #[test]
    fn roll_up_request_is_proto3_json() {
        let request = DailyRollUpRequest {
            start: date(2026, 9, 1),
            end: date(2026, 9, 30),
            window_days: 1,
            page_size: None,
            page_token: Some("abc".to_owned()),
        };
        assert_eq!(
            serde_json::to_value(request.to_wire()).unwrap(),
            json!({
                "range": {
                    "start": {"date": {"year": 2026, "month": 9, "day": 1}},
                    "end": {"date": {"year": 2026, "month": 9, "day": 30}}
                },
                "windowSizeDays": 1,
                "pageToken": "abc"
            })
        );
    }

    #[test]
    fn roll_up_points_keep_the_value_and_parse_the_window() {
        let body = json!({"rollupDataPoints": [{
            "civilStartTime": {"date": {"year": 2026, "month": 9, "day": 30}, "time": {}},
            "civilEndTime": {"date": {"year": 2026, "month": 10, "day": 1}, "time": {}},
            "steps": {"countSum": "8412"}
        }], "nextPageToken": ""});
        let page = DailyRollUpPage::from_json(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.next_page_token, None);
        assert_eq!(page.points.len(), 1);
        assert_eq!(page.points[0].start, date(2026, 9, 30).at(0, 0, 0, 0));
        assert_eq!(page.points[0].end, date(2026, 10, 1).at(0, 0, 0, 0));
        assert_eq!(
            Value::Object(page.points[0].value.clone()),
            json!({"steps": {"countSum": "8412"}})
        );
    }

    #[test]
    fn empty_responses_are_empty_pages() {
        let page = DailyRollUpPage::from_json(b"{}").unwrap();
        assert!(page.points.is_empty() && page.next_page_token.is_none());
    }

    #[test]
    fn shapes_that_break_the_contract_are_errors() {
        assert!(DailyRollUpPage::from_json(br#"{"rollupDataPoints":[{"steps":{}}]}"#).is_err());
        assert!(DailyRollUpPage::from_json(br#"{"rollupDataPoints":"x"}"#).is_err());
        assert!(Identity::from_json(br#"{"legacyUserId":"A1B2C3"}"#).is_err());
        assert!(Settings::from_json(br#"{"timeZone":5}"#).is_err());
        assert!(
            Profile::from_json(br#"{"membershipStartDate":{"year":2016,"month":2,"day":30}}"#)
                .is_err()
        );
    }

    #[test]
    fn identity_settings_and_profile_parse() {
        let identity = Identity::from_json(
            br#"{"name":"users/me/identity","healthUserId":"7583570207748835967","legacyUserId":""}"#,
        )
        .unwrap();
        assert_eq!(identity.health_user_id, "7583570207748835967");
        assert_eq!(identity.legacy_user_id, None);
        let settings =
            Settings::from_json(br#"{"timeZone":"Europe/Berlin","utcOffset":"7200s"}"#).unwrap();
        assert_eq!(settings.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(settings.raw["utcOffset"], "7200s");
        let profile = Profile::from_json(
            br#"{"age":41,"membershipStartDate":{"year":2016,"month":3,"day":1}}"#,
        )
        .unwrap();
        assert_eq!(profile.membership_start_date, Some(date(2016, 3, 1)));
        assert_eq!(
            Profile::from_json(br#"{"age":41}"#)
                .unwrap()
                .membership_start_date,
            None
        );
    }
}
