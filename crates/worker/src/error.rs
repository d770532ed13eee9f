//! The worker's one error type.

use google_health::ApiError;
use oh_fitbit_core::{Provider, members::FailureReason};

/// Why a member's sync stopped before it finished.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the member's record no longer exists")]
    MemberGone,
    /// Store, staging and token failures, including a grant the member must renew.
    #[error(transparent)]
    Core(oh_fitbit_core::Error),
    #[error("Open Humans request failed")]
    OpenHumans(#[source] open_humans::Error),
    #[error("Google Health API {context} failed")]
    Api {
        context: String,
        #[source]
        source: ApiError,
    },
    #[error("Google Health API {context} answered an unexpected value: {detail}")]
    UnexpectedValue { context: String, detail: String },
    #[error("the staged chunk {key} is unreadable: {detail}")]
    CorruptStaging { key: String, detail: String },
    #[error("the file {file} on Open Humans cannot be read back: {detail}")]
    UnreadableFile { file: String, detail: String },
    #[error("the new {file} would hold fewer records than the one on Open Humans ({detail})")]
    WouldShrink { file: String, detail: String },
    /// Staging is being restored from the member's files; `after_restore` when this very run
    /// had restored it already (so the cause is not in staging, and the run counts as failed).
    #[error("the member's staging needs repair")]
    Repairing {
        after_restore: bool,
        #[source]
        cause: Box<SyncError>,
    },
    #[error("a date is out of the supported range")]
    DateOutOfRange,
    #[error("another worker took over this member's sync")]
    LeaseLost,
}

impl From<oh_fitbit_core::Error> for SyncError {
    /// A write refused by the fence means this run lost the member.
    fn from(error: oh_fitbit_core::Error) -> Self {
        match error {
            oh_fitbit_core::Error::LeaseLost => Self::LeaseLost,
            other => Self::Core(other),
        }
    }
}

impl SyncError {
    pub fn api(context: impl Into<String>, source: ApiError) -> Self {
        Self::Api {
            context: context.into(),
            source,
        }
    }

    /// Staging lost or damaged something, which a restore from the member's files repairs.
    pub fn needs_repair(&self) -> bool {
        matches!(self, Self::CorruptStaging { .. } | Self::WouldShrink { .. })
    }

    /// Why one data type failed on its own, when it did: Google refused what was asked of that
    /// type, or answered it with something that cannot be read. Everything else — the grant,
    /// the quota, an outage, our stores — concerns the whole sync.
    pub fn type_failure(&self) -> Option<FailureReason> {
        match self {
            Self::Api {
                source: ApiError::InvalidArgument { .. } | ApiError::NotFound,
                ..
            } => Some(FailureReason::Refused),
            Self::Api {
                source: ApiError::Malformed { .. },
                ..
            }
            | Self::UnexpectedValue { .. } => Some(FailureReason::Unreadable),
            _ => None,
        }
    }

    /// Failures that may pass by themselves; anything else needs a person to act.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Core(error) => error.is_transient(),
            Self::OpenHumans(error) => error.is_transient(),
            Self::Api { source, .. } => source.is_transient(),
            Self::Repairing { after_restore, .. } => !after_restore,
            _ => false,
        }
    }
}

impl From<open_humans::Error> for SyncError {
    /// A 401 or `invalid_grant` from Open Humans means the member withdrew or must sign in again.
    fn from(error: open_humans::Error) -> Self {
        if error.needs_reauthorization() {
            Self::Core(oh_fitbit_core::Error::GrantRevoked(Provider::OpenHumans))
        } else {
            Self::OpenHumans(error)
        }
    }
}
