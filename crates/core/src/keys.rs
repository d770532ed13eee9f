//! Key rotation (`oh-fitbit keys`): how many values each configured key sealed, and sealing
//! again with the current key what an old key sealed, so that the old key can be dropped.
//!
//! Sealed values live in five columns of the database (members' tokens of either provider,
//! their own OAuth client's secret, the dashboard's summary, and the Open Humans tokens an
//! erasure keeps for a member who left) and in staging (every staged chunk, and each member's
//! staging marker, which is sealed like a chunk).
//!
//! Re-sealing runs beside the web and worker processes and never overwrites what they write:
//!
//! * A database value is replaced only while it is still the text that was read
//!   (compare-and-set in the statement). One that another process rewrote or deleted
//!   meanwhile is read again, not overwritten. A token's revision is left as it is: it names a
//!   token pair, which re-sealing does not change, and a refresh that is still trying to store
//!   its result must find the revision it started from (`TokenKeeper::store`).
//! * Staged objects have no compare-and-set (a directory has none, and not every
//!   S3-compatible server offers conditional writes), and a worker rewrites them. A member's
//!   objects are re-sealed while their job row is locked and names no lease token
//!   (`HeldMember`): no run holds the member, and every run claims the member by writing that
//!   row before it writes anything, so none can start until the lock is released. The lock is
//!   held for about `HOLD` at a time, which is how long a claim may wait for it; a member a
//!   run holds is skipped, for the next re-seal. A member none of whose objects an old key
//!   sealed is never held.
//!
//! Each value is re-sealed on its own, and either key opens it until the old key is dropped: a
//! re-seal that stops halfway leaves everything readable, and running it again finishes.

use std::{collections::BTreeMap, future::Future, time::Duration};

use open_humans::ProjectMemberId;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    Error,
    crypto::{Purpose, SealedWith, TokenCipher},
    db::Database,
    members::MemberStore,
    staging::{Resealed, Staging, StagingKey, member_prefix},
};

/// A kind of sealed value, as `keys status` counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    OpenHumansTokens,
    GoogleTokens,
    OwnClientSecrets,
    Summaries,
    /// The Open Humans tokens kept with the erasure of a member who left.
    DepartedTokens,
    /// Staged chunks and staging markers.
    StagedChunks,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::OpenHumansTokens,
        Kind::GoogleTokens,
        Kind::OwnClientSecrets,
        Kind::Summaries,
        Kind::DepartedTokens,
        Kind::StagedChunks,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::OpenHumansTokens => "Open Humans tokens",
            Kind::GoogleTokens => "Google tokens",
            Kind::OwnClientSecrets => "own-client secrets",
            Kind::Summaries => "dashboard summaries",
            Kind::DepartedTokens => "departed members' tokens",
            Kind::StagedChunks => "staged chunks",
        }
    }
}

/// A database column of sealed values, one per member, and the statements that read and
/// replace them.
struct SealedColumn {
    kind: Kind,
    purpose: Purpose,
    /// `$1`: the member id the page starts after; `$2`: how many. Yields member ids and
    /// sealed values.
    page: &'static str,
    /// `$1`: a member id. Yields the member's sealed value, if any.
    one: &'static str,
    /// `$1`: a member id; `$2`: the sealed value read; `$3`: what replaces it.
    replace: &'static str,
}

/// The [`SealedColumn`] `column` of `table`, whose rows `rows` selects, keyed by member `id`.
// Kept as written: formatted, each statement would take a line per fragment.
#[rustfmt::skip]
macro_rules! sealed_column {
    ($kind:expr, $purpose:expr, $table:literal, $id:literal, $column:literal, $rows:literal) => {
        SealedColumn {
            kind: $kind,
            purpose: $purpose,
            page: concat!(
                "SELECT ", $id, ", ", $column, " FROM ", $table, " WHERE ", $rows,
                " AND ", $column, " IS NOT NULL AND ", $id, " > $1 ORDER BY ", $id, " LIMIT $2"
            ),
            one: concat!(
                "SELECT ", $column, " FROM ", $table, " WHERE ", $rows, " AND ", $id, " = $1"
            ),
            replace: concat!(
                "UPDATE ", $table, " SET ", $column, " = $3 WHERE ", $rows,
                " AND ", $id, " = $1 AND ", $column, " = $2"
            ),
        }
    };
}

const COLUMNS: [SealedColumn; 5] = [
    sealed_column!(
        Kind::OpenHumansTokens,
        Purpose::OpenHumansTokens,
        "tokens",
        "member_id",
        "sealed",
        "provider = 'open_humans'"
    ),
    sealed_column!(
        Kind::GoogleTokens,
        Purpose::GoogleTokens,
        "tokens",
        "member_id",
        "sealed",
        "provider = 'google'"
    ),
    sealed_column!(
        Kind::OwnClientSecrets,
        Purpose::GoogleClientSecret,
        "own_clients",
        "member_id",
        "sealed_secret",
        "true"
    ),
    sealed_column!(
        Kind::Summaries,
        Purpose::RecentDays,
        "members",
        "id",
        "sealed_recent_days",
        "true"
    ),
    sealed_column!(
        Kind::DepartedTokens,
        Purpose::OpenHumansTokens,
        "erasure_requests",
        "member_id",
        "sealed_open_humans_tokens",
        "true"
    ),
];

/// Database values read at a time.
const PAGE: i64 = 500;
/// How often a database value another process keeps rewriting is read again.
const TRIES: usize = 3;
/// Members whose staged objects are worked on at once: each object is a round trip of its
/// own. Each holds a database connection while it works, fewer than a pool's default of 8.
const MEMBERS_AT_ONCE: usize = 4;
/// How long a member's job row stays locked at a time while their objects are re-sealed.
const HOLD: Duration = Duration::from_secs(2);

/// How many values of each kind each key sealed. [`SealedWith::Unknown`] counts the values no
/// configured key opens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyStatus {
    counts: BTreeMap<(Kind, SealedWith), u64>,
}

impl KeyStatus {
    pub fn count(&self, kind: Kind, with: SealedWith) -> u64 {
        self.counts.get(&(kind, with)).copied().unwrap_or(0)
    }

    /// Values sealed with any old key.
    pub fn old(&self) -> u64 {
        self.total(|with| matches!(with, SealedWith::Old(_)))
    }

    pub fn unreadable(&self) -> u64 {
        self.total(|with| with == SealedWith::Unknown)
    }

    fn total(&self, which: impl Fn(SealedWith) -> bool) -> u64 {
        self.counts
            .iter()
            .filter(|((_, with), _)| which(*with))
            .map(|(_, count)| count)
            .sum()
    }

    fn add(&mut self, kind: Kind, with: SealedWith) {
        *self.counts.entry((kind, with)).or_default() += 1;
    }
}

/// Counts every sealed value by the key that sealed it. A database value is opened, so one
/// that is damaged counts as unreadable; a staged object is told by the key id it starts with
/// (reading all of staging would take long), so a damaged one shows only when a run reads it.
pub async fn status(members: &MemberStore, staging: &Staging) -> Result<KeyStatus, Error> {
    let pool = members.database().pool();
    let cipher = members.cipher();
    let mut status = KeyStatus::default();
    for column in &COLUMNS {
        let mut after = String::new();
        while let Some(page) = next_page(pool, column, &mut after).await? {
            for (member, sealed) in page {
                status.add(column.kind, opened_with(cipher, column, &member, &sealed));
            }
        }
    }
    let found = for_each_member(members.database(), |member| {
        let staging = staging.clone();
        async move {
            let mut found = Vec::new();
            for key in staging.list_under(&member_prefix(&member)).await? {
                // `None`: deleted since it was listed.
                found.extend(staging.sealed_with(&key).await?);
            }
            Ok(found)
        }
    })
    .await?;
    for with in found.into_iter().flatten() {
        status.add(Kind::StagedChunks, with);
    }
    Ok(status)
}

/// What re-sealing did with the values of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resealing {
    /// Were sealed with an old key, and are now sealed with the current one.
    pub resealed: u64,
    /// Were sealed with the current key already (or rewritten with it meanwhile).
    pub current: u64,
    /// Were deleted by another process meanwhile.
    pub gone: u64,
}

/// A value re-sealing left as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub kind: Kind,
    pub member: String,
    /// The staged object, when it is one; `None` for a database value, and for all the staged
    /// objects of a member a run holds.
    pub object: Option<String>,
    pub reason: SkipReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// No configured key opens it.
    Unreadable,
    /// Another process rewrote it with an old key each time it was about to be replaced.
    KeptChanging,
    /// A sync run holds the member, whose staged objects are left for the next re-seal.
    RunHoldsMember,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Unreadable => "no configured key opens it",
            SkipReason::KeptChanging => {
                "another process kept rewriting it with an old key (is every process on the new \
                 key?)"
            }
            SkipReason::RunHoldsMember => "a sync run holds the member; run the re-seal again",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    pub done: BTreeMap<Kind, Resealing>,
    pub skipped: Vec<Skipped>,
}

impl ResealReport {
    /// Nothing was left sealed with an old key, or unreadable.
    pub fn finished(&self) -> bool {
        self.skipped.is_empty()
    }
}

/// Seals every value an old key sealed again with the current key (see the module's
/// introduction for why this is safe beside running processes).
pub async fn reseal(members: &MemberStore, staging: &Staging) -> Result<ResealReport, Error> {
    let pool = members.database().pool();
    let cipher = members.cipher();
    let mut report = ResealReport::default();
    for column in &COLUMNS {
        let done = report.done.entry(column.kind).or_default();
        let mut after = String::new();
        while let Some(page) = next_page(pool, column, &mut after).await? {
            for (member, sealed) in page {
                match reseal_value(pool, cipher, column, &member, sealed).await? {
                    ValueResealed::Written => done.resealed += 1,
                    ValueResealed::Current => done.current += 1,
                    ValueResealed::Gone => done.gone += 1,
                    ValueResealed::Skipped(reason) => report.skipped.push(Skipped {
                        kind: column.kind,
                        member,
                        object: None,
                        reason,
                    }),
                }
            }
        }
    }
    let db = members.database().clone();
    let resealed = for_each_member(members.database(), |member| {
        reseal_staged(db.clone(), staging.clone(), member)
    })
    .await?;
    let done = report.done.entry(Kind::StagedChunks).or_default();
    for (member_done, skipped) in resealed {
        done.resealed += member_done.resealed;
        done.current += member_done.current;
        done.gone += member_done.gone;
        report.skipped.extend(skipped);
    }
    Ok(report)
}

/// The next page of `column` after the member id `after`, which it moves on; `None` when
/// there is no more.
async fn next_page(
    pool: &PgPool,
    column: &SealedColumn,
    after: &mut String,
) -> Result<Option<Vec<(String, String)>>, Error> {
    let page: Vec<(String, String)> = sqlx::query_as(column.page)
        .bind(after.as_str())
        .bind(PAGE)
        .fetch_all(pool)
        .await
        .map_err(Error::Database)?;
    let Some((last, _)) = page.last() else {
        return Ok(None);
    };
    after.clone_from(last);
    Ok(Some(page))
}

/// Which key opens a database value; [`SealedWith::Unknown`] when none does.
fn opened_with(
    cipher: &TokenCipher,
    column: &SealedColumn,
    member: &str,
    sealed: &str,
) -> SealedWith {
    match cipher.sealed_with(sealed) {
        SealedWith::Unknown => SealedWith::Unknown,
        with if cipher.open(member, column.purpose, sealed).is_ok() => with,
        _ => SealedWith::Unknown,
    }
}

enum ValueResealed {
    Written,
    Current,
    Gone,
    Skipped(SkipReason),
}

async fn reseal_value(
    pool: &PgPool,
    cipher: &TokenCipher,
    column: &SealedColumn,
    member: &str,
    mut sealed: String,
) -> Result<ValueResealed, Error> {
    for _ in 0..TRIES {
        match opened_with(cipher, column, member, &sealed) {
            SealedWith::Current => return Ok(ValueResealed::Current),
            SealedWith::Unknown => return Ok(ValueResealed::Skipped(SkipReason::Unreadable)),
            SealedWith::Old(_) => {}
        }
        let resealed = cipher.reseal(member, column.purpose, &sealed)?;
        let replaced = sqlx::query(column.replace)
            .bind(member)
            .bind(&sealed)
            .bind(&resealed)
            .execute(pool)
            .await
            .map_err(Error::Database)?;
        if replaced.rows_affected() > 0 {
            return Ok(ValueResealed::Written);
        }
        let now: Option<Option<String>> = sqlx::query_scalar(column.one)
            .bind(member)
            .fetch_optional(pool)
            .await
            .map_err(Error::Database)?;
        match now.flatten() {
            Some(now) => sealed = now,
            None => return Ok(ValueResealed::Gone),
        }
    }
    Ok(ValueResealed::Skipped(SkipReason::KeptChanging))
}

/// Re-seals the member's staged objects that an old key sealed. They are told apart first
/// without holding the member, so a member with none is never held.
async fn reseal_staged(
    db: Database,
    staging: Staging,
    member: ProjectMemberId,
) -> Result<(Resealing, Vec<Skipped>), Error> {
    let mut done = Resealing::default();
    let mut skipped = Vec::new();
    let skip = |object: Option<&StagingKey>, reason| Skipped {
        kind: Kind::StagedChunks,
        member: member.to_string(),
        object: object.map(|key| key.as_str().to_owned()),
        reason,
    };
    let mut old = Vec::new();
    for key in staging.list_under(&member_prefix(&member)).await? {
        match staging.sealed_with(&key).await? {
            Some(SealedWith::Current) => done.current += 1,
            Some(SealedWith::Old(_)) => old.push(key),
            Some(SealedWith::Unknown) => skipped.push(skip(Some(&key), SkipReason::Unreadable)),
            None => done.gone += 1,
        }
    }
    if old.is_empty() {
        return Ok((done, skipped));
    }
    let Some(mut held) = HeldMember::take(&db, &member).await? else {
        skipped.push(skip(None, SkipReason::RunHoldsMember));
        return Ok((done, skipped));
    };
    let mut taken = Instant::now();
    for key in old {
        if taken.elapsed() >= HOLD {
            // A claim waiting for the row goes first; its run then holds the member.
            held.release().await?;
            let Some(again) = HeldMember::take(&db, &member).await? else {
                skipped.push(skip(None, SkipReason::RunHoldsMember));
                return Ok((done, skipped));
            };
            held = again;
            taken = Instant::now();
        }
        match staging.reseal(&held, &key).await? {
            Resealed::Written => done.resealed += 1,
            Resealed::Current => done.current += 1,
            Resealed::Gone => done.gone += 1,
            Resealed::Unreadable => skipped.push(skip(Some(&key), SkipReason::Unreadable)),
        }
    }
    held.release().await?;
    Ok((done, skipped))
}

/// A member's job row, locked while it names no lease token: no run holds the member, and
/// none can take it (a claim writes the row) until this is released.
pub(crate) struct HeldMember {
    member: ProjectMemberId,
    transaction: Transaction<'static, Postgres>,
}

impl HeldMember {
    /// `None` when a run holds the member, or keeps the row locked for more than a few seconds
    /// (a run's fenced write).
    async fn take(db: &Database, member: &ProjectMemberId) -> Result<Option<Self>, Error> {
        let mut transaction = db.pool().begin().await.map_err(Error::Database)?;
        sqlx::query("SET LOCAL lock_timeout = '5s'")
            .execute(&mut *transaction)
            .await
            .map_err(Error::Database)?;
        // Writing the row as a claim would locks it until the transaction ends. A member
        // without one (their job is being recorded, or was just deleted) has one for this
        // transaction only, which a claim's insert waits for just the same. The transaction
        // is always rolled back: the job is never changed.
        let token: Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO sync_jobs (member_id, state) VALUES ($1, 'idle') \
             ON CONFLICT (member_id) DO UPDATE SET lease_token = sync_jobs.lease_token \
             RETURNING lease_token",
        )
        .bind(member.as_str())
        .fetch_one(&mut *transaction)
        .await;
        match token {
            Ok(None) => Ok(Some(Self {
                member: member.clone(),
                transaction,
            })),
            Ok(Some(_)) => Ok(None),
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("55P03") => {
                Ok(None)
            }
            Err(error) => Err(Error::Database(error)),
        }
    }

    pub(crate) fn member(&self) -> &ProjectMemberId {
        &self.member
    }

    async fn release(self) -> Result<(), Error> {
        self.transaction.rollback().await.map_err(Error::Database)
    }
}

/// Runs `work` for every member staging may hold objects of (members, and members who left
/// whose erasure or last job is still to run), [`MEMBERS_AT_ONCE`] at a time; the results
/// come in the members' order.
async fn for_each_member<T, Work>(
    db: &Database,
    work: impl Fn(ProjectMemberId) -> Work,
) -> Result<Vec<T>, Error>
where
    Work: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM members UNION SELECT member_id FROM sync_jobs \
         UNION SELECT member_id FROM erasure_requests ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .map_err(Error::Database)?;
    let mut tasks = JoinSet::new();
    let mut results = Vec::with_capacity(ids.len());
    for (position, id) in ids.into_iter().enumerate() {
        let member = id
            .parse()
            .map_err(|_| Error::Corrupt(format!("a stored member id {id:?}")))?;
        if tasks.len() == MEMBERS_AT_ONCE
            && let Some(result) = next_result(&mut tasks).await
        {
            results.push(result?);
        }
        let work = work(member);
        tasks.spawn(async move { Ok((position, work.await?)) });
    }
    while let Some(result) = next_result(&mut tasks).await {
        results.push(result?);
    }
    results.sort_unstable_by_key(|(position, _)| *position);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

async fn next_result<T: 'static>(
    tasks: &mut JoinSet<Result<T, Error>>,
) -> Option<Result<T, Error>> {
    tasks.join_next().await.map(|joined| match joined {
        Ok(result) => result,
        Err(error) => Err(Error::Task(error.to_string())),
    })
}
