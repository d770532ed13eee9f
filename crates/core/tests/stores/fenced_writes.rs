//! Every write a run makes is fenced by its lease: once the member's job has passed to another
//! run (the lease was reaped and handed on, Redis lost the queue and it was rebuilt, or the run
//! ended), the old run's writes are refused with `LeaseLost` and change nothing.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::date;
use oh_fitbit_core::{
    Error,
    fence::Fence,
    members::{Cursor, Erasure, PublishedFile, SyncRecord},
    queue::Outcome,
    recent::RecentDays,
    staging::{Staging, StagingKey},
    tier::{ChunkId, CursorKey, Period, Tier},
};

use crate::{
    Handover, Loss, Stores,
    fixtures::{LEASE, MAX_ATTEMPTS, at, id, in_hours, recent_days},
};

const MEMBER: &str = "12345678";
const FILE: &str = "fitbit-daily.json.gz";

fn cursor_key() -> CursorKey {
    CursorKey::new(Tier::Standard, "steps")
}

fn chunk_key() -> StagingKey {
    StagingKey::parse("members/12345678/standard/steps/2016.json").unwrap()
}

/// What a run writes as it goes, in its `n`th version (each differs from the others).
struct Progress {
    cursor: Cursor,
    period: Period,
    sync: SyncRecord,
    recent: RecentDays,
    generation: String,
    staged: ChunkId,
    file: PublishedFile,
    chunk: Vec<u8>,
}

impl Progress {
    fn version(n: i16) -> Self {
        let day = date(2016 + n, 3, 1);
        let counts = BTreeMap::from([(("steps".to_owned(), day.first_of_year()), 300 + n as u32)]);
        Self {
            cursor: Cursor {
                newest: Some(day),
                oldest: Some(date(2016, 1, 1)),
                complete: n % 2 == 0,
                resolution: None,
            },
            period: Period::containing(Tier::Standard, day),
            sync: SyncRecord {
                last_success_at: Some(at(1_800_000_000 + i64::from(n))),
                first_day: Some(date(2016, 1, 1)),
                last_day: Some(day),
                requests: 10 + n as u32,
            },
            recent: recent_days(day, 8000 + n as u64),
            generation: format!("generation-{n}"),
            staged: ChunkId {
                period: Period::containing(Tier::Standard, day),
                data_type: "steps".to_owned(),
            },
            file: PublishedFile {
                name: FILE.to_owned(),
                open_humans_file_id: 1000 + n as u64,
                md5: format!("{n:032x}"),
                size_bytes: 2000 + n as u64,
                first_date: Some(date(2016, 1, 1)),
                last_date: Some(day),
                published_at: at(1_800_000_000 + i64::from(n)),
                counts,
            },
            chunk: format!("chunk version {n}").into_bytes(),
        }
    }

    /// What the stores hold once this progress was written.
    fn held(&self) -> Held {
        Held {
            cursors: BTreeMap::from([(cursor_key(), self.cursor)]),
            pending: BTreeSet::from([self.period]),
            sync: self.sync.clone(),
            recent_days: Some(self.recent.clone()),
            staging_generation: Some(self.generation.clone()),
            staged: BTreeSet::from([self.staged.clone()]),
            repair_requested: false,
            published: BTreeMap::from([(FILE.to_owned(), self.file.clone())]),
            chunk: Some(self.chunk.clone()),
        }
    }
}

/// What a run's writes could change.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    cursors: BTreeMap<CursorKey, Cursor>,
    pending: BTreeSet<Period>,
    sync: SyncRecord,
    recent_days: Option<RecentDays>,
    staging_generation: Option<String>,
    staged: BTreeSet<ChunkId>,
    repair_requested: bool,
    published: BTreeMap<String, PublishedFile>,
    chunk: Option<Vec<u8>>,
}

async fn held(stores: &Stores, staging: &Staging) -> Held {
    let member = id(MEMBER);
    let record = stores.members.load(&member).await.unwrap().unwrap();
    Held {
        cursors: record.cursors,
        pending: record.pending_periods,
        sync: record.sync,
        recent_days: record.recent_days,
        staging_generation: record.staging_generation,
        staged: stores.members.staged_chunks(&member).await.unwrap(),
        repair_requested: record.repair_requested,
        published: stores.members.published_files(&member).await.unwrap(),
        chunk: staging.get(&chunk_key()).await.unwrap(),
    }
}

type Results = Vec<(&'static str, Result<(), Error>)>;

/// The writes that move an import on.
async fn write_progress(
    stores: &Stores,
    staging: &Staging,
    fence: &Fence,
    p: &Progress,
) -> Results {
    let members = &stores.members;
    vec![
        (
            "save_restored",
            members
                .save_restored(fence, &BTreeMap::new(), &BTreeSet::new(), &p.generation)
                .await,
        ),
        (
            "save_cursor",
            members.save_cursor(fence, &cursor_key(), &p.cursor).await,
        ),
        (
            "add_pending_periods",
            members.add_pending_periods(fence, &[p.period]).await,
        ),
        ("save_sync", members.save_sync(fence, &p.sync).await),
        (
            "save_recent_days",
            members.save_recent_days(fence, &p.recent).await,
        ),
        (
            "record_staged",
            members.record_staged(fence, &p.staged).await,
        ),
        (
            "record_published",
            members.record_published(fence, &p.file).await,
        ),
        (
            "Staging::put",
            staging.put(fence, &chunk_key(), p.chunk.clone()).await,
        ),
    ]
}

/// The writes that take what `p` wrote away again.
async fn undo(stores: &Stores, staging: &Staging, fence: &Fence, p: &Progress) -> Results {
    let members = &stores.members;
    let prefix = StagingKey::parse("members/12345678").unwrap();
    vec![
        (
            "save_restored",
            members
                .save_restored(fence, &BTreeMap::new(), &BTreeSet::new(), "emptied")
                .await,
        ),
        (
            "clear_pending_periods",
            members.clear_pending_periods(fence, &[p.period]).await,
        ),
        ("request_repair", members.request_repair(fence).await),
        (
            "forget_published",
            members.forget_published(fence, &p.file.name).await,
        ),
        (
            "Staging::delete_under",
            staging.delete_under(fence, &prefix).await,
        ),
        (
            "finish_erasure",
            members
                .finish_erasure(fence, Erasure::AlsoOpenHumansFiles)
                .await,
        ),
    ]
}

fn assert_all(results: Results, expected: fn(&Result<(), Error>) -> bool) {
    for (write, result) in results {
        assert!(expected(&result), "{write}: {result:?}");
    }
}

/// A staging directory, and the first version of the member's progress written in it and in
/// the member store by the run holding `fence`.
async fn with_progress(stores: &Stores, fence: &Fence) -> (Staging, tempfile::TempDir, Held) {
    let dir = tempfile::tempdir().unwrap();
    let staging = Staging::local_directory(dir.path(), stores.cipher.clone());
    let first = Progress::version(1);
    assert_all(
        write_progress(stores, &staging, fence, &first).await,
        Result::is_ok,
    );
    let before = held(stores, &staging).await;
    assert_eq!(before, first.held(), "the run holding the member writes");
    (staging, dir, before)
}

/// Every write with `stale` is refused, and nothing changed.
async fn assert_fenced_off(stores: &Stores, staging: &Staging, stale: &Fence, before: &Held) {
    let mut refused = write_progress(stores, staging, stale, &Progress::version(2)).await;
    refused.extend(undo(stores, staging, stale, &Progress::version(1)).await);
    assert_all(refused, |result| matches!(result, Err(Error::LeaseLost)));
    assert_eq!(&held(stores, staging).await, before);
}

async fn a_handed_on_lease_writes_nothing(how: Handover) {
    let mut stores = Stores::start().await;
    let member = id(MEMBER);
    stores.sign_in(&member, "oh").await;
    let (stale, current) = stores.handed_on(&member, how).await;
    let (staging, _dir, before) = with_progress(&stores, current.fence()).await;
    assert_fenced_off(&stores, &staging, stale.fence(), &before).await;
    current.fence().ensure_held().await.unwrap();
}

#[tokio::test]
async fn a_reaped_and_refetched_lease_writes_nothing() {
    a_handed_on_lease_writes_nothing(Handover::Reaped).await;
}

#[tokio::test]
async fn a_lease_from_before_redis_was_flushed_writes_nothing_after_the_rebuild() {
    a_handed_on_lease_writes_nothing(Handover::RedisLost(Loss::Flushed)).await;
}

#[tokio::test]
async fn a_lease_from_before_redis_restarted_writes_nothing_after_the_rebuild() {
    a_handed_on_lease_writes_nothing(Handover::RedisLost(Loss::Restarted)).await;
}

#[tokio::test]
async fn a_finished_run_writes_nothing() {
    let stores = Stores::start().await;
    let member = id(MEMBER);
    stores.sign_in(&member, "oh").await;
    let lease = stores.lease(&member, LEASE).await;
    let (staging, _dir, before) = with_progress(&stores, lease.fence()).await;
    let done = Outcome::Done {
        next_run: in_hours(24),
    };
    stores
        .queue
        .complete(&lease, done, MAX_ATTEMPTS)
        .await
        .unwrap();
    assert_fenced_off(&stores, &staging, lease.fence(), &before).await;
}
