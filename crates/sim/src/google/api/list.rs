//! `GET …/dataTypes/{dataType}/dataPoints` (reference §2.3, §8.4): filter, select, newest
//! first, page.

use std::collections::HashMap;

use axum::{http::StatusCode, response::Response};
use serde::{Serialize, Serializer, ser::SerializeMap};

use super::{
    catalogue::{DataType, Simulated},
    filter::{self, Domain, Filter},
    paging::Fingerprint,
    params::{self, Query},
    pipeline::Context,
};
use crate::google::{
    civil::{self, CivilDateTimeJson, CivilParts, SECONDS_PER_DAY},
    persona::{DataSourceJson, MinutePoint},
    responses::{self, GoogleError},
};

/// Query parameters of `list` (JSON and proto names).
const PARAMETERS: &[&str] = &[
    "filter",
    "pageSize",
    "page_size",
    "pageToken",
    "page_token",
    "dataSourceFamily",
    "data_source_family",
];

pub(crate) fn list(
    context: &Context,
    data_type: &'static DataType,
    query: &Query,
) -> Result<Response, GoogleError> {
    if !data_type.list {
        return Err(params::unsupported(data_type, "list"));
    }
    query.check_names(PARAMETERS)?;
    let (default_size, max_size) = data_type.list_page_sizes();
    let page_size = params::page_size(
        params::int32(query, "pageSize", "page_size")?,
        default_size,
        max_size,
    )?;
    let family = query.get("dataSourceFamily", "data_source_family");
    let has_persona_data =
        params::includes_persona_data(family, &context.persona, data_type, true)?;
    let filter_text = query.get("filter", "filter").unwrap_or("");
    let filter = filter::parse(filter_text, data_type).map_err(|error| {
        GoogleError::invalid_argument(error.reason, error.message())
            .field_violation(Some("filter"), &error.description)
    })?;
    let fingerprint = Fingerprint::of(&[
        "list",
        data_type.id,
        filter_text,
        &page_size.to_string(),
        family.unwrap_or(""),
    ]);
    let cursor = params::cursor(
        &context.page_tokens,
        query.get("pageToken", "page_token"),
        fingerprint,
    )?;
    let (points, more) = match data_type.simulated.as_ref().filter(|_| has_persona_data) {
        Some(simulated) => select(
            context,
            simulated,
            filter.as_ref(),
            cursor,
            page_size as usize,
        ),
        None => (Vec::new(), false),
    };
    let token = more
        .then(|| {
            points
                .last()
                .map(|(_, point)| context.page_tokens.issue(fingerprint, point.minute))
        })
        .flatten();
    Ok(respond(
        context,
        data_type,
        &points,
        params::next_page_token(&context.knobs, token),
    ))
}

/// The response body: each point with the data source of its day.
fn respond(
    context: &Context,
    data_type: &DataType,
    points: &[(i64, MinutePoint)],
    next_page_token: Option<String>,
) -> Response {
    let union_key = data_type.union_key();
    let value_field = data_type
        .simulated
        .as_ref()
        .map_or("", |simulated| simulated.point_field);
    let mut sources: HashMap<i64, DataSourceJson> = HashMap::new();
    for (day, _) in points {
        sources
            .entry(*day)
            .or_insert_with(|| context.persona.data_source(*day));
    }
    let data_points = points
        .iter()
        .filter_map(|(day, point)| {
            Some(PointJson {
                data_source: sources.get(day)?,
                union_key: &union_key,
                value_field,
                interval: interval_json(context, point),
                value: point.value,
            })
        })
        .collect();
    responses::json(
        StatusCode::OK,
        &ListResponse {
            data_points,
            next_page_token,
        },
    )
}

/// The next page of points, newest first, each with its civil day; `true` when more follow.
fn select(
    context: &Context,
    simulated: &Simulated,
    filter: Option<&Filter>,
    cursor: Option<i64>,
    page_size: usize,
) -> (Vec<(i64, MinutePoint)>, bool) {
    let persona = &context.persona;
    let now = persona.now_seconds();
    let mut newest = persona.day_of(now);
    let mut oldest = persona.first_day();
    if let Some(cursor) = cursor {
        newest = newest.min(persona.day_of(cursor * 60));
    }
    if let Some(filter) = filter {
        let (lower, upper) = filter.bounds();
        let day_of = |seconds: i64| match filter.domain {
            Domain::Physical => persona.day_of(seconds),
            Domain::Civil => seconds.div_euclid(SECONDS_PER_DAY),
        };
        if let Some(lower) = lower {
            oldest = oldest.max(day_of(lower));
        }
        if let Some(upper) = upper {
            newest = newest.min(day_of(upper - 1));
        }
    }
    let mut page = Vec::new();
    for day in (oldest..=newest).rev() {
        for point in persona
            .day_points(simulated.series, day, now)
            .into_iter()
            .rev()
        {
            let skip = cursor.is_some_and(|cursor| point.minute >= cursor)
                || (!context.knobs.emit_true_zeros && point.value == 0)
                || filter.is_some_and(|filter| !filter.matches(point.start(), point.local_start()));
            if skip {
                continue;
            }
            if page.len() == page_size {
                return (page, true);
            }
            page.push((day, point));
        }
    }
    (page, false)
}

fn interval_json(context: &Context, point: &MinutePoint) -> IntervalJson {
    let end = point.start() + 60;
    let end_offset = context.persona.offset_at(end);
    IntervalJson {
        start_time: civil::rfc3339_utc(point.start()),
        start_utc_offset: civil::duration_json(point.offset),
        end_time: civil::rfc3339_utc(end),
        end_utc_offset: civil::duration_json(end_offset),
        civil_start_time: CivilParts::from_seconds(point.local_start()).json(),
        civil_end_time: CivilParts::from_seconds(end + i64::from(end_offset)).json(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    data_points: Vec<PointJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `ObservationTimeInterval`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IntervalJson {
    start_time: String,
    start_utc_offset: String,
    end_time: String,
    end_utc_offset: String,
    civil_start_time: CivilDateTimeJson,
    civil_end_time: CivilDateTimeJson,
}

/// One `DataPoint`: `{"dataSource": …, "<unionKey>": {"interval": …, "<field>": "N"}}`, with
/// the int64 value as a string and omitted when zero (proto3 JSON).
struct PointJson<'a> {
    data_source: &'a DataSourceJson,
    union_key: &'a str,
    value_field: &'a str,
    interval: IntervalJson,
    value: u64,
}

struct ValueJson<'a> {
    interval: &'a IntervalJson,
    field: &'a str,
    value: u64,
}

impl Serialize for PointJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("dataSource", self.data_source)?;
        map.serialize_entry(
            self.union_key,
            &ValueJson {
                interval: &self.interval,
                field: self.value_field,
                value: self.value,
            },
        )?;
        map.end()
    }
}

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("interval", self.interval)?;
        if self.value != 0 {
            map.serialize_entry(self.field, &self.value.to_string())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    use super::*;
    use crate::google::api::{
        catalogue,
        test_support::{body, context, error_of},
    };

    async fn call(context: &Context, data_type: &str, query: &str) -> (u16, Value) {
        let data_type = catalogue::find(data_type).unwrap();
        let response = list(context, data_type, &Query::parse(Some(query)))
            .unwrap_or_else(IntoResponse::into_response);
        body(response).await
    }

    fn civil_day(day: &str) -> String {
        let next = day
            .parse::<jiff::civil::Date>()
            .unwrap()
            .tomorrow()
            .unwrap();
        let filter = format!(
            r#"steps.interval.civil_start_time >= "{day}" AND steps.interval.civil_start_time < "{next}""#
        );
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", &filter)
            .finish()
    }

    /// All points of a query, following page tokens: (points, tokens seen).
    async fn all(context: &Context, query: &str) -> (Vec<Value>, usize) {
        let (mut points, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let paged = match &token {
                Some(token) => format!("{query}&pageToken={token}"),
                None => query.to_owned(),
            };
            let (status, page) = call(context, "steps", &paged).await;
            assert_eq!(status, 200, "{page}");
            points.extend(page["dataPoints"].as_array().cloned().unwrap_or_default());
            pages += 1;
            match page["nextPageToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return (points, pages),
            }
        }
    }

    fn count(point: &Value) -> u64 {
        point["steps"]["count"]
            .as_str()
            .map_or(0, |count| count.parse().unwrap())
    }

    #[tokio::test]
    async fn a_day_lists_every_worn_minute_newest_first_with_true_zeros() {
        let with_zeros = context(json!({}));
        let (points, pages) = all(
            &with_zeros,
            &format!("{}&pageSize=500", civil_day("2024-05-14")),
        )
        .await;
        assert!(pages >= 2);
        let total: u64 = points.iter().map(count).sum();
        let expected = with_zeros
            .persona
            .daily_steps(jiff::civil::date(2024, 5, 14))
            .unwrap();
        assert_eq!(total, expected);
        assert!(
            points
                .iter()
                .any(|point| point["steps"].get("count").is_none()),
            "zero minutes omit count"
        );
        let starts: Vec<&str> = points
            .iter()
            .map(|p| p["steps"]["interval"]["startTime"].as_str().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] > w[1]));
        let first = &points[0];
        assert_eq!(first["dataSource"]["device"]["displayName"], "Charge 6");
        assert_eq!(first["steps"]["interval"]["startUtcOffset"], "-25200s");

        let without_zeros = context(json!({"emit_true_zeros": false}));
        let (nonzero, _) = all(&without_zeros, &civil_day("2024-05-14")).await;
        assert!(nonzero.len() < points.len());
        assert!(nonzero.iter().all(|point| count(point) > 0));
        assert_eq!(nonzero.iter().map(count).sum::<u64>(), expected);
    }

    #[tokio::test]
    async fn a_physical_range_selects_by_instant() {
        let context = context(json!({}));
        // 2024-05-14 in Los Angeles (PDT) is 07:00Z to 07:00Z.
        let filter = r#"steps.interval.start_time >= "2024-05-14T07:00:00Z" AND steps.interval.start_time < "2024-05-15T07:00:00Z""#;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .finish();
        let (physical, _) = all(&context, &query).await;
        let (civil, _) = all(&context, &civil_day("2024-05-14")).await;
        assert_eq!(physical, civil);
    }

    #[tokio::test]
    async fn the_last_page_token_is_omitted_or_empty_per_knob() {
        let query = format!("{}&pageSize=10000", civil_day("2024-05-14"));
        let (_, page) = call(&context(json!({})), "steps", &query).await;
        assert!(page.get("nextPageToken").is_none());
        let (_, page) = call(
            &context(json!({"final_page_token": "empty"})),
            "steps",
            &query,
        )
        .await;
        assert_eq!(page["nextPageToken"], "");
    }

    #[tokio::test]
    async fn rejected_requests() {
        let context = context(json!({}));
        let (status, page) = call(&context, "floors", "").await;
        assert_eq!(
            (status, error_of(&page).0),
            (400, Some("UNSUPPORTED_OPERATION_FOR_DATA_TYPE"))
        );
        let (status, _) = call(&context, "steps", "pageSize=-1").await;
        assert_eq!(status, 400);
        let (status, page) = call(&context, "steps", "startTime=2026-01-01").await;
        assert_eq!(status, 400);
        assert!(
            error_of(&page)
                .1
                .contains("Cannot bind query parameter. Field 'startTime' could not be found")
        );
        let (status, page) = call(&context, "steps", "pageToken=bogus").await;
        assert_eq!((status, error_of(&page).1), (400, "Invalid page token."));
        let (status, page) = call(
            &context,
            "steps",
            "filter=steps.interval.start_time%20%3E%20%222026%22",
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0),
            (
                400,
                Some("INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARATOR")
            )
        );
        let (status, page) = call(
            &context,
            "sleep",
            "dataSourceFamily=users/me/dataSourceFamilies/all-sources",
        )
        .await;
        assert_eq!(
            (status, error_of(&page).0),
            (400, Some("INVALID_DATA_POINT_DATA_SOURCE_FAMILY"))
        );
    }

    #[tokio::test]
    async fn other_sources_and_unsimulated_types_are_empty() {
        let context = context(json!({}));
        let (status, page) = call(
            &context,
            "steps",
            "dataSourceFamily=users/me/dataSourceFamilies/self-sources",
        )
        .await;
        assert_eq!((status, page), (200, json!({})));
        let (status, page) = call(&context, "heart-rate", "pageSize=10").await;
        assert_eq!((status, page), (200, json!({})));
    }
}
