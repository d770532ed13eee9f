//! Connections to Redis, through deadpool-redis pools: a connection that broke (Redis restarted,
//! failed over, dropped us) fails its PING when it is next checked out and is replaced, so every
//! caller — a worker's blocking wait included — reconnects by itself.
//!
//! Ordinary commands use one pool, with a 5-second response timeout. Blocking commands (`BLPOP`
//! while a worker waits for work) use another, without a response timeout: redis-rs ≥ 1.0 times
//! out any reply after 500 ms by default, which would break a blocking wait, and a blocking
//! command would stall everyone sharing its multiplexed connection.

use std::time::Duration;

use deadpool_redis::{Connection, Manager, Pool, Runtime};
use redis::{AsyncCommands, AsyncConnectionConfig};
use secrecy::ExposeSecret;

use crate::{Error, config::RedisConfig};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Redis {
    commands: Pool,
    blocking: Pool,
    prefix: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Pools for `config`; no connection is made until one is needed. `blocking_waits` is how
    /// many blocking waits may be in flight at once (a worker's job loops).
    pub fn new(config: &RedisConfig, blocking_waits: usize) -> Result<Self, Error> {
        let pool = |response_timeout: Option<Duration>, size: usize| {
            let manager = Manager::new_with_config(
                config.url.expose_secret(),
                AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(response_timeout),
            )?;
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(CONNECT_TIMEOUT))
                .recycle_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|error| Error::RedisPool(error.to_string()))
        };
        Ok(Self {
            commands: pool(Some(Duration::from_secs(5)), 16)?,
            blocking: pool(None, blocking_waits.max(1))?,
            prefix: config.key_prefix.clone(),
        })
    }

    /// A connection for ordinary commands.
    pub async fn get(&self) -> Result<Connection, Error> {
        self.commands
            .get()
            .await
            .map_err(|error| Error::RedisPool(error.to_string()))
    }

    /// A connection for one blocking command at a time.
    pub(crate) async fn blocking(&self) -> Result<Connection, Error> {
        self.blocking
            .get()
            .await
            .map_err(|error| Error::RedisPool(error.to_string()))
    }

    /// A key of this deployment (every key carries `REDIS_KEY_PREFIX`, so a Redis can be shared).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The bytes Redis uses for this deployment's keys (`MEMORY USAGE` of each), for the
    /// benchmark and operators.
    pub async fn bytes_used(&self) -> Result<u64, Error> {
        let mut connection = self.get().await?;
        let keys: Vec<String> = {
            let mut iter: redis::AsyncIter<String> =
                connection.scan_match(format!("{}*", self.prefix)).await?;
            let mut keys = Vec::new();
            while let Some(key) = iter.next_item().await {
                keys.push(key?);
            }
            keys
        };
        let mut total = 0;
        for key in keys {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query_async(&mut connection)
                .await?;
            total += bytes.unwrap_or(0);
        }
        Ok(total)
    }

    /// For health checks: Redis answers.
    pub async fn ping(&self) -> Result<(), Error> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.get().await?)
            .await?;
        Ok(())
    }
}
