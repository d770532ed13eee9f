//! The core crate's stores against real servers started by the tests themselves (never a server
//! someone left running): the Redis-backed parts against a fresh `redis-server` per test, and the
//! staging store against `moto_server`, an S3 imitation.

mod locks;
mod members;
mod moto;
mod oauth_state;
mod queue;
mod staging_s3;

use oh_fitbit_core::{
    config::RedisConfig,
    local_redis::LocalRedis,
    redis_conn::{self, BlockingConnection},
};
use redis::aio::ConnectionManager;
use secrecy::SecretString;

pub struct TestRedis {
    pub server: LocalRedis,
    pub config: RedisConfig,
    pub connection: ConnectionManager,
}

impl TestRedis {
    pub async fn start() -> Self {
        let server = LocalRedis::start()
            .await
            .expect("redis-server must be installed for these tests (the test script installs it)");
        let config = RedisConfig {
            url: SecretString::from(server.url()),
            key_prefix: "test:".to_owned(),
        };
        let connection = redis_conn::connect(&config)
            .await
            .expect("connect to redis");
        Self {
            server,
            config,
            connection,
        }
    }

    pub async fn blocking(&self) -> BlockingConnection {
        BlockingConnection::open(&self.config).await.unwrap()
    }

    pub async fn raw(&self, args: &[&str]) -> redis::Value {
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command
            .query_async(&mut self.connection.clone())
            .await
            .unwrap()
    }
}
