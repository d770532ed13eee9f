//! Our record of every file published on a member's Open Humans account: which Open Humans file
//! holds the current version of each name, its checksum, and how many records of each type and
//! period it holds. Staging is restored from these files, and a new version is compared with
//! the counts before it may replace one.

use std::collections::BTreeMap;

use jiff::{Timestamp, civil::Date};
use jiff_sqlx::{Date as SqlDate, Timestamp as SqlTimestamp, ToSqlx};
use open_humans::ProjectMemberId;

use super::{MemberStore, member_error};
use crate::{Error, fence::Fence};

/// Records per data type and period (by its first day).
pub type RecordCounts = BTreeMap<(String, Date), u32>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedFile {
    pub name: String,
    pub open_humans_file_id: u64,
    pub md5: String,
    pub size_bytes: u64,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub published_at: Timestamp,
    pub counts: RecordCounts,
}

type FileRow = (
    String,
    i64,
    String,
    i64,
    Option<SqlDate>,
    Option<SqlDate>,
    SqlTimestamp,
);

impl MemberStore {
    /// Every file we published for the member, by name.
    pub async fn published_files(
        &self,
        id: &ProjectMemberId,
    ) -> Result<BTreeMap<String, PublishedFile>, Error> {
        let rows: Vec<FileRow> = sqlx::query_as(
            "SELECT file_name, open_humans_file_id, md5, size_bytes, first_date, last_date, \
             published_at FROM published_files WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await
        .map_err(Error::Database)?;
        let counts: Vec<(String, String, SqlDate, i32)> = sqlx::query_as(
            "SELECT file_name, data_type, period_start, records FROM published_counts \
             WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await
        .map_err(Error::Database)?;
        let mut files: BTreeMap<String, PublishedFile> = rows
            .into_iter()
            .map(|(name, file_id, md5, size, first, last, at)| {
                let file = PublishedFile {
                    name: name.clone(),
                    open_humans_file_id: u64::try_from(file_id).unwrap_or_default(),
                    md5,
                    size_bytes: u64::try_from(size).unwrap_or_default(),
                    first_date: first.map(SqlDate::to_jiff),
                    last_date: last.map(SqlDate::to_jiff),
                    published_at: at.to_jiff(),
                    counts: RecordCounts::new(),
                };
                (name, file)
            })
            .collect();
        for (name, data_type, period, records) in counts {
            if let Some(file) = files.get_mut(&name) {
                file.counts
                    .insert((data_type, period.to_jiff()), records.max(0) as u32);
            }
        }
        Ok(files)
    }

    /// Records the current version of a file, replacing what was recorded under its name.
    pub async fn record_published(&self, fence: &Fence, file: &PublishedFile) -> Result<(), Error> {
        let member = fence.member().as_str();
        let mut tx = fence.begin().await?;
        sqlx::query("DELETE FROM published_files WHERE member_id = $1 AND file_name = $2")
            .bind(member)
            .bind(&file.name)
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        sqlx::query(
            "INSERT INTO published_files (member_id, file_name, open_humans_file_id, md5, \
             size_bytes, first_date, last_date, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(member)
        .bind(&file.name)
        .bind(i64::try_from(file.open_humans_file_id).unwrap_or(i64::MAX))
        .bind(&file.md5)
        .bind(i64::try_from(file.size_bytes).unwrap_or(i64::MAX))
        .bind(file.first_date.map(|date| date.to_sqlx()))
        .bind(file.last_date.map(|date| date.to_sqlx()))
        .bind(file.published_at.to_sqlx())
        .execute(&mut *tx)
        .await
        .map_err(member_error(fence.member()))?;
        let types: Vec<&str> = file.counts.keys().map(|(t, _)| t.as_str()).collect();
        let periods: Vec<SqlDate> = file.counts.keys().map(|(_, p)| p.to_sqlx()).collect();
        let records: Vec<i32> = file
            .counts
            .values()
            .map(|records| i32::try_from(*records).unwrap_or(i32::MAX))
            .collect();
        sqlx::query(
            "INSERT INTO published_counts (member_id, file_name, data_type, period_start, records) \
             SELECT $1, $2, * FROM unnest($3::text[], $4::date[], $5::integer[])",
        )
        .bind(member)
        .bind(&file.name)
        .bind(types)
        .bind(periods)
        .bind(records)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)
    }

    /// Forgets a file that is no longer on Open Humans (the member deleted it there).
    pub async fn forget_published(&self, fence: &Fence, name: &str) -> Result<(), Error> {
        let mut tx = fence.begin().await?;
        sqlx::query("DELETE FROM published_files WHERE member_id = $1 AND file_name = $2")
            .bind(fence.member().as_str())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)
    }
}
