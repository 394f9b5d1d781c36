//! The domain: a user, the rules a user's fields follow, and what a lookup can end in.

use std::fmt;

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
    /// The name is blank or longer than [`MAX_NAME_CHARS`].
    #[error("a name is at most 256 characters and not blank")]
    Name,
    /// The e-mail address is longer than [`MAX_EMAIL_CHARS`], or has not exactly one `@` with text on
    /// each side.
    #[error(
        "an e-mail address is at most 254 characters with exactly one '@' and text on each side"
    )]
    Email,
    /// `createdAt` is not an RFC 3339 timestamp.
    #[error("createdAt is an RFC 3339 timestamp such as 2024-01-15T09:30:00Z")]
    CreatedAt,
}

impl User {
    /// A user from its fields, checked against the domain's rules: the id rule; `name` not blank
    /// (after trimming) and at most 256 characters; `email` at most 254 characters with exactly one `@`
    /// and a non-empty part on each side; `created_at` an RFC 3339 timestamp. Values are kept as given.
    pub fn new(id: &str, name: &str, email: &str, created_at: &str) -> Result<Self, InvalidUser> {
        let id = UserId::parse(id)?;
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
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
            name: name.to_owned(),
            email: email.to_owned(),
            created_at: created_at.to_owned(),
        })
    }
}

fn is_valid_email(email: &str) -> bool {
    email.chars().count() <= MAX_EMAIL_CHARS
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
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
        let ok = ("u-1", "Ada", "a@b", "2024-01-15T09:30:00Z");
        let name_at_limit = "é".repeat(MAX_NAME_CHARS);
        let name_over = "n".repeat(MAX_NAME_CHARS + 1);
        let email_at_limit = format!("{}@b", "a".repeat(MAX_EMAIL_CHARS - 2));
        let email_over = format!("{}@b", "a".repeat(MAX_EMAIL_CHARS - 1));
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
            ((ok.0, ok.1, "a@b@c", ok.3), Err(InvalidUser::Email)),
            ((ok.0, ok.1, "@b", ok.3), Err(InvalidUser::Email)),
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
