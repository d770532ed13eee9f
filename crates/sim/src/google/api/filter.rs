//! The `filter` of `dataPoints.list`: the AIP-160 subset of reference §2.4 and §8.3 step 7.
//!
//! Grammar: `expression := restriction (("AND" | "OR") restriction)*`,
//! `restriction := member comparator "string"`, comparators `>=` and `<` only. As in AIP-160,
//! `OR` binds tighter than `AND`, so an expression is a conjunction of disjunctions, which is
//! how it is stored and evaluated. `OR` is accepted for sleep only.
//!
//! Checks run in Google's order of concerns: syntax first (tokens, structure), then meaning
//! (member, comparator, literal), then the combination (physical and civil mixed, empty
//! range). Syntax stops at the first problem; meaning is checked for every restriction, and
//! each problem found is one violation (one per occurrence: a member used twice is two), each
//! with its specific reason (`INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER`, …) and a description
//! ending in its position, `(at line L, column C)` (1-based, in characters). The combination is
//! checked only when every restriction is meaningful.
//!
//! How a rejection is answered (recorded live for a member problem, applied here to all):
//! `ErrorInfo.reason` `INVALID_DATA_POINT_FILTER`, the specific reasons in
//! `ErrorInfo.metadata.detailedReasons` ([`FilterError::detailed_reasons`]), the message
//! "Invalid data point filter: " and the first description, and one `filter` field violation
//! per problem. Only the member problem's wording is recorded; the others' are the
//! simulator's, in the same style.
//!
//! Each member compares one time of a point (reference §2.4): the start of intervals and
//! sessions, the sample time, the date of daily types, the end of sleep. Starts compare at
//! microsecond precision (a few times have six fractional digits), ends at milliseconds. The
//! knobs `daily_filter_prefix` and `sleep_filter` switch between the dialects live accounts
//! showed.

use jiff::{
    Timestamp,
    civil::{Date, DateTime},
};

use super::catalogue::{DataType, Record};
use crate::google::{
    civil::{self, SECONDS_PER_DAY},
    knobs::{DailyFilterPrefix, Knobs, SleepFilter},
    points::PointTime,
};

const MS_PER_DAY: i64 = SECONDS_PER_DAY * 1000;
const US_PER_DAY: i64 = MS_PER_DAY * 1000;

/// One problem of a filter: its specific reason and what the field violation says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub reason: &'static str,
    pub description: String,
}

/// Why a filter was rejected: every problem found, in the order of the text (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FilterError {
    pub violations: Vec<Violation>,
}

impl FilterError {
    fn new(reason: &'static str, description: impl Into<String>) -> Self {
        Self {
            violations: vec![Violation {
                reason,
                description: description.into(),
            }],
        }
    }

    /// The specific reason of the first problem.
    #[cfg(test)]
    pub(crate) fn reason(&self) -> &'static str {
        self.violations
            .first()
            .map_or(FILTER, |violation| violation.reason)
    }

    /// `ErrorInfo.metadata.detailedReasons`: the distinct specific reasons in the order they
    /// first occur, comma-separated. The recording had one reason; how Google joins several is
    /// not known, a comma is the simulator's choice.
    pub(crate) fn detailed_reasons(&self) -> String {
        let mut reasons: Vec<&str> = Vec::new();
        for violation in &self.violations {
            if !reasons.contains(&violation.reason) {
                reasons.push(violation.reason);
            }
        }
        reasons.join(",")
    }

    /// The top-level message, as recorded live: "Invalid data point filter: " and the first
    /// problem's description.
    pub(crate) fn message(&self) -> String {
        let first = self
            .violations
            .first()
            .map_or("", |violation| violation.description.as_str());
        format!("Invalid data point filter: {first}")
    }

    /// The descriptions of the field violations, one per problem.
    pub(crate) fn descriptions(&self) -> Vec<&str> {
        self.violations
            .iter()
            .map(|violation| violation.description.as_str())
            .collect()
    }
}

/// `ErrorInfo.reason` of every filter error (live), and the specific reason the filter guide
/// gives for a hyphenated prefix (it names no finer one).
pub(crate) const FILTER: &str = "INVALID_DATA_POINT_FILTER";
const SYNTAX: &str = "INVALID_DATA_POINT_FILTER_SYNTAX";
const MISSING_TOKEN: &str = "INVALID_DATA_POINT_FILTER_MISSING_TOKEN";
const UNEXPECTED_TOKEN: &str = "INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN";
const END_OF_INPUT: &str = "INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT";
const STRUCTURE: &str = "INVALID_DATA_POINT_FILTER_EXPRESSION_STRUCTURE";
const COMPARATOR: &str = "INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARATOR";
const COMPARABLE: &str = "INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARABLE";
const COLLECTION_MISMATCH: &str = "INVALID_DATA_POINT_FILTER_COLLECTION_MISMATCH";
const MEMBER: &str = "INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER";
const MIXED: &str = "INVALID_DATA_POINT_FILTER_MIXED_TIME_RESTRICTIONS";
const TIME_RANGE: &str = "INVALID_TIME_RANGE";

/// A description with the position of byte offset `at` of `text`: `"<what> (at line 1,
/// column 7)"`, line and column 1-based, the column counted in characters.
fn at(text: &str, offset: usize, what: &str) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = 1 + before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = 1 + before[line_start..].chars().count();
    format!("{what} (at line {line}, column {column})")
}

/// Physical time (instants) or civil time (the wall clock recorded with each point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    Physical,
    Civil,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparator {
    AtLeast,
    Below,
}

/// Which time of a point a member compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Start,
    End,
    /// The civil day a daily point is for.
    Date,
}

/// What a member's literal must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Literal {
    Timestamp,
    DateOrDateTime,
    Date,
}

#[derive(Clone, Copy, Debug)]
struct Restriction {
    field: Field,
    comparator: Comparator,
    /// Epoch microseconds (physical) or local microseconds (civil), rounded up to a whole
    /// microsecond.
    us: i64,
}

impl Restriction {
    fn holds(&self, key: i64) -> bool {
        match self.comparator {
            Comparator::AtLeast => key >= self.us,
            Comparator::Below => key < self.us,
        }
    }
}

/// A parsed filter: all `factors` must hold; a factor holds when any of its restrictions does.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    domain: Domain,
    factors: Vec<Vec<Restriction>>,
    /// Accepted but answered with no points (a snake_case daily prefix under
    /// `daily_filter_prefix: camel`).
    pub selects_nothing: bool,
}

impl Filter {
    /// The time `field` of a point in the filter's domain, in microseconds.
    fn key(&self, field: Field, time: &PointTime) -> i64 {
        match (field, self.domain) {
            (Field::Start, Domain::Physical) => time.start_us(),
            (Field::Start, Domain::Civil) => {
                time.local_start_ms() * 1000 + i64::from(time.start_extra_us)
            }
            (Field::End, Domain::Physical) => time.end_ms * 1000,
            (Field::End, Domain::Civil) => time.local_end_ms() * 1000,
            (Field::Date, _) => time.civil_day * US_PER_DAY,
        }
    }

    /// Whether a point passes.
    pub(crate) fn matches(&self, time: &PointTime) -> bool {
        !self.selects_nothing
            && self.factors.iter().all(|factor| {
                factor
                    .iter()
                    .any(|restriction| restriction.holds(self.key(restriction.field, time)))
            })
    }

    /// The single-restriction factors: the ones that bound every match.
    fn bounding(&self) -> impl Iterator<Item = &Restriction> {
        self.factors
            .iter()
            .filter_map(|factor| match factor.as_slice() {
                [restriction] => Some(restriction),
                _ => None,
            })
    }

    /// The range every match lies in, `[lower, upper)` in the filter's domain (microseconds),
    /// as far as the single-restriction factors pin it down.
    fn bounds(&self) -> (Option<i64>, Option<i64>) {
        let mut bounds = (None::<i64>, None::<i64>);
        for restriction in self.bounding() {
            let bound = match restriction.comparator {
                Comparator::AtLeast => &mut bounds.0,
                Comparator::Below => &mut bounds.1,
            };
            *bound = Some(
                bound.map_or(restriction.us, |b| match restriction.comparator {
                    Comparator::AtLeast => b.max(restriction.us),
                    Comparator::Below => b.min(restriction.us),
                }),
            );
        }
        bounds
    }

    /// The civil days (inclusive) the points of a match are counted on, as far as the filter
    /// pins them down. `day_of` maps an instant (epoch ms) to the persona's civil day. Points
    /// are counted on the day they start, so a bound on the end of a session (sleep) lets them
    /// start up to a day earlier.
    pub(crate) fn days(&self, day_of: impl Fn(i64) -> i64) -> (Option<i64>, Option<i64>) {
        let day = |us: i64| {
            let ms = us.div_euclid(1000);
            match self.domain {
                Domain::Physical => day_of(ms),
                Domain::Civil => ms.div_euclid(MS_PER_DAY),
            }
        };
        let mut days = (None::<i64>, None::<i64>);
        for restriction in self.bounding() {
            match restriction.comparator {
                Comparator::AtLeast => {
                    let first = day(restriction.us) - i64::from(restriction.field == Field::End);
                    days.0 = Some(days.0.map_or(first, |d| d.max(first)));
                }
                Comparator::Below => {
                    let last = day(restriction.us - 1);
                    days.1 = Some(days.1.map_or(last, |d| d.min(last)));
                }
            }
        }
        days
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token<'a> {
    Name(&'a str),
    Text(String),
    Operator(&'a str),
    And,
    Or,
    Not,
    Paren,
}

impl Token<'_> {
    /// How a description quotes the token.
    fn shown(&self) -> String {
        match self {
            Token::Name(name) | Token::Operator(name) => format!("'{name}'"),
            Token::Text(text) => format!("{text:?}"),
            Token::And => "'AND'".to_owned(),
            Token::Or => "'OR'".to_owned(),
            Token::Not => "'NOT'".to_owned(),
            Token::Paren => "a parenthesis".to_owned(),
        }
    }
}

/// A token and the byte offset it starts at.
type Spanned<'a> = (Token<'a>, usize);

fn tokenize(text: &str) -> Result<Vec<Spanned<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' {
            let unterminated =
                || FilterError::new(SYNTAX, at(text, i, "Unterminated string literal."));
            let mut value = String::new();
            let mut chars = text[i + 1..].char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(unterminated()),
                    Some((offset, '"')) => break i + 1 + offset + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => return Err(unterminated()),
                    },
                    Some((_, other)) => value.push(other),
                }
            };
            tokens.push((Token::Text(value), i));
            i = end;
        } else if b"<>=!:".contains(&c) {
            let length = if bytes.get(i + 1) == Some(&b'=') && c != b'=' && c != b':' {
                2
            } else {
                1
            };
            let operator = &text[i..i + length];
            if operator == "!" {
                return Err(FilterError::new(
                    SYNTAX,
                    at(text, i, "Unexpected character '!'."),
                ));
            }
            tokens.push((Token::Operator(operator), i));
            i += length;
        } else if c == b'(' || c == b')' {
            tokens.push((Token::Paren, i));
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || b"_.-".contains(&bytes[i]))
            {
                i += 1;
            }
            let token = match &text[start..i] {
                "AND" => Token::And,
                "OR" => Token::Or,
                "NOT" => Token::Not,
                name => Token::Name(name),
            };
            tokens.push((token, start));
        } else {
            let character = text[i..].chars().next().unwrap_or('?');
            return Err(FilterError::new(
                SYNTAX,
                at(text, i, &format!("Unexpected character {character:?}.")),
            ));
        }
    }
    Ok(tokens)
}

/// A restriction as written, before its meaning is checked, with the byte offsets of its
/// member, comparator and comparable.
struct Written<'a> {
    member: (&'a str, usize),
    operator: (&'a str, usize),
    /// `Ok` for a quoted string, `Err` for a bare word or number.
    comparable: (Result<String, &'a str>, usize),
}

/// Parses the token structure into factors (split by `AND`) of alternatives (split by `OR`).
fn structure<'a>(
    text: &str,
    tokens: &[Spanned<'a>],
) -> Result<(Vec<Vec<Written<'a>>>, bool), FilterError> {
    let unexpected = |(token, offset): &Spanned<'_>, expected: &str| match token {
        Token::Not | Token::Paren => FilterError::new(
            STRUCTURE,
            at(text, *offset, "Negation and parentheses are not supported."),
        ),
        other => FilterError::new(
            UNEXPECTED_TOKEN,
            at(
                text,
                *offset,
                &format!("Expected {expected}, found {}.", other.shown()),
            ),
        ),
    };
    let end = |expected: &str| {
        FilterError::new(
            END_OF_INPUT,
            at(
                text,
                text.len(),
                &format!("Expected {expected}, found the end of the filter."),
            ),
        )
    };
    let mut factors = vec![Vec::new()];
    let mut used_or = false;
    let mut tokens = tokens.iter();
    loop {
        let member = match tokens.next() {
            Some((Token::Name(member), offset)) => (*member, *offset),
            Some(other) => return Err(unexpected(other, "a field name")),
            None => return Err(end("a field name")),
        };
        let operator = match tokens.next() {
            Some((Token::Operator(operator), offset)) => (*operator, *offset),
            Some((Token::Name(_) | Token::Text(_), offset)) => {
                return Err(FilterError::new(
                    MISSING_TOKEN,
                    at(
                        text,
                        *offset,
                        &format!("Missing comparator after '{}'.", member.0),
                    ),
                ));
            }
            Some(other) => return Err(unexpected(other, "a comparator")),
            None => return Err(end("a comparator")),
        };
        let comparable = match tokens.next() {
            Some((Token::Text(literal), offset)) => (Ok(literal.clone()), *offset),
            Some((Token::Name(word), offset)) => (Err(*word), *offset),
            Some(other) => return Err(unexpected(other, "a string literal")),
            None => return Err(end("a string literal")),
        };
        if let Some(factor) = factors.last_mut() {
            factor.push(Written {
                member,
                operator,
                comparable,
            });
        }
        match tokens.next() {
            None => return Ok((factors, used_or)),
            Some((Token::And, _)) => factors.push(Vec::new()),
            Some((Token::Or, _)) => used_or = true,
            Some(other) => return Err(unexpected(other, "AND, OR or the end of the filter")),
        }
    }
}

/// A member a record type accepts, after the type prefix.
type Member = (&'static str, Domain, Field, Literal, bool);

/// The members `record` accepts: (member, domain, field, literal, `<` allowed).
fn members(record: Record, sleep: SleepFilter) -> &'static [Member] {
    use Domain::{Civil, Physical};
    use Field::{Date as Day, End, Start};
    use Literal::{Date as D, DateOrDateTime as C, Timestamp as T};
    const CIVIL_START: Member = ("interval.civil_start_time", Civil, Start, C, true);
    const SLEEP_END: [Member; 2] = [
        ("interval.end_time", Physical, End, T, true),
        ("interval.civil_end_time", Civil, End, C, true),
    ];
    match (record, sleep) {
        (Record::Interval, _) => &[
            ("interval.start_time", Physical, Start, T, true),
            CIVIL_START,
        ],
        (Record::Sample, _) => &[
            ("sample_time.physical_time", Physical, Start, T, true),
            ("sample_time.civil_time", Civil, Start, C, true),
        ],
        (Record::Daily, _) => &[("date", Civil, Day, D, true)],
        (Record::Session, _) => &[CIVIL_START],
        (Record::Sleep, SleepFilter::Documented) => &SLEEP_END,
        (Record::Sleep, SleepFilter::StartOk) => &[SLEEP_END[0], SLEEP_END[1], CIVIL_START],
        (Record::Sleep, SleepFilter::RejectAll) => &[],
        (Record::Electrocardiogram, _) => &[("interval.start_time", Physical, Start, T, false)],
        (Record::Untimed, _) => &[],
    }
}

/// `YYYY-MM-DD`, optionally followed by `THH:mm:ss` and a fraction of up to 9 digits.
fn civil_literal_shape(text: &str, time_allowed: bool) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_date = |s: &str| {
        s.len() == 10
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[7] == b'-'
            && digits(&s[..4])
            && digits(&s[5..7])
            && digits(&s[8..])
    };
    let Some((date, time)) = text.split_once('T') else {
        return is_date(text);
    };
    let (time, fraction) = time.split_once('.').unwrap_or((time, "1"));
    let b = time.as_bytes();
    time_allowed
        && is_date(date)
        && time.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && digits(&time[..2])
        && digits(&time[3..5])
        && digits(&time[6..])
        && digits(fraction)
        && fraction.len() <= 9
}

/// A literal as microseconds (epoch or local), or what is wrong with it.
fn literal_us(text: &str, literal: Literal) -> Result<i64, String> {
    match literal {
        Literal::Timestamp => {
            let at: Timestamp = text.parse().map_err(|_| {
                format!("{text:?} is not an RFC 3339 timestamp such as \"2026-01-01T00:00:00Z\".")
            })?;
            Ok(civil::ceil_us(at))
        }
        Literal::DateOrDateTime | Literal::Date => {
            let time_allowed = literal == Literal::DateOrDateTime;
            let expected = if time_allowed {
                "YYYY-MM-DD[THH:mm:ss]"
            } else {
                "YYYY-MM-DD"
            };
            let invalid = || format!("{text:?} is not a civil date-time in the form {expected}.");
            if !civil_literal_shape(text, time_allowed) {
                return Err(invalid());
            }
            let datetime = if text.len() == 10 {
                text.parse::<Date>()
                    .map(|date| date.to_datetime(jiff::civil::Time::midnight()))
            } else {
                text.parse::<DateTime>()
            };
            datetime.map(civil::local_us).map_err(|_| invalid())
        }
    }
}

/// What one written restriction means for `data_type`: its member's domain and the
/// restriction, or the violation it is.
fn meaning(
    text: &str,
    written: Written<'_>,
    data_type: &DataType,
    knobs: &Knobs,
    selects_nothing: &mut bool,
) -> Result<(Domain, Restriction, usize), Violation> {
    let violation = |reason, offset, what: String| Violation {
        reason,
        description: at(text, offset, &what),
    };
    let (member_text, member_at) = written.member;
    let (prefix, member) = member_text.split_once('.').unwrap_or((member_text, ""));
    if prefix.contains('-') {
        return Err(violation(
            FILTER,
            member_at,
            format!(
                "Use the snake_case data type name in filters: '{}', not '{prefix}'.",
                prefix.replace('-', "_")
            ),
        ));
    }
    let (snake, camel) = (data_type.snake_name(), data_type.union_key());
    let refused = match (data_type.record == Record::Daily, knobs.daily_filter_prefix) {
        (true, DailyFilterPrefix::Snake) => prefix != snake,
        (true, DailyFilterPrefix::Camel) => {
            *selects_nothing |= prefix == snake;
            prefix != snake && prefix != camel
        }
        _ => prefix != snake && prefix != camel,
    };
    if refused {
        return Err(violation(
            COLLECTION_MISMATCH,
            member_at,
            format!(
                "'{prefix}' does not name the data type '{}' of the request.",
                data_type.id
            ),
        ));
    }
    let Some(&(_, domain, field, literal, below_allowed)) =
        members(data_type.record, knobs.sleep_filter)
            .iter()
            .find(|(name, ..)| *name == member)
    else {
        return Err(violation(
            MEMBER,
            member_at,
            format!("Member '{member_text}' is not supported for filtering."),
        ));
    };
    let (operator, operator_at) = written.operator;
    let comparator = match operator {
        ">=" => Comparator::AtLeast,
        "<" if below_allowed => Comparator::Below,
        other => {
            return Err(violation(
                COMPARATOR,
                operator_at,
                format!("Comparator '{other}' is not supported on '{member_text}'."),
            ));
        }
    };
    let (comparable, comparable_at) = written.comparable;
    let literal_text = comparable.map_err(|word| {
        violation(
            COMPARABLE,
            comparable_at,
            format!("'{word}' must be a double-quoted string literal."),
        )
    })?;
    let us = literal_us(&literal_text, literal)
        .map_err(|what| violation(COMPARABLE, comparable_at, what))?;
    Ok((
        domain,
        Restriction {
            field,
            comparator,
            us,
        },
        member_at,
    ))
}

/// Parses `text` for `data_type` in the dialect the knobs choose; an empty or blank filter is no
/// filter.
pub(crate) fn parse(
    text: &str,
    data_type: &DataType,
    knobs: &Knobs,
) -> Result<Option<Filter>, FilterError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let (written, used_or) = structure(text, &tokens)?;
    if used_or && data_type.record != Record::Sleep {
        let or_at = tokens
            .iter()
            .find(|(token, _)| *token == Token::Or)
            .map_or(0, |(_, offset)| *offset);
        return Err(FilterError::new(
            STRUCTURE,
            at(
                text,
                or_at,
                &format!("OR is not supported for {}.", data_type.id),
            ),
        ));
    }
    let mut selects_nothing = false;
    let mut violations = Vec::new();
    let mut meant = Vec::with_capacity(written.len());
    for alternatives in written {
        let mut factor = Vec::with_capacity(alternatives.len());
        for restriction in alternatives {
            match meaning(text, restriction, data_type, knobs, &mut selects_nothing) {
                Ok(restriction) => factor.push(restriction),
                Err(violation) => violations.push(violation),
            }
        }
        meant.push(factor);
    }
    if !violations.is_empty() {
        return Err(FilterError { violations });
    }
    let mut domain = None;
    let mut factors = Vec::with_capacity(meant.len());
    for alternatives in meant {
        let mut factor = Vec::with_capacity(alternatives.len());
        for (member_domain, restriction, member_at) in alternatives {
            if domain.is_some_and(|domain| domain != member_domain) {
                return Err(FilterError::new(
                    MIXED,
                    at(
                        text,
                        member_at,
                        "Filter cannot contain both physical and civil time ranges.",
                    ),
                ));
            }
            domain = Some(member_domain);
            factor.push(restriction);
        }
        factors.push(factor);
    }
    let Some(domain) = domain else {
        return Ok(None);
    };
    let filter = Filter {
        domain,
        factors,
        selects_nothing,
    };
    if let (Some(lower), Some(upper)) = filter.bounds()
        && upper <= lower
    {
        // No position: the problem is the pair of bounds, not one of them.
        return Err(FilterError::new(
            TIME_RANGE,
            "Query end time must be strictly larger than start time.",
        ));
    }
    Ok(Some(filter))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::google::api::catalogue::find;

    fn knobs(changes: serde_json::Value) -> Knobs {
        Knobs::default().merged(&changes).unwrap()
    }

    fn steps(text: &str) -> Result<Option<Filter>, FilterError> {
        parse(text, find("steps").unwrap(), &Knobs::default())
    }

    fn reason(data_type: &str, text: &str) -> &'static str {
        parse(text, find(data_type).unwrap(), &Knobs::default())
            .expect_err(text)
            .reason()
    }

    /// A point from `start` to `end` (epoch ms) at UTC offset `offset` seconds.
    fn at(start: i64, end: i64, offset: i32) -> PointTime {
        PointTime {
            start_ms: start,
            start_extra_us: 0,
            end_ms: end,
            start_offset_s: offset,
            end_offset_s: offset,
            civil_day: (start + i64::from(offset) * 1000).div_euclid(MS_PER_DAY),
        }
    }

    #[test]
    fn a_civil_day_filter_selects_that_wall_clock_day() {
        let filter = steps(r#"steps.interval.civil_start_time >= "2026-07-29" AND steps.interval.civil_start_time < "2026-07-30""#)
            .unwrap()
            .unwrap();
        assert_eq!(filter.domain, Domain::Civil);
        let day = civil::days_from_civil(2026, 7, 29);
        let midnight = day * MS_PER_DAY;
        // Midnight in New York (UTC-4) is 04:00Z.
        let offset = -4 * 3600;
        let local = |ms: i64| at(ms + 4 * 3_600_000, ms + 4 * 3_600_000 + 60_000, offset);
        assert!(filter.matches(&local(midnight)));
        assert!(filter.matches(&local(midnight + MS_PER_DAY - 1)));
        assert!(!filter.matches(&local(midnight + MS_PER_DAY)));
        assert!(!filter.matches(&local(midnight - 1)));
        assert_eq!(
            filter.bounds(),
            (Some(midnight * 1000), Some((midnight + MS_PER_DAY) * 1000))
        );
        assert_eq!(filter.days(|_| unreachable!()), (Some(day), Some(day)));
    }

    #[test]
    fn physical_filters_compare_instants() {
        let filter = steps(r#"steps.interval.start_time >= "2026-01-01T05:00:00Z" AND steps.interval.start_time < "2026-01-01T06:00:00.5+01:00""#)
            .unwrap()
            .unwrap();
        let ms = "2026-01-01T05:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(filter.domain, Domain::Physical);
        assert!(filter.matches(&at(ms, ms + 60_000, 0)));
        assert!(
            filter.matches(&at(ms + 499, ms + 60_000, 0)),
            "05:00:00.499Z is before 06:00:00.5+01:00 = 05:00:00.5Z"
        );
        assert!(!filter.matches(&at(ms + 500, ms + 60_000, 0)));
        assert!(!filter.matches(&at(ms - 60_000, ms, 0)));
        assert_eq!(filter.days(|ms| ms), (Some(ms), Some(ms + 499)));
    }

    #[test]
    fn each_record_type_compares_its_own_time() {
        let sleep = find("sleep").unwrap();
        let filter = parse(
            r#"sleep.interval.end_time >= "2026-01-02T00:00:00Z""#,
            sleep,
            &Knobs::default(),
        )
        .unwrap()
        .unwrap();
        let midnight = civil::days_from_civil(2026, 1, 2) * MS_PER_DAY;
        let night = at(midnight - 3_600_000, midnight + 3_600_000, 0);
        assert!(filter.matches(&night), "the end counts, not the start");
        assert!(!filter.matches(&at(midnight - 7_200_000, midnight - 1, 0)));
        assert_eq!(
            filter.days(|ms| ms.div_euclid(MS_PER_DAY)).0,
            Some(midnight / MS_PER_DAY - 1),
            "a night ending on a day may start the day before"
        );
        let daily = find("daily-resting-heart-rate").unwrap();
        let filter = parse(
            r#"daily_resting_heart_rate.date >= "2026-01-02""#,
            daily,
            &Knobs::default(),
        )
        .unwrap()
        .unwrap();
        let mut day = at(0, 0, 0);
        day.civil_day = midnight / MS_PER_DAY;
        assert!(filter.matches(&day));
        day.civil_day -= 1;
        assert!(!filter.matches(&day));
    }

    #[test]
    fn blank_filters_are_no_filter_and_both_prefix_spellings_work() {
        assert!(steps("").unwrap().is_none());
        assert!(steps("   ").unwrap().is_none());
        let hr = find("daily-resting-heart-rate").unwrap();
        for text in [
            r#"daily_resting_heart_rate.date >= "2026-01-01""#,
            r#"dailyRestingHeartRate.date < "2026-01-01""#,
        ] {
            let filter = parse(text, hr, &Knobs::default()).unwrap().unwrap();
            assert!(!filter.selects_nothing);
        }
        let sleep = find("sleep").unwrap();
        let either = parse(
            r#"sleep.interval.end_time < "2026-01-01T00:00:00Z" OR sleep.interval.end_time >= "2026-02-01T00:00:00Z""#,
            sleep,
            &Knobs::default(),
        )
        .unwrap()
        .unwrap();
        assert!(either.matches(&at(0, 0, 0)));
        assert_eq!(either.bounds(), (None, None));
    }

    #[test]
    fn daily_prefix_dialects() {
        let hr = find("daily-resting-heart-rate").unwrap();
        let snake = r#"daily_resting_heart_rate.date >= "2026-01-01""#;
        let camel = r#"dailyRestingHeartRate.date >= "2026-01-01""#;
        let only_snake = knobs(json!({"daily_filter_prefix": "snake"}));
        assert!(
            !parse(snake, hr, &only_snake)
                .unwrap()
                .unwrap()
                .selects_nothing
        );
        assert_eq!(
            parse(camel, hr, &only_snake).unwrap_err().reason(),
            COLLECTION_MISMATCH
        );
        let only_camel = knobs(json!({"daily_filter_prefix": "camel"}));
        assert!(
            !parse(camel, hr, &only_camel)
                .unwrap()
                .unwrap()
                .selects_nothing
        );
        let silent = parse(snake, hr, &only_camel).unwrap().unwrap();
        assert!(silent.selects_nothing && !silent.matches(&at(0, 0, 0)));
        // Other record types keep accepting both spellings.
        let rate = find("heart-rate").unwrap();
        assert!(
            parse(
                r#"heartRate.sample_time.physical_time >= "2026-01-01T00:00:00Z""#,
                rate,
                &only_snake
            )
            .is_ok()
        );
    }

    #[test]
    fn sleep_dialects() {
        let sleep = find("sleep").unwrap();
        let end = r#"sleep.interval.civil_end_time >= "2026-01-01""#;
        let start = r#"sleep.interval.civil_start_time >= "2026-01-01""#;
        let reject = knobs(json!({"sleep_filter": "reject_all"}));
        assert_eq!(parse(end, sleep, &reject).unwrap_err().reason(), MEMBER);
        assert!(parse("", sleep, &reject).unwrap().is_none());
        assert_eq!(
            parse(start, sleep, &Knobs::default()).unwrap_err().reason(),
            MEMBER
        );
        let start_ok = knobs(json!({"sleep_filter": "start_ok"}));
        let filter = parse(
            &format!(
                "{start} AND {}",
                end.replace(">=", "<").replace("01\"", "02\"")
            ),
            sleep,
            &start_ok,
        )
        .unwrap()
        .unwrap();
        let midnight = civil::days_from_civil(2026, 1, 1) * MS_PER_DAY;
        assert!(filter.matches(&at(midnight + 1000, midnight + 2000, 0)));
        assert!(!filter.matches(&at(midnight - 1000, midnight + 2000, 0)));
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            reason("steps", r#"steps.interval.start_time >= "2026"#),
            SYNTAX
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time # "x""#),
            SYNTAX
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time ! "x""#),
            SYNTAX
        );
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.start_time "2026-01-01T00:00:00Z""#
            ),
            MISSING_TOKEN
        );
        assert_eq!(
            reason("steps", r#">= "2026-01-01T00:00:00Z""#),
            UNEXPECTED_TOKEN
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time >= "a" "b""#),
            UNEXPECTED_TOKEN
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time >= AND"#),
            UNEXPECTED_TOKEN
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time >="#),
            END_OF_INPUT
        );
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.start_time >= "2026-01-01T00:00:00Z" AND"#
            ),
            END_OF_INPUT
        );
        assert_eq!(reason("steps", "steps.interval.start_time"), END_OF_INPUT);
        assert_eq!(
            reason(
                "steps",
                r#"(steps.interval.start_time >= "2026-01-01T00:00:00Z")"#
            ),
            STRUCTURE
        );
        assert_eq!(
            reason(
                "steps",
                r#"NOT steps.interval.start_time >= "2026-01-01T00:00:00Z""#
            ),
            STRUCTURE
        );
    }

    #[test]
    fn meaning_errors() {
        let ts = r#""2026-01-01T00:00:00Z""#;
        assert_eq!(
            reason("steps", &format!("steps.interval.start_time > {ts}")),
            COMPARATOR
        );
        assert_eq!(
            reason("steps", &format!("steps.interval.start_time <= {ts}")),
            COMPARATOR
        );
        assert_eq!(
            reason("steps", &format!("steps.interval.start_time = {ts}")),
            COMPARATOR
        );
        assert_eq!(
            reason("steps", &format!("steps.interval.start_time != {ts}")),
            COMPARATOR
        );
        assert_eq!(
            reason(
                "electrocardiogram",
                &format!("electrocardiogram.interval.start_time < {ts}")
            ),
            COMPARATOR
        );
        assert_eq!(
            reason("steps", "steps.interval.start_time >= 2026"),
            COMPARABLE
        );
        assert_eq!(
            reason("steps", r#"steps.interval.start_time >= "2026-01-01""#),
            COMPARABLE
        );
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.civil_start_time >= "2026-01-01T00:00:00Z""#
            ),
            COMPARABLE
        );
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.civil_start_time >= "2026-02-30""#
            ),
            COMPARABLE
        );
        assert_eq!(
            reason(
                "daily-resting-heart-rate",
                r#"daily_resting_heart_rate.date >= "2026-01-01T00:00:00""#
            ),
            COMPARABLE
        );
        assert_eq!(
            reason(
                "active-minutes",
                &format!("active-minutes.interval.start_time >= {ts}")
            ),
            FILTER
        );
        assert_eq!(
            reason("steps", &format!("distance.interval.start_time >= {ts}")),
            COLLECTION_MISMATCH
        );
        assert_eq!(
            reason("steps", &format!("steps.interval.end_time >= {ts}")),
            MEMBER
        );
        assert_eq!(
            reason("steps", &format!("steps.sample_time.physical_time >= {ts}")),
            MEMBER
        );
        assert_eq!(reason("steps", &format!("steps >= {ts}")), MEMBER);
        assert_eq!(
            reason("exercise", &format!("exercise.interval.start_time >= {ts}")),
            MEMBER
        );
        assert_eq!(
            reason("sleep", &format!("sleep.interval.start_time >= {ts}")),
            MEMBER
        );
        assert_eq!(
            reason("food", &format!("food.interval.start_time >= {ts}")),
            MEMBER
        );
    }

    #[test]
    fn every_problem_is_one_violation_with_its_position() {
        let sleep = find("sleep").unwrap();
        let twice = r#"sleep.interval.start_time >= "2026-01-01T00:00:00Z" AND sleep.interval.start_time < "2026-01-02T00:00:00Z""#;
        let error = parse(twice, sleep, &Knobs::default()).unwrap_err();
        assert_eq!(error.detailed_reasons(), MEMBER);
        let member = "Member 'sleep.interval.start_time' is not supported for filtering.";
        assert_eq!(
            error.descriptions(),
            [
                format!("{member} (at line 1, column 1)"),
                format!("{member} (at line 1, column 57)"),
            ]
        );
        assert_eq!(
            error.message(),
            format!("Invalid data point filter: {member} (at line 1, column 1)")
        );
        // Different problems: each reason once, in order; each violation at its own token.
        let ts = r#""2026-01-01T00:00:00Z""#;
        let mixed = format!(
            "steps.interval.end_time >= {ts} AND distance.interval.start_time < {ts}\nAND steps.interval.start_time > {ts}"
        );
        let error = steps(&mixed).unwrap_err();
        assert_eq!(
            error.detailed_reasons(),
            format!("{MEMBER},{COLLECTION_MISMATCH},{COMPARATOR}")
        );
        let descriptions = error.descriptions();
        assert_eq!(descriptions.len(), 3);
        assert!(descriptions[0].ends_with("(at line 1, column 1)"));
        assert!(descriptions[1].starts_with("'distance' does not name the data type 'steps'"));
        assert!(
            descriptions[1].ends_with("(at line 1, column 55)"),
            "{}",
            descriptions[1]
        );
        assert_eq!(
            descriptions[2],
            "Comparator '>' is not supported on 'steps.interval.start_time'. (at line 2, column 31)"
        );
        // Syntax stops at the first problem.
        let error = steps(r#"steps.interval.start_time >= "2026"#).unwrap_err();
        assert_eq!(
            error.descriptions(),
            ["Unterminated string literal. (at line 1, column 30)"]
        );
        assert_eq!(error.detailed_reasons(), SYNTAX);
    }

    #[test]
    fn starts_compare_at_microseconds() {
        let weight = find("weight").unwrap();
        let exact = r#"weight.sample_time.physical_time >= "2026-01-01T00:00:00.390135Z""#;
        let filter = parse(exact, weight, &Knobs::default()).unwrap().unwrap();
        let ms = "2026-01-01T00:00:00.390Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let mut point = at(ms, ms, 0);
        point.start_extra_us = 135;
        assert!(
            filter.matches(&point),
            "the point's own time is a lower bound it passes"
        );
        point.start_extra_us = 134;
        assert!(!filter.matches(&point));
        let below = parse(&exact.replace(">=", "<"), weight, &Knobs::default())
            .unwrap()
            .unwrap();
        assert!(below.matches(&point));
    }

    #[test]
    fn combination_errors() {
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.start_time >= "2026-01-01T00:00:00Z" AND steps.interval.civil_start_time < "2026-01-02""#
            ),
            MIXED
        );
        assert_eq!(
            reason(
                "steps",
                r#"steps.interval.start_time >= "2026-01-01T00:00:00Z" OR steps.interval.start_time < "2026-01-02T00:00:00Z""#
            ),
            STRUCTURE
        );
        let error = steps(r#"steps.interval.civil_start_time >= "2026-01-02" AND steps.interval.civil_start_time < "2026-01-02""#)
            .unwrap_err();
        assert_eq!(error.reason(), TIME_RANGE);
        assert_eq!(
            error.message(),
            "Invalid data point filter: Query end time must be strictly larger than start time."
        );
        assert_eq!(
            steps(r#"steps.interval.start_time >= "2026-01-01T00:00:00Z" AND steps.interval.civil_start_time < "2026-01-02""#)
                .unwrap_err()
                .message(),
            "Invalid data point filter: Filter cannot contain both physical and civil time ranges. (at line 1, column 57)"
        );
    }
}
