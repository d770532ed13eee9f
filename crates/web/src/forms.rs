//! Parsing what the member types into forms, into the domain's types: a value that does not
//! parse is refused before anything is stored.

use google_health::Scope;
use jiff::civil::Date;
use oh_fitbit_core::members::IntradayResolution;

use crate::error::WebError;

/// The intraday choices as the forms send them, with their labels, in the order shown.
pub(crate) const RESOLUTIONS: [(&str, &str); 4] = [
    ("raw", "Every sample, as recorded"),
    ("1min", "1-minute summaries"),
    ("5min", "5-minute summaries"),
    ("15min", "15-minute summaries"),
];

/// `off` (`None`) or one of [`RESOLUTIONS`]; anything else is a form no page of ours sends.
pub(crate) fn parse_intraday(value: &str) -> Result<Option<IntradayResolution>, WebError> {
    Ok(match value {
        "off" => None,
        "raw" => Some(IntradayResolution::Raw),
        "1min" => Some(IntradayResolution::OneMinute),
        "5min" => Some(IntradayResolution::FiveMinutes),
        "15min" => Some(IntradayResolution::FifteenMinutes),
        _ => return Err(WebError::BadForm),
    })
}

pub(crate) fn intraday_value(resolution: Option<IntradayResolution>) -> &'static str {
    match resolution {
        None => "off",
        Some(IntradayResolution::Raw) => "raw",
        Some(IntradayResolution::OneMinute) => "1min",
        Some(IntradayResolution::FiveMinutes) => "5min",
        Some(IntradayResolution::FifteenMinutes) => "15min",
    }
}

pub(crate) fn intraday_label(resolution: Option<IntradayResolution>) -> &'static str {
    let value = intraday_value(resolution);
    RESOLUTIONS
        .iter()
        .find(|(choice, _)| *choice == value)
        .map_or("Off", |(_, label)| label)
}

/// A data category as the settings form names it.
pub(crate) fn category_value(scope: Scope) -> &'static str {
    match scope {
        Scope::ActivityAndFitness => "activity",
        Scope::HealthMetricsAndMeasurements => "health_metrics",
        Scope::Sleep => "sleep",
        Scope::Nutrition => "nutrition",
        Scope::Ecg => "ecg",
        Scope::Irn => "irn",
        Scope::Location => "location",
        Scope::Profile => "profile",
        Scope::Settings => "settings",
    }
}

/// A day the import may start from: a real date, not before Fitbit's first tracker (2009)
/// and not after `today`.
pub(crate) fn parse_earliest_date(text: &str, today: Date) -> Result<Date, &'static str> {
    let date: Date = text
        .trim()
        .parse()
        .map_err(|_| "The earliest date must be a date like 2019-03-01.")?;
    if date < jiff::civil::date(2009, 1, 1) {
        return Err("Fitbit data starts in 2009: choose a date from 2009-01-01 on.");
    }
    if date > today {
        return Err("The earliest date cannot be in the future.");
    }
    Ok(date)
}

/// A Google OAuth client ID: `<project number>-<id>.apps.googleusercontent.com`.
pub(crate) fn parse_client_id(text: &str) -> Option<String> {
    let text = text.trim();
    let (number, id) = text
        .strip_suffix(".apps.googleusercontent.com")?
        .split_once('-')?;
    let valid = text.len() <= 200
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    valid.then(|| text.to_owned())
}

/// A Google OAuth client secret: `GOCSPX-…` today, 24 characters for older clients; letters,
/// digits, `-` and `_` only.
pub(crate) fn parse_client_secret(text: &str) -> Option<String> {
    let text = text.trim();
    let valid = (20..=100).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn client_ids_are_google_shaped() {
        let id = "123456789012-abcdef0123456789abcdef0123456789.apps.googleusercontent.com";
        assert_eq!(parse_client_id(&format!(" {id}\n")).as_deref(), Some(id));
        for bad in [
            "",
            "abcdef.apps.googleusercontent.com",
            "123-ABC.apps.googleusercontent.com",
            "123-abc.apps.example.com",
            "-abc.apps.googleusercontent.com",
            "123-abc<script>.apps.googleusercontent.com",
        ] {
            assert_eq!(parse_client_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn client_secrets_are_token_characters() {
        assert!(parse_client_secret("GOCSPX-abcdefghijklmnopqrstuvwx_-12").is_some());
        assert!(parse_client_secret("short").is_none());
        assert!(parse_client_secret("GOCSPX-has a space in it here").is_none());
        assert!(parse_client_secret(&"x".repeat(101)).is_none());
    }

    #[test]
    fn earliest_dates_are_real_days_in_range() {
        let today = date(2026, 11, 21);
        assert_eq!(
            parse_earliest_date("2019-03-01", today),
            Ok(date(2019, 3, 1))
        );
        assert!(parse_earliest_date("2019-02-30", today).is_err());
        assert!(parse_earliest_date("2008-12-31", today).is_err());
        assert!(parse_earliest_date("2026-11-22", today).is_err());
        assert!(parse_earliest_date("yesterday", today).is_err());
    }

    #[test]
    fn intraday_choices_round_trip() {
        for value in ["off", "raw", "1min", "5min", "15min"] {
            assert_eq!(intraday_value(parse_intraday(value).unwrap()), value);
        }
        assert!(matches!(parse_intraday("2min"), Err(WebError::BadForm)));
    }
}
