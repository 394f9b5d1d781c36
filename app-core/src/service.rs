//! The use case: look a user up by the id a caller typed.

use std::sync::Arc;

use crate::domain::{LookupError, User, UserId};
use crate::store::{StoreError, UserRepository};
use crate::telemetry::Handles;
use crate::telemetry::metric::STORE_LOOKUPS;

/// Looks users up: checks the id rule, asks the store, and turns store failures into [`LookupError`]s.
///
/// Cheap to clone; every clone shares the one store.
#[derive(Clone)]
pub struct UserService {
    repo: Arc<dyn UserRepository>,
    /// The lookup counter, by outcome (four of them).
    lookups: Arc<Handles<&'static str, metrics::Counter, 4>>,
}

impl UserService {
    /// A service over `repo`.
    pub fn new(repo: Arc<dyn UserRepository>) -> Self {
        Self {
            repo,
            lookups: Arc::default(),
        }
    }

    /// The user with id `raw_id`, as it came from the caller (already percent-decoded).
    pub async fn get_user(&self, raw_id: &str) -> Result<Arc<User>, LookupError> {
        let id = UserId::parse(raw_id)?;
        let (outcome, result) = match self.repo.get(&id).await {
            Ok(Some(user)) => ("found", Ok(user)),
            Ok(None) => ("not_found", Err(LookupError::NotFound(id))),
            Err(StoreError::Unavailable(detail)) => {
                tracing::warn!(user_id = %id, error = %detail, "user store unavailable");
                ("unavailable", Err(LookupError::StoreUnavailable))
            }
            Err(StoreError::Failed(detail)) => {
                tracing::error!(user_id = %id, error = %detail, "user lookup failed");
                ("failed", Err(LookupError::Internal))
            }
        };
        self.lookups.with(
            outcome,
            || metrics::counter!(STORE_LOOKUPS, "outcome" => outcome),
            |counter| counter.increment(1),
        );
        result
    }

    /// Sets up the store's connection ahead of the first lookup (see [`UserRepository::connect`]).
    /// A store that cannot be reached now is no error: one warning is logged and the first lookup
    /// connects as it would have.
    pub async fn connect_store(&self) {
        if let Err(err) = self.repo.connect().await {
            tracing::warn!(error = %err, "user store not reachable at start-up; the first lookup will connect");
        }
    }
}

impl std::fmt::Debug for UserService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserService").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::store::memory::MemoryStore;

    /// A store that answers with a fixed result and counts how often it was asked.
    struct Scripted {
        answer: Result<Option<Arc<User>>, StoreError>,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl UserRepository for Scripted {
        async fn get(&self, _id: &UserId) -> Result<Option<Arc<User>>, StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answer.clone()
        }
    }

    fn scripted(answer: Result<Option<Arc<User>>, StoreError>) -> (UserService, Arc<Scripted>) {
        let store = Arc::new(Scripted {
            answer,
            calls: AtomicUsize::new(0),
        });
        (UserService::new(store.clone()), store)
    }

    #[tokio::test]
    async fn a_known_id_returns_the_user() {
        let service = UserService::new(Arc::new(MemoryStore::sample()));

        let user = service.get_user("u-1").await.unwrap();

        assert_eq!(user.name, "Ada Lovelace");
    }

    #[tokio::test]
    async fn an_unknown_id_is_not_found() {
        let service = UserService::new(Arc::new(MemoryStore::sample()));

        let err = service.get_user("nope").await.unwrap_err();

        assert_eq!(err, LookupError::NotFound(UserId::parse("nope").unwrap()));
    }

    #[tokio::test]
    async fn an_invalid_id_is_refused_without_asking_the_store() {
        let (service, store) = scripted(Ok(None));

        let err = service.get_user("not valid!").await.unwrap_err();

        assert!(matches!(err, LookupError::InvalidId(_)));
        assert_eq!(store.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_unavailable_store_is_store_unavailable() {
        let (service, _) = scripted(Err(StoreError::Unavailable("timed out".into())));

        assert_eq!(
            service.get_user("u-1").await,
            Err(LookupError::StoreUnavailable)
        );
    }

    #[tokio::test]
    async fn any_other_store_failure_is_internal_and_keeps_its_detail_out_of_the_error() {
        let (service, _) = scripted(Err(StoreError::Failed("table Users: secret".into())));

        let err = service.get_user("u-1").await.unwrap_err();

        assert_eq!(err, LookupError::Internal);
        assert!(!err.to_string().contains("Users"));
    }
}
