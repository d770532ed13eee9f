//! How a run's result becomes a queue outcome and a sentence for the member's dashboard.
//! This is the one place that decides between waiting, retrying and asking the member to act.

use std::time::Duration;

use google_health::ApiError;
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::{Error, Provider, config::WorkerConfig, queue::Outcome};

use crate::{error::SyncError, jitter, sync::SyncSummary};

/// Longest wait between retries of a failing sync.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Google's per-user quota is per minute; without a Retry-After, wait for the next window.
const QUOTA_WAIT: Duration = Duration::from_secs(61);

pub fn outcome(
    result: &Result<SyncSummary, SyncError>,
    attempts: u32,
    config: &WorkerConfig,
) -> Outcome {
    let now = Timestamp::now();
    let error = match result {
        Ok(_) => {
            return Outcome::Done {
                next_run: now + signed(jitter(config.sync_interval)),
            };
        }
        Err(error) => error,
    };
    let park = |reason: &str| Outcome::Parked {
        reason: reason.to_owned(),
    };
    match error {
        SyncError::MemberGone => park("Your account has been removed from this service."),
        SyncError::Core(Error::NotConnected(_)) => {
            park("Connect your Fitbit account to start the import.")
        }
        SyncError::Core(Error::GrantRevoked(Provider::Google)) => park(
            "Google no longer accepts this service's access to your Fitbit data (it expired or \
             was revoked). Reconnect Fitbit from your dashboard to continue.",
        ),
        SyncError::Core(Error::GrantRevoked(Provider::OpenHumans)) => park(
            "Open Humans no longer accepts this service's access to your account. Sign in with \
             Open Humans again to continue.",
        ),
        SyncError::Api { source, .. } => match source {
            ApiError::QuotaExceeded { retry_after } => Outcome::Later {
                run_at: now + signed(retry_after.unwrap_or(QUOTA_WAIT)),
                reason:
                    "Waiting for Google's request limit to reset; the import continues by itself."
                        .into(),
            },
            ApiError::AccountNotLinked => park(
                "Your Google account is not linked to Google Health yet. Sign in once to the \
                 Google Health (Fitbit) app with this Google account, then reconnect Fitbit here.",
            ),
            ApiError::NoHealthProfile => park(
                "Your Google Health profile is not set up yet. Finish setting it up in the Google \
                 Health (Fitbit) app, then reconnect Fitbit here.",
            ),
            ApiError::LegacyFitbitAccount => park(
                "Your Fitbit account still uses a Fitbit login. Move it to a Google account in the \
                 Fitbit app, then reconnect Fitbit here.",
            ),
            ApiError::PermissionDenied { .. } => park(
                "Google refused access to your Fitbit data. Reconnect Fitbit from your dashboard; \
                 if that does not help, remove this service at myaccount.google.com/connections \
                 and connect again.",
            ),
            _ => retry(error, attempts, now),
        },
        _ => retry(error, attempts, now),
    }
}

fn retry(error: &SyncError, attempts: u32, now: Timestamp) -> Outcome {
    let base = Duration::from_secs(60).saturating_mul(2u32.saturating_pow(attempts));
    let run_at = now + signed(jitter(base.min(MAX_BACKOFF)));
    let when = run_at.strftime("%H:%M UTC");
    let error = if error.is_transient() {
        format!("A temporary problem interrupted the import; it will try again at {when}.")
    } else {
        format!("The import stopped on an unexpected problem; it will try again at {when}.")
    };
    Outcome::Retry { run_at, error }
}

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}
