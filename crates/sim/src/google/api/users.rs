//! `users/me/identity`, `users/me/profile` and `users/me/settings` (reference §1.10, §8.4).

use axum::{http::StatusCode, response::Response};
use jiff::civil::Date;
use serde_json::json;

use super::pipeline::Context;
use crate::google::{
    civil::{self, DateJson},
    responses,
    scopes::Category,
};

/// The persona's birthday (for `Profile.age`).
const BIRTH_DATE: Date = Date::constant(1985, 4, 17);

fn age_on(today: Date) -> i16 {
    let before_birthday = (today.month(), today.day()) < (BIRTH_DATE.month(), BIRTH_DATE.day());
    today.year() - BIRTH_DATE.year() - i16::from(before_birthday)
}

/// `users.getIdentity`.
pub(crate) fn identity(context: &Context) -> Response {
    let persona = &context.persona;
    responses::json(
        StatusCode::OK,
        &json!({
            "name": "users/me/identity",
            "healthUserId": persona.health_user_id(),
            "legacyUserId": persona.legacy_user_id(),
        }),
    )
}

/// `users.getProfile`; the stride lengths only for callers that may read activity data.
pub(crate) fn profile(context: &Context) -> Response {
    let persona = &context.persona;
    let mut profile = json!({
        "name": "users/me/profile",
        "age": age_on(persona.today(persona.now())),
        "membershipStartDate": DateJson::of(persona.history_start()),
    });
    if context.has_scope(Category::ActivityAndFitness) {
        profile["autoWalkingStrideLengthMm"] = json!(762);
        profile["autoRunningStrideLengthMm"] = json!(1143);
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
            "languageLocale": "en_US",
            "autoStrideEnabled": true,
            "strideLengthWalkingType": "STRIDE_LENGTH_TYPE_AUTO",
            "strideLengthRunningType": "STRIDE_LENGTH_TYPE_AUTO",
            "foodLanguageCode": "en-US",
        }),
    )
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn age_counts_birthdays() {
        assert_eq!(age_on(date(2026, 4, 16)), 40);
        assert_eq!(age_on(date(2026, 4, 17)), 41);
        assert_eq!(age_on(date(2026, 11, 21)), 41);
    }
}
