//! Table creation and seeding for local set-up: the one way the tests, the local emulator and
//! `cargo xtask seed` create a users table and fill it. Production tables come from the deployment
//! templates and are filled by the import; the service itself never creates or seeds a table.

use std::time::Duration;

use app_core::domain::User;
use app_core::store::StoreError;
use app_core::store::dynamodb::KEY_ATTRIBUTE;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// Creates `table` in the shape `app_core::store::dynamodb::DynamoDbStore` reads (key `id` of type S,
/// on-demand capacity). For an emulator and for seeding; production tables come from the deployment
/// templates.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let key_definition = AttributeDefinition::builder()
        .attribute_name(KEY_ATTRIBUTE)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|err| StoreError::Failed(err.to_string()))?;
    let key_schema = KeySchemaElement::builder()
        .attribute_name(KEY_ATTRIBUTE)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|err| StoreError::Failed(err.to_string()))?;
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(key_definition)
        .key_schema(key_schema)
        .send()
        .await
        .map_err(|err| {
            StoreError::Failed(format!(
                "CreateTable {table}: {}",
                DisplayErrorContext(&err)
            ))
        })?;
    Ok(())
}

/// What [`seed`] does when the table does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create it with [`create_table`] and wait until it is active.
    Create,
    /// Leave it: writing fails with the service's `ResourceNotFoundException`.
    Fail,
}

/// Writes `users` into `table` (creating it first if asked and it is missing) and returns how many
/// were written: the one way the tests, the local emulator and `cargo xtask seed` fill a table.
pub async fn seed<'a>(
    client: &Client,
    table: &str,
    if_missing: IfMissing,
    users: impl IntoIterator<Item = &'a User>,
) -> Result<usize, StoreError> {
    if if_missing == IfMissing::Create
        && client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .is_err_and(|err| {
                err.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            })
    {
        create_table(client, table).await?;
        // DynamoDB creates a table asynchronously (CREATING, then ACTIVE); an emulator may be at once.
        use aws_sdk_dynamodb::client::Waiters;
        client
            .wait_until_table_exists()
            .table_name(table)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|err| {
                StoreError::Failed(format!(
                    "waiting for table {table}: {}",
                    DisplayErrorContext(&err)
                ))
            })?;
    }
    let mut written = 0;
    for user in users {
        put_user(client, table, user).await?;
        written += 1;
    }
    Ok(written)
}

/// Writes `user` into `table` as the item the DynamoDB store reads back.
pub async fn put_user(client: &Client, table: &str, user: &User) -> Result<(), StoreError> {
    let item = serde_dynamo::to_item(user).map_err(|err| StoreError::Failed(err.to_string()))?;
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|err| {
            StoreError::Failed(format!(
                "PutItem {} into {table}: {}",
                user.id,
                DisplayErrorContext(&err)
            ))
        })?;
    Ok(())
}
