//! The JSON pieces the session and health generators share: ids and names of identifiable
//! points, `dataSource`s, sample times, session intervals and stage segments, dates, and the
//! proto3 spelling of numbers (int64 as strings, integral doubles without a fraction).

use serde_json::{Map, Value, json};

use super::{
    Persona,
    quirks::{PHONE_MANUFACTURER, PHONE_MODEL, PHONE_PACKAGE, SourceShape},
    rng::{self, Stream},
};
use crate::google::{
    civil::{self, CivilParts},
    points::{PointTime, SimPoint},
};

/// A data type as generators name it: the URL id and the `DataPoint` union key.
#[derive(Clone, Copy, Debug)]
pub(super) struct Kind {
    pub id: &'static str,
    pub key: &'static str,
}

/// `DataSource.recordingMethod`.
#[derive(Clone, Copy, Debug)]
pub(super) enum Method {
    Manual,
    PassivelyMeasured,
    Derived,
    ActivelyMeasured,
}

/// The persona's smart scale, for weigh-ins that are not typed in.
const SCALE: (&str, &str) = ("Aria 2", "SCALE");

impl Kind {
    /// A `DataPoint`: `name` when `serial` (civil day, number within the day) is given — the
    /// identifiable types — then `dataSource` and the value under the union key.
    pub(super) fn point(
        &self,
        persona: &Persona,
        serial: Option<(i64, u64)>,
        time: PointTime,
        source: Value,
        value: Value,
    ) -> SimPoint {
        let id = serial.map(|(day, n)| self.id_of(persona, day, n));
        let mut object = Map::new();
        if let Some(id) = &id {
            let name = format!(
                "users/{}/dataTypes/{}/dataPoints/{id}",
                persona.health_user_id(),
                self.id
            );
            object.insert("name".into(), name.into());
        }
        object.insert("dataSource".into(), source);
        object.insert(self.key.into(), value);
        SimPoint {
            time,
            id,
            json: Value::Object(object).to_string(),
            measures: [0.0; 4],
        }
    }

    /// A 19-digit decimal id, stable for (seed, type, day, n) like Google's long ids.
    fn id_of(&self, persona: &Persona, day: i64, n: u64) -> String {
        // FNV-1a keeps the type apart without a table of per-type constants.
        let type_hash = self.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let index = type_hash ^ ((day as u64) << 8) ^ n;
        let draw = rng::draw(persona.core.seed, Stream::PointId, index);
        (1_000_000_000_000_000_000 + draw % 8_000_000_000_000_000_000).to_string()
    }
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Manual => "MANUAL",
            Method::PassivelyMeasured => "PASSIVELY_MEASURED",
            Method::Derived => "DERIVED",
            Method::ActivelyMeasured => "ACTIVELY_MEASURED",
        }
    }
}

fn source(method: Method, device: Option<(&str, &str)>) -> Value {
    let mut object = Map::new();
    object.insert("recordingMethod".into(), method.name().into());
    if let Some((display_name, form_factor)) = device {
        object.insert(
            "device".into(),
            json!({"displayName": display_name, "formFactor": form_factor}),
        );
    }
    object.insert("platform".into(), "FITBIT".into());
    Value::Object(object)
}

/// The `dataSource` of data from the tracker worn on civil day `day`: in full, or with an
/// empty `device`, or empty itself, as the day's [`SourceShape`] says.
pub(super) fn tracker_source(persona: &Persona, day: i64, method: Method) -> Value {
    tracker_source_shaped(persona, day, method, persona.quirks(day).source)
}

/// [`tracker_source`] of a day whose shape is known.
pub(super) fn tracker_source_shaped(
    persona: &Persona,
    day: i64,
    method: Method,
    shape: SourceShape,
) -> Value {
    match shape {
        SourceShape::Full => {
            let device = persona.core.devices.on(day);
            source(method, Some((device.display_name, device.form_factor)))
        }
        SourceShape::EmptyDevice => json!({
            "recordingMethod": method.name(),
            "device": {},
            "platform": "FITBIT",
        }),
        SourceShape::Empty => json!({}),
    }
}

/// The `dataSource` of the phone that syncs through Health Connect (schema `DataSource`:
/// `application.packageName`, `device.manufacturer`).
pub(super) fn phone_source() -> Value {
    json!({
        "recordingMethod": Method::PassivelyMeasured.name(),
        "device": {
            "displayName": PHONE_MODEL,
            "manufacturer": PHONE_MANUFACTURER,
            "formFactor": "PHONE",
        },
        "platform": "HEALTH_CONNECT",
        "application": {"packageName": PHONE_PACKAGE},
    })
}

/// The `dataSource` of a weigh-in on the scale.
pub(super) fn scale_source() -> Value {
    source(Method::PassivelyMeasured, Some(SCALE))
}

/// The `dataSource` of an entry typed into the app (no device, as live manual weights show).
pub(super) fn manual_source() -> Value {
    source(Method::Manual, None)
}

/// A proto3 `double`: Google writes integral values without a fraction (`"weightGrams":79832`).
pub(super) fn double(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// A proto3 `int64`: a decimal string.
pub(super) fn int64(value: u64) -> Value {
    Value::String(value.to_string())
}

/// `value` rounded to `places` decimals, as the devices report readings.
pub(super) fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// A `google.protobuf.Timestamp` of whole seconds.
pub(super) fn timestamp(epoch_seconds: i64) -> Value {
    civil::rfc3339_utc(epoch_seconds).into()
}

/// A `Timestamp` `micros` microseconds after a whole second: six fractional digits (three
/// when they make whole milliseconds, none when 0), as proto3 JSON writes them.
pub(super) fn timestamp_us(epoch_seconds: i64, micros: u32) -> Value {
    let whole = civil::rfc3339_utc(epoch_seconds);
    let fraction = match micros {
        0 => return whole.into(),
        us if us % 1000 == 0 => format!(".{:03}", us / 1000),
        us => format!(".{us:06}"),
    };
    format!("{}{fraction}Z", whole.trim_end_matches('Z')).into()
}

/// A `google.type.Date` of civil day `day`.
pub(super) fn date(day: i64) -> Value {
    let (year, month, day) = civil::civil_from_days(day);
    json!({"year": year, "month": month, "day": day})
}

/// `ObservationSampleTime` of an instant, with the read-only `civilTime` live samples carry.
pub(super) fn sample_time(persona: &Persona, at: i64) -> Value {
    sample_time_us(persona, at, 0)
}

/// [`sample_time`] of an instant `micros` microseconds after `at`: the physical time with its
/// fraction and the civil time with `nanos`.
pub(super) fn sample_time_us(persona: &Persona, at: i64, micros: u32) -> Value {
    let offset = persona.offset_at(at);
    let mut civil_time =
        serde_json::to_value(CivilParts::from_seconds(at + i64::from(offset)).json())
            .unwrap_or_default();
    if micros != 0 {
        civil_time["time"]["nanos"] = json!(micros * 1000);
    }
    json!({
        "physicalTime": timestamp_us(at, micros),
        "utcOffset": civil::duration_json(offset),
        "civilTime": civil_time,
    })
}

/// The members of a `SessionTimeInterval`, `SleepStage` or `AlertWindow` span: start and end
/// with their UTC offsets. Live sessions omit the read-only civil times, so this does too.
pub(super) fn span(persona: &Persona, start: i64, end: i64) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("startTime".into(), timestamp(start));
    object.insert(
        "startUtcOffset".into(),
        civil::duration_json(persona.offset_at(start)).into(),
    );
    object.insert("endTime".into(), timestamp(end));
    object.insert(
        "endUtcOffset".into(),
        civil::duration_json(persona.offset_at(end)).into(),
    );
    object
}

/// The time of a sample at `at` (epoch seconds), counted on the civil date it happened.
pub(super) fn instant_time(persona: &Persona, at: i64) -> PointTime {
    span_time(persona, at, at)
}

/// [`instant_time`] of an instant `micros` microseconds after `at`.
pub(super) fn instant_time_us(persona: &Persona, at: i64, micros: u32) -> PointTime {
    let ms = i64::from(micros / 1000);
    PointTime {
        start_ms: at * 1000 + ms,
        start_extra_us: (micros % 1000) as u16,
        end_ms: at * 1000 + ms,
        ..instant_time(persona, at)
    }
}

/// The time of a session, counted on the civil date it starts.
pub(super) fn span_time(persona: &Persona, start: i64, end: i64) -> PointTime {
    PointTime {
        start_ms: start * 1000,
        start_extra_us: 0,
        end_ms: end * 1000,
        start_offset_s: persona.offset_at(start),
        end_offset_s: persona.offset_at(end),
        civil_day: persona.day_of(start),
    }
}

/// The time of a daily point: local midnight of civil day `day`.
pub(super) fn day_time(persona: &Persona, day: i64) -> PointTime {
    let midnight = persona.day_start(day);
    PointTime {
        civil_day: day,
        ..instant_time(persona, midnight)
    }
}

/// The mean of the first measure of `points`, which the averaging rollups need.
pub(super) fn mean_of_first(points: &[SimPoint]) -> Option<f64> {
    (!points.is_empty())
        .then(|| points.iter().map(|point| point.measures[0]).sum::<f64>() / points.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::persona::test_support::persona_at;

    #[test]
    fn numbers_are_spelled_like_proto3() {
        assert_eq!(double(79_832.0).to_string(), "79832");
        assert_eq!(double(95.5).to_string(), "95.5");
        assert_eq!(int64(42), Value::String("42".into()));
        assert_eq!(round(1.23456, 2), 1.23);
        assert_eq!(date(0), json!({"year": 1970, "month": 1, "day": 1}));
        assert_eq!(
            timestamp_us(0, 390_135),
            json!("1970-01-01T00:00:00.390135Z")
        );
        assert_eq!(timestamp_us(0, 390_000), json!("1970-01-01T00:00:00.390Z"));
        assert_eq!(timestamp_us(0, 0), json!("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn identifiable_points_have_stable_long_ids_and_names() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let kind = Kind {
            id: "weight",
            key: "weight",
        };
        let other = Kind {
            id: "body-fat",
            key: "bodyFat",
        };
        let time = instant_time(&persona, 1_700_000_000);
        let point = kind.point(&persona, Some((10, 0)), time, manual_source(), json!({}));
        let id = point.id.clone().unwrap();
        assert_eq!(id.len(), 19);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        let json: Value = serde_json::from_str(&point.json).unwrap();
        assert_eq!(
            json["name"],
            format!(
                "users/{}/dataTypes/weight/dataPoints/{id}",
                persona.health_user_id()
            )
        );
        assert_eq!(
            json["dataSource"],
            json!({"recordingMethod": "MANUAL", "platform": "FITBIT"})
        );
        let again = kind.point(&persona, Some((10, 0)), time, manual_source(), json!({}));
        assert_eq!(again.id, point.id);
        for different in [
            kind.point(&persona, Some((10, 1)), time, manual_source(), json!({})),
            kind.point(&persona, Some((11, 0)), time, manual_source(), json!({})),
            other.point(&persona, Some((10, 0)), time, manual_source(), json!({})),
        ] {
            assert_ne!(different.id, point.id);
        }
        let stream = kind.point(&persona, None, time, scale_source(), json!({}));
        assert!(stream.id.is_none() && !stream.json.contains("\"name\""));
    }
}
