//! The database as the processes meet it at start: a web and a worker process of a new deploy
//! start together on a database that has no tables yet.

use std::{sync::Arc, time::Duration};

use oh_fitbit_core::{
    config::DatabaseConfig, crypto::TokenCipher, db::Database, local::LocalPostgres,
    members::MemberStore,
};
use sqlx::{Connection, PgConnection};

use crate::fixtures::{id, oh_tokens};

#[tokio::test]
async fn processes_starting_together_migrate_the_database_once() {
    let server = LocalPostgres::start().await.expect("PostgreSQL starts");
    let url = server.create_database("fresh").await.unwrap();
    let config = DatabaseConfig::local(url.clone());
    let wait = Duration::from_secs(30);
    let started = tokio::join!(
        Database::connect(&config, wait),
        Database::connect(&config, wait),
        Database::connect(&config, wait),
    );
    let (web, worker, operator) = (
        started.0.expect("the web process starts"),
        started.1.expect("the worker starts"),
        started.2.expect("an operator command starts"),
    );

    let mut sql = PgConnection::connect(&url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut sql)
            .await
            .unwrap();
    assert_eq!(
        applied,
        [(1, true), (2, true), (3, true)],
        "each migration applied once"
    );

    // Each pool works on the migrated tables, and sees what the others wrote.
    let cipher = Arc::new(TokenCipher::random());
    let member = id("12345678");
    MemberStore::new(web, cipher.clone())
        .save_open_humans_link(&member, &oh_tokens("oh"))
        .await
        .unwrap();
    for database in [worker, operator] {
        let members = MemberStore::new(database, cipher.clone());
        assert_eq!(
            members.member_ids().await.unwrap(),
            std::slice::from_ref(&member)
        );
    }

    // A process started later finds nothing to apply.
    Database::connect(&config, wait).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut sql)
        .await
        .unwrap();
    assert_eq!(count, 3);
}
