//! The DynamoDB store against the moto emulator: found, not found, a malformed item, a missing table,
//! and an endpoint that is down. (Throttling and a 5xx, which no emulator produces, are unit tests in
//! `app-core` with the SDK's canned-response client.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_core::domain::{LookupError, UserId};
use app_core::service::UserService;
use app_core::store::dynamodb::DynamoDbStore;
use app_core::store::memory::MemoryStore;
use app_core::store::{StoreError, UserRepository};
use aws_sdk_dynamodb::types::AttributeValue;
use testkit::moto::{self, Moto};
use testkit::ports::free_port;
use testkit::server::TestServer;

use super::STORE_TIMEOUT;

fn id(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

async fn store_on(table: &str) -> DynamoDbStore {
    DynamoDbStore::from_sdk_config(&Moto::shared().sdk_config(STORE_TIMEOUT).await, table)
}

#[tokio::test]
async fn a_stored_user_is_found_as_written() {
    // GIVEN a table holding the sample users
    let table = Moto::shared().sample_table("found").await;
    let sample = MemoryStore::sample();
    let store = store_on(&table).await;

    // WHEN each is looked up
    for user in sample.users() {
        // THEN the store returns exactly what was written
        assert_eq!(store.get(&user.id).await, Ok(Some(Arc::new(user.clone()))));
    }
}

#[tokio::test]
async fn a_missing_user_is_none() {
    let table = Moto::shared().create_table("missing-user").await;

    let found = store_on(&table).await.get(&id("nope")).await;

    assert_eq!(found, Ok(None));
}

#[tokio::test]
async fn a_malformed_item_is_a_500_that_names_nothing_internal() {
    // GIVEN an item without an email
    let moto = Moto::shared();
    let table = moto.create_table("malformed").await;
    let item = HashMap::from([
        ("id".to_owned(), AttributeValue::S("broken".into())),
        ("name".to_owned(), AttributeValue::S("No Email".into())),
        (
            "createdAt".to_owned(),
            AttributeValue::S("2024-01-01T00:00:00Z".into()),
        ),
    ]);
    moto.client()
        .await
        .put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let store = store_on(&table).await;

    // WHEN it is read through the store and through the HTTP contract
    let from_store = store.get(&id("broken")).await;
    let server = TestServer::spawn(UserService::new(Arc::new(store))).await;
    let reply = server.send("GET", "/users/broken", &[]).await;

    // THEN the store reports a failure (not "not found"), and the answer is a bare 500 INTERNAL
    assert!(
        matches!(&from_store, Err(StoreError::Failed(detail)) if detail.contains("email")),
        "{from_store:?}"
    );
    assert_eq!(
        (reply.status, reply.error_code().as_deref()),
        (500, Some("INTERNAL"))
    );
    assert!(
        !reply.body.contains(&table) && !reply.body.contains("email"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_missing_table_is_internal_not_unavailable() {
    // moto answers ResourceNotFoundException (HTTP 400) for a table that does not exist in the
    // region, as the DynamoDB API reference documents for GetItem.
    let store = store_on("no-such-table").await;

    let result = store.get(&id("u-1")).await;
    let lookup = UserService::new(Arc::new(store)).get_user("u-1").await;

    assert!(
        matches!(&result, Err(StoreError::Failed(detail)) if detail.contains("ResourceNotFound")),
        "{result:?}"
    );
    assert_eq!(lookup, Err(LookupError::Internal));
}

#[tokio::test]
async fn an_endpoint_that_is_down_is_store_unavailable_within_the_timeout() {
    // GIVEN a store pointed at a port nothing listens on, with a 300 ms budget
    let timeout = Duration::from_millis(300);
    let down = format!("http://127.0.0.1:{}", free_port());
    let config = app_core::aws::sdk_config_loader(timeout, testkit::https::http_client())
        .endpoint_url(down)
        .region(aws_sdk_dynamodb::config::Region::new(moto::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "a", "b", None, None, "tests",
        ))
        .load()
        .await;
    let service = UserService::new(Arc::new(DynamoDbStore::from_sdk_config(&config, "Users")));
    let server = TestServer::spawn(service).await;

    // WHEN a user is asked for
    let started = Instant::now();
    let reply = server.send("GET", "/users/u-1", &[]).await;
    let took = started.elapsed();

    // THEN the answer is 503 STORE_UNAVAILABLE with Retry-After, within the budget (plus scheduling slack)
    assert_eq!(
        (reply.status, reply.error_code().as_deref()),
        (503, Some("STORE_UNAVAILABLE"))
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        took < timeout + Duration::from_millis(500),
        "took {took:?} with a {timeout:?} budget"
    );
}
