//! One member's sync, start to finish: read the history from the Google Health API, build the
//! file, keep its canonical copy in staging, and replace the member's file on Open Humans.

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use oh_fitbit_core::{members::SyncRecord, queue::Lease, staging::StagingKey};

use crate::{
    archive::{self, DAILY_FILE_NAME},
    context::WorkerContext,
    daily_steps,
    error::SyncError,
    google::GoogleSession,
    publish::{self, FileDescription, Published},
};

/// Fitbit sold its first tracker in 2009: no member's history starts earlier.
const HISTORY_FLOOR: Date = jiff::civil::date(2009, 1, 1);

const DAILY_FILE: FileDescription = FileDescription {
    filename: DAILY_FILE_NAME,
    description: "Fitbit daily step counts for the whole history, read through the Google Health API",
    tags: &["fitbit", "google-health", "daily", "steps"],
};

#[derive(Debug)]
pub struct SyncSummary {
    pub requests: u32,
    pub days_with_data: usize,
    pub published: Published,
}

pub async fn sync_member(ctx: &WorkerContext, lease: &Lease) -> Result<SyncSummary, SyncError> {
    let mut member = ctx
        .members
        .load(&lease.member)
        .await?
        .ok_or(SyncError::MemberGone)?;
    let account = member
        .fitbit
        .clone()
        .ok_or(oh_fitbit_core::Error::NotConnected(
            oh_fitbit_core::Provider::Google,
        ))?;
    let zone = member_time_zone(account.time_zone.as_deref());
    let today = Timestamp::now().to_zoned(zone).date();
    let (first, first_is_known) = match account.membership_start {
        Some(start) => (start.max(HISTORY_FLOOR), true),
        None => (HISTORY_FLOOR, false),
    };

    let mut google = GoogleSession::open(ctx, &mut member).await?;
    let steps = daily_steps::fetch(&mut google, first, today, first_is_known).await?;
    let requests = google.requests;

    let archive = archive::daily(account.time_zone.as_deref(), &steps);
    let key = StagingKey::parse(&format!("members/{}/{DAILY_FILE_NAME}", member.id))?;
    ctx.staging.put(&key, &archive.bytes).await?;
    let published = publish::replace_file(ctx, &mut member, lease, &DAILY_FILE, &archive).await?;

    let record = SyncRecord {
        last_success_at: Some(Timestamp::now()),
        first_day: archive.first_date,
        last_day: archive.last_date,
        days_with_data: archive.days as u32,
        requests,
    };
    ctx.members.save_sync(&member.id, &record).await?;
    Ok(SyncSummary {
        requests,
        days_with_data: archive.days,
        published,
    })
}

/// The member's zone from their Google Health settings; UTC when they have none or an unknown
/// one, which shifts day boundaries by their offset but loses nothing.
fn member_time_zone(name: Option<&str>) -> TimeZone {
    match name.map(TimeZone::get) {
        Some(Ok(zone)) => zone,
        Some(Err(error)) => {
            tracing::warn!(zone = name, %error, "unknown time zone, using UTC");
            TimeZone::UTC
        }
        None => TimeZone::UTC,
    }
}
