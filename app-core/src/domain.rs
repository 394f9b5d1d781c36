//! The domain: a user, the rules a user's fields follow, and what a lookup can end in.

use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The longest id the rule accepts, in characters.
pub const MAX_USER_ID_LEN: usize = 64;

/// A user id that satisfies the id rule: 1 to 64 characters, each from `A-Z a-z 0-9 - _`.
///
/// The only ways to get one are [`UserId::parse`] and deserialisation, which both enforce the rule,
/// so a store never sees an id that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

/// The id broke the id rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a user id is 1 to 64 characters, each a letter, a digit, '-' or '_'")]
pub struct InvalidUserId;

impl UserId {
    /// Checks `raw` against the id rule.
    pub fn parse(raw: &str) -> Result<Self, InvalidUserId> {
        let valid_len = (1..=MAX_USER_ID_LEN).contains(&raw.len());
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid_len && valid_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidUserId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = InvalidUserId;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id rule as a regular expression, for the API description.
pub const USER_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// A user, as every store holds it and as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,64}$", example = "u-1")]
    pub id: UserId,
    /// Display name.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// Contact e-mail address.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// When the user was created, as an RFC 3339 UTC timestamp (`2024-01-15T09:30:00Z`).
    #[schema(example = "2024-01-15T09:30:00Z")]
    pub created_at: String,
}

/// The longest name the name rule accepts, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// The longest e-mail address the e-mail rule accepts, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The first rule a would-be user breaks, checking the fields in the order id, name, email, createdAt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InvalidUser {
    /// The id breaks the id rule.
    #[error(transparent)]
    Id(#[from] InvalidUserId),
    /// The name is blank, longer than [`MAX_NAME_CHARS`] or holds an invisible control or format
    /// character (see [`User::new`]).
    #[error("a name is at most 256 characters, not blank, without control or format characters")]
    Name,
    /// The e-mail address breaks the e-mail rule (see [`User::new`]).
    #[error(
        "an e-mail address is at most 254 characters with exactly one '@', text before it, a domain \
         with a dot after it, and no white space, control or format characters"
    )]
    Email,
    /// `createdAt` is not an RFC 3339 timestamp.
    #[error("createdAt is an RFC 3339 timestamp such as 2024-01-15T09:30:00Z")]
    CreatedAt,
}

impl User {
    /// A user from its fields, checked against the domain's rules:
    /// - `id`: the id rule;
    /// - `name`: normalised to NFC, then not blank (after trimming), at most 256 characters, and no
    ///   control (Unicode category Cc) or format (Cf) character, except a zero-width joiner or
    ///   non-joiner (U+200D, U+200C) between two visible characters, where Persian, Indic and emoji
    ///   text needs them;
    /// - `email`: at most 254 characters, exactly one `@` with text before it, a domain after it with
    ///   at least one dot and no empty label (`a@b.c`, not `a@b`, `a@.b` or `a@b..c`), and no white
    ///   space, Cc or Cf character; kept as given;
    /// - `created_at`: an RFC 3339 timestamp, kept as given.
    pub fn new(id: &str, name: &str, email: &str, created_at: &str) -> Result<Self, InvalidUser> {
        let id = UserId::parse(id)?;
        let name = ComposingNormalizerBorrowed::new_nfc()
            .normalize(name)
            .into_owned();
        if name.trim().is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || !is_visible_text(&name)
        {
            return Err(InvalidUser::Name);
        }
        if !is_valid_email(email) {
            return Err(InvalidUser::Email);
        }
        if time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .is_err()
        {
            return Err(InvalidUser::CreatedAt);
        }
        Ok(Self {
            id,
            name,
            email: email.to_owned(),
            created_at: created_at.to_owned(),
        })
    }
}

/// True for a control (Cc: C0, DEL, C1) or format (Cf: bidirectional overrides, zero-width space,
/// soft hyphen, byte-order mark, tags, ...) character: invisible, or able to reorder or hide the text
/// around it.
pub fn is_control_or_format(c: char) -> bool {
    matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// No Cc or Cf character, except a zero-width (non-)joiner with a visible character on each side.
fn is_visible_text(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let visible = |c: &char| !c.is_whitespace() && !is_control_or_format(*c);
    chars.iter().enumerate().all(|(at, &c)| {
        if !is_control_or_format(c) {
            return true;
        }
        let joiner = matches!(c, '\u{200C}' | '\u{200D}');
        let before = at.checked_sub(1).and_then(|i| chars.get(i));
        let after = chars.get(at + 1);
        joiner && before.is_some_and(visible) && after.is_some_and(visible)
    })
}

fn is_valid_email(email: &str) -> bool {
    let plain = email
        .chars()
        .all(|c| !c.is_whitespace() && !is_control_or_format(c));
    plain
        && email.chars().count() <= MAX_EMAIL_CHARS
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && domain.split('.').all(|label| !label.is_empty()))
}

/// Why a lookup did not return a user. Each variant is one answer of the HTTP contract.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LookupError {
    /// The id broke the id rule; the store was not asked.
    #[error(transparent)]
    InvalidId(#[from] InvalidUserId),
    /// The store has no user with this id.
    #[error("user {0} was not found")]
    NotFound(UserId),
    /// The store timed out, could not be reached or throttled: worth retrying.
    #[error("the user store is unavailable")]
    StoreUnavailable,
    /// Anything else, e.g. a stored item that is missing an attribute. Details are logged, never returned.
    #[error("internal error")]
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ids_made_of_the_allowed_characters() {
        for ok in ["u-1", "A", "abc_DEF-123", &"x".repeat(MAX_USER_ID_LEN)] {
            assert_eq!(
                UserId::parse(ok).map(|id| id.to_string()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn rejects_ids_that_break_the_rule() {
        let too_long = "x".repeat(MAX_USER_ID_LEN + 1);
        for bad in [
            "", " ", "u 1", "u.1", "u/1", "..", "a\0b", "é", "u-1\n", "%41", "ü", &too_long,
        ] {
            assert_eq!(UserId::parse(bad), Err(InvalidUserId), "{bad:?}");
        }
    }

    #[test]
    fn length_counts_characters_so_multibyte_input_cannot_sneak_under_the_limit() {
        // 32 two-byte characters: 32 characters, 64 bytes, and none of them allowed.
        assert_eq!(UserId::parse(&"é".repeat(32)), Err(InvalidUserId));
    }

    #[test]
    fn the_documented_pattern_is_the_id_rule() {
        // The pattern in the API description must accept and refuse exactly what `parse` does.
        assert_eq!(
            USER_ID_PATTERN,
            format!("^[A-Za-z0-9_-]{{1,{MAX_USER_ID_LEN}}}$")
        );
    }

    #[test]
    fn deserialising_a_user_enforces_the_id_rule() {
        let bad = r#"{"id":"no spaces","name":"n","email":"e","createdAt":"t"}"#;
        assert!(serde_json::from_str::<User>(bad).is_err());
    }

    #[test]
    fn a_user_from_valid_fields_keeps_them_as_given() {
        let user = User::new(
            "u-1",
            " Ada ",
            "ada@example.com",
            "2024-01-15T09:30:00+01:00",
        )
        .unwrap();

        assert_eq!(
            (user.id.as_str(), user.name.as_str(), user.email.as_str()),
            ("u-1", " Ada ", "ada@example.com")
        );
        assert_eq!(user.created_at, "2024-01-15T09:30:00+01:00");
    }

    #[test]
    fn each_field_rule_refuses_what_it_should_and_accepts_its_limits() {
        let ok = ("u-1", "Ada", "a@b.c", "2024-01-15T09:30:00Z");
        let name_at_limit = "é".repeat(MAX_NAME_CHARS);
        let name_over = "n".repeat(MAX_NAME_CHARS + 1);
        let email_at_limit = format!("{}@b.c", "a".repeat(MAX_EMAIL_CHARS - 4));
        let email_over = format!("{}@b.c", "a".repeat(MAX_EMAIL_CHARS - 3));
        type Fields<'a> = (&'a str, &'a str, &'a str, &'a str);
        let cases: &[(Fields, Result<(), InvalidUser>)] = &[
            (ok, Ok(())),
            (
                ("u 1", ok.1, ok.2, ok.3),
                Err(InvalidUser::Id(InvalidUserId)),
            ),
            ((ok.0, &name_at_limit, ok.2, ok.3), Ok(())),
            ((ok.0, &name_over, ok.2, ok.3), Err(InvalidUser::Name)),
            ((ok.0, "", ok.2, ok.3), Err(InvalidUser::Name)),
            ((ok.0, " \t ", ok.2, ok.3), Err(InvalidUser::Name)),
            ((ok.0, ok.1, &email_at_limit, ok.3), Ok(())),
            ((ok.0, ok.1, &email_over, ok.3), Err(InvalidUser::Email)),
            (
                (ok.0, ok.1, "ada.example.com", ok.3),
                Err(InvalidUser::Email),
            ),
            ((ok.0, ok.1, "a@b@c.d", ok.3), Err(InvalidUser::Email)),
            ((ok.0, ok.1, "@b.c", ok.3), Err(InvalidUser::Email)),
            ((ok.0, ok.1, "a@", ok.3), Err(InvalidUser::Email)),
            (
                (ok.0, ok.1, ok.2, "2024-01-15"),
                Err(InvalidUser::CreatedAt),
            ),
            (
                (ok.0, ok.1, ok.2, "2024-01-15 09:30:00"),
                Err(InvalidUser::CreatedAt),
            ),
            (
                (ok.0, ok.1, ok.2, "2024-13-15T09:30:00Z"),
                Err(InvalidUser::CreatedAt),
            ),
            ((ok.0, ok.1, ok.2, "yesterday"), Err(InvalidUser::CreatedAt)),
            ((ok.0, ok.1, ok.2, "2024-01-15T09:30:00.123-05:00"), Ok(())),
            // The first broken rule in field order wins.
            (("", "", "", ""), Err(InvalidUser::Id(InvalidUserId))),
            ((ok.0, "", "", ""), Err(InvalidUser::Name)),
        ];
        for ((id, name, email, created_at), expected) in cases {
            assert_eq!(
                User::new(id, name, email, created_at).map(|_| ()),
                *expected,
                "{id:?} {name:?} {email:?} {created_at:?}"
            );
        }
    }

    #[test]
    fn names_with_invisible_or_reordering_characters_are_refused() {
        let ok = ("u-1", "a@b.c", "2024-01-15T09:30:00Z");
        for name in [
            "Ada\0Lovelace",
            "Ada\u{1b}[31mLovelace",
            "Ada\nLovelace",
            "Ada\u{85}Lovelace",
            "Ada\u{7f}",
            "\u{202e}ecalevoL adA",
            "\u{200b}",
            "Ada\u{200b}",
            "\u{feff}Ada",
            "Ada\u{e0041}",
            "\u{200d}Ada",
            "Ada\u{200c}",
            "Ada \u{200c}Lovelace",
            "Ada\u{200c}\u{200d}Lovelace",
        ] {
            assert_eq!(
                User::new(ok.0, name, ok.1, ok.2).map(|_| ()),
                Err(InvalidUser::Name),
                "{name:?}"
            );
        }
        // A joiner between two visible characters is part of the text (Persian, emoji sequences).
        for name in [
            "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}",
            "\u{1F469}\u{200D}\u{1F4BB} Ada",
        ] {
            assert!(User::new(ok.0, name, ok.1, ok.2).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn a_name_is_stored_in_nfc_and_its_length_counted_after() {
        let decomposed = "Ame\u{301}lie";
        let user = User::new("u-1", decomposed, "a@b.c", "2024-01-15T09:30:00Z").unwrap();

        assert_eq!(user.name, "Am\u{e9}lie");
        // 256 decomposed é (512 characters) are 256 characters in NFC: at the limit, not over it.
        let long = "e\u{301}".repeat(MAX_NAME_CHARS);
        let user = User::new("u-1", &long, "a@b.c", "2024-01-15T09:30:00Z").unwrap();
        assert_eq!(user.name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn an_email_with_white_space_control_characters_or_no_dotted_domain_is_refused() {
        let ok = ("u-1", "Ada", "2024-01-15T09:30:00Z");
        for email in [
            "a b\n@c.d",
            "a b@c.d",
            "a@c.d\n",
            "\ta@c.d",
            "a\u{a0}b@c.d",
            "a\0@c.d",
            "a\u{202e}@c.d",
            "a\u{200b}@c.d",
            "a@b",
            "a@.b",
            "a@b.",
            "a@b..c",
        ] {
            assert_eq!(
                User::new(ok.0, ok.1, email, ok.2).map(|_| ()),
                Err(InvalidUser::Email),
                "{email:?}"
            );
        }
        for email in [
            "ada@example.com",
            "a.b+tag@sub.example.co.uk",
            "ü@exämple.de",
        ] {
            assert!(User::new(ok.0, ok.1, email, ok.2).is_ok(), "{email:?}");
        }
    }

    #[test]
    fn a_user_serialises_with_the_contract_field_names_in_order() {
        let user = User {
            id: UserId::parse("u-1").unwrap(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            created_at: "2024-01-15T09:30:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}"#
        );
    }
}
