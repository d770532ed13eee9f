//! Heart-rate zone minutes: `active-zone-minutes` (1 per fat-burn minute, 2 per cardio or peak
//! minute, as Fitbit counts them), `time-in-heart-rate-zone` and `calories-in-heart-rate-zone`
//! (rollups only), from each worn minute's heart-rate level against the day's zones.

use serde_json::{Map, Value};

use super::{
    aggregate::{self, Categories},
    heart::Zone,
    minutely::{MinuteRule, Minutely},
    minutes::Minute,
    render::Method,
    writer::{push_double, push_enum, push_int64},
};
use crate::google::{
    knobs::Generation,
    points::{Generator, SimPoint},
};

pub(crate) static ACTIVE_ZONE_MINUTES: &dyn Generator = &Minutely(ActiveZoneMinutes);
pub(crate) static TIME_IN_HEART_RATE_ZONE: &dyn Generator = &Minutely(TimeInZone);
pub(crate) static CALORIES_IN_HEART_RATE_ZONE: &dyn Generator = &Minutely(CaloriesInZone);

/// Active-zone-minute zones: (`HeartRateZone` value, rollup member, minutes credited per
/// minute), indexed by [`azm_index`].
const AZM_ZONES: [(&str, &str, u64); 3] = [
    ("FAT_BURN", "sumInFatBurnHeartZone", 1),
    ("CARDIO", "sumInCardioHeartZone", 2),
    ("PEAK", "sumInPeakHeartZone", 2),
];

fn azm_index(zone: Zone) -> usize {
    match zone {
        Zone::Light => 0,
        Zone::Moderate | Zone::Vigorous => 1,
        Zone::Peak => 2,
    }
}

fn zone_of(measures: &[f64; 4]) -> usize {
    measures[0] as usize
}

#[derive(Debug)]
struct ActiveZoneMinutes;

impl MinuteRule for ActiveZoneMinutes {
    const KEY: &'static str = "activeZoneMinutes";
    const METHOD: Method = Method::Derived;

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        let index = azm_index(minute.zone?);
        Some([index as f64, AZM_ZONES[index].2 as f64, 0.0, 0.0])
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_enum(out, "heartRateZone", AZM_ZONES[zone_of(measures)].0);
        push_int64(out, "activeZoneMinutes", measures[1] as u64);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        if points.is_empty() {
            return None;
        }
        let mut sums = [0.0; 3];
        for point in points {
            sums[zone_of(&point.measures)] += point.measures[1];
        }
        let mut object = Map::new();
        for ((_, member, _), sum) in AZM_ZONES.iter().zip(sums) {
            if sum > 0.0 {
                object.insert((*member).to_owned(), aggregate::int64(sum));
            }
        }
        Some(Value::Object(object))
    }
}

#[derive(Debug)]
struct TimeInZone;

impl MinuteRule for TimeInZone {
    const KEY: &'static str = "timeInHeartRateZone";
    const METHOD: Method = Method::Derived;

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        Some([minute.zone?.index() as f64, 60.0, 0.0, 0.0])
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_enum(out, "heartRateZoneType", Zone::NAMES[zone_of(measures)]);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        Categories {
            names: &Zone::NAMES,
            list: "timeInHeartRateZones",
            category: "heartRateZone",
            amount: "duration",
            spell: aggregate::duration,
        }
        .roll_up(points)
    }
}

/// Google only rolls this type up; its points (never listed) carry the minute's energy.
#[derive(Debug)]
struct CaloriesInZone;

impl MinuteRule for CaloriesInZone {
    const KEY: &'static str = "caloriesInHeartRateZone";
    const METHOD: Method = Method::Derived;

    fn measures(&self, minute: &Minute, _: Generation) -> Option<[f64; 4]> {
        Some([minute.zone?.index() as f64, minute.total_kcal(), 0.0, 0.0])
    }

    fn write(&self, measures: &[f64; 4], out: &mut String) {
        push_enum(out, "heartRateZoneType", Zone::NAMES[zone_of(measures)]);
        push_double(out, "kcal", measures[1]);
    }

    fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        Categories {
            names: &Zone::NAMES,
            list: "caloriesInHeartRateZones",
            category: "heartRateZone",
            amount: "kcal",
            spell: aggregate::double,
        }
        .roll_up(points)
    }
}
