//! The persona's tracked workouts, read from the day plan: every run, and the lunch walk on
//! about one day in eight — about three workouts a week. `exercise` sessions and `run-vo2-max`
//! readings derive from these.

use super::{
    Persona,
    activity::Activity,
    rng::Stream,
    schedule::{self, Dice},
};

/// Per mille of worn days whose lunch walk is tracked as an exercise.
const TRACKED_WALK_PER_MILLE: u64 = 130;
/// Per mille of runs with a pause (a traffic light).
const PAUSED_RUN_PER_MILLE: u64 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sport {
    Run,
    Walk,
}

impl Sport {
    /// `Exercise.exerciseType`.
    pub(super) fn exercise_type(self) -> &'static str {
        match self {
            Sport::Run => "RUNNING",
            Sport::Walk => "WALKING",
        }
    }

    /// `Exercise.displayName`, which Google localizes from the type.
    pub(super) fn display_name(self) -> &'static str {
        match self {
            Sport::Run => "Run",
            Sport::Walk => "Walk",
        }
    }
}

/// One workout, `start..end` in epoch seconds on whole minutes of the day plan.
#[derive(Clone, Copy, Debug)]
pub(super) struct Workout {
    /// The civil day and the workout's number within it, which key its id.
    pub day: i64,
    pub n: u64,
    pub sport: Sport,
    pub start: i64,
    pub end: i64,
    /// A pause `start..end` inside the workout.
    pub pause: Option<(i64, i64)>,
    /// When the tracker synced it (its `createTime`); it is listed from then on.
    pub synced: i64,
}

impl Workout {
    /// Seconds spent moving: the interval less the pause.
    pub(super) fn active_seconds(&self) -> i64 {
        let paused = self.pause.map_or(0, |(start, end)| end - start);
        self.end - self.start - paused
    }
}

/// The workouts of civil day `day`, by start.
pub(super) fn workouts(persona: &Persona, day: i64) -> Vec<Workout> {
    let Some(plan) = persona.worn_plan(day) else {
        return Vec::new();
    };
    let dice = Dice::new(persona, Stream::Workout, day, 0);
    let mut stretches: Vec<(Sport, (u16, u16))> = schedule::stretches(&plan, Activity::Run)
        .into_iter()
        .map(|stretch| (Sport::Run, stretch))
        .collect();
    if dice.chance(0, TRACKED_WALK_PER_MILLE) {
        let lunch = schedule::stretches(&plan, Activity::Walk)
            .into_iter()
            .find(|(start, _)| (12 * 60..14 * 60).contains(start));
        stretches.extend(lunch.map(|stretch| (Sport::Walk, stretch)));
    }
    stretches.sort_by_key(|(_, (start, _))| *start);
    stretches
        .into_iter()
        .enumerate()
        .filter_map(|(n, (sport, (first, last)))| {
            let start = persona.instant_of(day, first)?;
            let end = persona.instant_of(day, last)?;
            let draw = 1 + 8 * n as u64;
            let pause =
                (sport == Sport::Run && dice.chance(draw, PAUSED_RUN_PER_MILLE)).then(|| {
                    let minutes = (end - start) as u64 / 60;
                    let at = start
                        + 60 * dice.between(draw + 1, 5, minutes - 10) as i64
                        + dice.between(draw + 2, 0, 59) as i64;
                    (at, at + dice.between(draw + 3, 30, 120) as i64)
                });
            Some(Workout {
                day,
                n: n as u64,
                sport,
                start,
                end,
                pause,
                synced: end + 60 * dice.between(draw + 4, 1, 10) as i64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::{civil, persona::test_support::persona_at};

    #[test]
    fn about_three_workouts_a_week_matching_the_plan() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2021, 1, 1);
        let all: Vec<Workout> = (first..first + 364)
            .flat_map(|day| workouts(&persona, day))
            .collect();
        let per_week = all.len() as f64 / 52.0;
        assert!((2.3..3.8).contains(&per_week), "{per_week} a week");
        assert!(all.iter().any(|w| w.sport == Sport::Walk));
        assert!(all.iter().any(|w| w.pause.is_some()));
        for workout in &all {
            let plan = persona.worn_plan(workout.day).unwrap();
            let expected = match workout.sport {
                Sport::Run => Activity::Run,
                Sport::Walk => Activity::Walk,
            };
            let minutes = (workout.end - workout.start) / 60;
            assert!((10..=45).contains(&minutes));
            for second in (workout.start..workout.end).step_by(60) {
                let local = second + i64::from(persona.offset_at(second)) - workout.day * 86_400;
                assert_eq!(plan.activity((local / 60) as u16), expected);
            }
            if let Some((start, end)) = workout.pause {
                assert!(workout.start < start && end < workout.end);
            }
            assert!(workout.active_seconds() <= workout.end - workout.start);
        }
    }
}
