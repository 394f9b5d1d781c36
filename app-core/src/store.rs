//! The store ports and their adapters.
//!
//! - [`UserRepository`]: where lookups read users. [`UserWriter`]: where an import writes them, a
//!   [`UserBatch`] at a time.
//! - [`memory::MemoryStore`]: the embedded store, the default. Runs anywhere, needs no AWS;
//!   [`memory::WritableMemoryStore`] is the same store open for imports.
//! - [`dynamodb::DynamoDbStore`]: `GetItem` and `BatchWriteItem` on a DynamoDB table.

pub mod batch;
pub mod dynamodb;
pub mod memory;
mod settings;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

pub use self::batch::UserBatch;
pub use self::settings::StoreSettings;
pub(crate) use self::settings::{store_timeout, table_name};
use crate::aws::AwsError;
use crate::domain::{User, UserId};

/// Where users are read from. One lookup by id; `Ok(None)` means there is no such user.
///
/// A user comes back shared (`Arc`): the embedded store hands out the user it holds without copying
/// its strings on every lookup.
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Reads the user with this id.
    async fn get(&self, id: &UserId) -> Result<Option<Arc<User>>, StoreError>;

    /// Sets up what the first lookup would otherwise pay for (a network store's connection, TLS
    /// handshake and first signed call), with the permissions lookups already use. The default has
    /// nothing to set up.
    async fn connect(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Where users are written to.
#[async_trait]
pub trait UserWriter: Send + Sync + 'static {
    /// Writes every user of `batch`, each replacing any stored user with the same id. `Ok` only once
    /// all of them are written; after an error some of them may be written (writing them again is
    /// harmless).
    async fn put_batch(&self, batch: &UserBatch) -> Result<(), StoreError>;
}

/// A call that failed inside a user store. The text is for logs only; it never reaches a response
/// or a report.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Timed out, unreachable or throttled: the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a malformed item, a missing table, a refused request.
    #[error("store failed: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<AwsError> for StoreError {
    fn from(err: AwsError) -> Self {
        match err {
            AwsError::Unavailable(detail) => Self::Unavailable(detail),
            AwsError::Failed(detail) => Self::Failed(detail),
        }
    }
}
