//! The member's dashboard: both accounts' link state, the sync job, and their files on Open
//! Humans (read live, so it shows what Open Humans really holds).

use askama::Template;
use axum::{
    extract::State,
    response::{Html, IntoResponse, Response},
};
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::{
    error_chain,
    members::Member,
    progress::{CategoryProgress, ImportProgress, import_progress},
    queue::JobStatus,
};

use crate::{error::WebError, session::SignedIn, state::AppState};

const UNAVAILABLE: &str = "Open Humans did not answer just now; reload the page in a minute.";

pub struct FileRow {
    pub name: String,
    pub created: String,
    pub download_url: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub member_id: String,
    pub fitbit_connected: bool,
    pub time_zone: String,
    pub sync_state: String,
    pub sync_message: Option<String>,
    pub last_success: Option<String>,
    pub history: Option<String>,
    pub progress: Option<ProgressView>,
    pub files: Result<Vec<FileRow>, String>,
}

/// The history import's progress bars and a sentence about what is left.
pub struct ProgressView {
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

pub async fn show(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
) -> Result<Response, WebError> {
    let mut member = state
        .members
        .load(&id)
        .await?
        .ok_or(WebError::NotSignedIn)?;
    let job = state.queue.status(&id).await?;
    let files = files_on_open_humans(&state, &mut member).await;
    let page = DashboardPage {
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
        .map(|file| FileRow {
            name: file.basename.clone(),
            created: human_time(file.created),
            download_url: file.download_url.to_string(),
            description: file
                .metadata
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
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

fn human_time(at: Timestamp) -> String {
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
}
