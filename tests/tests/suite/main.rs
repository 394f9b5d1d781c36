//! The cross-target suite: one test binary, so one moto server serves every test in it (each test on
//! a table of its own).
//!
//! - `parity`: one table of cases, sent to `k8s-server` over TCP and to `lambda-fn` through five event
//!   sources, on both stores, and the authentication table with `AUTH=jwt`; every answer must match.
//! - `dynamodb_store`: the DynamoDB adapter against the moto emulator (what moto does differently
//!   from DynamoDB, and how the tests allow for it: `testkit::moto`).

mod dynamodb_store;
mod parity;

use std::sync::Arc;
use std::time::Duration;

use app_core::service::UserService;
use app_core::store::dynamodb::DynamoDbStore;
use app_core::store::memory::MemoryStore;
use testkit::moto::Moto;

/// The store timeout the tests give the DynamoDB store.
const STORE_TIMEOUT: Duration = Duration::from_millis(1000);

/// The service on the embedded store with the bundled sample users.
fn memory_service() -> UserService {
    UserService::new(Arc::new(MemoryStore::sample()))
}

/// The service on a fresh moto table seeded with the same sample users.
async fn dynamodb_service() -> UserService {
    let moto = Moto::shared();
    let table = moto.sample_table("users").await;
    let store = DynamoDbStore::from_sdk_config(&moto.sdk_config(STORE_TIMEOUT).await, table);
    UserService::new(Arc::new(store))
}
