//! Deauthorisation notices already acted on, remembered (by the SHA-256 of their body) for as
//! long as a notice is accepted at all, so a captured one cannot be replayed. In the database,
//! which a departure needs anyway, so Redis being away never turns a member's leaving away.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{Error, db::Database};

#[derive(Clone, Debug)]
pub struct SeenNotices {
    db: Database,
}

impl SeenNotices {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records `notice` for `ttl`; false when it was recorded already and has not expired.
    pub async fn first_sighting(&self, notice: &[u8], ttl: Duration) -> Result<bool, Error> {
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        sqlx::query("DELETE FROM seen_notices WHERE expires_at <= now()")
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        let inserted = sqlx::query(
            "INSERT INTO seen_notices (digest, expires_at) \
             VALUES ($1, now() + make_interval(secs => $2)) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(Sha256::digest(notice).as_slice())
        .bind(ttl.as_secs_f64())
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Forgets a notice that was not acted on after all, so its re-post may be.
    pub async fn forget(&self, notice: &[u8]) -> Result<(), Error> {
        sqlx::query("DELETE FROM seen_notices WHERE digest = $1")
            .bind(Sha256::digest(notice).as_slice())
            .execute(self.db.pool())
            .await
            .map_err(Error::Database)?;
        Ok(())
    }
}
