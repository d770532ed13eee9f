//! What this deployment has seen work against the Google Health API where its behaviour is
//! undocumented or varies between accounts — which filter spelling a daily type answers, whether
//! sleep filters work, whether a rollup takes `pageSize` — per method and data type, with when
//! it was last seen. Kept in the database so every worker process starts from what worked.
//! Only answers that held data are recorded here, never errors.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff_sqlx::{Timestamp as SqlTimestamp, ToSqlx};

use crate::{Error, db::Database};

#[derive(Clone, Debug)]
pub struct DialectStore {
    db: Database,
}

/// A variant that worked, when it last did, and in how many runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub variant: String,
    pub seen_at: Timestamp,
    pub confirmations: u32,
}

impl DialectStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Everything seen so far, by question (`list:daily-vo2-max:filter_prefix` → `camel`).
    pub async fn load(&self) -> Result<HashMap<String, Evidence>, Error> {
        let rows: Vec<(String, String, SqlTimestamp, i32)> =
            sqlx::query_as("SELECT name, value, learned_at, confirmations FROM google_dialect")
                .fetch_all(self.db.pool())
                .await
                .map_err(Error::Database)?;
        Ok(rows
            .into_iter()
            .map(|(name, variant, seen_at, confirmations)| {
                let evidence = Evidence {
                    variant,
                    seen_at: seen_at.to_jiff(),
                    confirmations: confirmations.max(1) as u32,
                };
                (name, evidence)
            })
            .collect())
    }

    pub async fn record(&self, question: &str, evidence: &Evidence) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO google_dialect (name, value, learned_at, confirmations) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
             learned_at = excluded.learned_at, confirmations = excluded.confirmations",
        )
        .bind(question)
        .bind(&evidence.variant)
        .bind(evidence.seen_at.to_sqlx())
        .bind(i32::try_from(evidence.confirmations).unwrap_or(i32::MAX))
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        Ok(())
    }
}
