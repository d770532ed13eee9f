//! One member's sync, start to finish: make sure staging is the copy the database knows
//! (restoring it from the member's files if not), read what is new (and, until the history is
//! complete, the next stretch of the past) from the Google Health API into staging, then
//! rebuild and replace the member's files on Open Humans whose periods changed.

use std::collections::BTreeMap;

use google_health::Scope;
use jiff::Timestamp;
use oh_fitbit_core::{
    members::{Cursor, IntradayResolution, Member, PublishedFile, SyncRecord},
    progress::{history_start, member_today},
    queue::Lease,
    tier::{CursorKey, Period},
};
use serde_json::{Value, json};

use crate::{
    archive::{self, DAILY_FILE_NAME, MemberFacts},
    chunks::{self, Tier},
    context::WorkerContext,
    erase,
    error::SyncError,
    google::GoogleSession,
    heal::{self, Healed},
    import::{Dialect, Import, Phase},
    publish::{self, FileDescription, Published},
    recent,
};

#[derive(Debug)]
pub(crate) struct SyncSummary {
    pub requests: u32,
    pub files: Vec<(String, Published)>,
}

pub(crate) async fn sync_member(
    ctx: &WorkerContext,
    lease: &Lease,
) -> Result<SyncSummary, SyncError> {
    erase::erase_if_requested(ctx, lease).await?;
    let mut member = ctx
        .members
        .load(&lease.member)
        .await?
        .ok_or(SyncError::MemberGone)?;
    if member.fitbit.is_none() {
        return Err(oh_fitbit_core::Error::NotConnected(oh_fitbit_core::Provider::Google).into());
    }
    let healed = heal::heal(ctx, lease, &mut member).await?;
    match import_and_publish(ctx, lease, member).await {
        Err(error) if error.needs_repair() => {
            ctx.members.request_repair(lease.fence()).await?;
            Err(SyncError::Repairing {
                after_restore: matches!(healed, Healed::Restored { .. }),
                cause: Box::new(error),
            })
        }
        other => other,
    }
}

async fn import_and_publish(
    ctx: &WorkerContext,
    lease: &Lease,
    mut member: Member,
) -> Result<SyncSummary, SyncError> {
    let account = member
        .fitbit
        .clone()
        .ok_or(oh_fitbit_core::Error::NotConnected(
            oh_fitbit_core::Provider::Google,
        ))?;
    let today = member_today(&member, Timestamp::now());
    let first = history_start(&member).ok_or(oh_fitbit_core::Error::NotConnected(
        oh_fitbit_core::Provider::Google,
    ))?;
    let granted: Vec<Scope> = account
        .granted_scopes
        .iter()
        .filter_map(|scope| scope.parse().ok())
        .collect();
    let left_out = member.preferences.left_out.clone();
    let resolution = member.intraday_resolution(ctx.intraday_requires_own_client);
    let cursors = current_cursors(&member.cursors, resolution);
    let pending = member.pending_periods.clone();
    let last_synced_day = member.sync.last_day;
    let failures = member.type_failures.clone();
    let dialect = Dialect::load(ctx.dialect.clone()).await?;
    let mut google = GoogleSession::open(ctx, &mut member).await?;
    let facts_json = account_facts(&mut google, &granted, &account).await?;
    let mut import = Import {
        ctx,
        session: &mut google,
        member: lease.member.clone(),
        lease,
        dialect,
        first,
        today,
        last_synced_day,
        granted,
        left_out,
        intraday_resolution: resolution,
        cursors,
        skipped: Default::default(),
        pending,
        restaged: Default::default(),
        staged: ctx.members.staged_chunks(&lease.member).await?,
        now: Timestamp::now(),
        failures,
        failed_now: Default::default(),
    };
    let mut tiers = vec![Tier::Standard];
    if resolution.is_some() {
        tiers.push(Tier::Intraday);
    }
    let mut files = Vec::new();
    let mut result = Ok(());
    let mut refused = Vec::new();
    for phase in [Phase::Recent, Phase::Backfill] {
        for tier in &tiers {
            result = import.run(*tier, phase).await;
            if result.is_err() {
                break;
            }
        }
        // Publish after the recent phase too, so the first file lands before the backfill;
        // and after a failure, so what was staged is not held back until the next run.
        let publication = publish_pending(&mut import, &facts_json, resolution, lease).await?;
        files.extend(publication.files);
        // A file refused after the recent phase may be complete after the backfill.
        refused = publication.refused;
        if result.is_err() {
            break;
        }
    }
    result?;
    // The whole history is staged and a file still holds fewer records than the one on Open
    // Humans: staging lost them, and is repaired from the files.
    if let Some(refusal) = refused.into_iter().next() {
        return Err(refusal);
    }
    let requests = import.session.requests;
    let record = SyncRecord {
        last_success_at: Some(Timestamp::now()),
        first_day: Some(first),
        last_day: Some(today),
        requests,
    };
    ctx.members.save_sync(lease.fence(), &record).await?;
    Ok(SyncSummary { requests, files })
}

/// The cursors this sync continues from: intraday cursors of another resolution than the
/// member's current choice count as none, so a change of resolution reads intraday data again.
fn current_cursors(
    cursors: &BTreeMap<CursorKey, Cursor>,
    resolution: Option<IntradayResolution>,
) -> BTreeMap<CursorKey, Cursor> {
    cursors
        .iter()
        .filter(|(key, cursor)| key.tier != Tier::Intraday || cursor.resolution == resolution)
        .map(|(key, cursor)| (key.clone(), *cursor))
        .collect()
}

/// What one publication did.
#[derive(Default)]
struct Publication {
    files: Vec<(String, Published)>,
    /// Files that would have held fewer records than the versions they replace
    /// ([`SyncError::WouldShrink`]); their periods stay pending.
    refused: Vec<SyncError>,
}

/// Rebuilds and replaces the files of every pending period, then clears them. A file that would
/// hold fewer records than the version it replaces, for a period this run did not read again
/// from Google, is refused: the old file stays, and its periods stay pending. Nothing is built
/// from a staging store that lost the member's copy during the run.
async fn publish_pending(
    import: &mut Import<'_, '_>,
    account: &Value,
    resolution: Option<IntradayResolution>,
    lease: &Lease,
) -> Result<Publication, SyncError> {
    let ctx = import.ctx;
    if import.pending.is_empty() {
        return Ok(Publication::default());
    }
    if !heal::is_intact(ctx, import.session.member()).await? {
        return Err(SyncError::CorruptStaging {
            key: chunks::generation_key(&import.member).as_str().to_owned(),
            detail: "the staged copy went away during the run".into(),
        });
    }
    let pending: Vec<Period> = import.pending.iter().copied().collect();
    let time_zone = import
        .session
        .member()
        .fitbit
        .as_ref()
        .and_then(|f| f.time_zone.clone());
    let facts = MemberFacts {
        member: &import.member,
        time_zone: time_zone.as_deref(),
        account: account.clone(),
        cursors: &import.cursors,
        skipped: &import.skipped,
        failures: &import.failures,
        staged: &import.staged,
    };
    let resolution_name = archive::resolution_name(resolution);
    let daily = pending
        .iter()
        .any(|period| period.tier == Tier::Standard)
        .then_some(None);
    let months = pending
        .iter()
        .filter(|period| period.tier == Tier::Intraday)
        .map(|period| Some(period.label()));
    if daily.is_some() {
        // Before the file, so a dashboard that lists the new file charts the same data.
        let recent = recent::summarise(ctx, &import.member, import.today).await?;
        ctx.members.save_recent_days(lease.fence(), &recent).await?;
    }
    let published = ctx.members.published_files(&import.member).await?;
    let mut publication = Publication::default();
    let mut cleared = Vec::new();
    // One file built and uploaded at a time, so memory does not grow with the history.
    for month in daily.into_iter().chain(months) {
        let (tier, file, description) = match &month {
            None => (
                Tier::Standard,
                archive::daily_file(ctx, &facts).await?,
                FileDescription {
                    filename: DAILY_FILE_NAME.to_owned(),
                    description: "Fitbit daily data for the whole history (activity, heart, sleep, exercise, body), read through the Google Health API".to_owned(),
                    tags: tags("daily"),
                },
            ),
            Some(month) => (
                Tier::Intraday,
                archive::intraday_file(ctx, &facts, month, &resolution_name).await?,
                FileDescription {
                    filename: archive::intraday_file_name(month),
                    description: "Fitbit intraday data for one month (heart rate, steps and other high-frequency series), read through the Google Health API".to_owned(),
                    tags: tags("intraday"),
                },
            ),
        };
        if let Some(previous) = published.get(&description.filename)
            && let Err(refusal) = publish::refuse_shrinking(previous, &file, tier, &import.restaged)
        {
            publication.refused.push(refusal);
            continue;
        }
        let outcome =
            publish::replace_file(ctx, import.session.member_mut(), lease, &description, &file)
                .await?;
        let record = PublishedFile {
            name: description.filename.clone(),
            open_humans_file_id: outcome.file_id(),
            md5: file.md5.clone(),
            size_bytes: file.bytes.len() as u64,
            first_date: file.first_date,
            last_date: file.last_date,
            published_at: Timestamp::now(),
            counts: file.counts.clone(),
        };
        let known = published.get(&record.name).is_some_and(|known| {
            (known.open_humans_file_id, &known.md5, &known.counts)
                == (record.open_humans_file_id, &record.md5, &record.counts)
        });
        if !known {
            ctx.members.record_published(lease.fence(), &record).await?;
        }
        cleared.extend(pending.iter().filter(|period| match &month {
            None => period.tier == Tier::Standard,
            Some(month) => period.tier == Tier::Intraday && period.label() == *month,
        }));
        publication.files.push((description.filename, outcome));
    }
    ctx.members
        .clear_pending_periods(lease.fence(), &cleared)
        .await?;
    for period in &cleared {
        import.pending.remove(period);
    }
    Ok(publication)
}

fn tags(tier: &str) -> Vec<String> {
    ["fitbit", "google-health", tier]
        .map(str::to_owned)
        .to_vec()
}

/// Profile, settings and paired devices, as the files carry them; each only when its scope
/// was granted.
async fn account_facts(
    google: &mut GoogleSession<'_>,
    granted: &[Scope],
    account: &oh_fitbit_core::members::FitbitAccount,
) -> Result<Value, SyncError> {
    let mut facts = json!({
        "health_user_id": account.health_user_id,
        "legacy_user_id": account.legacy_user_id,
        "membership_start": account.membership_start,
    });
    if granted.contains(&Scope::Profile) {
        let profile = google
            .call("users.getProfile", |api, token| async move {
                api.profile(&token).await
            })
            .await?;
        facts["profile"] = profile.raw;
    }
    if granted.contains(&Scope::Settings) {
        let settings = google
            .call("users.getSettings", |api, token| async move {
                api.settings(&token).await
            })
            .await?;
        facts["settings"] = settings.raw;
        let mut devices = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page_token = token.clone();
            let page = google
                .call("users.pairedDevices.list", |api, access| {
                    let page_token = page_token.clone();
                    async move { api.paired_devices(&access, page_token.as_deref()).await }
                })
                .await?;
            devices.extend(page.devices);
            match page.next_page_token {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => break,
            }
        }
        facts["paired_devices"] = Value::Array(devices);
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_resolution_starts_intraday_again_and_keeps_daily_data() {
        let at = |resolution| Cursor {
            newest: Some(jiff::civil::date(2026, 11, 20)),
            oldest: Some(jiff::civil::date(2026, 10, 1)),
            complete: true,
            resolution,
        };
        let raw = Some(IntradayResolution::Raw);
        let standard = CursorKey::new(Tier::Standard, "steps");
        let cursors = BTreeMap::from([
            (standard.clone(), at(None)),
            (CursorKey::new(Tier::Intraday, "steps"), at(raw)),
        ]);
        assert_eq!(current_cursors(&cursors, raw), cursors);
        let five = current_cursors(&cursors, Some(IntradayResolution::FiveMinutes));
        assert_eq!(five.keys().collect::<Vec<_>>(), [&standard]);
    }
}
