//! The DynamoDB store: one `GetItem` per lookup on a table keyed by `id` (S).
//!
//! The SDK client is built once at start-up from the SDK's own standard settings (`AWS_REGION`,
//! `AWS_ENDPOINT_URL_DYNAMODB`, the default credential chain) and shared by every lookup. Each lookup is
//! bounded by an operation timeout that includes the SDK's standard retries.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig, timeout::TimeoutConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::{StoreError, UserRepository};
use crate::domain::{User, UserId};

/// The name of the key attribute.
pub const KEY_ATTRIBUTE: &str = "id";

/// Users in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

/// The SDK settings every DynamoDB client of this service uses: standard settings from the environment,
/// an HTTPS client on rustls with ring, and `timeout` as the budget of one whole lookup (retries included).
///
/// Callers may override settings on the returned loader (tests point it at the moto emulator) before
/// `.load().await`.
pub fn sdk_config_loader(timeout: Duration) -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(timeout)
                .connect_timeout(timeout)
                .build(),
        )
}

impl DynamoDbStore {
    /// A store reading `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store reading `table` with a client built from `sdk_config` (see [`sdk_config_loader`]).
    pub fn from_sdk_config(sdk_config: &SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk_config), table)
    }

    /// The table this store reads.
    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl UserRepository for DynamoDbStore {
    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(id.as_str().to_owned()))
            .send()
            .await
            .map_err(|err| classify(&self.table, err))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        serde_dynamo::from_item(item).map(Some).map_err(|err| {
            StoreError::Failed(format!(
                "item {id} in table {} is not a valid user: {err}",
                self.table
            ))
        })
    }
}

/// Sorts an SDK error into "worth retrying later" (timeouts, network, throttling, server errors) and
/// everything else (missing table, refused credentials, a bad request).
fn classify(table: &str, err: SdkError<GetItemError>) -> StoreError {
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || matches!(
                    service.err().code(),
                    Some(
                        "ThrottlingException"
                            | "ProvisionedThroughputExceededException"
                            | "RequestLimitExceeded"
                    )
                )
        }
        _ => false,
    };
    let detail = format!("GetItem on table {table}: {}", DisplayErrorContext(&err));
    if unavailable {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Failed(detail)
    }
}

/// Creates `table` in the shape this store reads (key `id` of type S, on-demand capacity). For an
/// emulator and for seeding; production tables come from the deployment templates.
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

/// Writes `user` into `table` as the item this store reads back.
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
