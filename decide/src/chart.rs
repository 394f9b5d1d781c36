//! The report's charts: one trace's requests a second over time, offered and served by each
//! platform (hand-written SVG on [`crate::svg`], like the cost chart: a few lines, nothing fetched).

use crate::numbers::count_short;
use crate::sim::Run;
use crate::svg::{Frame, Svg, escape};

const FRAME: Frame = Frame {
    width: 860.0,
    height: 300.0,
    left: 70.0,
    right: 20.0,
    top: 40.0,
    bottom: 40.0,
};
/// Offered load, then one colour per platform.
const COLORS: [&str; 5] = ["#adb5bd", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// Offered and served requests a second for each of `runs` (all on the same trace).
pub fn requests(title: &str, runs: &[Run]) -> String {
    let Some(first) = runs.first() else {
        return FRAME.document(12).finish();
    };
    let seconds = first.summary.seconds.max(1) as f64;
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = vec![(
        "offered".into(),
        first
            .series
            .iter()
            .map(|p| (p.t as f64, p.offered))
            .collect(),
    )];
    for run in runs {
        let served = run.series.iter().map(|p| (p.t as f64, p.served)).collect();
        lines.push((format!("served: {}", run.summary.platform), served));
    }
    let peak = (lines.iter().flat_map(|(_, l)| l.iter().map(|p| p.1))).fold(0.0, f64::max);
    let top = if peak > 0.0 { peak * 1.1 } else { 1.0 };
    let x = |t: f64| FRAME.x(t / seconds);
    let y = |v: f64| FRAME.y(v / top);

    let mut svg = FRAME.document(12);
    svg.add(format_args!(
        r#"<text x="{}" y="20" font-size="14">{}</text>"#,
        FRAME.left,
        escape(title)
    ));
    let step = round_step(top / 5.0);
    for i in 0..=((top / step) as u32) {
        let value = step * f64::from(i);
        svg.y_tick(&FRAME, y(value), &count_short(value));
    }
    let days = seconds / 86_400.0;
    let every = if days > 7.0 { 7.0 } else { 1.0 };
    let mut day = 0.0;
    while day <= days {
        svg.x_tick(&FRAME, x(day * 86_400.0), &format!("day {day}"));
        day += every;
    }
    svg.y_title(&FRAME, 14.0, "requests/s");
    for ((label, points), color) in lines.iter().zip(COLORS) {
        let width = if label == "offered" { 4 } else { 1 };
        svg.series(points.iter().map(|&(t, v)| (x(t), y(v))), color, width);
    }
    legend(&mut svg, &lines, COLORS);
    svg.finish()
}

/// The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `step`, so that the
/// axis' labels are round numbers.
fn round_step(step: f64) -> f64 {
    let power = 10f64.powf(step.log10().floor());
    ([1.0, 2.0, 2.5, 5.0, 10.0].into_iter())
        .map(|m| m * power)
        .find(|&round| round >= step)
        .unwrap_or(step)
}

/// One swatch and label a line, three to a row, above the plot.
fn legend(svg: &mut Svg, lines: &[(String, Vec<(f64, f64)>)], colors: [&str; 5]) {
    for (i, ((label, _), color)) in lines.iter().zip(colors).enumerate() {
        let lx = FRAME.left + 10.0 + (i as f64 % 3.0) * 250.0;
        let ly = FRAME.top + 4.0 + (i / 3) as f64 * 14.0;
        svg.add(format_args!(
            r#"<rect x="{lx}" y="{}" width="12" height="4" fill="{color}"/><text x="{}" y="{ly}">{}</text>"#,
            ly - 5.0,
            lx + 16.0,
            escape(label)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round_numbers() {
        // GIVEN / WHEN / THEN a fifth of the axis rounds up to 1, 2, 2.5 or 5 times a power of ten
        assert_eq!(round_step(16.75), 20.0);
        assert_eq!(round_step(0.3), 0.5);
        assert_eq!(round_step(2.2e6), 2.5e6);
        assert_eq!(round_step(100.0), 100.0);
    }
}
