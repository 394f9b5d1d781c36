//! The embedded store: users held in memory, loaded from JSON.
//!
//! By default it serves the sample data set compiled into the binary (`app-core/data/users.json`),
//! so the service runs anywhere with no set-up; `USERS_FILE` swaps in another file of the same shape.
//! [`WritableMemoryStore`] is the same store open for writes, so an import runs with no AWS at all.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use thiserror::Error;

use super::{StoreError, UserBatch, UserRepository, UserWriter};
use crate::domain::{User, UserId};

/// The sample users that ship with the service.
pub const SAMPLE_USERS_JSON: &str = include_str!("../../data/users.json");

/// Users kept in a hash map, read-only after loading. Each is held in an `Arc`, so a lookup hands
/// it out without copying it.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    users: HashMap<UserId, Arc<User>>,
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
            if let Some(dup) = users.insert(user.id.clone(), Arc::new(user)) {
                return Err(LoadError::DuplicateId(dup.id.clone()));
            }
        }
        Ok(Self { users })
    }

    /// Every user in the store, in no particular order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values().map(|user| &**user)
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn get(&self, id: &UserId) -> Result<Option<Arc<User>>, StoreError> {
        Ok(self.users.get(id).cloned())
    }
}

/// The embedded store open for writes: lookups and imports in one process share it (a demo, or an
/// import run to check a file with no AWS). The read-only [`MemoryStore`] the binaries serve by
/// default takes no lock; this one takes a read lock per lookup.
#[derive(Debug, Default)]
pub struct WritableMemoryStore {
    inner: RwLock<HashMap<UserId, Arc<User>>>,
}

impl WritableMemoryStore {
    /// A writable store holding the users of `store`.
    pub fn new(store: MemoryStore) -> Self {
        Self {
            inner: RwLock::new(store.users),
        }
    }

    /// A copy of what the store holds now.
    pub fn snapshot(&self) -> MemoryStore {
        MemoryStore {
            users: self.read().clone(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<UserId, Arc<User>>> {
        // A panic while writing leaves whole users in the map (each insert is one call): go on.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl UserRepository for WritableMemoryStore {
    async fn get(&self, id: &UserId) -> Result<Option<Arc<User>>, StoreError> {
        Ok(self.read().get(id).cloned())
    }
}

#[async_trait]
impl UserWriter for WritableMemoryStore {
    async fn put_batch(&self, batch: &UserBatch) -> Result<(), StoreError> {
        let mut users = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for user in batch.users() {
            users.insert(user.id.clone(), Arc::new(user.clone()));
        }
        Ok(())
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

    #[tokio::test]
    async fn a_written_batch_is_served_and_replaces_users_with_the_same_id() {
        let store = WritableMemoryStore::new(MemoryStore::sample());
        let mut batch = UserBatch::new();
        let renamed = User {
            name: "Augusta Ada King".into(),
            ..User::clone(&store.get(&id("u-1")).await.unwrap().unwrap())
        };
        let new = User {
            id: id("u-9"),
            ..renamed.clone()
        };
        batch.push(renamed.clone()).unwrap();
        batch.push(new.clone()).unwrap();

        store.put_batch(&batch).await.unwrap();

        assert_eq!(store.get(&id("u-1")).await, Ok(Some(Arc::new(renamed))));
        assert_eq!(store.get(&id("u-9")).await, Ok(Some(Arc::new(new))));
        assert_eq!(store.snapshot().users().count(), 4);
    }
}
