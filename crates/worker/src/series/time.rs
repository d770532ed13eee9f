//! Google's time values (RFC 3339 instants, `"-14400s"` offsets, civil dates) as a series
//! stores them.

use jiff::{Timestamp, civil::Date};

/// An instant as epoch milliseconds plus the nanoseconds below the millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    pub ms: i64,
    pub sub_ms_ns: i64,
}

impl Instant {
    pub(super) fn new(ms: i64, sub_ms_ns: i64) -> Result<Self, String> {
        if (0..1_000_000).contains(&sub_ms_ns) {
            Ok(Self { ms, sub_ms_ns })
        } else {
            Err(format!("{sub_ms_ns} ns is not below a millisecond"))
        }
    }

    pub fn from_date(date: Date) -> Self {
        let days = date
            .since(Date::constant(1970, 1, 1))
            .map_or(0, |span| i64::from(span.get_days()));
        Self {
            ms: days * 86_400_000,
            sub_ms_ns: 0,
        }
    }

    pub fn timestamp(self) -> Timestamp {
        Timestamp::from_nanosecond(i128::from(self.ms) * 1_000_000 + i128::from(self.sub_ms_ns))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// `"2026-07-29T23:58:00Z"` (any precision).
pub fn parse_instant(text: &str) -> Result<Instant, String> {
    let timestamp: Timestamp = text
        .parse()
        .map_err(|error| format!("{text:?} is not an RFC 3339 instant: {error}"))?;
    let nanos = timestamp.as_nanosecond();
    Ok(Instant {
        ms: i64::try_from(nanos.div_euclid(1_000_000)).map_err(|_| "instant out of range")?,
        sub_ms_ns: nanos.rem_euclid(1_000_000) as i64,
    })
}

/// `"-14400s"` → -14400.
pub fn parse_offset(text: &str) -> Result<i32, String> {
    text.strip_suffix('s')
        .and_then(|seconds| seconds.parse().ok())
        .ok_or_else(|| format!("{text:?} is not a UTC offset in seconds"))
}

pub(super) fn date_string(instant: Instant) -> String {
    let days = instant.ms.div_euclid(86_400_000);
    Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(days))
        .map_or_else(|_| "invalid".to_owned(), |date| date.to_string())
}

pub(super) fn date_instant(text: &str) -> Result<Instant, String> {
    let date: Date = text
        .parse()
        .map_err(|error| format!("{text:?} is not a date: {error}"))?;
    Ok(Instant::from_date(date))
}
