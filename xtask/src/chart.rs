//! The bar panels of `docs/benchmarks.svg` ([`bars`]), on the lab's SVG document builder.

use decide::svg::{Svg, escape};

/// One bar.
pub struct Bar {
    /// Left of the bar.
    pub label: String,
    /// Length.
    pub value: f64,
    /// Right of the bar (the value with its unit).
    pub text: String,
    /// The project's own target (drawn darker) or a reference.
    pub ours: bool,
}

/// A titled group of bars sharing one scale.
pub struct Panel {
    /// Above the bars.
    pub title: String,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
}

const WIDTH: f64 = 860.0;
const LABEL_WIDTH: f64 = 230.0;
const TEXT_WIDTH: f64 = 210.0;
const BAR_HEIGHT: f64 = 18.0;
const BAR_GAP: f64 = 6.0;
const TITLE_HEIGHT: f64 = 34.0;
const PANEL_GAP: f64 = 14.0;
const OURS: &str = "#d9480f";
const OTHERS: &str = "#868e96";

/// Panels of horizontal bars under `title`, each panel on its own scale.
pub fn bars(title: &str, panels: &[Panel]) -> String {
    let height = 50.0
        + panels
            .iter()
            .map(|p| TITLE_HEIGHT + p.bars.len() as f64 * (BAR_HEIGHT + BAR_GAP) + PANEL_GAP)
            .sum::<f64>();
    let mut svg = Svg::new(WIDTH, height, 13);
    svg.add(format_args!(
        r#"<text x="10" y="28" font-size="17" font-weight="bold">{}</text>"#,
        escape(title)
    ));
    let mut y = 50.0;
    let span = WIDTH - LABEL_WIDTH - TEXT_WIDTH - 20.0;
    for panel in panels {
        svg.add(format_args!(
            r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
            y + 20.0,
            escape(&panel.title)
        ));
        y += TITLE_HEIGHT;
        let max = panel.bars.iter().map(|b| b.value).fold(0.0, f64::max);
        for bar in &panel.bars {
            let length = if max > 0.0 {
                (bar.value / max * span).max(1.0)
            } else {
                1.0
            };
            let color = if bar.ours { OURS } else { OTHERS };
            let middle = y + BAR_HEIGHT / 2.0 + 4.5;
            svg.add(format_args!(
                r#"<text x="{:.1}" y="{middle:.1}" text-anchor="end">{}</text>"#,
                LABEL_WIDTH - 8.0,
                escape(&bar.label)
            ));
            svg.add(format_args!(
                r#"<rect x="{LABEL_WIDTH}" y="{y:.1}" width="{length:.1}" height="{BAR_HEIGHT}" fill="{color}"/>"#
            ));
            svg.add(format_args!(
                r#"<text x="{:.1}" y="{middle:.1}">{}</text>"#,
                LABEL_WIDTH + length + 6.0,
                escape(&bar.text)
            ));
            y += BAR_HEIGHT + BAR_GAP;
        }
        y += PANEL_GAP;
    }
    svg.finish()
}
