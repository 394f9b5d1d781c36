//! Where import files come from and where their reports go: the [`ObjectStore`] port, object
//! locations (`s3://BUCKET/KEY`) and the rule that places a report beside its input.
//!
//! - [`s3::S3ObjectStore`]: Amazon S3 (or any endpoint speaking its API), on the service's SDK settings.
//! - [`local::LocalObjectStore`]: a folder on disk, one sub-folder per bucket: the import with no AWS.

pub mod local;
pub mod s3;

use std::fmt;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::str::FromStr;

use async_trait::async_trait;
use thiserror::Error;
use tokio::io::AsyncBufRead;

use crate::aws::AwsError;

/// An object's content, read as a stream.
pub type ObjectReader = Pin<Box<dyn AsyncBufRead + Send>>;

/// Objects by bucket and key.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Opens the object for streaming; `Ok(None)` when there is no such object. An error while the
    /// stream is read later comes out of the reader as an `io::Error`.
    async fn open(&self, location: &ObjectLocation) -> Result<Option<ObjectReader>, ObjectError>;

    /// Writes `json` as the object at `location` (content type `application/json`), replacing it.
    async fn put_json(&self, location: &ObjectLocation, json: Vec<u8>) -> Result<(), ObjectError>;
}

/// A call that failed inside an object store. The text is for logs only; it never reaches a report.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ObjectError {
    /// Timed out, unreachable or throttled: the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a missing bucket, a refused request, a file that cannot be written.
    #[error("store failed: {0}")]
    Failed(String),
}

impl ObjectError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<AwsError> for ObjectError {
    fn from(err: AwsError) -> Self {
        match err {
            AwsError::Unavailable(detail) => Self::Unavailable(detail),
            AwsError::Failed(detail) => Self::Failed(detail),
        }
    }
}

/// Keys the import reads start with this.
pub const IMPORTS_PREFIX: &str = "imports/";
/// Reports are written under this prefix, at the input's key with [`REPORT_SUFFIX`] appended.
pub const REPORTS_PREFIX: &str = "reports/";
/// Appended to the input's key to make the report's.
pub const REPORT_SUFFIX: &str = ".json";
/// The longest S3 object key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The longest key under `imports/` that has a report beside it (from line 1), in bytes: 1,011.
pub const MAX_IMPORT_KEY_BYTES: usize = MAX_KEY_BYTES - REPORTS_PREFIX.len() - REPORT_SUFFIX.len();

/// A bucket and a key: an object, written `s3://BUCKET/KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectLocation {
    bucket: String,
    key: String,
}

/// A bucket or key that cannot name an object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidLocation {
    /// Not of the form `s3://BUCKET/KEY`.
    #[error("expected s3://BUCKET/KEY")]
    NotAnS3Uri,
    /// The bucket name breaks S3's naming rule.
    #[error(
        "a bucket name is 3 to 63 characters from a-z 0-9 . -, starting and ending with a letter or digit"
    )]
    Bucket,
    /// The key is empty or longer than 1024 bytes.
    #[error("an object key is 1 to 1024 bytes")]
    Key,
    /// The key holds a control character (U+0000 to U+001F, U+007F to U+009F): such a key could
    /// forge a log line, and no import file needs one.
    #[error("an object key to import has no control characters (such as a line break)")]
    KeyControl,
    /// A key from an S3 event that does not decode to UTF-8 text.
    #[error("the event's object key is not valid URL-encoded UTF-8")]
    KeyEncoding,
}

impl ObjectLocation {
    /// The object `key` in `bucket`, both as they are (no decoding). A key with a control character
    /// is refused, so a location is safe to write into a log line as it is.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Result<Self, InvalidLocation> {
        let (bucket, key) = (bucket.into(), key.into());
        if !is_valid_bucket(&bucket) {
            return Err(InvalidLocation::Bucket);
        }
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(InvalidLocation::Key);
        }
        if key.chars().any(char::is_control) {
            return Err(InvalidLocation::KeyControl);
        }
        Ok(Self { bucket, key })
    }

    /// Parses `s3://BUCKET/KEY`. Everything after the first `/` past the bucket is the key, taken
    /// literally as the AWS CLI does: spaces, `+`, `%` and any Unicode are part of it.
    pub fn parse_uri(uri: &str) -> Result<Self, InvalidLocation> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or(InvalidLocation::NotAnS3Uri)?;
        let (bucket, key) = rest.split_once('/').ok_or(InvalidLocation::NotAnS3Uri)?;
        Self::new(bucket, key)
    }

    /// The object an S3 event notification names: its key arrives URL-encoded (`+` for a space,
    /// `%XX` for other bytes) and is decoded here.
    pub fn from_event(bucket: &str, url_encoded_key: &str) -> Result<Self, InvalidLocation> {
        let plus_decoded = url_encoded_key.replace('+', " ");
        let key = percent_encoding::percent_decode_str(&plus_decoded)
            .decode_utf8()
            .map_err(|_| InvalidLocation::KeyEncoding)?;
        Self::new(bucket, key)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key, decoded.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the report of importing this object from line `from_line` goes, in the same bucket:
    /// - from line 1, `imports/2026/a.jsonl` → `reports/imports/2026/a.jsonl.json`;
    /// - from a later line N (`--from-line`), `reports/from-line-N/imports/2026/a.jsonl.json`: beside
    ///   the first part's report, which stays as it was (no other input's report can have that key,
    ///   since every input's key starts with `imports/`).
    ///
    /// [`NoReport::NotAnImport`] for a key outside `imports/` and for `imports/` itself (such an
    /// object is not imported: a trigger set too broadly then cannot loop on its own reports);
    /// [`NoReport::KeyTooLong`] when the report's key would pass S3's 1,024 bytes.
    pub fn report_location(&self, from_line: NonZeroU64) -> Result<Self, NoReport> {
        let name = self
            .key
            .strip_prefix(IMPORTS_PREFIX)
            .ok_or(NoReport::NotAnImport)?;
        if name.is_empty() {
            return Err(NoReport::NotAnImport);
        }
        let part = match from_line.get() {
            1 => String::new(),
            line => format!("from-line-{line}/"),
        };
        let key = format!("{REPORTS_PREFIX}{part}{}{REPORT_SUFFIX}", self.key);
        if key.len() > MAX_KEY_BYTES {
            return Err(NoReport::KeyTooLong {
                key_bytes: self.key.len(),
                max: MAX_KEY_BYTES - (key.len() - self.key.len()),
            });
        }
        Ok(Self {
            bucket: self.bucket.clone(),
            key,
        })
    }
}

/// Why an object has no report location, so is not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NoReport {
    /// The key is not under `imports/`: the object is skipped.
    #[error("not under imports/")]
    NotAnImport,
    /// The key is under `imports/` but too long for its report's key to stay within S3's limit.
    #[error(
        "the key is {key_bytes} bytes: its report's key would pass S3's limit of 1024 bytes \
         (keys to import are at most {max} bytes)"
    )]
    KeyTooLong {
        /// The input key's length in bytes.
        key_bytes: usize,
        /// The longest input key that has a report for this run.
        max: usize,
    },
}

impl fmt::Display for ObjectLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl FromStr for ObjectLocation {
    type Err = InvalidLocation;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        Self::parse_uri(uri)
    }
}

/// S3's rule for general-purpose bucket names.
fn is_valid_bucket(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bucket: &str, key: &str) -> ObjectLocation {
        ObjectLocation::new(bucket, key).unwrap()
    }

    #[test]
    fn an_s3_uri_is_bucket_then_the_literal_key() {
        for (uri, bucket, key) in [
            (
                "s3://b-1/imports/2026/a.jsonl",
                "b-1",
                "imports/2026/a.jsonl",
            ),
            (
                "s3://my.bucket/imports/with space+plus.jsonl",
                "my.bucket",
                "imports/with space+plus.jsonl",
            ),
            (
                "s3://bkt/imports/ünï cødé/%41.jsonl",
                "bkt",
                "imports/ünï cødé/%41.jsonl",
            ),
            ("s3://bkt/a//b/", "bkt", "a//b/"),
        ] {
            let location = ObjectLocation::parse_uri(uri).unwrap();

            assert_eq!((location.bucket(), location.key()), (bucket, key), "{uri}");
            assert_eq!(
                location.to_string(),
                uri,
                "{uri}: Display gives the URI back"
            );
            assert_eq!(uri.parse::<ObjectLocation>(), Ok(location));
        }
    }

    #[test]
    fn a_malformed_uri_says_what_is_wrong() {
        let long_key = format!("s3://bkt/{}", "k".repeat(MAX_KEY_BYTES + 1));
        for (uri, expected) in [
            ("bkt/key", InvalidLocation::NotAnS3Uri),
            ("https://bkt/key", InvalidLocation::NotAnS3Uri),
            ("s3://bkt", InvalidLocation::NotAnS3Uri),
            ("s3://bkt/", InvalidLocation::Key),
            (long_key.as_str(), InvalidLocation::Key),
            ("s3://Bucket/key", InvalidLocation::Bucket),
            ("s3://ab/key", InvalidLocation::Bucket),
            ("s3://-bkt/key", InvalidLocation::Bucket),
            ("s3://bkt_1/key", InvalidLocation::Bucket),
            ("s3:///key", InvalidLocation::Bucket),
        ] {
            assert_eq!(ObjectLocation::parse_uri(uri), Err(expected), "{uri}");
        }
    }

    #[test]
    fn an_event_key_is_url_decoded_with_plus_for_space() {
        for (encoded, key) in [
            ("imports/a.jsonl", "imports/a.jsonl"),
            ("imports/with+space.jsonl", "imports/with space.jsonl"),
            ("imports/a%2Bb.jsonl", "imports/a+b.jsonl"),
            ("imports/%C3%BCn%C3%AF.jsonl", "imports/ünï.jsonl"),
            ("imports/100%25.jsonl", "imports/100%.jsonl"),
        ] {
            assert_eq!(
                ObjectLocation::from_event("bkt", encoded).map(|l| l.key().to_owned()),
                Ok(key.to_owned()),
                "{encoded}"
            );
        }
        assert_eq!(
            ObjectLocation::from_event("bkt", "imports/%FF.jsonl"),
            Err(InvalidLocation::KeyEncoding)
        );
    }

    const FROM_1: NonZeroU64 = NonZeroU64::MIN;

    #[test]
    fn the_report_goes_under_reports_at_the_input_key_plus_json() {
        assert_eq!(
            at("bkt", "imports/2026/a.jsonl").report_location(FROM_1),
            Ok(at("bkt", "reports/imports/2026/a.jsonl.json"))
        );
        assert_eq!(
            at("bkt", "imports/with space+plus ü.jsonl").report_location(FROM_1),
            Ok(at("bkt", "reports/imports/with space+plus ü.jsonl.json"))
        );
    }

    #[test]
    fn a_continuation_has_its_own_report_key_that_no_input_can_have() {
        let from_51 = NonZeroU64::new(51).unwrap();
        assert_eq!(
            at("bkt", "imports/2026/a.jsonl").report_location(from_51),
            Ok(at("bkt", "reports/from-line-51/imports/2026/a.jsonl.json"))
        );
        // An input named like a continuation's report still has its own report key.
        assert_eq!(
            at("bkt", "imports/from-line-51/imports/2026/a.jsonl").report_location(FROM_1),
            Ok(at(
                "bkt",
                "reports/imports/from-line-51/imports/2026/a.jsonl.json"
            ))
        );
    }

    #[test]
    fn keys_outside_imports_have_no_report_so_they_are_skipped() {
        for key in [
            "reports/imports/a.jsonl.json",
            "a.jsonl",
            "Imports/a.jsonl",
            "imports",
            "imports/",
            "x/imports/a.jsonl",
        ] {
            assert_eq!(
                at("bkt", key).report_location(FROM_1),
                Err(NoReport::NotAnImport),
                "{key}"
            );
        }
    }

    #[test]
    fn a_key_too_long_for_its_report_is_refused_as_too_long_not_as_outside_imports() {
        let longest = format!("imports/{}", "k".repeat(MAX_IMPORT_KEY_BYTES - 8));
        assert_eq!(longest.len(), 1011);
        assert!(at("bkt", &longest).report_location(FROM_1).is_ok());
        for len in [1012, 1024] {
            let key = format!("imports/{}", "k".repeat(len - 8));
            let refused = at("bkt", &key).report_location(FROM_1);

            assert_eq!(
                refused,
                Err(NoReport::KeyTooLong {
                    key_bytes: len,
                    max: 1011
                })
            );
            let message = refused.unwrap_err().to_string();
            assert!(message.contains("at most 1011 bytes"), "{message}");
            assert!(!message.contains("not under"), "{message}");
        }
        let from_1000 = NonZeroU64::new(1000).unwrap();
        assert_eq!(
            at("bkt", &longest).report_location(from_1000),
            Err(NoReport::KeyTooLong {
                key_bytes: 1011,
                max: 1011 - "from-line-1000/".len()
            })
        );
    }

    #[test]
    fn a_key_with_a_control_character_names_no_object() {
        for key in [
            "imports/a\nINFO forged line.jsonl",
            "imports/a\r.jsonl",
            "imports/\u{1b}[2J.jsonl",
            "imports/a\u{85}.jsonl",
            "imports/a\0.jsonl",
        ] {
            assert_eq!(
                ObjectLocation::new("bkt", key),
                Err(InvalidLocation::KeyControl),
                "{key:?}"
            );
        }
        assert_eq!(
            ObjectLocation::from_event("bkt", "imports/a%0AINFO+forged.jsonl"),
            Err(InvalidLocation::KeyControl)
        );
        assert_eq!(
            ObjectLocation::parse_uri("s3://bkt/imports/a\nb.jsonl"),
            Err(InvalidLocation::KeyControl)
        );
    }
}
