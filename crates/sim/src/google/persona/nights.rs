//! The persona's sleep, which the `sleep` sessions and every night-time vital derive from: the
//! main sleep of each night (from the evening's bed time to the next morning's wake time, on
//! nights the tracker was worn both days) and a nap on about 5 % of days, each made of
//! contiguous stages that start and end on 30-second boundaries and last whole minutes, so the
//! sleep summary adds up exactly.
//!
//! A night is synced 5–25 minutes after waking and processed two hours after waking; until
//! then a staged night is only known as classic (asleep/awake) sleep.

use super::{
    Persona,
    rng::Stream,
    schedule::{self, Dice},
    stages::{Stage, StageType, append, classic_stages, short_awakenings, staged_stages},
};
use crate::google::civil;

/// First night with sleep stages: the Versa 2 replaced the Charge 2, which only recorded
/// classic sleep.
pub(super) const STAGES_FROM: i64 = civil::days_from_civil(2019, 1, 1);

/// How long after waking a night is processed (stages computed, vitals derived).
const PROCESSING_SECONDS: i64 = 2 * 3600;

/// Per mille of worn days with an afternoon nap.
const NAP_PER_MILLE: u64 = 50;

/// One sleep session.
#[derive(Clone, Debug)]
pub(super) struct Night {
    /// The civil day the session starts on, where `sleep` lists it.
    pub day: i64,
    /// The main sleep of the night, or a nap.
    pub main: bool,
    pub start: i64,
    pub end: i64,
    /// The stages after processing: LIGHT/DEEP/REM/AWAKE when `staged`, else classic.
    pub stages: Vec<Stage>,
    pub staged: bool,
    /// Awakenings too short to be AWAKE stages, inside LIGHT stages (staged nights only).
    pub short_awakenings: Vec<Stage>,
    /// When the tracker synced the session (its `createTime`).
    pub synced: i64,
    /// When processing finished (the `updateTime` of the rewritten session).
    pub processed: i64,
}

impl Night {
    /// The stages as known before processing: a staged night is only asleep/awake by then.
    pub(super) fn unprocessed_stages(&self) -> Vec<Stage> {
        let mut stages = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            let kind = if stage.kind.asleep() {
                StageType::Asleep
            } else {
                stage.kind
            };
            append(&mut stages, stage.end - stage.start, kind, stage.start);
        }
        stages
    }

    /// The processed stage at instant `at`, if it is inside the session.
    pub(super) fn stage_at(&self, at: i64) -> Option<StageType> {
        self.stages
            .iter()
            .find(|stage| (stage.start..stage.end).contains(&at))
            .map(|stage| stage.kind)
    }

    /// Whole minutes spent in stages of `kind` (stages last whole minutes).
    pub(super) fn minutes_in(&self, kind: StageType) -> i64 {
        self.stages
            .iter()
            .filter(|stage| stage.kind == kind)
            .map(|stage| (stage.end - stage.start) / 60)
            .sum()
    }
}

/// The main sleep that starts on the evening of civil day `day`.
pub(super) fn main_sleep(persona: &Persona, day: i64) -> Option<Night> {
    let evening = persona.worn_plan(day)?;
    let morning = persona.worn_plan(day + 1)?;
    let dice = Dice::new(persona, Stream::Sleep, day, 0);
    // Sessions start on the minute or half minute, like live ones.
    let shift = 30 * dice.between(0, 0, 1) as i64;
    let start = persona.instant_of(day, schedule::bed(&evening))? + shift;
    let end = persona.instant_of(day + 1, schedule::wake(&morning))? + shift;
    let staged = day >= STAGES_FROM;
    let stage_dice = Dice::new(persona, Stream::Sleep, day, 1);
    let stages = if staged {
        staged_stages(stage_dice, start, end)
    } else {
        classic_stages(stage_dice, start, end)
    };
    let awakenings = if staged {
        short_awakenings(Dice::new(persona, Stream::Sleep, day, 2), &stages)
    } else {
        Vec::new()
    };
    Some(Night {
        day,
        main: true,
        start,
        end,
        stages,
        staged,
        short_awakenings: awakenings,
        synced: end + 60 * dice.between(1, 5, 25) as i64,
        processed: end + PROCESSING_SECONDS,
    })
}

/// The afternoon nap of civil day `day`, on about 5 % of worn days: classic sleep, as Fitbit
/// records short sleeps.
pub(super) fn nap(persona: &Persona, day: i64) -> Option<Night> {
    persona.worn_plan(day)?;
    let dice = Dice::new(persona, Stream::Sleep, day, 3);
    if !dice.chance(0, NAP_PER_MILLE) {
        return None;
    }
    // 13:30–16:30 local: after the lunch walk, before the evening walk and charging.
    let first = dice.between(1, 13 * 60 + 30, 15 * 60) as u16;
    let length = dice.between(2, 20, 90) as u16;
    let start = persona.instant_of(day, first)?;
    let end = persona.instant_of(day, first + length)?;
    Some(Night {
        day,
        main: false,
        start,
        end,
        stages: classic_stages(Dice::new(persona, Stream::Sleep, day, 4), start, end),
        staged: false,
        short_awakenings: Vec::new(),
        synced: end + 60 * dice.between(3, 5, 25) as i64,
        processed: end + PROCESSING_SECONDS,
    })
}

/// The processed main sleeps with moments on civil day `day`: the night that ends that
/// morning and the one that starts that evening. Night-time vitals exist once processed.
pub(super) fn processed_nights_around(persona: &Persona, day: i64, now_s: i64) -> Vec<Night> {
    [main_sleep(persona, day - 1), main_sleep(persona, day)]
        .into_iter()
        .flatten()
        .filter(|night| night.processed <= now_s)
        .collect()
}

/// The processed main sleep that ended on the morning of civil day `day`, which the daily
/// vitals of `day` describe (Fitbit's "date of sleep").
pub(super) fn processed_night_ending_on(persona: &Persona, day: i64, now_s: i64) -> Option<Night> {
    main_sleep(persona, day - 1).filter(|night| night.processed <= now_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::persona::test_support::persona_at;

    fn nights(persona: &Persona, first: i64, count: i64) -> Vec<Night> {
        (first..first + count)
            .flat_map(|day| [nap(persona, day), main_sleep(persona, day)])
            .flatten()
            .collect()
    }

    fn assert_well_formed(night: &Night, stages: &[Stage]) {
        assert_eq!(stages.first().unwrap().start, night.start);
        assert_eq!(stages.last().unwrap().end, night.end);
        for pair in stages.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "contiguous");
            assert_ne!(pair[0].kind, pair[1].kind, "merged");
        }
        for stage in stages {
            assert!(stage.end > stage.start);
            assert_eq!(stage.start % 30, 0, "30-second aligned");
            assert_eq!((stage.end - stage.start) % 60, 0, "whole minutes");
        }
    }

    #[test]
    fn stages_are_contiguous_aligned_and_cover_the_session() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let mut naps = 0;
        for first in [
            civil::days_from_civil(2017, 3, 1),
            civil::days_from_civil(2024, 10, 20),
        ] {
            for night in nights(&persona, first, 120) {
                assert_well_formed(&night, &night.stages);
                assert_well_formed(&night, &night.unprocessed_stages());
                assert_eq!(night.staged, night.day >= STAGES_FROM && night.main);
                let kinds: Vec<StageType> = night.stages.iter().map(|s| s.kind).collect();
                if night.staged {
                    assert!(kinds.contains(&StageType::Deep) && kinds.contains(&StageType::Rem));
                    assert!(!kinds.contains(&StageType::Asleep));
                } else {
                    assert!(kinds.contains(&StageType::Asleep));
                    assert!(!kinds.contains(&StageType::Light));
                }
                for awakening in &night.short_awakenings {
                    assert_eq!(awakening.start % 30, 0);
                    let inside = night.stages.iter().any(|stage| {
                        stage.kind == StageType::Light
                            && stage.start <= awakening.start
                            && awakening.end <= stage.end
                    });
                    assert!(inside, "short awakenings lie inside LIGHT stages");
                }
                let hours = (night.end - night.start) as f64 / 3600.0;
                if night.main {
                    assert!((6.0..10.0).contains(&hours), "{hours} h");
                    assert_eq!(persona.day_of(night.end), night.day + 1);
                } else {
                    naps += 1;
                    assert!(hours <= 1.5);
                }
                assert_eq!(persona.day_of(night.start), night.day);
                assert!(night.end < night.synced && night.synced < night.processed);
            }
        }
        assert!((2..=30).contains(&naps), "{naps} naps in 240 days");
    }

    #[test]
    fn only_nights_worn_on_both_days_are_recorded() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        let first = civil::days_from_civil(2018, 1, 1);
        for day in first..first + 365 {
            let worn = persona.worn_plan(day).is_some() && persona.worn_plan(day + 1).is_some();
            assert_eq!(main_sleep(&persona, day).is_some(), worn);
        }
        // The lost-tracker gap has no sleep, and nothing precedes the history.
        assert!(main_sleep(&persona, civil::days_from_civil(2020, 4, 10)).is_none());
        assert!(main_sleep(&persona, persona.first_day() - 1).is_none());
    }

    #[test]
    fn dst_nights_keep_whole_minutes() {
        let persona = persona_at("2026-11-21T12:00:00Z");
        // The nights clocks change in New York and, after the move, in Los Angeles.
        for (y, m, d) in [(2017, 3, 11), (2017, 11, 4), (2024, 3, 9), (2024, 11, 2)] {
            if let Some(night) = main_sleep(&persona, civil::days_from_civil(y, m, d)) {
                assert_well_formed(&night, &night.stages);
                assert_ne!(persona.offset_at(night.start), persona.offset_at(night.end));
            }
        }
    }
}
