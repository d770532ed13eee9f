//! `GET …/dataTypes/{dataType}/dataPoints/{id}` (reference §2.2, §2.7): one point of an
//! identifiable type by the id in its `name`; an id the persona never had is 404 NOT_FOUND.
//!
//! Ids do not say which day their point is on, so the history is searched newest day first,
//! generating days directly rather than through the day cache, which a search would flush.

use axum::{http::StatusCode, response::Response};

use super::{catalogue::DataType, params, pipeline::Context};
use crate::google::{
    persona::Persona,
    points::Generator,
    responses::{self, GoogleError},
};

pub(crate) fn get(
    context: &Context,
    data_type: &'static DataType,
    id: &str,
) -> Result<Response, GoogleError> {
    if !data_type.identifiable() {
        return Err(params::unsupported(data_type, "get"));
    }
    data_type
        .generator
        .and_then(|generator| find(&context.persona, generator, id))
        .map(|json| responses::json_text(StatusCode::OK, json))
        .ok_or_else(GoogleError::not_found)
}

/// The JSON of the point named `id`, as of the persona's now.
fn find(persona: &Persona, generator: &dyn Generator, id: &str) -> Option<String> {
    let now = persona.now_seconds();
    (persona.first_day()..=persona.day_of(now))
        .rev()
        .find_map(|day| {
            generator
                .day(persona, day, now)
                .into_iter()
                .find(|point| point.id.as_deref() == Some(id))
        })
        .map(|point| point.json)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::google::{
        api::{
            catalogue,
            test_support::{body, context, error_of, list},
        },
        points::{PointTime, SimPoint},
    };

    /// One named point on each day whose number is a multiple of 100.
    #[derive(Debug)]
    struct Sparse;

    impl Generator for Sparse {
        fn day(&self, _: &Persona, day: i64, _: i64) -> Vec<SimPoint> {
            if day % 100 != 0 {
                return Vec::new();
            }
            let time = PointTime {
                start_ms: day * 86_400_000,
                start_extra_us: 0,
                end_ms: day * 86_400_000,
                start_offset_s: 0,
                end_offset_s: 0,
                civil_day: day,
            };
            vec![SimPoint {
                time,
                id: Some(format!("9{day}")),
                json: json!({"name": format!("users/1/dataTypes/weight/dataPoints/9{day}")})
                    .to_string(),
                measures: [0.0; 4],
            }]
        }

        fn roll_up(&self, _: &[SimPoint]) -> Option<Value> {
            None
        }
    }

    #[test]
    fn points_are_found_by_id_anywhere_in_the_history() {
        let context = context(json!({}));
        let persona = &context.persona;
        let oldest = (persona.first_day()..).find(|day| day % 100 == 0).unwrap();
        let json = find(persona, &Sparse, &format!("9{oldest}")).unwrap();
        assert!(json.ends_with(&format!("9{oldest}\"}}")));
        assert_eq!(find(persona, &Sparse, "9101"), None);
    }

    #[tokio::test]
    async fn a_listed_point_is_got_by_the_id_in_its_name() {
        let context = context(json!({}));
        let (status, page) = list(&context, "weight", "pageSize=3").await;
        assert_eq!(status, 200);
        let oldest_listed = &page["dataPoints"][2];
        let name = oldest_listed["name"].as_str().unwrap();
        let id = name.rsplit('/').next().unwrap();
        let response = get(&context, catalogue::find("weight").unwrap(), id).unwrap();
        assert_eq!(body(response).await, (200, oldest_listed.clone()));
    }

    #[tokio::test]
    async fn unknown_ids_and_types_without_get() {
        let context = context(json!({}));
        let call = |data_type: &str, id: &str| {
            get(&context, catalogue::find(data_type).unwrap(), id)
                .unwrap_or_else(axum::response::IntoResponse::into_response)
        };
        let (status, error) = body(call("steps", "1")).await;
        assert_eq!(
            (status, error_of(&error).0),
            (400, Some("UNSUPPORTED_OPERATION_FOR_DATA_TYPE"))
        );
        let (status, error) = body(call("weight", "1")).await;
        assert_eq!(
            (status, error["error"]["status"].as_str()),
            (404, Some("NOT_FOUND"))
        );
    }
}
