//! Sleep stages: the stage types, and laying out a session's stages end to end — sleep cycles
//! for staged sleep, asleep/restless/awake for classic sleep, and the short awakenings inside
//! light sleep. Stages start on 30-second boundaries (where their session starts) and last
//! whole minutes, so per-type minutes add up exactly.

use super::schedule::Dice;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StageType {
    Awake,
    Light,
    Deep,
    Rem,
    Asleep,
    Restless,
}

impl StageType {
    pub(super) fn name(self) -> &'static str {
        match self {
            StageType::Awake => "AWAKE",
            StageType::Light => "LIGHT",
            StageType::Deep => "DEEP",
            StageType::Rem => "REM",
            StageType::Asleep => "ASLEEP",
            StageType::Restless => "RESTLESS",
        }
    }

    /// Whether the stage counts toward `minutesAsleep` (restless and awake do not).
    pub(super) fn asleep(self) -> bool {
        matches!(
            self,
            StageType::Light | StageType::Deep | StageType::Rem | StageType::Asleep
        )
    }
}

/// One stage segment, `start..end` in epoch seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stage {
    pub start: i64,
    pub end: i64,
    pub kind: StageType,
}

/// Appends a stage of `seconds` at `at`, merging it into a previous stage of the same type.
pub(super) fn append(stages: &mut Vec<Stage>, seconds: i64, kind: StageType, at: i64) {
    if seconds <= 0 {
        return;
    }
    match stages.last_mut() {
        Some(last) if last.kind == kind => last.end += seconds,
        _ => stages.push(Stage {
            start: at,
            end: at + seconds,
            kind,
        }),
    }
}

/// Lays stages end to end from a start, drawing their lengths in whole minutes.
struct Builder {
    dice: Dice,
    draws: u64,
    at: i64,
    stages: Vec<Stage>,
}

impl Builder {
    fn new(dice: Dice, start: i64) -> Self {
        Self {
            dice,
            draws: 0,
            at: start,
            stages: Vec::new(),
        }
    }

    fn minutes(&mut self, low: u64, high: u64) -> i64 {
        self.draws += 1;
        self.dice.between(self.draws, low, high) as i64
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.draws += 1;
        self.dice.chance(self.draws, per_mille)
    }

    /// Appends `minutes` of `kind`, cut short at `limit`.
    fn push(&mut self, kind: StageType, minutes: i64, limit: i64) {
        let seconds = (minutes * 60).min(limit - self.at);
        append(&mut self.stages, seconds, kind, self.at);
        self.at += seconds.max(0);
    }
}

/// Sleep cycles of light, deep, light and REM sleep, deep sleep early in the night and REM
/// later, with brief awakenings between cycles.
pub(super) fn staged_stages(dice: Dice, start: i64, end: i64) -> Vec<Stage> {
    let mut builder = Builder::new(dice, start);
    let final_awake = builder.minutes(0, 4);
    let limit = end - final_awake * 60;
    let falling_asleep = builder.minutes(0, 12);
    builder.push(StageType::Awake, falling_asleep, limit);
    let mut cycle = 0;
    while builder.at < limit {
        let light = builder.minutes(8, 25);
        builder.push(StageType::Light, light, limit);
        let deep = match cycle {
            0 | 1 => builder.minutes(15, 40),
            2 | 3 => builder.minutes(5, 20),
            _ => builder.minutes(0, 8),
        };
        builder.push(StageType::Deep, deep, limit);
        let light = builder.minutes(5, 15);
        builder.push(StageType::Light, light, limit);
        let rem = if cycle == 0 {
            builder.minutes(3, 12)
        } else {
            builder.minutes(12, 35)
        };
        builder.push(StageType::Rem, rem, limit);
        if builder.chance(300) {
            let awake = builder.minutes(1, 4);
            builder.push(StageType::Awake, awake, limit);
        }
        cycle += 1;
    }
    builder.push(StageType::Awake, final_awake, end);
    builder.stages
}

/// Long asleep stretches broken by restless minutes and the odd awakening.
pub(super) fn classic_stages(dice: Dice, start: i64, end: i64) -> Vec<Stage> {
    let mut builder = Builder::new(dice, start);
    let falling_asleep = builder.minutes(0, 6);
    builder.push(StageType::Awake, falling_asleep, end);
    while builder.at < end {
        let asleep = builder.minutes(15, 70);
        builder.push(StageType::Asleep, asleep, end);
        if builder.chance(700) {
            let restless = builder.minutes(1, 4);
            builder.push(StageType::Restless, restless, end);
        }
        if builder.chance(150) {
            let awake = builder.minutes(1, 3);
            builder.push(StageType::Awake, awake, end);
        }
    }
    builder.stages
}

/// One to two and a half minutes awake inside about a third of the longer LIGHT stages.
pub(super) fn short_awakenings(dice: Dice, stages: &[Stage]) -> Vec<Stage> {
    stages
        .iter()
        .enumerate()
        .filter(|(_, stage)| stage.kind == StageType::Light && stage.end - stage.start >= 8 * 60)
        .filter_map(|(index, stage)| {
            let n = index as u64 * 4;
            if !dice.chance(n, 350) {
                return None;
            }
            let minutes = (stage.end - stage.start) / 60;
            let start = stage.start
                + 60 * dice.between(n + 1, 2, minutes as u64 - 4) as i64
                + 30 * dice.between(n + 2, 0, 1) as i64;
            Some(Stage {
                start,
                end: start + 30 * dice.between(n + 3, 2, 5) as i64,
                kind: StageType::Awake,
            })
        })
        .collect()
}
