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
/// The longest `Retry-After` believed: a quota that is per minute frees up well within it,
/// and a provider's (or a proxy's) value of years must not park a member for good.
const MAX_QUOTA_WAIT: Duration = Duration::from_secs(3600);
/// A database that restarts (a deploy, a maintenance, a failover) is back within this long.
const DATABASE_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn outcome(
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
        // The member left while a run of theirs was under way: its writes find no record.
        SyncError::MemberGone | SyncError::Core(Error::MemberNotFound(_)) => Outcome::Gone,
        // Not the member's failure: the run waits for the database, and what it saved stays.
        SyncError::Core(core) if core.is_database_unavailable() => Outcome::Later {
            run_at: now + signed(DATABASE_WAIT),
            reason: "The service's database was unavailable for a moment; the import continues \
                     by itself."
                .into(),
        },
        SyncError::Repairing {
            after_restore: false,
            ..
        } => Outcome::Later {
            run_at: now,
            reason: "Some of the data this service keeps for your import was lost or damaged; \
                     it is being restored from your files on Open Humans, and the import \
                     continues by itself."
                .into(),
        },
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
                run_at: now + signed(retry_after.unwrap_or(QUOTA_WAIT).min(MAX_QUOTA_WAIT)),
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
            ApiError::ScopeNotGranted { .. } => park(
                "Google no longer lets this service read your activity data. Reconnect Fitbit \
                 from your dashboard and leave \"activity and fitness\" ticked.",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::Published;

    fn config() -> WorkerConfig {
        WorkerConfig::default()
    }

    fn failed(error: SyncError, attempts: u32) -> Outcome {
        outcome(&Err(error), attempts, &config())
    }

    fn api(source: ApiError) -> SyncError {
        SyncError::api("dailyRollUp steps", source)
    }

    fn seconds_from_now(at: Timestamp) -> i64 {
        Timestamp::now().duration_until(at).as_secs()
    }

    #[test]
    fn success_schedules_the_next_sync_about_a_day_later() {
        let summary = SyncSummary {
            requests: 1,
            files: vec![(
                "fitbit-daily.json.gz".into(),
                Published::Unchanged { file_id: 1 },
            )],
        };
        let Outcome::Done { next_run } = outcome(&Ok(summary), 0, &config()) else {
            panic!("success is Done")
        };
        let hours = seconds_from_now(next_run) / 3600;
        assert!((19..=29).contains(&hours), "{hours} h");
    }

    #[test]
    fn a_quota_wait_honours_retry_after_or_waits_for_the_next_minute() {
        let with_hint = failed(
            api(ApiError::QuotaExceeded {
                retry_after: Some(Duration::from_secs(30)),
            }),
            3,
        );
        let Outcome::Later { run_at, .. } = with_hint else {
            panic!("a quota wait is Later")
        };
        assert!((29..=30).contains(&seconds_from_now(run_at)));
        let Outcome::Later { run_at, .. } =
            failed(api(ApiError::QuotaExceeded { retry_after: None }), 0)
        else {
            panic!("a quota wait is Later")
        };
        assert!((60..=61).contains(&seconds_from_now(run_at)));
        let Outcome::Later { run_at, .. } = failed(
            api(ApiError::QuotaExceeded {
                retry_after: Some(Duration::MAX),
            }),
            0,
        ) else {
            panic!("a quota wait is Later")
        };
        assert!(
            (3599..=3600).contains(&seconds_from_now(run_at)),
            "an absurd Retry-After is capped"
        );
    }

    #[test]
    fn what_only_the_member_can_fix_parks_the_job_with_what_to_do() {
        let cases = [
            (
                SyncError::Core(Error::GrantRevoked(Provider::Google)),
                "Reconnect Fitbit",
            ),
            (
                SyncError::Core(Error::GrantRevoked(Provider::OpenHumans)),
                "Sign in with Open Humans",
            ),
            (
                SyncError::Core(Error::NotConnected(Provider::Google)),
                "Connect your Fitbit",
            ),
            (
                api(ApiError::AccountNotLinked),
                "Google Health (Fitbit) app",
            ),
            (api(ApiError::NoHealthProfile), "profile"),
            (api(ApiError::LegacyFitbitAccount), "Fitbit login"),
            (
                api(ApiError::ScopeNotGranted { scope: None }),
                "activity and fitness",
            ),
            (
                api(ApiError::PermissionDenied { reason: None }),
                "myaccount.google.com",
            ),
        ];
        for (error, advice) in cases {
            let described = error.to_string();
            let Outcome::Parked { reason } = failed(error, 0) else {
                panic!("{described} should park the job")
            };
            assert!(reason.contains(advice), "{described}: {reason}");
        }
    }

    #[test]
    fn a_database_away_or_a_first_repair_waits_without_using_an_attempt() {
        let away = SyncError::Core(Error::Database(sqlx::Error::PoolTimedOut));
        let Outcome::Later { run_at, reason } = failed(away, 2) else {
            panic!("waiting for the database is Later")
        };
        assert!((29..=30).contains(&seconds_from_now(run_at)));
        assert!(reason.contains("database"), "{reason}");
        let repair = |after_restore| SyncError::Repairing {
            after_restore,
            cause: Box::new(SyncError::CorruptStaging {
                key: "k".into(),
                detail: "d".into(),
            }),
        };
        assert!(matches!(failed(repair(false), 0), Outcome::Later { .. }));
        assert!(
            matches!(failed(repair(true), 0), Outcome::Retry { .. }),
            "a repair that did not help counts as a failure"
        );
    }

    #[test]
    fn a_member_who_left_ends_the_job() {
        for error in [
            SyncError::MemberGone,
            SyncError::Core(Error::MemberNotFound("12345678".into())),
        ] {
            assert!(matches!(failed(error, 0), Outcome::Gone));
        }
    }

    #[test]
    fn other_failures_retry_with_a_growing_capped_backoff() {
        let Outcome::Retry { run_at, error } = failed(api(ApiError::Server { status: 503 }), 0)
        else {
            panic!("a server error is retried")
        };
        assert!((45..=75).contains(&seconds_from_now(run_at)));
        assert!(error.contains("temporary"), "{error}");
        let Outcome::Retry { run_at, .. } = failed(api(ApiError::Server { status: 503 }), 3) else {
            panic!("a server error is retried")
        };
        assert!(
            (380..=580).contains(&seconds_from_now(run_at)),
            "8 minutes ± 20 %"
        );
        let malformed = SyncError::UnexpectedValue {
            context: "x".into(),
            detail: "y".into(),
        };
        let Outcome::Retry { run_at, error } = failed(malformed, 30) else {
            panic!("an unexpected answer is retried")
        };
        assert!(
            seconds_from_now(run_at) <= 6 * 3600 * 12 / 10,
            "capped at 6 h ± 20 %"
        );
        assert!(error.contains("unexpected problem"), "{error}");
    }
}
