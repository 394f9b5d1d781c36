//! The import's report, as JSON: what was written, which lines were refused and why, and where to go on.

use serde::{Deserialize, Serialize};

/// The most rejected lines a report lists; `rejectedTotal` counts them all.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// Why a line was not imported. Serialised as `INVALID_JSON`, `MISSING_FIELD`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectCode {
    /// Not UTF-8, not JSON, or JSON that is not an object.
    InvalidJson,
    /// The object names a key twice (`{"id":"x","id":"u-1",...}`): readers disagree on which counts.
    DuplicateKey,
    /// `id`, `name`, `email` or `createdAt` is absent or `null`.
    MissingField,
    /// `id` is not a string or breaks the id rule.
    InvalidUserId,
    /// `name` is not a string, is blank, is longer than 256 characters (in NFC) or holds a control
    /// or format character.
    InvalidName,
    /// `email` is not a string or breaks the e-mail rule (one `@`, a dotted domain, no white space,
    /// control or format character).
    InvalidEmail,
    /// `createdAt` is not an RFC 3339 timestamp string.
    InvalidTimestamp,
    /// The line is longer than 64 KiB.
    LineTooLong,
}

/// One rejected line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The line's number, counting from 1 (blank lines count).
    pub line: u64,
    /// Why it was rejected.
    pub code: RejectCode,
}

/// A problem with the input as a whole. Serialised as `OBJECT_NOT_FOUND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportError {
    /// There is no object at the source location.
    ObjectNotFound,
}

/// The result of one import run:
/// `{"source","imported","rejected":[{"line","code"}],"rejectedTotal","complete","nextLine","error"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The input, `s3://BUCKET/KEY`.
    pub source: String,
    /// Valid rows written (a row that a later row with the same id replaced within one request counts:
    /// it was applied, as a single put would have been).
    pub imported: u64,
    /// The first [`MAX_LISTED_REJECTIONS`] rejected lines, in line order.
    pub rejected: Vec<Rejection>,
    /// Every rejected line.
    pub rejected_total: u64,
    /// True when every line from the starting line to the end was processed.
    pub complete: bool,
    /// When `complete` is false because the run stopped early: the first line not processed, where a
    /// later run continues (`--from-line`). `null` otherwise.
    pub next_line: Option<u64>,
    /// A problem with the input as a whole; `null` when the object was read.
    pub error: Option<ReportError>,
}

impl ImportReport {
    /// The report of a run that has not processed a line yet.
    pub(crate) fn started(source: String) -> Self {
        Self {
            source,
            imported: 0,
            rejected: Vec::new(),
            rejected_total: 0,
            complete: false,
            next_line: None,
            error: None,
        }
    }

    /// The report for a source that does not exist: nothing imported, not complete, no line to go on
    /// from.
    pub fn object_not_found(source: String) -> Self {
        Self {
            error: Some(ReportError::ObjectNotFound),
            ..Self::started(source)
        }
    }

    pub(crate) fn reject(&mut self, line: u64, code: RejectCode) {
        self.rejected_total += 1;
        if self.rejected.len() < MAX_LISTED_REJECTIONS {
            self.rejected.push(Rejection { line, code });
        }
    }

    /// The report as the JSON document written beside the input.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json =
            serde_json::to_vec(self).expect("a report is plain data and always serialises");
        json.push(b'\n');
        json
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_report_has_the_documented_shape_and_field_order() {
        let mut report = ImportReport::started("s3://bkt/imports/a.jsonl".into());
        report.imported = 2;
        report.reject(3, RejectCode::InvalidEmail);
        report.reject(7, RejectCode::LineTooLong);
        report.next_line = Some(9);

        let text = String::from_utf8(report.to_json()).unwrap();

        assert_eq!(
            text,
            concat!(
                r#"{"source":"s3://bkt/imports/a.jsonl","imported":2,"#,
                r#""rejected":[{"line":3,"code":"INVALID_EMAIL"},{"line":7,"code":"LINE_TOO_LONG"}],"#,
                r#""rejectedTotal":2,"complete":false,"nextLine":9,"error":null}"#,
                "\n"
            )
        );
        let back: ImportReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn every_code_has_its_documented_name() {
        let codes = [
            RejectCode::InvalidJson,
            RejectCode::DuplicateKey,
            RejectCode::MissingField,
            RejectCode::InvalidUserId,
            RejectCode::InvalidName,
            RejectCode::InvalidEmail,
            RejectCode::InvalidTimestamp,
            RejectCode::LineTooLong,
        ];
        assert_eq!(
            serde_json::to_value(codes).unwrap(),
            json!([
                "INVALID_JSON",
                "DUPLICATE_KEY",
                "MISSING_FIELD",
                "INVALID_USER_ID",
                "INVALID_NAME",
                "INVALID_EMAIL",
                "INVALID_TIMESTAMP",
                "LINE_TOO_LONG"
            ])
        );
    }

    #[test]
    fn a_missing_object_is_reported_with_object_not_found() {
        let report = ImportReport::object_not_found("s3://bkt/imports/none.jsonl".into());

        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({"source":"s3://bkt/imports/none.jsonl","imported":0,"rejected":[],
                   "rejectedTotal":0,"complete":false,"nextLine":null,"error":"OBJECT_NOT_FOUND"})
        );
    }

    #[test]
    fn only_the_first_thousand_rejections_are_listed_but_all_are_counted() {
        let mut report = ImportReport::started("s3://bkt/imports/a.jsonl".into());
        for line in 1..=2_500 {
            report.reject(line, RejectCode::InvalidJson);
        }

        assert_eq!(report.rejected.len(), MAX_LISTED_REJECTIONS);
        assert_eq!(report.rejected.last().map(|r| r.line), Some(1_000));
        assert_eq!(report.rejected_total, 2_500);
    }
}
