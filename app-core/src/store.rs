//! The `UserRepository` port and its two adapters.
//!
//! - [`memory::MemoryStore`]: the embedded store, the default. Runs anywhere, needs no AWS.
//! - [`dynamodb::DynamoDbStore`]: `GetItem` on a DynamoDB table.

pub mod dynamodb;
pub mod memory;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::{User, UserId};

/// Where users are read from. One lookup by id; `Ok(None)` means there is no such user.
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Reads the user with this id.
    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError>;
}

/// A lookup that failed inside the store. The text is for logs only; it never reaches a response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Timed out, unreachable or throttled: the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a malformed item, a missing table, a refused request.
    #[error("store failed: {0}")]
    Failed(String),
}
