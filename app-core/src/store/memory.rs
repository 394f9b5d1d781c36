//! The embedded store: users held in memory, loaded from JSON.
//!
//! By default it serves the sample data set compiled into the binary (`app-core/data/users.json`),
//! so the service runs anywhere with no set-up; `USERS_FILE` swaps in another file of the same shape.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use thiserror::Error;

use super::{StoreError, UserRepository};
use crate::domain::{User, UserId};

/// The sample users that ship with the service.
pub const SAMPLE_USERS_JSON: &str = include_str!("../../data/users.json");

/// Users kept in a hash map, read-only after loading.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    users: HashMap<UserId, User>,
}

/// A users file that could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The text is not a JSON array of users (or an id breaks the id rule).
    #[error("not a JSON array of users: {0}")]
    Parse(#[from] serde_json::Error),
    /// Two users share an id.
    #[error("user id {0} appears more than once")]
    DuplicateId(UserId),
}

impl MemoryStore {
    /// The sample users compiled into the binary.
    pub fn sample() -> Self {
        Self::from_json(SAMPLE_USERS_JSON).expect("the bundled sample users are valid")
    }

    /// Loads users from a JSON file: an array of `{"id","name","email","createdAt"}` objects.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Loads users from JSON text of the same shape as [`MemoryStore::from_file`].
    pub fn from_json(json: &str) -> Result<Self, LoadError> {
        let list: Vec<User> = serde_json::from_str(json)?;
        Self::from_users(list)
    }

    /// Builds the store from users; ids must be unique.
    pub fn from_users(list: impl IntoIterator<Item = User>) -> Result<Self, LoadError> {
        let mut users = HashMap::new();
        for user in list {
            if let Some(dup) = users.insert(user.id.clone(), user) {
                return Err(LoadError::DuplicateId(dup.id));
            }
        }
        Ok(Self { users })
    }

    /// Every user in the store, in no particular order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.get(id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> UserId {
        UserId::parse(raw).unwrap()
    }

    #[tokio::test]
    async fn the_sample_holds_ada_lovelace_as_u_1() {
        let store = MemoryStore::sample();

        let ada = store.get(&id("u-1")).await.unwrap().unwrap();

        assert_eq!(ada.name, "Ada Lovelace");
        assert_eq!(ada.email, "ada@example.com");
        assert_eq!(ada.created_at, "2024-01-15T09:30:00Z");
        assert!(store.get(&id("u-2")).await.unwrap().is_some());
        assert!(store.get(&id("u-3")).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_unknown_id_is_none_not_an_error() {
        assert_eq!(MemoryStore::sample().get(&id("nope")).await, Ok(None));
    }

    #[test]
    fn a_file_with_a_duplicate_id_is_refused() {
        let json = r#"[{"id":"a","name":"n","email":"e","createdAt":"t"},
                       {"id":"a","name":"m","email":"f","createdAt":"t"}]"#;
        assert!(matches!(
            MemoryStore::from_json(json),
            Err(LoadError::DuplicateId(dup)) if dup.as_str() == "a"
        ));
    }

    #[test]
    fn a_file_with_an_invalid_id_or_a_missing_field_is_refused() {
        let bad_id = r#"[{"id":"a b","name":"n","email":"e","createdAt":"t"}]"#;
        let missing = r#"[{"id":"a","name":"n","email":"e"}]"#;
        assert!(matches!(
            MemoryStore::from_json(bad_id),
            Err(LoadError::Parse(_))
        ));
        assert!(matches!(
            MemoryStore::from_json(missing),
            Err(LoadError::Parse(_))
        ));
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = MemoryStore::from_file(Path::new("/no/such/users.json")).unwrap_err();
        assert!(err.to_string().contains("/no/such/users.json"), "{err}");
    }

    #[test]
    fn a_file_of_the_documented_shape_loads() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), r#"[{"id":"x_1","name":"X","email":"x@example.com","createdAt":"2025-01-01T00:00:00Z"}]"#).unwrap();

        let store = MemoryStore::from_file(file.path()).unwrap();

        assert_eq!(store.users().count(), 1);
    }
}
