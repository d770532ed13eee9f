//! Connections to Redis.
//!
//! Ordinary commands share one auto-reconnecting multiplexed connection. Blocking commands
//! (`BLPOP` while a worker waits for work) get a connection of their own without a response
//! timeout: redis-rs ≥ 1.0 times out any reply after 500 ms by default, which would break a
//! blocking wait, and a blocking command would stall everyone sharing its connection.

use std::time::Duration;

use redis::{
    AsyncConnectionConfig, Client,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
};
use secrecy::ExposeSecret;

use crate::{Error, config::RedisConfig};

pub async fn connect(config: &RedisConfig) -> Result<ConnectionManager, Error> {
    let client = Client::open(config.url.expose_secret())?;
    let manager = ConnectionManager::new_with_config(
        client,
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(5),
    )
    .await?;
    Ok(manager)
}

/// A connection reserved for one blocking wait at a time.
pub struct BlockingConnection(MultiplexedConnection);

impl BlockingConnection {
    pub async fn open(config: &RedisConfig) -> Result<Self, Error> {
        let client = Client::open(config.url.expose_secret())?;
        let connection = client
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(5)))
                    .set_response_timeout(None),
            )
            .await?;
        Ok(Self(connection))
    }

    pub(crate) fn connection(&mut self) -> &mut MultiplexedConnection {
        &mut self.0
    }
}
