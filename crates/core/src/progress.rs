//! How far a member's history import has come, for the dashboard: per data category, the days
//! imported for every one of its data types out of the days the import covers, and a rough
//! estimate of the time left. Read from the cursors the worker saves as it goes.

use google_health::{Scope, catalogue};
use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};

use crate::{
    members::{Cursor, Member},
    tier::Tier,
};

/// Fitbit sold its first tracker in 2009: no member's history starts earlier.
const HISTORY_FLOOR: Date = jiff::civil::date(2009, 1, 1);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryProgress {
    /// What a member calls it: "Activity and fitness", "Intraday (minute by minute)".
    pub name: &'static str,
    pub days_done: i32,
    pub days_total: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    pub categories: Vec<CategoryProgress>,
    /// `None` when the import is complete or has not imported a day yet.
    pub time_left: Option<SignedDuration>,
}

impl ImportProgress {
    pub fn is_complete(&self) -> bool {
        self.categories
            .iter()
            .all(|category| category.days_done >= category.days_total)
    }
}

/// The first day the member's import reads: their Fitbit membership start or the earliest date
/// they chose, whichever is later. `None` before Fitbit is connected.
pub fn history_start(member: &Member) -> Option<Date> {
    let account = member.fitbit.as_ref()?;
    Some(
        [account.membership_start, member.preferences.earliest_date]
            .into_iter()
            .flatten()
            .fold(HISTORY_FLOOR, Date::max),
    )
}

/// The member's zone from their Google Health settings; UTC when they have none or an unknown
/// one, which shifts day boundaries by their offset but loses nothing.
pub fn member_time_zone(name: Option<&str>) -> TimeZone {
    match name.map(TimeZone::get) {
        Some(Ok(zone)) => zone,
        Some(Err(error)) => {
            tracing::warn!(zone = name, %error, "unknown time zone, using UTC");
            TimeZone::UTC
        }
        None => TimeZone::UTC,
    }
}

/// The member's civil date at `now`, in their zone (UTC before Fitbit is connected).
pub fn member_today(member: &Member, now: Timestamp) -> Date {
    let zone = member
        .fitbit
        .as_ref()
        .and_then(|account| account.time_zone.as_deref());
    now.to_zoned(member_time_zone(zone)).date()
}

/// The data categories a member chooses among, by the scope that grants them. Activity and
/// fitness is always read: it is what the service is for.
pub const DATA_CATEGORIES: [Scope; 6] = [
    Scope::ActivityAndFitness,
    Scope::HealthMetricsAndMeasurements,
    Scope::Sleep,
    Scope::Nutrition,
    Scope::Ecg,
    Scope::Irn,
];

pub fn category_name(scope: Scope) -> &'static str {
    match scope {
        Scope::ActivityAndFitness => "Activity and fitness",
        Scope::HealthMetricsAndMeasurements => "Health metrics",
        Scope::Sleep => "Sleep",
        Scope::Nutrition => "Nutrition",
        Scope::Location => "Location",
        Scope::Ecg => "ECG",
        Scope::Irn => "Irregular rhythm notifications",
        Scope::Profile => "Profile",
        Scope::Settings => "Settings",
    }
}

/// Days from `first` through `today` that `cursor` has imported.
fn days_covered(cursor: &Cursor, first: Date, today: Date) -> i32 {
    let (Some(newest), Some(oldest)) = (cursor.newest, cursor.oldest) else {
        return 0;
    };
    days_between(oldest.max(first), newest.min(today))
}

/// Days from `from` through `to`, both included; 0 when `to` is before `from`.
fn days_between(from: Date, to: Date) -> i32 {
    from.until(to).map_or(0, |span| span.get_days() + 1).max(0)
}

/// The import's progress as of `now`; `None` before Fitbit is connected or before the first
/// run saved a cursor.
pub fn import_progress(member: &Member, now: Timestamp) -> Option<ImportProgress> {
    let account = member.fitbit.as_ref()?;
    let first = history_start(member)?;
    let today = member_today(member, now);
    let total = days_between(first, today);
    // The fewest days any type of a category has: those days are complete for all of them.
    let mut categories: Vec<CategoryProgress> = Vec::new();
    for (key, cursor) in &member.cursors {
        let name = match (key.tier, catalogue::data_type(&key.data_type)) {
            (Tier::Standard, Some(data_type)) if member.preferences.includes(data_type.scope) => {
                category_name(data_type.scope)
            }
            (Tier::Intraday, Some(_))
                if member.preferences.intraday.is_some()
                    && cursor.resolution == member.preferences.intraday =>
            {
                "Intraday (minute by minute)"
            }
            _ => continue,
        };
        let done = days_covered(cursor, first, today);
        match categories.iter_mut().find(|category| category.name == name) {
            Some(category) => category.days_done = category.days_done.min(done),
            None => categories.push(CategoryProgress {
                name,
                days_done: done,
                days_total: total,
            }),
        }
    }
    if categories.is_empty() {
        return None;
    }
    categories.sort_by_key(|category| category.name);
    let done: i64 = categories.iter().map(|c| i64::from(c.days_done)).sum();
    let all: i64 = categories.iter().map(|c| i64::from(c.days_total)).sum();
    let elapsed = account.connected_at.duration_until(now);
    // Each day left takes as long as the days so far took: rough, but it moves the right way.
    let time_left = (done > 0 && done < all && elapsed.is_positive()).then(|| {
        SignedDuration::from_secs_f64(elapsed.as_secs_f64() * (all - done) as f64 / done as f64)
    });
    Some(ImportProgress {
        categories,
        time_left,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::civil::date;
    use secrecy::SecretString;

    use super::*;
    use crate::{
        members::{
            FitbitAccount, ImportPreferences, IntradayResolution, OpenHumansTokens, SyncRecord,
        },
        tier::CursorKey,
    };

    fn member(cursors: &[(&str, Cursor)], intraday: bool) -> Member {
        let token = || SecretString::from("t".to_owned());
        Member {
            id: "12345678".parse().unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
            open_humans: OpenHumansTokens {
                access_token: token(),
                refresh_token: token(),
                expires_at: Timestamp::UNIX_EPOCH,
            },
            fitbit: Some(FitbitAccount {
                health_user_id: "1".to_owned(),
                legacy_user_id: None,
                time_zone: Some("America/Los_Angeles".to_owned()),
                membership_start: Some(date(2026, 1, 1)),
                granted_scopes: Vec::new(),
                connected_at: "2026-11-21T10:00:00Z".parse().unwrap(),
                via_own_client: true,
            }),
            google_tokens: None,
            own_client: None,
            expiry_announced: None,
            recent_days: None,
            sync: SyncRecord::default(),
            preferences: ImportPreferences {
                intraday: intraday.then_some(IntradayResolution::Raw),
                earliest_date: Some(date(2026, 11, 1)),
                left_out: Default::default(),
            },
            pending_periods: Default::default(),
            cursors: cursors
                .iter()
                .map(|(key, cursor)| {
                    let (tier, data_type) = key.split_once(':').unwrap();
                    let tier = Tier::parse(tier).unwrap();
                    let resolution = (tier == Tier::Intraday).then_some(IntradayResolution::Raw);
                    (
                        CursorKey::new(tier, data_type),
                        Cursor {
                            resolution,
                            ..*cursor
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            staging_generation: None,
            repair_requested: false,
            type_failures: Default::default(),
        }
    }

    fn cursor(oldest: Date, newest: Date, complete: bool) -> Cursor {
        Cursor {
            newest: Some(newest),
            oldest: Some(oldest),
            complete,
            resolution: None,
        }
    }

    #[test]
    fn a_category_counts_the_days_all_its_types_have() {
        // 12:00 UTC on the 21st is 04:00 in Los Angeles: 21 days from the 1st.
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let today = date(2026, 11, 21);
        let member = member(
            &[
                ("standard:steps", cursor(date(2026, 11, 1), today, true)),
                (
                    "standard:distance",
                    cursor(date(2026, 11, 12), today, false),
                ),
                ("standard:sleep", cursor(date(2026, 11, 20), today, false)),
                ("intraday:steps", cursor(date(2026, 11, 15), today, false)),
                (
                    "standard:no-such-type",
                    cursor(date(2026, 11, 1), today, true),
                ),
            ],
            false,
        );
        let progress = import_progress(&member, now).unwrap();
        assert_eq!(
            progress.categories,
            vec![
                CategoryProgress {
                    name: "Activity and fitness",
                    days_done: 10,
                    days_total: 21
                },
                CategoryProgress {
                    name: "Sleep",
                    days_done: 2,
                    days_total: 21
                },
            ],
            "intraday is left out when it is off"
        );
        assert!(!progress.is_complete());
        // 12 of 42 days in two hours: 30 days left take five hours.
        assert_eq!(progress.time_left, Some(SignedDuration::from_hours(5)));
    }

    #[test]
    fn a_complete_import_has_no_time_left_and_intraday_shows_when_on() {
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let today = date(2026, 11, 21);
        let member = member(
            &[
                ("standard:steps", cursor(date(2026, 11, 1), today, true)),
                ("intraday:steps", cursor(date(2026, 10, 1), today, true)),
            ],
            true,
        );
        let progress = import_progress(&member, now).unwrap();
        assert_eq!(progress.categories.len(), 2);
        assert!(progress.is_complete());
        assert_eq!(progress.time_left, None);
        assert_eq!(import_progress(&member_without_cursors(), now), None);
    }

    #[test]
    fn left_out_categories_and_intraday_of_another_resolution_have_no_bar() {
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let today = date(2026, 11, 21);
        let mut member = member(
            &[
                ("standard:steps", cursor(date(2026, 11, 1), today, true)),
                ("standard:sleep", cursor(date(2026, 11, 1), today, true)),
                ("intraday:steps", cursor(date(2026, 10, 1), today, true)),
            ],
            true,
        );
        member.preferences.left_out.insert(Scope::Sleep);
        member.preferences.intraday = Some(IntradayResolution::FiveMinutes);
        let names: Vec<&str> = import_progress(&member, now)
            .unwrap()
            .categories
            .iter()
            .map(|category| category.name)
            .collect();
        assert_eq!(names, ["Activity and fitness"]);
    }

    fn member_without_cursors() -> Member {
        member(&[], false)
    }
}
