//! The OAuth scopes the simulated consent screen knows (reference §1.6 and the discovery
//! document): Google Health read and write scopes per category, plus the non-Health scopes a
//! Google client may ask for alongside them.

/// Every Google Health scope starts with this.
const HEALTH_PREFIX: &str = "https://www.googleapis.com/auth/googlehealth.";

/// Scopes Google knows that are not Google Health scopes.
const OTHER_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// A Google Health scope category: one `.readonly` scope each, and a `.writeonly` one for
/// most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    ActivityAndFitness,
    HealthMetrics,
    Sleep,
    Nutrition,
    Location,
    Ecg,
    Irn,
    Profile,
    Settings,
    LoggedSymptoms,
    Mindfulness,
    ReproductiveHealth,
}

impl Category {
    const ALL: [Category; 12] = [
        Category::ActivityAndFitness,
        Category::HealthMetrics,
        Category::Sleep,
        Category::Nutrition,
        Category::Location,
        Category::Ecg,
        Category::Irn,
        Category::Profile,
        Category::Settings,
        Category::LoggedSymptoms,
        Category::Mindfulness,
        Category::ReproductiveHealth,
    ];

    fn name(self) -> &'static str {
        match self {
            Category::ActivityAndFitness => "activity_and_fitness",
            Category::HealthMetrics => "health_metrics_and_measurements",
            Category::Sleep => "sleep",
            Category::Nutrition => "nutrition",
            Category::Location => "location",
            Category::Ecg => "ecg",
            Category::Irn => "irn",
            Category::Profile => "profile",
            Category::Settings => "settings",
            Category::LoggedSymptoms => "logged_symptoms",
            Category::Mindfulness => "mindfulness",
            Category::ReproductiveHealth => "reproductive_health",
        }
    }

    /// Location, ECG and IRN data cannot be written through the API.
    fn has_write_scope(self) -> bool {
        !matches!(self, Category::Location | Category::Ecg | Category::Irn)
    }

    /// The full `.readonly` scope string, which reading this category's data requires.
    pub(crate) fn read_scope(self) -> String {
        format!("{HEALTH_PREFIX}{}.readonly", self.name())
    }
}

/// Whether the consent screen knows `scope`.
pub(crate) fn is_known(scope: &str) -> bool {
    OTHER_SCOPES.contains(&scope) || is_health(scope)
}

/// Whether `scope` is a Google Health scope, read or write (`getIdentity` accepts any).
pub(crate) fn is_health(scope: &str) -> bool {
    let Some(rest) = scope.strip_prefix(HEALTH_PREFIX) else {
        return false;
    };
    Category::ALL.into_iter().any(|category| {
        rest.strip_prefix(category.name()).is_some_and(|access| {
            access == ".readonly" || (access == ".writeonly" && category.has_write_scope())
        })
    })
}

/// Every Google Health read scope, space-separated (the `scope` of a `WWW-Authenticate`
/// challenge for a method that accepts any of them).
pub(crate) fn any_read_scope() -> String {
    Category::ALL
        .into_iter()
        .map(Category::read_scope)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scope as the `granted_scopes` knob may spell it: full, or short (`sleep.readonly`).
pub(crate) fn expand(scope: &str) -> String {
    if scope.contains(':') || OTHER_SCOPES.contains(&scope) {
        scope.to_owned()
    } else {
        format!("{HEALTH_PREFIX}{scope}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_scopes_are_read_and_write_per_category() {
        assert!(is_health(&Category::Sleep.read_scope()));
        assert!(is_health(
            "https://www.googleapis.com/auth/googlehealth.sleep.writeonly"
        ));
        assert!(!is_health(
            "https://www.googleapis.com/auth/googlehealth.ecg.writeonly"
        ));
        assert!(!is_health(
            "https://www.googleapis.com/auth/googlehealth.sleep"
        ));
        assert!(!is_health(
            "https://www.googleapis.com/auth/googlehealth.steps.readonly"
        ));
        assert!(is_known("openid"));
        assert!(!is_known(
            "https://www.googleapis.com/auth/fitness.activity.read"
        ));
        assert_eq!(expand("settings.readonly"), Category::Settings.read_scope());
        assert_eq!(expand("openid"), "openid");
        assert_eq!(any_read_scope().split(' ').count(), 12);
    }
}
