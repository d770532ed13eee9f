//! Ground truth for tests: what the simulator serves for one civil day, as of the sim clock's
//! now and the current knobs, computed the way the handlers compute it.

use jiff::civil::Date;
use serde_json::Value;

use super::catalogue;
use crate::google::{civil, persona::Persona, state::Shared};

/// The persona as requests see it now: with the current knobs' generation settings.
fn persona(shared: &Shared) -> Persona {
    let state = shared.lock();
    state
        .persona
        .clone()
        .with_generation(state.knobs.generation())
}

/// The `DataPoint`s of `data_type` counted on `date`, ascending; none for an unknown type or
/// one without data. Rollup-only types (`total-calories`, `calories-in-heart-rate-zone`,
/// `floors`) are included although `list` refuses them.
pub(crate) fn ground_truth_points(shared: &Shared, data_type: &str, date: Date) -> Vec<Value> {
    let Some((data_type, generator)) =
        catalogue::find(data_type).and_then(|data_type| Some((data_type, data_type.generator?)))
    else {
        return Vec::new();
    };
    let persona = persona(shared);
    let day = civil::day_number(date);
    persona
        .points(data_type.id, generator, day, persona.now_seconds())
        .iter()
        .filter_map(|point| serde_json::from_str(&point.json).ok())
        .collect()
}

/// The value object a one-day `dailyRollUp` window of `date` holds (`{"countSum":"8412"}`);
/// `None` when the day has no data or the type no rollups.
pub(crate) fn ground_truth_daily_roll_up(
    shared: &Shared,
    data_type: &str,
    date: Date,
) -> Option<Value> {
    let data_type = catalogue::find(data_type).filter(|data_type| data_type.roll_ups)?;
    let persona = persona(shared);
    persona.day_roll_up(
        data_type.id,
        data_type.generator?,
        civil::day_number(date),
        persona.now_seconds(),
    )
}
