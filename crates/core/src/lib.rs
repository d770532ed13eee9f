//! Pieces the web and worker processes share: configuration, token encryption, the database and
//! the member store in it, token refresh, the job queue, single-use OAuth states, the staging
//! store, and private `redis-server` and PostgreSQL servers for the local stack and the tests.

pub mod clients;
pub mod config;
pub mod crypto;
pub mod db;
pub mod departure;
pub mod dialect;
pub mod fence;
pub mod keys;
pub mod legacy;
#[cfg(feature = "local")]
pub mod local;
pub mod members;
pub mod oauth_state;
pub mod progress;
pub mod queue;
pub mod recent;
pub mod redis_conn;
pub mod seen_notices;
pub mod staging;
pub mod tier;
pub mod tokens;

/// The crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Redis request failed")]
    Redis(#[from] redis::RedisError),
    #[error("no Redis connection: {0}")]
    RedisPool(String),
    #[error("the database request failed")]
    Database(#[source] sqlx::Error),
    #[error("applying the database migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("a stored secret could not be opened")]
    Crypto(#[from] crypto::CryptoError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("could not encode a stored value")]
    Encode(#[source] serde_json::Error),
    #[error("Redis answered a script unexpectedly: {0}")]
    UnexpectedReply(String),
    #[error("member {0} does not exist")]
    MemberNotFound(String),
    #[error("invalid staging key {0:?}")]
    InvalidStagingKey(String),
    #[error("staging store I/O failed")]
    Staging(#[source] std::io::Error),
    #[error("the staged object {key} cannot be opened")]
    StagingUnreadable {
        key: String,
        #[source]
        source: crypto::CryptoError,
    },
    #[error("staging store: S3 {operation} of {key:?} in bucket {bucket:?} failed")]
    StagingS3 {
        operation: &'static str,
        bucket: String,
        key: String,
        transient: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("another run took over this member's sync (this run's lease was handed on)")]
    LeaseLost,
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("the member has not connected {0}")]
    NotConnected(Provider),
    #[error("{0} refused the member's grant (expired or revoked); the member must connect again")]
    GrantRevoked(Provider),
    #[error("refreshing the member's {provider} token failed")]
    TokenRefresh {
        provider: Provider,
        transient: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Failures that may pass by themselves if the same thing is tried again later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Redis(_) | Self::RedisPool(_) | Self::Staging(_) | Self::Task(_) => true,
            Self::Database(error) => db::is_unavailable(error),
            Self::TokenRefresh { transient, .. } | Self::StagingS3 { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The database is away for a moment (restarting, failing over, unreachable): what
    /// depended on it is waited for, not counted as a failure.
    pub fn is_database_unavailable(&self) -> bool {
        matches!(self, Self::Database(error) if db::is_unavailable(error))
    }
}

/// The two services a member links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    OpenHumans,
    Google,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::OpenHumans => "Open Humans",
            Self::Google => "Google (Fitbit)",
        })
    }
}

/// 128 random bits as hex: OAuth states, lease fencing tokens, temporary file names.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    hex::encode(bytes)
}

/// `text` as it may go into a log line or a stored note: control characters (a newline that
/// would forge a line) escaped, and cut to [`LOG_SAFE_CHARS`] characters.
pub fn log_safe(text: &str) -> String {
    let mut safe = String::new();
    for (count, character) in text.chars().enumerate() {
        if count == LOG_SAFE_CHARS {
            safe.push('…');
            break;
        }
        if character.is_control() {
            safe.extend(character.escape_default());
        } else {
            safe.push(character);
        }
    }
    safe
}

/// How much of a provider's words [`log_safe`] keeps.
pub const LOG_SAFE_CHARS: usize = 500;

/// An error and its whole cause chain on one line, for logs. Causes often carry a provider's
/// words, so each is [`log_safe`].
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = log_safe(&error.to_string());
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&log_safe(&cause.to_string()));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_safe_text_cannot_forge_a_line_and_is_cut() {
        assert_eq!(log_safe("bad\nINFO forged"), "bad\\nINFO forged");
        let long = "x".repeat(LOG_SAFE_CHARS + 10);
        assert_eq!(log_safe(&long).chars().count(), LOG_SAFE_CHARS + 1);
        assert!(log_safe(&long).ends_with('…'));
    }

    #[test]
    fn an_error_chain_is_one_line_whatever_its_causes_say() {
        let error = std::io::Error::other("Google said:\n2026-12-04 INFO forged");
        assert_eq!(error_chain(&error), "Google said:\\n2026-12-04 INFO forged");
    }
}
