//! One line of the input judged: blank (skipped), a valid user, or rejected with one code.

use std::collections::HashSet;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::report::RejectCode;
use crate::domain::{InvalidUser, User};

/// What one line of the input is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Empty or only whitespace: skipped, neither imported nor rejected.
    Blank,
    /// A valid user.
    Row(User),
    /// Rejected, with the reason.
    Rejected(RejectCode),
}

/// The fields a row must have, in the order their rules are checked.
const FIELDS: [&str; 4] = ["id", "name", "email", "createdAt"];

/// Judges one line (without its line break). Checks, in order: UTF-8 and a JSON object
/// (`INVALID_JSON`), no key twice in that object (`DUPLICATE_KEY`: parsers disagree on which one
/// counts), the four fields present and not `null` (`MISSING_FIELD`), then each field's rule in the
/// order id, name, email, createdAt. Extra fields are ignored.
pub(crate) fn judge(line: &[u8]) -> Verdict {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Blank;
    }
    match row(line) {
        Ok(user) => Verdict::Row(user),
        Err(code) => Verdict::Rejected(code),
    }
}

fn row(line: &[u8]) -> Result<User, RejectCode> {
    let text = std::str::from_utf8(line).map_err(|_| RejectCode::InvalidJson)?;
    let top: TopLevel = serde_json::from_str(text).map_err(|_| RejectCode::InvalidJson)?;
    if top.duplicate_key {
        return Err(RejectCode::DuplicateKey);
    }
    let fields = top.fields;
    // A field of another JSON type than string breaks its own rule: it stands in as "", which every
    // field rule refuses, so the first broken rule in field order still decides the code.
    let mut values = [""; 4];
    for (slot, field) in values.iter_mut().zip(&fields) {
        match field {
            None | Some(Value::Null) => return Err(RejectCode::MissingField),
            Some(Value::String(value)) => *slot = value,
            Some(_) => {}
        }
    }
    let [id, name, email, created_at] = values;
    User::new(id, name, email, created_at).map_err(|invalid| match invalid {
        InvalidUser::Id(_) => RejectCode::InvalidUserId,
        InvalidUser::Name => RejectCode::InvalidName,
        InvalidUser::Email => RejectCode::InvalidEmail,
        InvalidUser::CreatedAt => RejectCode::InvalidTimestamp,
    })
}

/// A line's JSON object: the values of [`FIELDS`] (the others are read through, not kept), and
/// whether some key appears twice. Anything but an object is an error.
struct TopLevel {
    fields: [Option<Value>; 4],
    duplicate_key: bool,
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut fields: [Option<Value>; 4] = Default::default();
        let mut seen = HashSet::new();
        let mut duplicate = false;
        // Read to the end even after a duplicate, so that a line that is not JSON stays INVALID_JSON.
        while let Some(key) = map.next_key::<String>()? {
            match FIELDS.iter().position(|field| *field == key) {
                Some(at) if !duplicate => fields[at] = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            duplicate |= !seen.insert(key);
        }
        Ok(TopLevel {
            fields,
            duplicate_key: duplicate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}"#;

    fn verdict(line: &str) -> Verdict {
        judge(line.as_bytes())
    }

    #[test]
    fn a_valid_line_is_the_user_with_extra_fields_ignored() {
        let with_extra =
            r#"{"createdAt":"2024-01-15T09:30:00Z","extra":{"nested":[1,2]},"id":"u-1",
            "name":"Ada Lovelace","email":"ada@example.com","role":null}"#
                .replace('\n', "");

        for line in [VALID, &with_extra] {
            let Verdict::Row(user) = verdict(line) else {
                panic!("{line} should be a row");
            };
            assert_eq!(
                serde_json::to_string(&user).unwrap(),
                VALID,
                "only the four fields are kept"
            );
        }
    }

    #[test]
    fn each_broken_rule_gets_its_code() {
        let cases: &[(&str, RejectCode)] = &[
            ("not json", RejectCode::InvalidJson),
            (r#"{"id":"u-1""#, RejectCode::InvalidJson),
            (
                r#"["u-1","Ada","ada@example.com","2024-01-15T09:30:00Z"]"#,
                RejectCode::InvalidJson,
            ),
            (r#""a string""#, RejectCode::InvalidJson),
            ("42", RejectCode::InvalidJson),
            ("null", RejectCode::InvalidJson),
            (
                r#"{"name":"Ada","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::MissingField,
            ),
            (
                r#"{"id":"u-1","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::MissingField,
            ),
            (
                r#"{"id":"u-1","name":"Ada","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::MissingField,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"a@b.c"}"#,
                RejectCode::MissingField,
            ),
            (
                r#"{"id":"u-1","name":null,"email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::MissingField,
            ),
            // A missing field is reported before a broken rule in another field.
            (
                r#"{"id":"bad id","name":"Ada","email":"a@b.c"}"#,
                RejectCode::MissingField,
            ),
            (
                r#"{"id":"u 1","name":"Ada","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidUserId,
            ),
            (
                r#"{"id":7,"name":"Ada","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidUserId,
            ),
            (
                r#"{"id":"u-1","name":"   ","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidName,
            ),
            (
                r#"{"id":"u-1","name":["Ada"],"email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidName,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"ada.example.com","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidEmail,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"a@b.c","createdAt":"15/01/2024"}"#,
                RejectCode::InvalidTimestamp,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"a@b.c","createdAt":1705311000}"#,
                RejectCode::InvalidTimestamp,
            ),
            // The first broken rule in field order decides, whatever the type of the later fields.
            (
                r#"{"id":"u 1","name":5,"email":5,"createdAt":5}"#,
                RejectCode::InvalidUserId,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":true,"createdAt":"never"}"#,
                RejectCode::InvalidEmail,
            ),
            // A key twice: whichever a reader takes, another reader may take the other.
            (
                r#"{"id":"x","id":"u-1","name":"Ada","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::DuplicateKey,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z","x":1,"x":2}"#,
                RejectCode::DuplicateKey,
            ),
            (r#"{"id":"u-1","id":"u-1"}"#, RejectCode::DuplicateKey),
            // Not JSON after a duplicate is still not JSON.
            (r#"{"id":"u-1","id":"u-1","#, RejectCode::InvalidJson),
            (
                r#"{"id":"u-1","name":"Ada\u0000","email":"a@b.c","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidName,
            ),
            (
                r#"{"id":"u-1","name":"Ada","email":"a b\n@c.d","createdAt":"2024-01-15T09:30:00Z"}"#,
                RejectCode::InvalidEmail,
            ),
        ];
        for (line, code) in cases {
            assert_eq!(verdict(line), Verdict::Rejected(*code), "{line}");
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_is_invalid_json() {
        let mut line = VALID.as_bytes().to_vec();
        let at = line.iter().position(|&b| b == b'A').unwrap();
        line[at] = 0xFF;

        assert_eq!(judge(&line), Verdict::Rejected(RejectCode::InvalidJson));
    }

    #[test]
    fn empty_and_whitespace_lines_are_blank() {
        for line in ["", " ", "\t", " \t \r", "\x0c"] {
            assert_eq!(verdict(line), Verdict::Blank, "{line:?}");
        }
    }
}
