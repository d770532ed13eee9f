//! `users/me/identity`, `profile`, `settings`, `irnProfile` and `pairedDevices` (reference
//! §1.10, §2.2, §8.4).

use axum::{http::StatusCode, response::Response};
use serde_json::{Value, json};

use super::{
    paging::Fingerprint,
    params::{self, Query},
    pipeline::Context,
};
use crate::google::{
    civil::{self, DateJson},
    persona::{Device, RUNNING_STRIDE_MM, WALKING_STRIDE_MM},
    responses::{self, GoogleError},
    scopes::Category,
};

/// Query parameters of `pairedDevices.list` (JSON and proto names).
const PAIRED_DEVICE_PARAMETERS: &[&str] = &["pageSize", "page_size", "pageToken", "page_token"];

/// Devices sync about every 15 minutes.
const SYNC_PERIOD_S: i64 = 15 * 60;

/// `users.getIdentity`.
pub(crate) fn identity(context: &Context) -> Response {
    responses::json(
        StatusCode::OK,
        &json!({
            "name": "users/me/identity",
            "healthUserId": context.identity.health_user_id,
            "legacyUserId": context.identity.legacy_user_id,
        }),
    )
}

/// `users.getProfile`; the stride lengths only for callers that may read activity data.
pub(crate) fn profile(context: &Context) -> Response {
    let persona = &context.persona;
    let mut profile = json!({
        "name": "users/me/profile",
        "age": persona.age_on(persona.day_of(persona.now_seconds())),
        "membershipStartDate": DateJson::of(persona.history_start()),
    });
    if context.has_scope(Category::ActivityAndFitness) {
        profile["autoWalkingStrideLengthMm"] = json!(WALKING_STRIDE_MM);
        profile["autoRunningStrideLengthMm"] = json!(RUNNING_STRIDE_MM);
    }
    responses::json(StatusCode::OK, &profile)
}

/// `users.getSettings`: the time zone and offset the persona is in now.
pub(crate) fn settings(context: &Context) -> Response {
    let persona = &context.persona;
    let now = persona.now();
    responses::json(
        StatusCode::OK,
        &json!({
            "name": "users/me/settings",
            "timeZone": persona.time_zone_at(now),
            "utcOffset": civil::duration_json(persona.offset_at(now.as_second())),
            "distanceUnit": "DISTANCE_UNIT_MILES",
            "weightUnit": "WEIGHT_UNIT_POUNDS",
            "heightUnit": "HEIGHT_UNIT_INCHES",
            "temperatureUnit": "TEMPERATURE_UNIT_FAHRENHEIT",
            "waterUnit": "WATER_UNIT_FL_OZ",
            "glucoseUnit": "GLUCOSE_UNIT_MG_DL",
            "swimUnit": "SWIM_UNIT_YARDS",
            "languageLocale": "en-US",
            "autoStrideEnabled": true,
            "strideLengthWalkingType": "STRIDE_LENGTH_TYPE_AUTO",
            "strideLengthRunningType": "STRIDE_LENGTH_TYPE_AUTO",
            "foodLanguageCode": "en-US",
        }),
    )
}

/// `users.getIrnProfile`: onboarded and enrolled, with the current tracker's last sync.
pub(crate) fn irn_profile(context: &Context, user: &str) -> Response {
    let now = context.persona.now_seconds();
    responses::json(
        StatusCode::OK,
        &json!({
            "name": format!("users/{user}/irnProfile"),
            "onboardingStatus": true,
            "enrollmentStatus": true,
            "updateTime": civil::rfc3339_utc(last_sync(now)),
        }),
    )
}

/// The last sync before `now` on the sync schedule.
fn last_sync(now: i64) -> i64 {
    now - now.rem_euclid(SYNC_PERIOD_S)
}

/// The `PairedDevice` at `index` of the persona's devices.
fn paired_device(context: &Context, user: &str, index: usize, device: &Device) -> Value {
    let persona = &context.persona;
    let now = persona.now_seconds();
    // Retired trackers last synced the evening of their last day.
    let (synced, battery) = match device.last_day {
        Some(day) => (persona.day_start(day + 1) - 3 * 3600, ("Empty", 0)),
        None => (last_sync(now), ("High", 84)),
    };
    let mut value = json!({
        "name": format!("users/{user}/pairedDevices/{}", index + 1),
        "deviceType": device.device_type,
        "deviceVersion": device.display_name,
        "batteryStatus": battery.0,
        "lastSyncTime": civil::rfc3339_utc(synced),
        "macAddress": device.mac_address,
    });
    if battery.1 > 0 {
        value["batteryLevel"] = json!(battery.1);
    }
    if !device.features.is_empty() {
        value["features"] = json!(device.features);
    }
    value
}

/// `users.pairedDevices.list`: 5 devices a page by default, at most 100.
pub(crate) fn paired_devices(
    context: &Context,
    user: &str,
    query: &Query,
) -> Result<Response, GoogleError> {
    query.check_names(PAIRED_DEVICE_PARAMETERS)?;
    let page_size = params::page_size(params::int32(query, "pageSize", "page_size")?, 5, 100)?;
    let fingerprint = Fingerprint::of(&["pairedDevices", user, &page_size.to_string()]);
    let cursor = params::cursor::<1>(
        &context.page_tokens,
        query.get("pageToken", "page_token"),
        fingerprint,
    )?;
    let first = cursor.map_or(0, |[next]| usize::try_from(next).unwrap_or(usize::MAX));
    let devices = context.persona.paired_devices();
    let end = first.saturating_add(page_size as usize).min(devices.len());
    let page: Vec<Value> = (first.min(end)..end)
        .map(|index| paired_device(context, user, index, devices[index]))
        .collect();
    let token =
        (end < devices.len()).then(|| context.page_tokens.issue(fingerprint, &[end as i64]));
    let mut body = json!({});
    if !page.is_empty() {
        body["pairedDevices"] = Value::Array(page);
    }
    if let Some(token) = params::next_page_token(&context.knobs, token) {
        body["nextPageToken"] = json!(token);
    }
    Ok(responses::json(StatusCode::OK, &body))
}

/// `users.pairedDevices.get`: `{device}` is the number in the device's `name`.
pub(crate) fn paired_device_by_id(
    context: &Context,
    user: &str,
    id: &str,
) -> Result<Response, GoogleError> {
    let devices = context.persona.paired_devices();
    let index = id
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_sub(1))
        .filter(|index| *index < devices.len())
        .ok_or_else(GoogleError::not_found)?;
    Ok(responses::json(
        StatusCode::OK,
        &paired_device(context, user, index, devices[index]),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::google::api::test_support::{body, context};

    #[tokio::test]
    async fn paired_devices_page_and_resolve() {
        let context = context(json!({}));
        let list = |query: &str| {
            paired_devices(&context, "me", &Query::parse(Some(query)))
                .unwrap_or_else(axum::response::IntoResponse::into_response)
        };
        let (status, all) = body(list("")).await;
        assert_eq!(status, 200);
        let devices = all["pairedDevices"].as_array().unwrap();
        assert_eq!(devices.len(), 4);
        assert!(all.get("nextPageToken").is_none());
        assert_eq!(devices[0]["deviceVersion"], "Charge 6");
        assert_eq!(devices[0]["lastSyncTime"], "2026-11-21T12:00:00Z");
        assert_eq!(devices[1]["deviceType"], "SCALE");

        let (_, first) = body(list("pageSize=3")).await;
        assert_eq!(first["pairedDevices"].as_array().unwrap().len(), 3);
        let token = first["nextPageToken"].as_str().unwrap().to_owned();
        let (_, second) = body(list(&format!("pageSize=3&pageToken={token}"))).await;
        assert_eq!(second["pairedDevices"], json!([devices[3]]));
        let (status, _) = body(list(&format!("pageSize=2&pageToken={token}"))).await;
        assert_eq!(status, 400, "the token belongs to pageSize=3");

        let one = paired_device_by_id(&context, "me", "2").unwrap();
        assert_eq!(body(one).await.1, devices[1]);
        assert!(paired_device_by_id(&context, "me", "5").is_err());
        assert!(paired_device_by_id(&context, "me", "0").is_err());
    }

    #[tokio::test]
    async fn settings_carry_the_bcp_47_locale() {
        let (status, settings) = body(settings(&context(json!({})))).await;
        assert_eq!(status, 200);
        assert_eq!(settings["languageLocale"], "en-US");
        assert_eq!(settings["timeZone"], "America/Los_Angeles");
    }

    #[tokio::test]
    async fn the_irn_profile_is_static() {
        let context = context(json!({}));
        let (status, profile) = body(irn_profile(&context, "me")).await;
        assert_eq!(status, 200);
        assert_eq!(profile["name"], "users/me/irnProfile");
        assert_eq!(profile["enrollmentStatus"], true);
    }
}
