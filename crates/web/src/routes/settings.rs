//! The member's choices: which data categories, from which day, and intraday data at which
//! resolution. Saving re-plans the next sync: it is queued at once, and it reads what the new
//! choices call for (a category or earlier days not read yet, intraday data at another
//! resolution). A choice that needs more from Google goes through consent first.

use std::collections::BTreeSet;

use askama::Template;
use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use google_health::Scope;
use jiff::Timestamp;
use oh_fitbit_core::{
    members::{ImportPreferences, Member},
    progress::{DATA_CATEGORIES, category_name, member_today},
};

use crate::{
    error::WebError,
    forms::{self, RESOLUTIONS},
    routes::{render, sync_now},
    session::{self, SignedIn},
    state::{AppState, requested_scopes},
};

pub(crate) struct CategoryChoice {
    pub value: &'static str,
    pub name: &'static str,
    pub chosen: bool,
    /// Activity and fitness is always imported.
    pub fixed: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    csrf: String,
    categories: Vec<CategoryChoice>,
    earliest_date: String,
    membership_start: Option<String>,
    intraday: &'static str,
    resolutions: &'static [(&'static str, &'static str)],
    problem: Option<&'static str>,
}

impl SettingsPage {
    fn of(member: &Member, preferences: &ImportPreferences, csrf: String) -> Self {
        Self {
            csrf,
            categories: DATA_CATEGORIES
                .into_iter()
                .map(|scope| CategoryChoice {
                    value: forms::category_value(scope),
                    name: category_name(scope),
                    chosen: preferences.includes(scope),
                    fixed: scope == Scope::ActivityAndFitness,
                })
                .collect(),
            earliest_date: preferences
                .earliest_date
                .map(|date| date.to_string())
                .unwrap_or_default(),
            membership_start: member
                .fitbit
                .as_ref()
                .and_then(|account| account.membership_start)
                .map(|date| date.to_string()),
            intraday: forms::intraday_value(preferences.intraday),
            resolutions: &RESOLUTIONS,
            problem: None,
        }
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
) -> Result<Response, WebError> {
    let csrf = session::csrf_token(&jar).ok_or(WebError::NotSignedIn)?;
    let member = state.signed_in_member(&id).await?;
    render(
        &SettingsPage::of(&member, &member.preferences, csrf),
        StatusCode::OK,
    )
}

/// The form as sent: `category` repeats, once per ticked box.
pub(crate) struct SettingsForm {
    csrf: Option<String>,
    categories: BTreeSet<Scope>,
    pub(crate) earliest_date: String,
    pub(crate) intraday: Option<String>,
}

impl SettingsForm {
    pub(crate) fn parse(fields: Vec<(String, String)>) -> Result<Self, WebError> {
        let mut form = SettingsForm {
            csrf: None,
            categories: BTreeSet::new(),
            earliest_date: String::new(),
            intraday: None,
        };
        for (name, value) in fields {
            match name.as_str() {
                "csrf" => form.csrf = Some(value),
                "category" => {
                    let scope = DATA_CATEGORIES
                        .into_iter()
                        .find(|scope| forms::category_value(*scope) == value)
                        .ok_or(WebError::BadForm)?;
                    form.categories.insert(scope);
                }
                "earliest_date" => form.earliest_date = value,
                "intraday" => form.intraday = Some(value),
                _ => return Err(WebError::BadForm),
            }
        }
        Ok(form)
    }
}

pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    fields: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(fields) = fields.map_err(|_| WebError::BadForm)?;
    let form = SettingsForm::parse(fields)?;
    session::check_csrf(&jar, form.csrf.as_deref())?;
    let member = state.signed_in_member(&id).await?;
    let intraday = forms::parse_intraday(form.intraday.as_deref().unwrap_or_default())?;
    let mut chosen = ImportPreferences {
        intraday,
        earliest_date: None,
        left_out: DATA_CATEGORIES
            .into_iter()
            .filter(|scope| *scope != Scope::ActivityAndFitness)
            .filter(|scope| !form.categories.contains(scope))
            .collect(),
    };
    if !form.earliest_date.trim().is_empty() {
        match forms::parse_earliest_date(
            &form.earliest_date,
            member_today(&member, Timestamp::now()),
        ) {
            Ok(date) => chosen.earliest_date = Some(date),
            Err(problem) => {
                let csrf = form.csrf.unwrap_or_default();
                let mut page = SettingsPage::of(&member, &chosen, csrf);
                page.earliest_date = form.earliest_date.chars().take(40).collect();
                page.problem = Some(problem);
                return render(&page, StatusCode::BAD_REQUEST);
            }
        }
    }
    state.members.save_preferences(&id, &chosen).await?;
    tracing::info!(member = %id, "settings changed");
    let Some(account) = &member.fitbit else {
        return Ok(Redirect::to("/dashboard").into_response());
    };
    let needs_own_client =
        chosen.intraday.is_some() && state.intraday_requires_own_client && !account.via_own_client;
    let granted: BTreeSet<&str> = account.granted_scopes.iter().map(String::as_str).collect();
    let needs_consent = requested_scopes(&chosen)
        .iter()
        .any(|scope| !granted.contains(scope.url()));
    let next = if needs_own_client {
        "/intraday"
    } else if needs_consent && account.via_own_client {
        "/fitbit/connect?client=own"
    } else if needs_consent {
        "/fitbit/connect"
    } else {
        // Nothing more to agree to: the new choices are read now. Otherwise the consent (or
        // the intraday setup) that follows queues the sync, with what it grants.
        sync_now::queue_sync(&state, &id).await?;
        "/dashboard"
    };
    Ok(Redirect::to(next).into_response())
}
