//! The read-only Google Health OAuth scopes (reference §1.6).
//!
//! Google grants scopes per category and the member may untick any of them on the consent
//! screen (granular consent), so the importer must read the granted set back from the token
//! response and enable only the matching data types.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One read-only Google Health scope. [`Scope::url`] gives the full scope string Google expects;
/// [`FromStr`] parses it back. Serialized as that string, so stored grants stay readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// steps, distance, floors, calories, active minutes, exercise, VO2 max…
    ActivityAndFitness,
    /// heart rate, HRV, SpO2, breathing, temperature, weight, body fat…
    HealthMetricsAndMeasurements,
    Sleep,
    /// food, hydration and nutrition logs.
    Nutrition,
    /// GPS tracks of exercises (TCX export, together with `ActivityAndFitness`).
    Location,
    Ecg,
    /// Irregular Rhythm Notifications.
    Irn,
    /// `users/me/profile` (age, membership start date).
    Profile,
    /// `users/me/settings` (time zone, units) and paired devices.
    Settings,
}

impl Scope {
    /// Every read-only scope, in the order of the reference's table.
    pub const ALL: [Scope; 9] = [
        Scope::ActivityAndFitness,
        Scope::HealthMetricsAndMeasurements,
        Scope::Sleep,
        Scope::Nutrition,
        Scope::Location,
        Scope::Ecg,
        Scope::Irn,
        Scope::Profile,
        Scope::Settings,
    ];

    /// The full scope string, e.g.
    /// `https://www.googleapis.com/auth/googlehealth.sleep.readonly`.
    pub fn url(self) -> &'static str {
        match self {
            Scope::ActivityAndFitness => {
                "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly"
            }
            Scope::HealthMetricsAndMeasurements => {
                "https://www.googleapis.com/auth/googlehealth.health_metrics_and_measurements.readonly"
            }
            Scope::Sleep => "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
            Scope::Nutrition => "https://www.googleapis.com/auth/googlehealth.nutrition.readonly",
            Scope::Location => "https://www.googleapis.com/auth/googlehealth.location.readonly",
            Scope::Ecg => "https://www.googleapis.com/auth/googlehealth.ecg.readonly",
            Scope::Irn => "https://www.googleapis.com/auth/googlehealth.irn.readonly",
            Scope::Profile => "https://www.googleapis.com/auth/googlehealth.profile.readonly",
            Scope::Settings => "https://www.googleapis.com/auth/googlehealth.settings.readonly",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url())
    }
}

/// A scope string that is not one of the read-only Google Health scopes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a read-only Google Health scope: {0:?}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.url() == text)
            .ok_or_else(|| UnknownScope(text.to_owned()))
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.url())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The scopes of a space-separated `scope` string that this crate knows, in order, without
/// duplicates. Unknown scopes (`openid`, write scopes, scopes Google adds later) are ignored
/// because the importer has no use for them.
pub(crate) fn parse_granted(scopes: &str) -> Vec<Scope> {
    let mut granted: Vec<Scope> = scopes
        .split_ascii_whitespace()
        .filter_map(|scope| scope.parse().ok())
        .collect();
    granted.sort_unstable();
    granted.dedup();
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_url() {
        for scope in Scope::ALL {
            assert_eq!(scope.url().parse::<Scope>(), Ok(scope));
            assert!(scope.url().ends_with(".readonly"));
        }
    }

    #[test]
    fn write_scopes_and_short_names_are_not_scopes() {
        assert!(
            "https://www.googleapis.com/auth/googlehealth.sleep.writeonly"
                .parse::<Scope>()
                .is_err()
        );
        assert!("sleep".parse::<Scope>().is_err());
    }

    #[test]
    fn granted_scopes_ignore_unknown_and_duplicates() {
        let text = format!(
            "openid {} https://www.googleapis.com/auth/googlehealth.sleep.writeonly  {} {}",
            Scope::Sleep,
            Scope::ActivityAndFitness,
            Scope::Sleep
        );
        assert_eq!(
            parse_granted(&text),
            vec![Scope::ActivityAndFitness, Scope::Sleep]
        );
    }

    #[test]
    fn scopes_serialize_as_their_url() {
        let json = serde_json::to_string(&Scope::Settings).unwrap();
        assert_eq!(json, format!("\"{}\"", Scope::Settings.url()));
        assert_eq!(
            serde_json::from_str::<Scope>(&json).unwrap(),
            Scope::Settings
        );
    }
}
