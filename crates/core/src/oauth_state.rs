//! Single-use OAuth `state` values.
//!
//! The browser carries the state (and the PKCE verifier) in an encrypted cookie that binds the
//! flow to its session; this store makes each state usable once, so a replayed callback URL is
//! refused even when the replay carries the cookie too. Only a hash of the state is stored.

use std::time::Duration;

use redis::{AsyncCommands, SetExpiry, SetOptions, aio::ConnectionManager};
use sha2::{Digest, Sha256};

use crate::Error;

#[derive(Clone)]
pub struct OAuthStates {
    redis: ConnectionManager,
    prefix: String,
}

impl OAuthStates {
    pub fn new(redis: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            redis,
            prefix: format!("{key_prefix}oauth-state:"),
        }
    }

    /// Records a freshly issued state; it can be consumed once within `ttl`.
    pub async fn issue(&self, state: &str, ttl: Duration) -> Result<(), Error> {
        let options = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::EX(ttl.as_secs()));
        let _: Option<String> = self
            .redis
            .clone()
            .set_options(self.key(state), 1, options)
            .await?;
        Ok(())
    }

    /// True exactly once per issued, unexpired state.
    pub async fn consume(&self, state: &str) -> Result<bool, Error> {
        let deleted: u32 = self.redis.clone().del(self.key(state)).await?;
        Ok(deleted == 1)
    }

    fn key(&self, state: &str) -> String {
        format!(
            "{}{}",
            self.prefix,
            hex::encode(Sha256::digest(state.as_bytes()))
        )
    }
}
