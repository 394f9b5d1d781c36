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
/// Callers may override settings on the returned loader (tests point it at DynamoDB Local) before
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

/// Creates `table` in the shape this store reads (key `id` of type S, on-demand capacity). For DynamoDB
/// Local and for seeding; production tables come from the deployment templates.
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

/// How the store sorts DynamoDB's answers, seen through the lookup a caller makes. The client is the
/// SDK's own, with canned HTTP responses in DynamoDB's wire format (aws-smithy-mocks): throttling and
/// server errors are what no emulator produces on demand.
#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::domain::LookupError;
    use crate::service::UserService;

    const TABLE: &str = "Users";

    /// The body DynamoDB sends with an error of type `code`.
    fn error_body(code: &str) -> String {
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"canned"}}"#)
    }

    /// A DynamoDB store whose every `GetItem` on table `Users`, key `id` = `u-1`, is answered with
    /// `status` and `body`. The SDK's standard retries stay on (with a 1 ms backoff, so the test is
    /// quick): what a caller sees is the answer after them, as in production.
    fn store_answering(status: u16, body: &str) -> (DynamoDbStore, Rule) {
        let rule = mock!(Client::get_item)
            .match_requests(|req| {
                req.table_name() == Some(TABLE)
                    && req.key().and_then(|key| key.get(KEY_ATTRIBUTE))
                        == Some(&AttributeValue::S("u-1".into()))
            })
            .sequence()
            .http_status(status, Some(body.to_owned()))
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |config| {
            config.retry_config(
                RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)),
            )
        });
        (DynamoDbStore::new(client, TABLE), rule)
    }

    /// What `GET /users/u-1` would be answered from, and how many requests reached "DynamoDB".
    async fn lookup(status: u16, body: &str) -> (Result<User, LookupError>, usize) {
        let (store, rule) = store_answering(status, body);
        let result = UserService::new(Arc::new(store)).get_user("u-1").await;
        (result, rule.num_calls())
    }

    #[tokio::test]
    async fn an_item_is_the_user() {
        let item = r#"{"Item":{"id":{"S":"u-1"},"name":{"S":"Ada Lovelace"},
            "email":{"S":"ada@example.com"},"createdAt":{"S":"2024-01-15T09:30:00Z"}}}"#;

        let (result, calls) = lookup(200, item).await;

        let user = result.unwrap();
        assert_eq!(
            (user.id.as_str(), user.name.as_str(), user.email.as_str()),
            ("u-1", "Ada Lovelace", "ada@example.com")
        );
        assert_eq!(user.created_at, "2024-01-15T09:30:00Z");
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn no_item_is_not_found() {
        let (result, _) = lookup(200, "{}").await;

        assert_eq!(
            result,
            Err(LookupError::NotFound(UserId::parse("u-1").unwrap()))
        );
    }

    #[tokio::test]
    async fn throttling_is_store_unavailable_after_the_sdk_retried() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
        ] {
            let (result, calls) = lookup(400, &error_body(code)).await;

            assert_eq!(result, Err(LookupError::StoreUnavailable), "{code}");
            assert_eq!(calls, 3, "{code}: the SDK's standard retries run first");
        }
    }

    #[tokio::test]
    async fn a_server_error_is_store_unavailable() {
        for (status, body) in [
            (500, error_body("InternalServerError")),
            (503, String::new()),
        ] {
            let (result, _) = lookup(status, &body).await;

            assert_eq!(result, Err(LookupError::StoreUnavailable), "{status}");
        }
    }

    #[tokio::test]
    async fn a_missing_table_is_internal_and_not_retried() {
        let (result, calls) = lookup(400, &error_body("ResourceNotFoundException")).await;

        assert_eq!(result, Err(LookupError::Internal));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn refused_credentials_are_internal() {
        let (result, _) = lookup(400, &error_body("UnrecognizedClientException")).await;

        assert_eq!(result, Err(LookupError::Internal));
    }

    #[tokio::test]
    async fn an_item_that_is_not_a_user_is_internal() {
        for item in [
            // No email, no createdAt.
            r#"{"Item":{"id":{"S":"u-1"},"name":{"S":"Ada"}}}"#,
            // A name of the wrong type.
            r#"{"Item":{"id":{"S":"u-1"},"name":{"N":"1"},"email":{"S":"e"},"createdAt":{"S":"t"}}}"#,
            // An id the id rule refuses.
            r#"{"Item":{"id":{"S":"u 1"},"name":{"S":"n"},"email":{"S":"e"},"createdAt":{"S":"t"}}}"#,
        ] {
            let (result, _) = lookup(200, item).await;

            assert_eq!(result, Err(LookupError::Internal), "{item}");
        }
    }

    #[tokio::test]
    async fn the_error_detail_names_the_table_but_stays_out_of_the_lookup_error() {
        let (store, _) = store_answering(400, &error_body("ResourceNotFoundException"));
        let store_err = store.get(&UserId::parse("u-1").unwrap()).await.unwrap_err();
        let (lookup_err, _) = lookup(400, &error_body("ResourceNotFoundException")).await;

        assert!(
            matches!(&store_err, StoreError::Failed(detail) if detail.contains("GetItem on table Users")),
            "{store_err}"
        );
        let lookup_err = lookup_err.unwrap_err().to_string();
        assert!(!lookup_err.contains("Users"), "{lookup_err}");
    }
}
