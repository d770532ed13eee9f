//! The member's dashboard: both accounts' link state, the sync job, and their files on Open
//! Humans (read live, so it shows what Open Humans really holds).

use askama::Template;
use axum::{
    extract::State,
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::PrivateCookieJar;
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::{
    error_chain,
    members::{Member, TypeFailure},
    progress::{CategoryProgress, ImportProgress, import_progress},
    queue::JobStatus,
    tier::{CursorKey, Tier},
};
use open_humans::FileMetadata;

use crate::{
    charts::RecentView,
    error::WebError,
    forms,
    routes::sync_now,
    session::{self, SignedIn},
    state::AppState,
};

const UNAVAILABLE: &str = "Open Humans did not answer just now; reload the page in a minute.";

pub(crate) struct FileRow {
    pub name: String,
    pub created: String,
    pub download_url: String,
    pub description: String,
    /// "1.2 MB"; empty for a file uploaded without its size in the metadata.
    pub size: String,
    /// "2016-05-01 to 2026-11-21": the days the file holds.
    pub covers: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct DashboardPage {
    pub member_id: String,
    pub fitbit_connected: bool,
    pub time_zone: String,
    pub sync_state: String,
    pub sync_message: Option<String>,
    pub last_success: Option<String>,
    pub history: Option<String>,
    pub progress: Option<ProgressView>,
    pub files: Result<Vec<FileRow>, String>,
    /// Charts of the last 30 days, once a sync has summarised them.
    pub recent: Option<RecentView>,
    pub csrf: String,
    /// What intraday data does for this member, in a sentence.
    pub intraday: String,
    /// Google ends the grant then (a client in Testing status).
    pub access_ends: Option<AccessEnds>,
    /// When the member may ask for a sync by hand again; `None`: now.
    pub manual_sync_from: Option<String>,
    /// Data types that could not be read while the others were, in plain words.
    pub problems: Vec<ProblemRow>,
}

/// One data type whose reading failed on its own.
pub(crate) struct ProblemRow {
    /// The catalogue's id (`total-calories`), for tests and styling.
    pub data_type: String,
    pub sentence: String,
}

impl ProblemRow {
    fn of(key: &CursorKey, failure: &TypeFailure) -> Self {
        let name = key.data_type.replace('-', " ");
        let tier = match key.tier {
            Tier::Standard => "",
            Tier::Intraday => " (intraday)",
        };
        let days = if failure.first_day == failure.last_day {
            failure.first_day.to_string()
        } else {
            format!("{} to {}", failure.first_day, failure.last_day)
        };
        Self {
            data_type: key.data_type.clone(),
            sentence: format!(
                "{}{tier}, {days}: {}. It is tried again automatically after {}.",
                capitalised(&name),
                failure.reason.in_plain_words(),
                human_time(failure.retry_after),
            ),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    characters
        .next()
        .map(|first| first.to_uppercase().chain(characters).collect())
        .unwrap_or_default()
}

/// The end of a time-limited grant, announced ahead with a one-click reconnect.
pub(crate) struct AccessEnds {
    pub at: String,
    /// Within [`EXPIRY_WARNING`]: shown as a warning rather than as a fact.
    pub soon: bool,
    pub reconnect_href: &'static str,
}

/// How long before a grant ends the member is warned, here and by an Open Humans message.
pub(crate) const EXPIRY_WARNING: SignedDuration = oh_fitbit_core::members::EXPIRY_WARNING;

/// The history import's progress bars and a sentence about what is left.
pub(crate) struct ProgressView {
    pub categories: Vec<CategoryProgress>,
    pub summary: String,
}

impl ProgressView {
    fn of(progress: ImportProgress) -> Self {
        let summary = match progress.time_left {
            _ if progress.is_complete() => {
                "Complete: every day of your history is imported.".to_owned()
            }
            Some(left) => format!(
                "{} left at the pace so far (Google limits how fast data can be read).",
                about(left)
            ),
            None => "Working out how long the rest takes.".to_owned(),
        };
        Self {
            categories: progress.categories,
            summary,
        }
    }
}

/// A duration as a person would round it: "About 40 minutes", "About 3 hours", "About 2 days".
fn about(duration: SignedDuration) -> String {
    let minutes = (duration.as_secs() + 59) / 60;
    let (count, unit) = match minutes {
        ..=1 => return "About a minute".to_owned(),
        2..=90 => (minutes, "minutes"),
        91..=2160 => ((minutes + 30) / 60, "hours"),
        _ => ((minutes + 720) / 1440, "days"),
    };
    format!("About {count} {unit}")
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
) -> Result<Response, WebError> {
    let mut member = state.signed_in_member(&id).await?;
    let job = state.queue.status(&id).await?;
    let files = files_on_open_humans(&state, &mut member).await;
    let manual_sync_from = sync_now::next_allowed(&state, &id).await?.map(human_time);
    let page = DashboardPage {
        csrf: session::csrf_token(&jar).ok_or(WebError::NotSignedIn)?,
        intraday: describe_intraday(&member, state.intraday_requires_own_client),
        access_ends: access_ends(&member),
        manual_sync_from,
        member_id: id.to_string(),
        fitbit_connected: member.fitbit.is_some(),
        time_zone: member
            .fitbit
            .as_ref()
            .and_then(|account| account.time_zone.clone())
            .unwrap_or_else(|| "not known".to_owned()),
        sync_state: describe_job(&member, &job),
        sync_message: job.message.clone(),
        last_success: member.sync.last_success_at.map(human_time),
        history: match (member.sync.first_day, member.sync.last_day) {
            (Some(first), Some(last)) => Some(format!("from {first} to {last}")),
            _ => None,
        },
        progress: import_progress(&member, Timestamp::now()).map(ProgressView::of),
        recent: RecentView::of(&member),
        problems: member
            .type_failures
            .iter()
            .map(|(key, failure)| ProblemRow::of(key, failure))
            .collect(),
        files,
    };
    let html = page.render().map_err(WebError::internal)?;
    Ok(Html(html).into_response())
}

async fn files_on_open_humans(
    state: &AppState,
    member: &mut Member,
) -> Result<Vec<FileRow>, String> {
    let listed = state
        .tokens
        .with_open_humans(member, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await;
    let remote = match listed {
        Ok(Ok(remote)) => remote,
        Ok(Err(open_humans::Error::Unauthorized { .. }))
        | Err(oh_fitbit_core::Error::GrantRevoked(_)) => {
            return Err(
                "Open Humans no longer accepts this service's access to your account. \
                        Sign in with Open Humans again."
                    .to_owned(),
            );
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %error_chain(&error), "dashboard: listing files");
            return Err(UNAVAILABLE.to_owned());
        }
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "dashboard: Open Humans token");
            return Err(UNAVAILABLE.to_owned());
        }
    };
    let mut rows: Vec<FileRow> = remote
        .own_files()
        .map(|file| {
            let metadata: FileMetadata =
                serde_json::from_value(file.metadata.clone()).unwrap_or_default();
            FileRow {
                name: file.basename.clone(),
                created: human_time(file.created),
                download_url: file.download_url.to_string(),
                size: metadata.size_bytes.map(human_size).unwrap_or_default(),
                covers: match (metadata.start_date, metadata.end_date) {
                    (Some(start), Some(end)) => Some(format!("{start} to {end}")),
                    _ => None,
                },
                description: metadata.description,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

fn describe_intraday(member: &Member, requires_own_client: bool) -> String {
    let Some(chosen) = member.preferences.intraday else {
        return "Off: daily data only.".to_owned();
    };
    let label = forms::intraday_label(Some(chosen)).to_lowercase();
    match member.intraday_resolution(requires_own_client) {
        Some(_) => format!("On, {label}, one file per month."),
        None if member.fitbit.is_none() => format!("On, {label}, once Fitbit is connected."),
        None => {
            format!("Chosen ({label}), waiting for your own Google client: set it up to start.")
        }
    }
}

fn access_ends(member: &Member) -> Option<AccessEnds> {
    let ends = member.google_tokens.as_ref()?.refresh_expires_at?;
    Some(AccessEnds {
        at: human_time(ends),
        soon: ends < Timestamp::now() + EXPIRY_WARNING,
        reconnect_href: if member.connected_via_own_client() {
            "/fitbit/connect?client=own"
        } else {
            "/fitbit/connect"
        },
    })
}

fn describe_job(member: &Member, job: &JobStatus) -> String {
    if member.fitbit.is_none() {
        return "Connect Fitbit to start importing your data.".to_owned();
    }
    match job.state.as_deref() {
        Some("ready") => "Queued: the import starts in a moment.".to_owned(),
        Some("running") => format!(
            "Importing now (started {}).",
            job.started_at.map(human_time).unwrap_or_default()
        ),
        Some("scheduled") => format!(
            "Next sync: {}.",
            job.run_at.map(human_time).unwrap_or_default()
        ),
        Some("dead") => "The import stopped after repeated failures. The operators can see it; you can also reconnect Fitbit to try again.".to_owned(),
        Some("idle") => "Paused until you act (see below).".to_owned(),
        _ => "Not scheduled yet.".to_owned(),
    }
}

/// A size as a file manager shows it, in decimal units: "830 bytes", "12.4 kB", "3.1 MB".
fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")];
    UNITS.iter().find(|(unit, _)| bytes >= *unit).map_or_else(
        || format!("{bytes} bytes"),
        |(unit, name)| format!("{:.1} {name}", bytes as f64 / *unit as f64),
    )
}

pub(crate) fn human_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_rounded_as_people_say_them() {
        let minutes = |m: i64| about(SignedDuration::from_mins(m));
        assert_eq!(minutes(0), "About a minute");
        assert_eq!(minutes(40), "About 40 minutes");
        assert_eq!(minutes(200), "About 3 hours");
        assert_eq!(minutes(3 * 1440), "About 3 days");
    }

    #[test]
    fn sizes_are_shown_in_decimal_units() {
        assert_eq!(human_size(830), "830 bytes");
        assert_eq!(human_size(12_449), "12.4 kB");
        assert_eq!(human_size(3_140_000), "3.1 MB");
        assert_eq!(human_size(128_000_000_000), "128.0 GB");
    }
}
