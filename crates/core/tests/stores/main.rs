//! The core crate's stores against real servers started by the tests themselves (never a server
//! someone left running): a private `redis-server` per test, a private PostgreSQL per test (or,
//! when `DATABASE_URL` is set, a fresh database of its own on that server), and a private
//! `moto_server`, an S3 imitation, per test of the S3 staging backend.

mod database;
mod erasure;
mod fenced_writes;
mod fixtures;
mod keys;
mod legacy;
mod members;
mod oauth_state;
mod published;
mod queue;
mod queue_clock;
mod queue_keys;
mod queue_rebuild;
mod staging;

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use oh_fitbit_core::{
    config::{DatabaseConfig, RedisConfig},
    crypto::TokenCipher,
    db::Database,
    local::{LocalPostgres, LocalRedis, fresh_database},
    members::MemberStore,
    queue::{JobQueue, Lease},
    redis_conn::Redis,
};
use open_humans::ProjectMemberId;
use secrecy::SecretString;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, postgres::PgPoolOptions};

use crate::fixtures::{LEASE, MAX_ATTEMPTS, account, google_tokens, oh_tokens};

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Every key the tests write starts with this.
pub const PREFIX: &str = "test:";

/// A private `redis-server`, empty at start, and the service's pools on it.
pub struct TestRedis {
    pub server: LocalRedis,
    pub redis: Redis,
}

impl TestRedis {
    pub async fn start() -> Self {
        let server = LocalRedis::start()
            .await
            .expect("redis-server must be installed for these tests (scripts/test installs it)");
        let config = RedisConfig {
            url: SecretString::from(server.url()),
            key_prefix: PREFIX.to_owned(),
        };
        let redis = Redis::new(&config, 2).expect("Redis pools");
        Self { server, redis }
    }

    /// One command as given, for what the stores do not offer.
    pub async fn raw(&self, args: &[&str]) -> redis::Value {
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command
            .query_async(&mut self.redis.get().await.expect("a Redis connection"))
            .await
            .unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }

    /// Redis loses everything it held.
    pub async fn lose_everything(&mut self, how: Loss) {
        match how {
            Loss::Flushed => assert_eq!(self.raw(&["FLUSHALL"]).await, redis::Value::Okay),
            Loss::Restarted => self.server.restart().await.expect("restart redis-server"),
        }
        assert_eq!(self.raw(&["DBSIZE"]).await, redis::Value::Int(0));
    }
}

/// How Redis loses what it held.
#[derive(Clone, Copy, Debug)]
pub enum Loss {
    /// An operator's FLUSHALL.
    Flushed,
    /// The add-on restarted empty (nothing is persisted).
    Restarted,
}

/// A fresh, migrated database of the test's own.
pub struct TestDatabase {
    pub db: Database,
    /// A pool of its own, to read and rewrite rows behind the stores' backs.
    pub sql: PgPool,
    /// Kept running until the test ends.
    _server: Option<LocalPostgres>,
    /// A database made on the server `DATABASE_URL` names, dropped when the test ends.
    on_shared_server: Option<SharedDatabase>,
}

struct SharedDatabase {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// `DATABASE_URL` set: a fresh uniquely named database on that server; otherwise a
    /// private PostgreSQL server with a fresh database.
    pub async fn start() -> Self {
        let (server, url, on_shared_server) = match std::env::var("DATABASE_URL") {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let url = fresh_database(&admin_url)
                    .await
                    .expect("a fresh database on the server DATABASE_URL names");
                let parsed = url::Url::parse(&url).expect("a database URL");
                let name = parsed.path().trim_start_matches('/').to_owned();
                (None, url, Some(SharedDatabase { admin_url, name }))
            }
            _ => {
                let server = LocalPostgres::start().await.expect(
                    "PostgreSQL must be installed for these tests (apt-get install postgresql)",
                );
                let url = server
                    .create_database("test")
                    .await
                    .expect("create the test database");
                (Some(server), url, None)
            }
        };
        let db = Database::connect(&DatabaseConfig::local(url.clone()), Duration::from_secs(10))
            .await
            .expect("connect to the test database and migrate it");
        let sql = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .expect("a second pool on the test database");
        Self {
            db,
            sql,
            _server: server,
            on_shared_server,
        }
    }

    /// The first column of every row `query` selects, as text.
    pub async fn texts(&self, query: &'static str) -> Vec<String> {
        sqlx::query_scalar(query)
            .fetch_all(&self.sql)
            .await
            .unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// Every row of `table`, each as PostgreSQL prints a row: what anyone reading the
    /// database sees.
    pub async fn dump(&self, table: &str) -> String {
        let query = format!("SELECT coalesce(string_agg(t::text, '\n'), '') FROM {table} t");
        sqlx::query_scalar(AssertSqlSafe(query))
            .fetch_one(&self.sql)
            .await
            .unwrap_or_else(|error| panic!("dump {table}: {error}"))
    }

    /// Runs a statement about one member (`$1`).
    pub async fn execute(&self, statement: &'static str, member: &ProjectMemberId) -> u64 {
        sqlx::query(statement)
            .bind(member.as_str())
            .execute(&self.sql)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"))
            .rows_affected()
    }

    /// The member's row in `sync_jobs`, as the queue recorded it.
    pub async fn job(&self, member: &ProjectMemberId) -> Option<JobRow> {
        let row: Option<JobColumns> = sqlx::query_as(
            "SELECT state, (extract(epoch FROM run_at) * 1000)::bigint, attempts, message, \
             lease_token IS NOT NULL FROM sync_jobs WHERE member_id = $1",
        )
        .bind(member.as_str())
        .fetch_optional(&self.sql)
        .await
        .expect("read sync_jobs");
        row.map(|(state, run_at_ms, attempts, message, leased)| JobRow {
            state,
            run_at: run_at_ms.map(|ms| Timestamp::from_millisecond(ms).unwrap()),
            attempts,
            message,
            leased,
        })
    }
}

/// State, run_at in milliseconds, attempts, message, leased.
type JobColumns = (String, Option<i64>, i32, Option<String>, bool);

/// A row of `sync_jobs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub state: String,
    pub run_at: Option<Timestamp>,
    pub attempts: i32,
    pub message: Option<String>,
    /// A run holds the member's fence.
    pub leased: bool,
}

impl Drop for TestDatabase {
    /// A database on a shared server goes with its test (its sessions are ended first).
    /// Async work cannot run in `drop`, so it runs on a thread with a runtime of its own.
    fn drop(&mut self) {
        let Some(SharedDatabase { admin_url, name }) = self.on_shared_server.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop a test database: {error}");
        }
    }
}

/// Redis, the database and the stores on them, as a worker process has them.
pub struct Stores {
    pub redis: TestRedis,
    pub database: TestDatabase,
    pub cipher: Arc<TokenCipher>,
    pub members: MemberStore,
    pub queue: JobQueue,
}

impl Stores {
    pub async fn start() -> Self {
        let (redis, database) = tokio::join!(TestRedis::start(), TestDatabase::start());
        let cipher = Arc::new(TokenCipher::random());
        Self {
            members: MemberStore::new(database.db.clone(), cipher.clone()),
            queue: JobQueue::new(redis.redis.clone(), database.db.clone()),
            redis,
            database,
            cipher,
        }
    }

    /// The member signs in with Open Humans (access token `access`).
    pub async fn sign_in(&self, member: &ProjectMemberId, access: &str) {
        self.members
            .save_open_humans_link(member, &oh_tokens(access))
            .await
            .unwrap();
    }

    /// The member (who signed in) connects Fitbit (Google access token `access`).
    pub async fn connect_fitbit(&self, member: &ProjectMemberId, access: &str) {
        self.members
            .connect_fitbit(member, &account(), &google_tokens(access), None)
            .await
            .unwrap();
    }

    /// A lease on the member's job, asked for now; no other job may be ready.
    pub async fn lease(&self, member: &ProjectMemberId, duration: Duration) -> Lease {
        self.queue.enqueue(member, Timestamp::now()).await.unwrap();
        self.fetch(member, duration).await
    }

    /// The next lease, which must be the member's.
    pub async fn fetch(&self, member: &ProjectMemberId, duration: Duration) -> Lease {
        let lease = self
            .queue
            .fetch(duration)
            .await
            .unwrap()
            .expect("the member's job is ready");
        assert_eq!(&lease.member, member);
        lease
    }

    /// A lease that was handed on, and the lease of the run that took the member over.
    pub async fn handed_on(&mut self, member: &ProjectMemberId, how: Handover) -> (Lease, Lease) {
        let stale = match how {
            Handover::Reaped => {
                let stale = self.lease(member, Duration::ZERO).await;
                assert_eq!(self.queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
                stale
            }
            Handover::RedisLost(loss) => {
                let stale = self.lease(member, LEASE).await;
                self.redis.lose_everything(loss).await;
                assert!(self.queue.repair(&[]).await.unwrap().rebuilt);
                stale
            }
        };
        let current = self.fetch(member, LEASE).await;
        (stale, current)
    }
}

/// How a run's lease passes to another run.
#[derive(Clone, Copy, Debug)]
pub enum Handover {
    /// The run stopped heart-beating; its lease expired and was reaped.
    Reaped,
    /// Redis lost everything under the run, and the queue was rebuilt from the database.
    RedisLost(Loss),
}
