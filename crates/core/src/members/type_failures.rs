//! Data types whose reading failed for a reason of their own, so the member's other types went
//! on without them: what went wrong, for which days, and when the type is tried again.

use std::{collections::BTreeMap, time::Duration};

use jiff::{SignedDuration, Timestamp, civil::Date};
use jiff_sqlx::{Date as SqlDate, Timestamp as SqlTimestamp, ToSqlx};
use open_humans::ProjectMemberId;

use super::{
    MemberStore,
    import_state::{fenced_query, held},
    member_error,
};
use crate::{
    Error,
    fence::{Fence, fenced},
    tier::{CursorKey, Tier},
};

/// The longest a failing type waits for its next try: a day, as long as between two syncs.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// Google refused the request (a 400 that no other spelling of it avoided).
    Refused,
    /// Google's answer, or a point in it, could not be read.
    Unreadable,
    /// Google answered that the member's grant does not cover the type (403 insufficient
    /// scope), although the grant named its scope: access withdrawn since.
    NotGranted,
}

impl FailureReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Unreadable => "unreadable",
            Self::NotGranted => "not_granted",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Refused, Self::Unreadable, Self::NotGranted]
            .into_iter()
            .find(|reason| reason.name() == name)
    }

    /// What happened, as the member is told it.
    pub fn in_plain_words(self) -> &'static str {
        match self {
            Self::Refused => "Google refused our request for this data",
            Self::Unreadable => "Google's answer for this data could not be read",
            Self::NotGranted => {
                "Google says you no longer share this data with this service; to include it, \
                 reconnect Fitbit and allow it on Google's screen"
            }
        }
    }
}

/// One type's open failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeFailure {
    /// The civil days whose reading failed, both included.
    pub first_day: Date,
    pub last_day: Date,
    pub reason: FailureReason,
    /// What went wrong, for operators: escaped and cut by the caller.
    pub detail: String,
    pub first_failed_at: Timestamp,
    /// Runs in a row that failed on this type.
    pub attempts: u32,
    /// The type is not tried again before then.
    pub retry_after: Timestamp,
}

impl TypeFailure {
    /// The failure after one more failed run at `now`: the wait before the next try doubles
    /// from `first_wait`, up to a day.
    pub fn after(
        earlier: Option<&TypeFailure>,
        (first_day, last_day): (Date, Date),
        (reason, detail): (FailureReason, String),
        now: Timestamp,
        first_wait: Duration,
    ) -> Self {
        let attempts = earlier.map_or(1, |earlier| earlier.attempts.saturating_add(1));
        let doublings = attempts.saturating_sub(1).min(16);
        let wait = first_wait.saturating_mul(1 << doublings).min(LONGEST_WAIT);
        Self {
            first_day: earlier.map_or(first_day, |earlier| earlier.first_day.min(first_day)),
            last_day: earlier.map_or(last_day, |earlier| earlier.last_day.max(last_day)),
            reason,
            detail,
            first_failed_at: earlier.map_or(now, |earlier| earlier.first_failed_at),
            attempts,
            retry_after: now
                .saturating_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
                .unwrap_or(Timestamp::MAX),
        }
    }
}

impl MemberStore {
    pub async fn record_type_failure(
        &self,
        fence: &Fence,
        key: &CursorKey,
        failure: &TypeFailure,
    ) -> Result<(), Error> {
        let written = fenced_query(
            fence,
            fenced!(
                "INSERT INTO type_failures (member_id, tier, data_type, first_day, last_day, \
                 reason, detail, first_failed_at, attempts, retry_after) \
                 SELECT $1, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM fence \
                 ON CONFLICT (member_id, tier, data_type) DO UPDATE SET \
                 first_day = excluded.first_day, last_day = excluded.last_day, \
                 reason = excluded.reason, detail = excluded.detail, \
                 first_failed_at = excluded.first_failed_at, attempts = excluded.attempts, \
                 retry_after = excluded.retry_after"
            ),
        )
        .bind(key.tier.name())
        .bind(&key.data_type)
        .bind(failure.first_day.to_sqlx())
        .bind(failure.last_day.to_sqlx())
        .bind(failure.reason.name())
        .bind(&failure.detail)
        .bind(failure.first_failed_at.to_sqlx())
        .bind(i32::try_from(failure.attempts).unwrap_or(i32::MAX))
        .bind(failure.retry_after.to_sqlx())
        .execute(self.db.pool())
        .await
        .map_err(member_error(fence.member()))?;
        held(written.rows_affected())
    }

    /// The type was read: its failure, if any, is over.
    pub async fn clear_type_failure(&self, fence: &Fence, key: &CursorKey) -> Result<(), Error> {
        let delete = fenced_query(
            fence,
            fenced!(
                "DELETE FROM type_failures USING fence WHERE member_id = $1 AND tier = $3 \
                 AND data_type = $4"
            ),
        )
        .bind(key.tier.name())
        .bind(&key.data_type);
        self.write_fenced(fence, delete).await.map(drop)
    }

    pub(super) async fn type_failures(
        &self,
        id: &ProjectMemberId,
    ) -> Result<BTreeMap<CursorKey, TypeFailure>, Error> {
        type Row = (
            String,
            String,
            SqlDate,
            SqlDate,
            String,
            String,
            SqlTimestamp,
            i32,
            SqlTimestamp,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT tier, data_type, first_day, last_day, reason, detail, first_failed_at, \
             attempts, retry_after FROM type_failures WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await
        .map_err(Error::Database)?;
        rows.into_iter()
            .map(
                |(tier, data_type, first, last, reason, detail, since, attempts, retry)| {
                    let corrupt = |what: &str| Error::Corrupt(format!("member {id} has {what}"));
                    let key = CursorKey {
                        tier: Tier::parse(&tier).ok_or_else(|| corrupt("a failure of no tier"))?,
                        data_type,
                    };
                    let failure = TypeFailure {
                        first_day: first.to_jiff(),
                        last_day: last.to_jiff(),
                        reason: FailureReason::parse(&reason)
                            .ok_or_else(|| corrupt("a failure of no known reason"))?,
                        detail,
                        first_failed_at: since.to_jiff(),
                        attempts: attempts.max(1) as u32,
                        retry_after: retry.to_jiff(),
                    };
                    Ok((key, failure))
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn each_failure_in_a_row_doubles_the_wait_up_to_a_day() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let days = (date(2026, 11, 20), date(2026, 12, 3));
        let cause = || (FailureReason::Refused, "400".to_owned());
        let minute = Duration::from_secs(60);
        let first = TypeFailure::after(None, days, cause(), now, minute);
        assert_eq!((first.attempts, first.first_failed_at), (1, now));
        assert_eq!(first.retry_after, now + SignedDuration::from_secs(60));
        let later = now + SignedDuration::from_hours(1);
        let second = TypeFailure::after(
            Some(&first),
            (date(2026, 1, 1), date(2026, 11, 19)),
            cause(),
            later,
            minute,
        );
        assert_eq!(second.attempts, 2);
        assert_eq!(second.first_failed_at, now);
        assert_eq!(
            (second.first_day, second.last_day),
            (date(2026, 1, 1), days.1)
        );
        assert_eq!(second.retry_after, later + SignedDuration::from_secs(120));
        let mut failure = second;
        for _ in 0..40 {
            failure = TypeFailure::after(Some(&failure), days, cause(), later, minute);
        }
        assert_eq!(failure.retry_after, later + SignedDuration::from_hours(24));
        assert_eq!(failure.attempts, 42);
    }
}
