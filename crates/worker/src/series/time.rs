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
    if let Some(instant) = parse_utc_instant(text) {
        return Ok(instant);
    }
    let timestamp: Timestamp = text
        .parse()
        .map_err(|error| format!("{text:?} is not an RFC 3339 instant: {error}"))?;
    let nanos = timestamp.as_nanosecond();
    Ok(Instant {
        ms: i64::try_from(nanos.div_euclid(1_000_000)).map_err(|_| "instant out of range")?,
        sub_ms_ns: nanos.rem_euclid(1_000_000) as i64,
    })
}

/// The form Google writes (`YYYY-MM-DDTHH:MM:SS`, up to nine fraction digits, `Z`), read
/// without a general parser: an import reads tens of millions of them. Anything else (an
/// offset, a leap second, an out-of-range field) is left to jiff.
fn parse_utc_instant(text: &str) -> Option<Instant> {
    let bytes = text.as_bytes();
    let (fixed, rest) = bytes.split_at_checked(19)?;
    let fraction = rest
        .strip_suffix(b"Z")?
        .strip_prefix(b".")
        .unwrap_or(rest.strip_suffix(b"Z")?);
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| fixed[at] != byte)
        || fraction.len() > 9
        || (fraction.is_empty() && rest.len() != 1)
    {
        return None;
    }
    let number = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |total, &digit| {
            digit
                .is_ascii_digit()
                .then(|| total * 10 + i64::from(digit - b'0'))
        })
    };
    let (year, month, day) = (
        number(&fixed[0..4])?,
        number(&fixed[5..7])?,
        number(&fixed[8..10])?,
    );
    let (hour, minute, second) = (
        number(&fixed[11..13])?,
        number(&fixed[14..16])?,
        number(&fixed[17..19])?,
    );
    let days_in_month = Date::new(year as i16, month as i8, 1).ok()?.days_in_month();
    if day < 1 || day > i64::from(days_in_month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let nanos = number(fraction)? * 10i64.pow(9 - fraction.len() as u32);
    let days = i64::from(
        Date::new(year as i16, month as i8, day as i8)
            .ok()?
            .since(Date::constant(1970, 1, 1))
            .ok()?
            .get_days(),
    );
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(Instant {
        ms: seconds * 1000 + nanos / 1_000_000,
        sub_ms_ns: nanos % 1_000_000,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_path_agrees_with_jiff_and_declines_what_it_does_not_know() {
        for text in [
            "2026-07-29T23:58:00Z",
            "2016-02-29T00:00:00.5Z",
            "1970-01-01T00:00:00.000000001Z",
            "1969-12-31T23:59:59.999Z",
            "2026-03-08T07:00:00.000250Z",
        ] {
            let timestamp: Timestamp = text.parse().unwrap();
            let nanos = timestamp.as_nanosecond();
            let expected = Instant {
                ms: nanos.div_euclid(1_000_000) as i64,
                sub_ms_ns: nanos.rem_euclid(1_000_000) as i64,
            };
            assert_eq!(parse_utc_instant(text), Some(expected), "{text}");
        }
        for text in [
            "2026-07-29T23:58:00+01:00",
            "2026-02-30T00:00:00Z",
            "2026-07-29T23:58:00.Z",
            "2026-07-29T23:58:00.1234567890Z",
            "2026-07-29 23:58:00Z",
            "2026-07-29T23:58:60Z",
        ] {
            assert_eq!(parse_utc_instant(text), None, "{text}");
        }
        assert_eq!(
            parse_instant("2026-07-29T23:58:00+01:00").unwrap().ms,
            parse_instant("2026-07-29T22:58:00Z").unwrap().ms
        );
    }
}
