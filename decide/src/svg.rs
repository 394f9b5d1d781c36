//! A standalone SVG document builder, shared by the lab's charts and `cargo xtask bench`'s, and the
//! parts of a chart they share: the plot area ([`Frame`]), grid lines with their labels, the y
//! axis title and the data lines.

use std::fmt::{Arguments, Write as _};

/// A standalone SVG document on a white background, written element by element.
pub struct Svg(String);

/// Grid lines.
const GRID: &str = "#ddd";

impl Svg {
    /// Opens a `width` × `height` document whose text is sans-serif at `font_size`.
    pub fn new(width: f64, height: f64, font_size: u32) -> Svg {
        Svg(format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{font_size}\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        ))
    }

    /// Adds one line of markup (text in it goes through [`escape`]).
    pub fn add(&mut self, element: Arguments) {
        let _ = writeln!(self.0, "{element}");
    }

    /// Closes the document.
    pub fn finish(mut self) -> String {
        self.0.push_str("</svg>\n");
        self.0
    }

    /// A vertical grid line at `x` across `frame`'s plot, labelled below it.
    pub fn x_tick(&mut self, frame: &Frame, x: f64, label: &str) {
        let bottom = frame.height - frame.bottom;
        self.add(format_args!(
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}" stroke="{GRID}"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            frame.top,
            bottom + 16.0,
            escape(label)
        ));
    }

    /// A horizontal grid line at `y` across `frame`'s plot, labelled left of it.
    pub fn y_tick(&mut self, frame: &Frame, y: f64, label: &str) {
        self.add(format_args!(
            r#"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{GRID}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            frame.left,
            frame.width - frame.right,
            frame.left - 6.0,
            y + 4.0,
            escape(label)
        ));
    }

    /// The y axis' title, reading upwards, centred on `frame`'s plot at `x`.
    pub fn y_title(&mut self, frame: &Frame, x: f64, title: &str) {
        self.add(format_args!(
            r#"<text transform="translate({x} {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (frame.top + frame.height - frame.bottom) / 2.0,
            escape(title)
        ));
    }

    /// A data line through `points` (pixels), `width` wide (class `series`, which `.ci/run`
    /// counts in the lab's report).
    pub fn series(
        &mut self,
        points: impl IntoIterator<Item = (f64, f64)>,
        color: &str,
        width: u32,
    ) {
        let points: Vec<String> = (points.into_iter())
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        self.add(format_args!(
            r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="{width}" points="{}"/>"#,
            points.join(" ")
        ));
    }
}

/// A chart's size and the margins around its plot (for titles, labels and legends), in pixels.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// An empty document of this size, its text at `font_size`.
    pub fn document(&self, font_size: u32) -> Svg {
        Svg::new(self.width, self.height, font_size)
    }

    /// The x of a `fraction` of the plot's width (0: its left edge, 1: its right edge).
    pub fn x(&self, fraction: f64) -> f64 {
        self.left + fraction * (self.width - self.left - self.right)
    }

    /// The y of a `fraction` of the plot's height (0: its bottom edge, 1: its top edge).
    pub fn y(&self, fraction: f64) -> f64 {
        self.height - self.bottom - fraction * (self.height - self.top - self.bottom)
    }
}

/// Text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
