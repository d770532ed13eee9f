//! Single-use OAuth `state` values.
//!
//! The browser carries the state (and the PKCE verifier) in an encrypted cookie that binds the
//! flow to its session; this store makes each state usable once, so a replayed callback URL is
//! refused even when the replay carries the cookie too. Only a hash of the state is stored.

use std::time::Duration;

use redis::{AsyncCommands, SetExpiry, SetOptions};
use sha2::{Digest, Sha256};

use crate::{Error, redis_conn::Redis};

#[derive(Clone, Debug)]
pub struct OAuthStates {
    redis: Redis,
}

impl OAuthStates {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    /// Records a freshly issued state; it can be consumed once within `ttl`.
    pub async fn issue(&self, state: &str, ttl: Duration) -> Result<(), Error> {
        let options = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::EX(ttl.as_secs()));
        let _: Option<String> = self
            .redis
            .get()
            .await?
            .set_options(self.key(state), 1, options)
            .await?;
        Ok(())
    }

    /// True exactly once per issued, unexpired state.
    pub async fn consume(&self, state: &str) -> Result<bool, Error> {
        let deleted: u32 = self.redis.get().await?.del(self.key(state)).await?;
        Ok(deleted == 1)
    }

    fn key(&self, state: &str) -> String {
        self.redis.key(&format!(
            "oauth-state:{}",
            hex::encode(Sha256::digest(state.as_bytes()))
        ))
    }
}
