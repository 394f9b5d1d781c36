//! The cost chart: monthly cost against requests/month, both axes log scale.

use super::model::Scenario;
use crate::numbers::{count_short, usd, usd_short};
use crate::svg::{Frame, Svg, escape};

/// The x axis: requests per month.
const X_MIN: f64 = 1e5;
const X_MAX: f64 = 1e10;
/// Lowest cost shown; smaller (e.g. free-tier) costs sit on the bottom axis.
const Y_FLOOR: f64 = 0.01;
const SAMPLES_PER_DECADE: usize = 48;
const FRAME: Frame = Frame {
    width: 860.0,
    height: 520.0,
    left: 80.0,
    right: 30.0,
    top: 50.0,
    bottom: 60.0,
};
const COLORS: [&str; 3] = ["#1f77b4", "#d62728", "#2ca02c"];

/// Maps data to pixels.
struct Axes {
    y_min_log: f64,
    y_max_log: f64,
}

impl Axes {
    fn x(&self, requests: f64) -> f64 {
        FRAME.x((requests.log10() - X_MIN.log10()) / (X_MAX.log10() - X_MIN.log10()))
    }

    fn y(&self, cost: f64) -> f64 {
        let log = cost.max(Y_FLOOR).log10().max(self.y_min_log);
        FRAME.y((log - self.y_min_log) / (self.y_max_log - self.y_min_log))
    }
}

/// Request volumes sampled evenly on the log axis.
fn samples() -> impl Iterator<Item = f64> {
    let decades = (X_MAX / X_MIN).log10().round() as usize;
    let steps = decades * SAMPLES_PER_DECADE;
    (0..=steps).map(move |i| X_MIN * 10f64.powf(i as f64 / SAMPLES_PER_DECADE as f64))
}

/// The chart for the extended model: Kubernetes, each Lambda profile, break-even points.
pub fn render(ext: &Scenario, title: &str) -> String {
    let fixed = ext.kubernetes.total();
    // Each line's legend and its cost at each of the samples, in the order of `COLORS`.
    let kubernetes = format!("Kubernetes ({}/month)", usd(fixed));
    let mut series = vec![(kubernetes, samples().map(|_| fixed).collect::<Vec<_>>())];
    for profile in &ext.profiles {
        let w = &profile.workload;
        let label = format!(
            "Lambda + API Gateway, {}: {} ms × {} MB {}",
            profile.label,
            w.billed_ms(),
            w.memory_mb,
            w.arch.name()
        );
        let costs = samples().map(|r| profile.model.monthly(r).total());
        series.push((label, costs.collect()));
    }

    let costs = || series.iter().flat_map(|(_, costs)| costs.iter().copied());
    let max = costs().fold(Y_FLOOR, f64::max);
    let min = (costs().filter(|&c| c > 0.0))
        .fold(f64::INFINITY, f64::min)
        .max(Y_FLOOR);
    let axes = Axes {
        y_min_log: min.log10().floor(),
        y_max_log: max.log10().ceil().max(min.log10().floor() + 1.0),
    };

    let mut svg = FRAME.document(12);
    svg.add(format_args!(
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        FRAME.width / 2.0,
        escape(title)
    ));
    grid(&mut svg, &axes);
    for ((_, costs), color) in series.iter().zip(COLORS) {
        let points = samples().zip(costs).map(|(r, &c)| (axes.x(r), axes.y(c)));
        svg.series(points, color, 2);
    }
    for (i, (profile, color)) in ext.profiles.iter().zip(&COLORS[1..]).enumerate() {
        let Some(requests) = profile.break_even.filter(|r| (X_MIN..=X_MAX).contains(r)) else {
            continue;
        };
        let (x, y) = (axes.x(requests), axes.y(fixed));
        svg.add(format_args!(
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="4 3"/>"#,
            FRAME.height - FRAME.bottom
        ));
        svg.add(format_args!(
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="{color}"/>"#
        ));
        svg.add(format_args!(
            r#"<text x="{:.1}" y="{:.1}" fill="{color}" stroke="white" stroke-width="3" paint-order="stroke">break-even {} requests/month</text>"#,
            x + 8.0,
            y - 10.0 - 16.0 * i as f64,
            count_short(requests)
        ));
    }
    for (i, ((label, _), color)) in series.iter().zip(COLORS).enumerate() {
        let (x, y) = (FRAME.left, FRAME.top + 18.0 + 18.0 * i as f64);
        svg.add(format_args!(
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            x + 12.0,
            x + 36.0,
            x + 42.0,
            y + 4.0,
            escape(label)
        ));
    }
    svg.finish()
}

fn grid(svg: &mut Svg, axes: &Axes) {
    for exp in (X_MIN.log10() as i32)..=(X_MAX.log10() as i32) {
        let requests = 10f64.powi(exp);
        svg.x_tick(&FRAME, axes.x(requests), &count_short(requests));
    }
    for exp in (axes.y_min_log as i32)..=(axes.y_max_log as i32) {
        let cost = 10f64.powi(exp);
        svg.y_tick(&FRAME, axes.y(cost), &usd_short(cost));
    }
    let (right, bottom) = (FRAME.width - FRAME.right, FRAME.height - FRAME.bottom);
    svg.add(format_args!(
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="black"/>"#,
        FRAME.left,
        FRAME.top,
        right - FRAME.left,
        bottom - FRAME.top
    ));
    svg.add(format_args!(
        r#"<text x="{}" y="{}" text-anchor="middle">requests per month (log scale)</text>"#,
        (FRAME.left + right) / 2.0,
        FRAME.height - 16.0
    ));
    svg.y_title(&FRAME, 20.0, "monthly cost, USD (log scale)");
}

#[cfg(test)]
mod tests {
    use super::super::prices::Prices;
    use super::*;

    #[test]
    fn chart_has_both_models_and_the_break_even() {
        // GIVEN the seed's scenario
        let scenario = Scenario::seed(&Prices::embedded().unwrap());
        // WHEN the chart is rendered
        let svg = render(&scenario, "a & b");
        // THEN it is one SVG document with a line per model, the break-even and both axis ends
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("break-even 23.6M requests/month"));
        assert!(svg.contains(">100k</text>") && svg.contains(">10B</text>"));
        assert!(svg.contains(">$0.1</text>") && svg.contains(">$100k</text>"));
        assert!(svg.contains("a &amp; b"));
    }
}
