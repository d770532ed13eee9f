//! The two tiers of an import and the periods they cut time into, as the member store keeps
//! them (typed columns) and the worker names staged chunks and files.

use jiff::civil::Date;

/// A tier of the import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Daily-level data of every member: periods of a calendar year.
    Standard,
    /// High-frequency data of members who opted in: periods (and files) of a calendar month.
    Intraday,
}

impl Tier {
    pub const ALL: [Tier; 2] = [Tier::Standard, Tier::Intraday];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Intraday => "intraday",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tier| tier.name() == name)
    }
}

/// Which cursor: one per tier and data type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CursorKey {
    pub tier: Tier,
    /// The catalogue's id (`steps`, `heart-rate`).
    pub data_type: String,
}

impl CursorKey {
    pub fn new(tier: Tier, data_type: &str) -> Self {
        Self {
            tier,
            data_type: data_type.to_owned(),
        }
    }
}

impl std::fmt::Display for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.tier.name(), self.data_type)
    }
}

/// A year of the standard tier or a month of the intraday tier, by its first day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub tier: Tier,
    pub start: Date,
}

impl Period {
    /// The period `date` falls in.
    pub fn containing(tier: Tier, date: Date) -> Self {
        let start = match tier {
            Tier::Standard => date.first_of_year(),
            Tier::Intraday => date.first_of_month(),
        };
        Self { tier, start }
    }

    /// The last day of the period.
    pub fn last_day(self) -> Date {
        match self.tier {
            Tier::Standard => self.start.last_of_year(),
            Tier::Intraday => self.start.last_of_month(),
        }
    }

    /// `2016` or `2016-03`, as staged chunks and intraday files are named.
    pub fn label(self) -> String {
        match self.tier {
            Tier::Standard => format!("{:04}", self.start.year()),
            Tier::Intraday => format!("{:04}-{:02}", self.start.year(), self.start.month()),
        }
    }

    /// Reads back what [`Period::label`] wrote.
    pub fn parse(tier: Tier, label: &str) -> Option<Self> {
        let number = |text: &str, digits: usize| {
            (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<i16>().ok())
                .flatten()
        };
        let start = match (tier, label.split_once('-')) {
            (Tier::Standard, None) => Date::new(number(label, 4)?, 1, 1).ok()?,
            (Tier::Intraday, Some((year, month))) => {
                Date::new(number(year, 4)?, i8::try_from(number(month, 2)?).ok()?, 1).ok()?
            }
            _ => return None,
        };
        Some(Self { tier, start })
    }
}

/// One staged chunk: a data type's data in one period.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkId {
    pub period: Period,
    pub data_type: String,
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.tier.name(), self.label())
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn periods_are_years_and_months_named_as_chunks_are() {
        let year = Period::containing(Tier::Standard, date(2016, 7, 9));
        assert_eq!(
            (year.start, year.last_day()),
            (date(2016, 1, 1), date(2016, 12, 31))
        );
        assert_eq!(year.label(), "2016");
        let month = Period::containing(Tier::Intraday, date(2024, 2, 9));
        assert_eq!(month.last_day(), date(2024, 2, 29));
        assert_eq!(month.label(), "2024-02");
        for period in [year, month] {
            assert_eq!(Period::parse(period.tier, &period.label()), Some(period));
        }
        for (tier, bad) in [
            (Tier::Standard, "2016-03"),
            (Tier::Intraday, "2016"),
            (Tier::Intraday, "2016-13"),
            (Tier::Standard, "16"),
            (Tier::Intraday, "2016-3"),
        ] {
            assert_eq!(Period::parse(tier, bad), None, "{bad}");
        }
        assert_eq!(Tier::parse("intraday"), Some(Tier::Intraday));
        assert_eq!(Tier::parse("daily"), None);
    }
}
