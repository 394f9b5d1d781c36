//! The cross-target suite: one test binary, so one DynamoDB Local serves every test in it.
//!
//! - `parity`: one table of cases, sent to `k8s-server` over TCP and to `lambda-fn` through five event
//!   sources, on both stores; every answer must match.
//! - `dynamodb_store`: the DynamoDB adapter against a real DynamoDB (DynamoDB Local).

mod dynamodb_store;
mod parity;

use std::sync::Arc;
use std::time::Duration;

use app_core::service::UserService;
use app_core::store::dynamodb::DynamoDbStore;
use app_core::store::memory::MemoryStore;
use testkit::dynamodb_local::DynamoDbLocal;

/// The store timeout the tests give the DynamoDB store.
const STORE_TIMEOUT: Duration = Duration::from_millis(1000);

/// The service on the embedded store with the bundled sample users.
fn memory_service() -> UserService {
    UserService::new(Arc::new(MemoryStore::sample()))
}

/// The service on a fresh DynamoDB Local table seeded with the same sample users.
async fn dynamodb_service() -> UserService {
    let local = DynamoDbLocal::shared();
    let table = local.create_table("users").await;
    local.put_users(&table, MemoryStore::sample().users()).await;
    let store = DynamoDbStore::from_sdk_config(&local.sdk_config(STORE_TIMEOUT).await, table);
    UserService::new(Arc::new(store))
}
