//! The PostgreSQL system of record: the connection pool, the migrations (embedded, applied at
//! start under PostgreSQL's advisory lock, so a web and a worker process starting together apply
//! them once), and which failures mean "the database is away for a moment".

use std::{str::FromStr, time::Duration};

use secrecy::ExposeSecret;
use sqlx::{
    ConnectOptions, PgPool, SqlSafeStr,
    migrate::{Migration, MigrationType, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

use crate::{Error, config::DatabaseConfig};

/// Each file under `migrations/` once, in order; a file is never changed after it shipped.
const MIGRATIONS: [(i64, &str, &str); 3] = [
    (
        1,
        "system of record",
        include_str!("../migrations/0001_system_of_record.sql"),
    ),
    (
        2,
        "type failures and dialect evidence",
        include_str!("../migrations/0002_type_failures_and_dialect_evidence.sql"),
    ),
    (
        3,
        "sessions, the sync allowance and seen notices",
        include_str!("../migrations/0003_sessions_sync_allowance_and_seen_notices.sql"),
    ),
];

/// A pool of connections to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    /// Connects, waiting up to `wait` for a database that is starting or restarting (a deploy,
    /// a maintenance), and then applies the migrations. `wait` is also how long a request
    /// waits for a free or re-established connection later.
    pub async fn connect(config: &DatabaseConfig, wait: Duration) -> Result<Self, Error> {
        let mut options = PgConnectOptions::from_str(config.url.expose_secret())
            .map_err(Error::Database)?
            .disable_statement_logging();
        if config.require_tls && !config.url.expose_secret().contains("sslmode=") {
            options = options.ssl_mode(PgSslMode::Require);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size)
            .acquire_timeout(wait)
            .connect_with(options)
            .await
            .map_err(Error::Database)?;
        let database = Self { pool };
        database.migrate().await?;
        Ok(database)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await
            .map_err(Error::Migrate)
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// For health checks: the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(Error::Database)?;
        Ok(())
    }

    /// Bytes the database's tables and indexes take, for the benchmark.
    pub async fn size_bytes(&self) -> Result<i64, Error> {
        sqlx::query_scalar(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(Error::Database)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether a failure says the database is away (restarting, failing over, unreachable) rather
/// than that the request was wrong: the same request succeeds once it is back.
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            // Class 08: connection exceptions; 57P01-03: the server is shutting down or
            // starting; 53300: too many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Whether a statement failed on a foreign key: the member it was about no longer exists.
pub(crate) fn is_missing_member(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.code().as_deref() == Some("23503"))
}
