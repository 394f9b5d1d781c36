//! Errors in the lab's input files: one line naming the file, the line and the field.

use std::path::Path;

use crate::paths::display;

/// A file the lab reads is missing, unreadable or holds a bad value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A value at a known line: `traffic.csv:3: requests_per_second: ...`.
    #[error("{file}:{line}: {field}: {message}")]
    Field {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
    /// The file as a whole (missing, unreadable, not the expected format).
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

impl InputError {
    /// An error about `field` at `line` of `file`.
    pub fn field(file: &str, line: usize, field: &str, message: impl Into<String>) -> Self {
        InputError::Field {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// An error about `file` as a whole; the message is kept to its first line.
    pub fn file(file: &str, message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        InputError::File {
            file: file.to_owned(),
            message: message.lines().next().unwrap_or_default().to_owned(),
        }
    }
}

/// Reads `path` as text, or an error naming it.
pub fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|error| InputError::file(&display(path), error))
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A rate or parameter must be a finite number, not below zero.
pub fn check_non_negative(value: f64) -> Result<f64, String> {
    if value.is_nan() {
        Err("is not a number".into())
    } else if !value.is_finite() {
        Err(format!("`{value}` is not finite"))
    } else if value < 0.0 {
        Err(format!("`{value}` is negative"))
    } else {
        Ok(value)
    }
}
