//! The rollup value objects of the activity and heart types (reference §2.6): sums of one
//! measure, and sums per category (activity level, heart-rate zone). Zero members are omitted
//! as proto3 JSON does, so a window with points that sum to zero is `{}`; a window without
//! points has no value at all.

use serde_json::{Map, Value};

use crate::google::points::SimPoint;

/// Σ of measure `slot` over `points`; `None` without points.
pub(super) fn sum(points: &[SimPoint], slot: usize) -> Option<f64> {
    (!points.is_empty()).then(|| points.iter().map(|point| point.measures[slot]).sum())
}

/// A proto3 int64 of a whole-number measure sum.
pub(super) fn int64(value: f64) -> Value {
    Value::String(format!("{value:.0}"))
}

/// A `google.protobuf.Duration` of whole seconds.
pub(super) fn duration(seconds: f64) -> Value {
    Value::String(format!("{seconds:.0}s"))
}

/// A proto3 double.
pub(super) fn double(value: f64) -> Value {
    Value::from(value)
}

/// `{"<field>": spell(Σ measure 0)}`, or `{}` when the sum is zero.
pub(super) fn total(points: &[SimPoint], field: &str, spell: fn(f64) -> Value) -> Option<Value> {
    let total = sum(points, 0)?;
    let mut object = Map::new();
    if total != 0.0 {
        object.insert(field.to_owned(), spell(total));
    }
    Some(Value::Object(object))
}

/// Sums per category: measure 0 of each point is an index into `names`, measure 1 its amount.
/// The sums come out as `{"<list>": [{"<category>": name, "<amount>": spell(sum)}, …]}` in the
/// order of `names`, leaving out categories without points.
pub(super) struct Categories {
    pub names: &'static [&'static str],
    pub list: &'static str,
    pub category: &'static str,
    pub amount: &'static str,
    pub spell: fn(f64) -> Value,
}

impl Categories {
    pub(super) fn roll_up(&self, points: &[SimPoint]) -> Option<Value> {
        if points.is_empty() {
            return None;
        }
        let mut sums = vec![None::<f64>; self.names.len()];
        for point in points {
            if let Some(sum) = sums.get_mut(point.measures[0] as usize) {
                *sum = Some(sum.unwrap_or(0.0) + point.measures[1]);
            }
        }
        let entries: Vec<Value> = sums
            .iter()
            .zip(self.names)
            .filter_map(|(sum, name)| {
                let mut entry = Map::new();
                entry.insert(self.category.to_owned(), Value::from(*name));
                entry.insert(self.amount.to_owned(), (self.spell)((*sum)?));
                Some(Value::Object(entry))
            })
            .collect();
        let mut object = Map::new();
        object.insert(self.list.to_owned(), Value::Array(entries));
        Some(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::google::points::PointTime;

    fn point(measures: [f64; 4]) -> SimPoint {
        let time = PointTime {
            start_ms: 0,
            start_extra_us: 0,
            end_ms: 0,
            start_offset_s: 0,
            end_offset_s: 0,
            civil_day: 0,
        };
        SimPoint {
            time,
            id: None,
            json: String::new(),
            measures,
        }
    }

    #[test]
    fn totals_and_categories() {
        let points = [point([2.0, 60.0, 0.0, 0.0]), point([0.0, 60.0, 0.0, 0.0])];
        assert_eq!(
            total(&points, "countSum", int64),
            Some(json!({"countSum": "2"}))
        );
        assert_eq!(total(&points[1..], "countSum", int64), Some(json!({})));
        assert_eq!(total(&[], "countSum", int64), None);
        let zones = Categories {
            names: &["A", "B", "C"],
            list: "zones",
            category: "zone",
            amount: "duration",
            spell: duration,
        };
        assert_eq!(
            zones.roll_up(&points),
            Some(
                json!({"zones": [{"zone": "A", "duration": "60s"}, {"zone": "C", "duration": "60s"}]})
            )
        );
        assert_eq!(zones.roll_up(&[]), None);
    }
}
