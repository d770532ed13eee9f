//! A counter-based generator: every random value is a pure function of (seed, stream, index), so
//! any minute or day of the persona can be generated on its own, in any order, and always the
//! same way. splitmix64 is tiny, fast and statistically good enough for synthetic data.

/// Independent random streams of the persona. Adding a data type adds a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Stream {
    Identity,
    Wear,
    DayPlan,
    Steps,
    /// Stair bursts (floors and altitude).
    Floors,
    /// The resting heart rate of a day and the heart-rate level of each minute.
    Heart,
    /// The spread of heart-rate samples around their minute's level.
    HeartSample,
    /// Sleep sessions, naps and their stages.
    Sleep,
    /// Exercise sessions and the fitness estimates derived from them.
    Workout,
    /// Night-time vitals: heart-rate variability, SpO2, breathing, skin temperature.
    Vitals,
    /// Weigh-ins, body fat and height.
    Body,
    /// Manual logs and sparse readings: hydration, nutrition, ECG, irregular rhythm.
    Logs,
    /// The ids of identifiable data points.
    PointId,
    /// Which days and points take the shapes of real accounts (`quirks`).
    Quirks,
}

impl Stream {
    fn tag(self) -> u64 {
        match self {
            Stream::Identity => 0x1d8e_4e27_c47d_124f,
            Stream::Wear => 0x7f4a_7c15_9e37_79b9,
            Stream::DayPlan => 0xbf58_476d_1ce4_e5b9,
            Stream::Steps => 0x94d0_49bb_1331_11eb,
            Stream::Floors => 0x9b05_688c_2b3e_6c1f,
            Stream::Heart => 0x1f83_d9ab_fb41_bd6b,
            Stream::HeartSample => 0x5be0_cd19_137e_2179,
            Stream::Sleep => 0x2545_f491_4f6c_dd1d,
            Stream::Workout => 0x6a09_e667_f3bc_c909,
            Stream::Vitals => 0xbb67_ae85_84ca_a73b,
            Stream::Body => 0x3c6e_f372_fe94_f82b,
            Stream::Logs => 0xa54f_f53a_5f1d_36f1,
            Stream::PointId => 0x510e_527f_ade6_82d1,
            Stream::Quirks => 0xd6e8_feb8_6659_fd93,
        }
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The random 64-bit value number `index` of `stream` for `seed`.
pub(crate) fn draw(seed: u64, stream: Stream, index: u64) -> u64 {
    splitmix64(splitmix64(seed ^ stream.tag()) ^ index)
}

/// A value in `low..=high` from a random draw.
pub(crate) fn between(draw: u64, low: u64, high: u64) -> u64 {
    low + draw % (high - low + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_stream_separated() {
        assert_eq!(draw(42, Stream::Steps, 7), draw(42, Stream::Steps, 7));
        assert_ne!(draw(42, Stream::Steps, 7), draw(42, Stream::Wear, 7));
        assert_ne!(draw(42, Stream::Steps, 7), draw(43, Stream::Steps, 7));
        assert_ne!(draw(42, Stream::Steps, 7), draw(42, Stream::Steps, 8));
        for i in 0..1000 {
            assert!((80..=120).contains(&between(draw(1, Stream::Steps, i), 80, 120)));
        }
    }
}
