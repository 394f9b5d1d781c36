//! The report's charts: one trace's requests a second over time, offered and served by each
//! platform (hand-written SVG, like the cost chart: a few lines, nothing fetched).

use crate::numbers::count_short;
use crate::sim::Run;
use crate::svg::{Svg, escape};

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;
/// Offered load, then one colour per platform.
const COLORS: [&str; 5] = ["#adb5bd", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// Offered and served requests a second for each of `runs` (all on the same trace).
pub fn requests(title: &str, runs: &[Run]) -> String {
    let Some(first) = runs.first() else {
        return Svg::new(WIDTH, HEIGHT, 12).finish();
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
    let top = (lines.iter().flat_map(|(_, l)| l.iter().map(|p| p.1))).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let x = |t: f64| LEFT + t / seconds * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| HEIGHT - BOTTOM - v / top * (HEIGHT - TOP - BOTTOM);

    let mut svg = Svg::new(WIDTH, HEIGHT, 12);
    svg.add(format_args!(
        r#"<text x="{LEFT}" y="20" font-size="14">{}</text>"#,
        escape(title)
    ));
    for i in 0..=4 {
        let value = top * f64::from(i) / 4.0;
        svg.add(format_args!(
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            y(value),
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(value) + 4.0,
            count_short(value)
        ));
    }
    let days = seconds / 86_400.0;
    let step = if days > 7.0 { 7.0 } else { 1.0 };
    let mut day = 0.0;
    while day <= days {
        svg.add(format_args!(
            r#"<text x="{:.1}" y="{}" text-anchor="middle">day {day}</text>"#,
            x(day * 86_400.0),
            HEIGHT - BOTTOM + 16.0
        ));
        day += step;
    }
    svg.add(format_args!(
        r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">requests/s</text>"#,
        (TOP + HEIGHT - BOTTOM) / 2.0
    ));
    for ((label, points), color) in lines.iter().zip(COLORS) {
        let path: Vec<String> = points
            .iter()
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let width = if label == "offered" { 4 } else { 1 };
        svg.add(format_args!(
            r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="{width}" points="{}"/>"#,
            path.join(" ")
        ));
    }
    for (i, ((label, _), color)) in lines.iter().zip(COLORS).enumerate() {
        let lx = LEFT + 10.0 + (i as f64 % 3.0) * 250.0;
        let ly = TOP + 4.0 + (i / 3) as f64 * 14.0;
        svg.add(format_args!(
            r#"<rect x="{lx}" y="{}" width="12" height="4" fill="{color}"/><text x="{}" y="{ly}">{}</text>"#,
            ly - 5.0,
            lx + 16.0,
            escape(label)
        ));
    }
    svg.finish()
}
