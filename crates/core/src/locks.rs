//! Short-lived locks across processes (the web dynos and the worker dynos), so that only one of
//! them refreshes a member's token at a time. Each lock expires by itself, so a process that
//! dies holding one delays the others by at most the lock's lifetime.

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, Script, SetExpiry, SetOptions, aio::ConnectionManager};
use tokio::time::Instant;

use crate::Error;

#[derive(Clone)]
pub struct Locks {
    redis: ConnectionManager,
    prefix: String,
    release: Arc<Script>,
}

/// A held lock; give it back with [`Locks::release`].
#[must_use = "a lock is held until released or expired"]
pub struct LockGuard {
    key: String,
    token: String,
}

impl Locks {
    pub fn new(redis: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            redis,
            prefix: format!("{key_prefix}lock:"),
            release: Arc::new(Script::new(include_str!("lua/release_lock.lua"))),
        }
    }

    /// Takes the lock `name` for at most `lifetime`, waiting up to `wait` for another holder.
    pub async fn acquire(
        &self,
        name: &str,
        lifetime: Duration,
        wait: Duration,
    ) -> Result<LockGuard, Error> {
        let key = format!("{}{name}", self.prefix);
        let token = crate::random_token();
        let deadline = Instant::now() + wait;
        let options = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(lifetime.as_millis() as u64));
        loop {
            let taken: Option<String> = self
                .redis
                .clone()
                .set_options(&key, &token, options.clone())
                .await?;
            if taken.is_some() {
                return Ok(LockGuard { key, token });
            }
            if Instant::now() >= deadline {
                return Err(Error::LockTimeout(name.to_owned()));
            }
            // Refreshes take a fraction of a second; polling briefly is simpler than a
            // notification channel and costs one small command per attempt.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn release(&self, guard: LockGuard) -> Result<(), Error> {
        let _: i64 = self
            .release
            .key(&guard.key)
            .arg(&guard.token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}
