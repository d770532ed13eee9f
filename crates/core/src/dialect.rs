//! What this deployment has learned about the Google Health API's undocumented behaviour —
//! which filter spelling a daily type accepts, whether sleep filters work, whether
//! `dailyRollUp` counts its end day — kept in the database, so every worker process and every
//! later sync starts from what worked instead of probing again.

use std::collections::HashMap;

use crate::{Error, db::Database};

#[derive(Clone, Debug)]
pub struct DialectStore {
    db: Database,
}

impl DialectStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Everything learned so far, by name (`daily_filter_prefix:daily-vo2-max` → `camel`).
    pub async fn load(&self) -> Result<HashMap<String, String>, Error> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM google_dialect")
            .fetch_all(self.db.pool())
            .await
            .map_err(Error::Database)?;
        Ok(rows.into_iter().collect())
    }

    pub async fn remember(&self, name: &str, value: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO google_dialect (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, learned_at = now()",
        )
        .bind(name)
        .bind(value)
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        Ok(())
    }
}
