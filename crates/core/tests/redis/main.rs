//! The Redis-backed parts of the core crate against a real `redis-server`, a fresh one per test
//! (started by the test itself; never a server someone left running).

mod locks;
mod members;
mod oauth_state;
mod queue;

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
