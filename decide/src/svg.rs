//! A standalone SVG document builder, shared by the lab's charts and `cargo xtask bench`'s.

use std::fmt::{Arguments, Write as _};

/// A standalone SVG document on a white background, written element by element.
pub struct Svg(String);

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
}

/// Text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
