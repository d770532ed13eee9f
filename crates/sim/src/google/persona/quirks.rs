//! Shapes real accounts send that tidy generated data would not have (issue 16 item 5). Each
//! is a knob of [`Generation`](crate::google::knobs::Generation) and touches a deterministic
//! minority of the data, drawn per civil day (or per session) from the persona's seed, so most
//! data keeps its plain shape and every shape turns up within any 200 days of the default
//! persona:
//!
//! | knob (default) | what | where | how often |
//! |---|---|---|---|
//! | `health_connect_phone` (on) | a Samsung phone through Health Connect: `platform: HEALTH_CONNECT`, `application.packageName`, `device.manufacturer: samsung`, ms start times | one 30-minute `steps` and `distance` point while the tracker charges | 1 day in 5, from 2023 |
//! | `manual_weight_entries` (on) | `recordingMethod: MANUAL`, no `device` | `weight` (no `body-fat` then) | 15 % of weigh-ins |
//! | `empty_source_objects` (on) | `"device": {}`, or `"dataSource": {}` | every tracker point of the day (streams, sessions, vitals) | 4 % of days each |
//! | `missing_offsets` (on) | no `utcOffset` / `startUtcOffset` / `endUtcOffset` | the day's stream points (per-minute types, heart rate, daily types) | 5 % of days |
//! | `sub_second_times` (on) | 3 fractional digits | `heart-rate` `physicalTime` | 5 % of days |
//! | | 6 fractional digits | `weight` / `body-fat` `physicalTime` (and `civilTime.nanos`) | 35 % of weigh-ins |
//! | | 6 fractional digits | `createTime` / `updateTime` of `sleep` and `exercise` | every session |
//! | `nan_doubles` (off) | `"NaN"` for a double | `heart-rate-variability` RMSSD, `oxygen-saturation` percentage (types without rollups) | 1 sample in 8 on 5 % of nights |
//! | `fast_hr_days` (off) | heart rate every 2 s and 3 s, alternating, instead of `hr_interval_s` | `heart-rate` | 1 day in 30 |
//! | `integer_calories` (on) | `caloriesKcal` rounded to a JSON integer | `exercise.metricsSummary` | 1 exercise in 4 |
//! | `zero_sdnn` (on) | `standardDeviationMilliseconds: 0` ("not computed") | `heart-rate-variability` | 10 % of nights |
//!
//! Several sources (the phone beside the tracker): `list` returns both, and rollups, the
//! exercise summaries and the ground truth count every listed point. The phone only records
//! while the tracker is off the wrist (its point lies inside the charging break and is dropped
//! should any tracker minute overlap it), so nothing is counted twice and a day's `dailyRollUp`
//! stays the sum of its listed points.
//!
//! Recording method of the phone: Health Connect's own `AUTOMATICALLY_RECORDED` is not in the
//! discovery document's `RecordingMethod` enum, so the phone's points say `PASSIVELY_MEASURED`
//! (the value reference §8.5 gives for it).

use super::{Persona, minutes::Minute, rng::Stream, schedule::Dice};
use crate::google::civil;

/// First day of the phone beside the tracker.
const PHONE_FROM: i64 = civil::days_from_civil(2023, 1, 1);

/// Per mille of days (or nights, sessions, weigh-ins) with each shape.
const PHONE_PER_MILLE: u64 = 200;
const EMPTY_DEVICE_PER_MILLE: u64 = 40;
const EMPTY_SOURCE_PER_MILLE: u64 = 40;
const NO_OFFSETS_PER_MILLE: u64 = 50;
const MS_TIMES_PER_MILLE: u64 = 50;
const FAST_HR_PER_MILLE: u64 = 33;
const ZERO_SDNN_PER_MILLE: u64 = 100;
const NAN_PER_MILLE: u64 = 50;
const INTEGER_CALORIES_PER_MILLE: u64 = 250;
const MICRO_WEIGH_IN_PER_MILLE: u64 = 350;
/// One NaN sample in this many on a NaN night.
pub(super) const NAN_EVERY: usize = 8;

/// The phone: Samsung Health writing to Health Connect.
pub(super) const PHONE_PACKAGE: &str = "com.sec.android.app.shealth";
pub(super) const PHONE_MANUFACTURER: &str = "samsung";
pub(super) const PHONE_MODEL: &str = "Galaxy S23";

/// What the tracker's points of a day say about their source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SourceShape {
    /// `recordingMethod`, `device {displayName, formFactor}`, `platform`.
    Full,
    /// `"device": {}`.
    EmptyDevice,
    /// `"dataSource": {}`.
    Empty,
}

/// The shapes of one civil day, as the current knobs allow them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DayQuirks {
    pub source: SourceShape,
    /// Stream points carry their UTC offsets.
    pub offsets: bool,
    /// Milliseconds (1–999) added to every heart-rate sample time; 0: whole seconds.
    pub hr_ms: u16,
    /// Heart rate every 2–3 s.
    pub fast_hr: bool,
    /// The phone recorded steps while the tracker charged.
    pub phone: bool,
    /// The night starting this day has HRV samples without SDNN (sent as 0).
    pub zero_sdnn: bool,
    /// The night starting this day has some doubles spelled `"NaN"`.
    pub nan: bool,
}

/// The phone's one point of a day: `[start, end)` in epoch milliseconds and its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PhoneSteps {
    pub start_ms: i64,
    pub end_ms: i64,
    pub steps: u32,
}

impl Persona {
    /// The shapes of civil day `day` under the current knobs.
    pub(super) fn quirks(&self, day: i64) -> DayQuirks {
        let knobs = self.generation();
        let dice = Dice::new(self, Stream::Quirks, day, 0);
        let roll = dice.raw(0) % 1000;
        let source = match roll {
            _ if !knobs.empty_source_objects => SourceShape::Full,
            r if r < EMPTY_SOURCE_PER_MILLE => SourceShape::Empty,
            r if r < EMPTY_SOURCE_PER_MILLE + EMPTY_DEVICE_PER_MILLE => SourceShape::EmptyDevice,
            _ => SourceShape::Full,
        };
        let ms_times = knobs.sub_second_times && dice.chance(2, MS_TIMES_PER_MILLE);
        DayQuirks {
            source,
            offsets: !(knobs.missing_offsets && dice.chance(1, NO_OFFSETS_PER_MILLE)),
            hr_ms: if ms_times {
                dice.between(3, 1, 999) as u16
            } else {
                0
            },
            fast_hr: knobs.fast_hr_days && dice.chance(4, FAST_HR_PER_MILLE),
            phone: knobs.health_connect_phone
                && day >= PHONE_FROM
                && dice.chance(5, PHONE_PER_MILLE),
            zero_sdnn: knobs.zero_sdnn && dice.chance(6, ZERO_SDNN_PER_MILLE),
            nan: knobs.nan_doubles && dice.chance(7, NAN_PER_MILLE),
        }
    }

    /// Microseconds (1–999,999, never a whole millisecond, so they print as six digits) of a
    /// time the server stamped, for the `n`-th such time of purpose `salt` on `day`; 0 when
    /// `sub_second_times` is off.
    pub(super) fn stamp_micros(&self, day: i64, salt: u8, n: u64) -> u32 {
        if !self.generation().sub_second_times {
            return 0;
        }
        let dice = Dice::new(self, Stream::Quirks, day, salt);
        (dice.between(n * 2, 0, 999) * 1000 + dice.between(n * 2 + 1, 1, 999)) as u32
    }

    /// Microseconds of the weigh-in of `day` (35 % of them), 0 for whole seconds.
    pub(super) fn weigh_in_micros(&self, day: i64) -> u32 {
        let dice = Dice::new(self, Stream::Quirks, day, 2);
        if dice.chance(0, MICRO_WEIGH_IN_PER_MILLE) {
            self.stamp_micros(day, 3, 0)
        } else {
            0
        }
    }

    /// Whether the `n`-th exercise of `day` reports its calories as an integer.
    pub(super) fn integer_calories(&self, day: i64, n: u64) -> bool {
        self.generation().integer_calories
            && Dice::new(self, Stream::Quirks, day, 4).chance(n, INTEGER_CALORIES_PER_MILLE)
    }

    /// The phone's point of civil day `day`, if the phone recorded one that ended by `now_s`:
    /// 30 minutes from 15 s (and some milliseconds) into the charging break, which lasts at
    /// least 31 minutes then. `tracker` are the tracker's minutes of that day; the phone never
    /// overlaps one.
    pub(super) fn phone_steps(
        &self,
        day: i64,
        now_s: i64,
        tracker: &[Minute],
    ) -> Option<PhoneSteps> {
        if !self.quirks(day).phone {
            return None;
        }
        let (first, end) = self.worn_plan(day)?.charging();
        if end < first + 31 {
            return None;
        }
        let dice = Dice::new(self, Stream::Quirks, day, 5);
        let start_ms = (self.instant_of(day, first)? + 15) * 1000 + dice.between(0, 1, 999) as i64;
        let end_ms = start_ms + 30 * 60 * 1000;
        let overlaps = tracker
            .iter()
            .any(|minute| minute.start * 1000 < end_ms && (minute.start + 60) * 1000 > start_ms);
        (end_ms <= now_s * 1000 && !overlaps).then(|| PhoneSteps {
            start_ms,
            end_ms,
            steps: dice.between(1, 40, 400) as u32,
        })
    }
}

/// Whether the `n`-th sample of a NaN night is spelled `"NaN"`.
pub(super) fn is_nan_sample(quirks: &DayQuirks, n: usize) -> bool {
    quirks.nan && n % NAN_EVERY == NAN_EVERY / 2
}
