//! The dashboard's charts of the last 30 days, drawn on the server as inline SVG so they work
//! without JavaScript: steps and sleep as bars, resting heart rate as a line. Each mark carries
//! its date and value (`data-date`, `data-value`) and a `<title>` a screen reader or a pointer
//! shows; the same figures are in a table below the charts.

use google_health::catalogue;
use oh_fitbit_core::{
    members::Member,
    recent::{DaySummary, RecentDays},
};

/// The SVG's own coordinates; CSS scales it to the width of the page.
const WIDTH: u32 = 450;
const HEIGHT: u32 = 100;
/// The plot lies between these heights; labels take the rest.
const PLOT_TOP: f64 = 14.0;
const PLOT_BOTTOM: f64 = 84.0;

/// What each chart shows.
struct Measure {
    id: &'static str,
    title: &'static str,
    /// The data type the figure comes from, whose category the member may have left out.
    data_type: &'static str,
    bars: bool,
    read: fn(&DaySummary) -> Option<u64>,
    label: fn(u64) -> String,
    /// "8,412 steps a day on average", from the average.
    average: fn(u64) -> String,
}

const MEASURES: [Measure; 3] = [
    Measure {
        id: "steps",
        title: "Steps",
        data_type: "steps",
        bars: true,
        read: |day| day.steps,
        label: |steps| format!("{} steps", grouped(steps)),
        average: |steps| format!("{} steps a day on average", grouped(steps)),
    },
    Measure {
        id: "resting-heart-rate",
        title: "Resting heart rate",
        data_type: "daily-resting-heart-rate",
        bars: false,
        read: |day| day.resting_heart_rate.map(u64::from),
        label: |bpm| format!("{bpm} beats per minute"),
        average: |bpm| format!("{bpm} beats per minute on average"),
    },
    Measure {
        id: "sleep",
        title: "Sleep",
        data_type: "sleep",
        bars: true,
        read: |day| day.sleep_minutes.map(u64::from),
        label: |minutes| format!("{} asleep", hours_and_minutes(minutes)),
        average: |minutes| format!("{} asleep a night on average", hours_and_minutes(minutes)),
    },
];

/// The charts and the table of the member's last 30 days.
pub(crate) struct RecentView {
    pub width: u32,
    pub height: u32,
    /// Where the bars stand.
    pub axis_y: f64,
    pub first_day: String,
    pub last_day: String,
    pub charts: Vec<Chart>,
    pub rows: Vec<DayRow>,
}

pub(crate) struct Chart {
    pub id: &'static str,
    /// A sentence saying what the chart shows, or why there is none.
    pub caption: String,
    /// `None` when there is nothing to draw.
    pub plot: Option<Plot>,
}

pub(crate) struct Plot {
    pub bars: bool,
    pub marks: Vec<Mark>,
    /// Polylines through consecutive days with a value; a day without one breaks the line.
    pub lines: Vec<String>,
    pub top_label: String,
    pub bottom_label: String,
}

/// One day's bar or dot, in SVG units (one decimal).
pub(crate) struct Mark {
    pub date: String,
    pub value: u64,
    pub title: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub centre_x: f64,
}

/// One row of the table under the charts.
pub(crate) struct DayRow {
    pub date: String,
    pub cells: Vec<String>,
}

impl RecentView {
    pub(crate) fn of(member: &Member) -> Option<Self> {
        let recent = member.recent_days.as_ref()?;
        let charts = MEASURES
            .iter()
            .map(|measure| chart(measure, recent, imported(member, measure)))
            .collect();
        let rows = recent
            .days
            .iter()
            .map(|day| DayRow {
                date: day.date.to_string(),
                cells: MEASURES
                    .iter()
                    .map(|measure| (measure.read)(day).map_or_else(String::new, measure.label))
                    .collect(),
            })
            .collect();
        Some(Self {
            width: WIDTH,
            height: HEIGHT,
            axis_y: PLOT_BOTTOM,
            first_day: recent.first_day()?.to_string(),
            last_day: recent.last_day()?.to_string(),
            charts,
            rows,
        })
    }

    pub(crate) fn titles(&self) -> impl Iterator<Item = &'static str> {
        MEASURES.iter().map(|measure| measure.title)
    }
}

fn imported(member: &Member, measure: &Measure) -> bool {
    let data_type =
        catalogue::data_type(measure.data_type).expect("charted types are in the catalogue");
    member.preferences.includes(data_type.scope)
}

fn chart(measure: &Measure, recent: &RecentDays, imported: bool) -> Chart {
    let values: Vec<(usize, &DaySummary, u64)> = recent
        .days
        .iter()
        .enumerate()
        .filter_map(|(slot, day)| (measure.read)(day).map(|value| (slot, day, value)))
        .collect();
    let caption = if !imported {
        format!(
            "{}: not imported, as you chose in your settings.",
            measure.title
        )
    } else if values.is_empty() {
        format!("{}: nothing recorded in these 30 days.", measure.title)
    } else {
        let total: u64 = values.iter().map(|(_, _, value)| value).sum();
        let average = (total + values.len() as u64 / 2) / values.len() as u64;
        format!(
            "{}: {}, over the {} days with a value.",
            measure.title,
            (measure.average)(average),
            values.len()
        )
    };
    let plot = (imported && !values.is_empty()).then(|| plot(measure, recent.days.len(), &values));
    Chart {
        id: measure.id,
        caption,
        plot,
    }
}

fn plot(measure: &Measure, slots: usize, values: &[(usize, &DaySummary, u64)]) -> Plot {
    let highest = values.iter().map(|(_, _, v)| *v).max().unwrap_or(0);
    let lowest = values.iter().map(|(_, _, v)| *v).min().unwrap_or(0);
    // Bars start at zero; a line of resting heart rates spans its own range, or every day
    // would sit at the top.
    let (floor, ceiling) = if measure.bars {
        (0, highest.max(1))
    } else {
        (lowest.saturating_sub(2), highest + 2)
    };
    let slot_width = f64::from(WIDTH) / slots.max(1) as f64;
    let y_of = |value: u64| {
        let share = (value - floor) as f64 / (ceiling - floor) as f64;
        PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP)
    };
    let marks: Vec<Mark> = values
        .iter()
        .map(|&(slot, day, value)| {
            let y = y_of(value);
            Mark {
                date: day.date.to_string(),
                value,
                title: format!("{}: {}", day.date, (measure.label)(value)),
                x: tenths(slot as f64 * slot_width + slot_width * 0.1),
                y: tenths(y),
                width: tenths(slot_width * 0.8),
                height: tenths(PLOT_BOTTOM - y),
                centre_x: tenths((slot as f64 + 0.5) * slot_width),
            }
        })
        .collect();
    let mut lines = Vec::new();
    if !measure.bars {
        let mut line: Vec<String> = Vec::new();
        let mut previous_slot = None;
        for (mark, &(slot, _, _)) in marks.iter().zip(values) {
            if previous_slot.is_some_and(|previous| previous + 1 != slot) && !line.is_empty() {
                lines.push(line.join(" "));
                line.clear();
            }
            line.push(format!("{},{}", mark.centre_x, mark.y));
            previous_slot = Some(slot);
        }
        lines.push(line.join(" "));
        lines.retain(|points| points.contains(' '));
    }
    Plot {
        bars: measure.bars,
        marks,
        lines,
        top_label: format!("highest {}", (measure.label)(highest)),
        bottom_label: format!("lowest {}", (measure.label)(lowest)),
    }
}

fn tenths(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// 12345 as "12,345".
pub(crate) fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn hours_and_minutes(minutes: u64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn recent(steps: &[Option<u64>], bpm: &[Option<u32>]) -> RecentDays {
        let mut recent = RecentDays::ending(date(2026, 11, 21));
        for (day, (steps, bpm)) in recent.days.iter_mut().zip(steps.iter().zip(bpm)) {
            day.steps = *steps;
            day.resting_heart_rate = *bpm;
        }
        recent
    }

    #[test]
    fn bars_are_as_tall_as_their_value_against_the_highest() {
        let mut steps = vec![None; 30];
        steps[0] = Some(5000);
        steps[29] = Some(10_000);
        let chart = chart(&MEASURES[0], &recent(&steps, &[None; 30]), true);
        let plot = chart.plot.unwrap();
        assert_eq!(plot.marks.len(), 2);
        let [half, full] = [&plot.marks[0], &plot.marks[1]];
        assert_eq!(full.height, PLOT_BOTTOM - PLOT_TOP);
        assert_eq!(half.height, (PLOT_BOTTOM - PLOT_TOP) / 2.0);
        assert_eq!(half.date, "2026-10-23");
        assert_eq!(full.date, "2026-11-21");
        assert!(half.x < full.x);
        assert_eq!(
            chart.caption,
            "Steps: 7,500 steps a day on average, over the 2 days with a value."
        );
        assert_eq!(full.title, "2026-11-21: 10,000 steps");
    }

    #[test]
    fn a_missing_day_breaks_the_heart_rate_line() {
        let mut bpm = vec![Some(60); 30];
        bpm[10] = None;
        let plot = chart(&MEASURES[1], &recent(&[None; 30], &bpm), true)
            .plot
            .unwrap();
        assert_eq!(plot.lines.len(), 2);
        assert_eq!(plot.lines[0].split(' ').count(), 10);
        assert_eq!(plot.lines[1].split(' ').count(), 19);
    }

    #[test]
    fn no_values_or_a_category_left_out_give_a_sentence_instead_of_a_chart() {
        let empty = chart(&MEASURES[2], &recent(&[None; 30], &[None; 30]), true);
        assert!(empty.plot.is_none());
        assert_eq!(empty.caption, "Sleep: nothing recorded in these 30 days.");
        let left_out = chart(&MEASURES[2], &recent(&[None; 30], &[None; 30]), false);
        assert!(left_out.caption.contains("not imported"));
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(hours_and_minutes(45), "45 min");
        assert_eq!(hours_and_minutes(420), "7 h");
        assert_eq!(hours_and_minutes(432), "7 h 12 min");
    }
}
