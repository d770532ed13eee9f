//! What this deployment has learned about the Google Health API's undocumented behaviour —
//! which filter spelling a daily type accepts, whether sleep filters work, whether
//! `dailyRollUp` counts its end day — kept in one Redis hash, so every worker process and every
//! later sync starts from what worked instead of probing again.

use std::collections::HashMap;

use redis::{AsyncCommands, aio::ConnectionManager};

use crate::Error;

#[derive(Clone)]
pub struct DialectStore {
    redis: ConnectionManager,
    key: String,
}

impl DialectStore {
    pub fn new(redis: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            redis,
            key: format!("{key_prefix}google-dialect"),
        }
    }

    /// Everything learned so far, by name (`daily_filter_prefix:daily-vo2-max` → `camel`).
    pub async fn load(&self) -> Result<HashMap<String, String>, Error> {
        Ok(self.redis.clone().hgetall(&self.key).await?)
    }

    pub async fn remember(&self, name: &str, value: &str) -> Result<(), Error> {
        let _: () = self.redis.clone().hset(&self.key, name, value).await?;
        Ok(())
    }
}
