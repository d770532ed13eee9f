//! Staging is a cache, and caches go away: a Heroku dyno loses its disk at every restart, and a
//! bucket may be emptied. Before a run builds anything from staging it checks that staging is
//! the copy the database knows (a marker object holds the generation the member's row names),
//! and otherwise restores it from the member's own files on Open Humans — our format is
//! lossless, so this is exact. The cursors are set to what the files hold, so only what no file
//! holds is read from Google again. A damaged chunk, or a file that would have shrunk, asks for
//! the same repair.

use std::collections::{BTreeMap, BTreeSet};

use google_health::catalogue::CATALOGUE;
use jiff::{Timestamp, ToSpan, civil::Date};
use md5::{Digest, Md5};
use oh_fitbit_core::{
    members::{Cursor, Member},
    queue::Lease,
    tier::{ChunkId, CursorKey, Period},
};
use open_humans::RemoteFile;

use crate::{
    archive::{
        self, DAILY_FILE_NAME,
        read::{self, Coverage},
    },
    chunks::{self, Tier},
    context::WorkerContext,
    error::SyncError,
    import::in_tier,
};

/// What [`heal`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Healed {
    /// Staging is the copy the database knows.
    Intact,
    /// Staging was lost, damaged, not yet made or not trusted, and was restored from this
    /// many files (none for a new member).
    Restored { files: usize },
}

/// Makes staging the copy the database knows before anything is built from it.
pub(crate) async fn heal(
    ctx: &WorkerContext,
    lease: &Lease,
    member: &mut Member,
) -> Result<Healed, SyncError> {
    if is_intact(ctx, member).await? && !member.repair_requested {
        return Ok(Healed::Intact);
    }
    let fence = lease.fence();
    // Whatever is there is not the copy we know: partial, stale, or another member's past.
    ctx.staging
        .delete_under(fence, &chunks::member_prefix(&member.id))
        .await?;
    let (files, cursors, staged) = restore(ctx, lease, member).await?;
    let generation = oh_fitbit_core::random_token();
    ctx.staging
        .put(
            fence,
            &chunks::generation_key(&member.id),
            generation.as_bytes().to_vec(),
        )
        .await?;
    ctx.members
        .save_restored(fence, &cursors, &staged, &generation)
        .await?;
    if files > 0 {
        tracing::warn!(
            files,
            "restored staging from the member's files on Open Humans"
        );
    }
    member.cursors = cursors;
    member.pending_periods.clear();
    member.staging_generation = Some(generation);
    member.repair_requested = false;
    Ok(Healed::Restored { files })
}

/// Whether staging holds the copy the database names (its marker holds the generation).
pub(crate) async fn is_intact(ctx: &WorkerContext, member: &Member) -> Result<bool, SyncError> {
    let marker = match chunks::load_bytes(&ctx.staging, &chunks::generation_key(&member.id)).await {
        Err(SyncError::CorruptStaging { .. }) => None,
        other => other?,
    };
    Ok(member
        .staging_generation
        .as_deref()
        .is_some_and(|generation| marker.as_deref() == Some(generation.as_bytes())))
}

/// Stages the content of the member's newest file of each name, and returns how many files
/// that was and the cursors of what they hold. A file that is not what we published, or
/// cannot be read back, holds nothing then: its days are read from Google again (and its
/// record stays, so the file is not replaced by one holding fewer records). A file the
/// member deleted on Open Humans is forgotten.
async fn restore(
    ctx: &WorkerContext,
    lease: &Lease,
    member: &mut Member,
) -> Result<RestoredStaging, SyncError> {
    let fence = lease.fence();
    let remote = ctx
        .tokens
        .with_open_humans(member, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await??;
    let recorded = ctx.members.published_files(&member.id).await?;
    let mut newest: BTreeMap<&str, &RemoteFile> = BTreeMap::new();
    for file in remote.own_files() {
        let known = newest.get(file.basename.as_str());
        if known.is_none_or(|known| known.created < file.created) {
            newest.insert(&file.basename, file);
        }
    }
    for name in recorded.keys() {
        if !newest.contains_key(name.as_str()) {
            ctx.members.forget_published(fence, name).await?;
        }
    }
    let mut restored = 0;
    let mut cursors = BTreeMap::new();
    let mut staged = BTreeSet::new();
    let mut latest: Option<(Timestamp, read::IntradayContents)> = None;
    for (name, file) in &newest {
        let intraday = archive::is_intraday_file_name(name);
        if !intraday && *name != DAILY_FILE_NAME {
            continue;
        }
        let Some(bytes) = download(ctx, file, recorded.get(*name)).await? else {
            continue;
        };
        let read = if intraday {
            read::restore_intraday(ctx, fence, (name, &bytes), &mut staged)
                .await
                .map(|contents| {
                    if latest.as_ref().is_none_or(|(at, _)| *at < file.created) {
                        latest = Some((file.created, contents));
                    }
                })
        } else {
            read::restore_daily(ctx, fence, (name, &bytes), &mut staged)
                .await
                .map(|coverage| {
                    cursors.extend(tier_cursors(member, Tier::Standard, &coverage, None));
                })
        };
        match read {
            Ok(()) => restored += 1,
            Err(SyncError::UnreadableFile { file, detail }) => tracing::warn!(
                %file,
                %detail,
                "a file on Open Humans cannot be read back; its days are read again"
            ),
            Err(other) => return Err(other),
        }
    }
    if let Some((_, contents)) = latest {
        let resolution = archive::parse_resolution(&contents.resolution);
        let pending: BTreeSet<Period> = member
            .pending_periods
            .iter()
            .filter(|period| period.tier == Tier::Intraday)
            .copied()
            .collect();
        for (key, cursor) in tier_cursors(member, Tier::Intraday, &contents.coverage, resolution) {
            if let Some(cursor) = without_pending(cursor, &pending) {
                cursors.insert(key, cursor);
            }
        }
    }
    Ok((restored, cursors, staged))
}

/// How many files were restored, the cursors of what they hold, and the chunks staged.
type RestoredStaging = (usize, BTreeMap<CursorKey, Cursor>, BTreeSet<ChunkId>);

/// The bytes of one of our files, or `None` when they are not what we published (a checksum
/// that does not match our record or the file's own metadata): that file holds nothing then,
/// and what it held is read from Google again.
async fn download(
    ctx: &WorkerContext,
    file: &RemoteFile,
    recorded: Option<&oh_fitbit_core::members::PublishedFile>,
) -> Result<Option<Vec<u8>>, SyncError> {
    let bytes = ctx.open_humans.download(file).await?;
    let md5 = hex::encode(Md5::digest(&bytes));
    let expected = recorded
        .filter(|record| record.open_humans_file_id == file.id)
        .map(|record| record.md5.clone())
        .or_else(|| {
            file.metadata
                .get("md5")
                .and_then(|md5| md5.as_str())
                .map(str::to_owned)
        });
    if expected.is_some_and(|expected| expected != md5) {
        tracing::warn!(
            file = %file.basename,
            "a file on Open Humans is not what we published; its days are read again"
        );
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// The cursors of `tier` after a restore: what a file says it read, or for a type the member
/// left out or did not grant (which the import no longer reads, so the file was built from the
/// cursor as it stands) the stored cursor.
fn tier_cursors(
    member: &Member,
    tier: Tier,
    coverage: &BTreeMap<String, Coverage>,
    resolution: Option<oh_fitbit_core::members::IntradayResolution>,
) -> Vec<(CursorKey, Cursor)> {
    CATALOGUE
        .iter()
        .filter(|data_type| in_tier(data_type, tier))
        .filter_map(|data_type| {
            let key = CursorKey::new(tier, data_type.id);
            let covered = coverage.get(data_type.id)?;
            let cursor = if covered.was_read() {
                Cursor {
                    oldest: covered.first_date,
                    newest: covered.last_date,
                    complete: covered.is_complete(),
                    resolution,
                }
            } else if matches!(
                covered.status.as_str(),
                "left_out_by_member" | "scope_not_granted"
            ) {
                *member.cursors.get(&key)?
            } else {
                return None;
            };
            Some((key, cursor))
        })
        .collect()
}

/// `cursor` without the months whose file is older than their staged data was (pending when
/// staging was lost): its newest stretch of published days, so the rest is read again.
fn without_pending(mut cursor: Cursor, pending: &BTreeSet<Period>) -> Option<Cursor> {
    let (mut oldest, mut newest) = (cursor.oldest?, cursor.newest?);
    let pending_at = |date: Date| pending.contains(&Period::containing(Tier::Intraday, date));
    while newest >= oldest && pending_at(newest) {
        newest = Period::containing(Tier::Intraday, newest)
            .start
            .yesterday()
            .ok()?;
    }
    if let Some(below) = pending
        .iter()
        .filter(|period| period.last_day() < newest && period.last_day() >= oldest)
        .map(|period| period.last_day())
        .max()
    {
        oldest = below.checked_add(1.day()).ok()?;
        cursor.complete = false;
    }
    (oldest <= newest).then_some(Cursor {
        oldest: Some(oldest),
        newest: Some(newest),
        ..cursor
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn months(labels: &[&str]) -> BTreeSet<Period> {
        labels
            .iter()
            .map(|label| Period::parse(Tier::Intraday, label).unwrap())
            .collect()
    }

    fn cursor(oldest: Date, newest: Date) -> Cursor {
        Cursor {
            oldest: Some(oldest),
            newest: Some(newest),
            complete: true,
            resolution: None,
        }
    }

    #[test]
    fn months_staged_but_not_published_are_read_again() {
        let whole = cursor(date(2026, 1, 10), date(2026, 6, 15));
        assert_eq!(without_pending(whole, &months(&[])), Some(whole));
        let recent = without_pending(whole, &months(&["2026-06"])).unwrap();
        assert_eq!(recent.newest, Some(date(2026, 5, 31)));
        assert_eq!(recent.oldest, whole.oldest);
        assert!(recent.complete);
        let backfill = without_pending(whole, &months(&["2026-01"])).unwrap();
        assert_eq!(backfill.oldest, Some(date(2026, 2, 1)));
        assert!(!backfill.complete);
        let middle = without_pending(whole, &months(&["2026-03", "2026-06"])).unwrap();
        assert_eq!(
            (middle.oldest, middle.newest),
            (Some(date(2026, 4, 1)), Some(date(2026, 5, 31)))
        );
        assert_eq!(
            without_pending(
                cursor(date(2026, 6, 1), date(2026, 6, 15)),
                &months(&["2026-06"])
            ),
            None
        );
    }
}
