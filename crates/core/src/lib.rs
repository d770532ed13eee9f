//! Pieces the web and worker processes share: configuration, token encryption, the member store,
//! the job queue, single-use OAuth states, the staging store, and a private `redis-server` for
//! the local stack and the tests.

pub mod config;
pub mod crypto;
pub mod local_redis;
pub mod members;
pub mod oauth_state;
pub mod queue;
pub mod redis_conn;
pub mod staging;

/// The crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Redis request failed")]
    Redis(#[from] redis::RedisError),
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
}

/// 128 random bits as hex: OAuth states, lease fencing tokens, temporary file names.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    hex::encode(bytes)
}
