//! The domain: a user, the id rule, and what a lookup can end in.

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
