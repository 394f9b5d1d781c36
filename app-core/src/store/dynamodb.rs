//! The DynamoDB store: one `GetItem` per lookup, `BatchWriteItem` for imports, on a table keyed by `id`
//! (S).
//!
//! The SDK client is built once at start-up from the SDK's own standard settings (`AWS_REGION`,
//! `AWS_ENDPOINT_URL_DYNAMODB`, the default credential chain) and shared by every call. Each call is
//! bounded by an operation timeout that includes the SDK's standard retries; a batch write, which also
//! retries the items DynamoDB left unprocessed, is bounded by that same timeout as a whole.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use tokio::time::Instant;
use tracing::Instrument;

use super::{StoreError, UserBatch, UserRepository, UserWriter};
use crate::aws::classify;
use crate::domain::{User, UserId};
use crate::telemetry::traces::{AwsResource, TraceParent, aws_client_span, record_outcome};

/// The name of the key attribute.
pub const KEY_ATTRIBUTE: &str = "id";

/// The key [`UserRepository::connect`] reads: one `GetItem` (the only permission lookups have) that
/// opens the connection; whether such an item exists does not matter.
pub const CONNECT_KEY: &str = "connect-probe";

/// The budget of one batch write when the client has no operation timeout (the service's own clients
/// always have one: `STORE_TIMEOUT_MS`).
const DEFAULT_WRITE_BUDGET: Duration = Duration::from_secs(1);

/// The first pause before items DynamoDB left unprocessed are sent again; it doubles with each round,
/// up to [`MAX_BACKOFF`], with jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Users in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    /// A store on `table` through `client`. The client's operation timeout (see
    /// [`crate::aws::sdk_config_loader`]) bounds each lookup and each batch write as a whole.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store on `table` with a client built from `sdk_config` (see [`crate::aws::sdk_config_loader`]),
    /// whose requests carry the trace context of their client span ([`TraceParent`]).
    pub fn from_sdk_config(sdk_config: &SdkConfig, table: impl Into<String>) -> Self {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .interceptor(TraceParent)
            .build();
        Self::new(Client::from_conf(config), table)
    }

    /// The table this store reads and writes.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One `GetItem` of `key`, in its client span: the item, if there is one.
    async fn get_item(
        &self,
        key: &str,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, StoreError> {
        let span = aws_client_span("DynamoDB", "GetItem", AwsResource::Table(&self.table));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.to_owned()))
            .send()
            .instrument(span.clone())
            .await
            .map_err(|err| {
                StoreError::from(classify(&format!("GetItem on table {}", self.table), err))
            });
        record_outcome(&span, &output, StoreError::is_transient);
        Ok(output?.item)
    }

    fn write_budget(&self) -> Duration {
        self.client
            .config()
            .timeout_config()
            .and_then(|timeouts| timeouts.operation_timeout())
            .unwrap_or(DEFAULT_WRITE_BUDGET)
    }
}

#[async_trait]
impl UserRepository for DynamoDbStore {
    async fn get(&self, id: &UserId) -> Result<Option<Arc<User>>, StoreError> {
        let Some(item) = self.get_item(id.as_str()).await? else {
            return Ok(None);
        };
        serde_dynamo::from_item(item)
            .map(|user| Some(Arc::new(user)))
            .map_err(|err| {
                StoreError::Failed(format!(
                    "item {id} in table {} is not a valid user: {err}",
                    self.table
                ))
            })
    }

    async fn connect(&self) -> Result<(), StoreError> {
        self.get_item(CONNECT_KEY).await.map(drop)
    }
}

#[async_trait]
impl UserWriter for DynamoDbStore {
    /// One `BatchWriteItem`; the items DynamoDB leaves unprocessed are sent again after a growing,
    /// jittered pause, until all are written or the store timeout is spent (then `Unavailable`).
    async fn put_batch(&self, batch: &UserBatch) -> Result<(), StoreError> {
        let budget = self.write_budget();
        let deadline = Instant::now() + budget;
        let mut pending = batch
            .users()
            .iter()
            .map(|user| put_request(&self.table, user))
            .collect::<Result<Vec<_>, _>>()?;
        let mut backoff = FIRST_BACKOFF;
        let mut rounds = 0_u32;
        while !pending.is_empty() {
            rounds += 1;
            let count = pending.len();
            let what = || {
                format!(
                    "BatchWriteItem of {count} items on table {} (round {rounds})",
                    self.table
                )
            };
            let span = aws_client_span(
                "DynamoDB",
                "BatchWriteItem",
                AwsResource::Table(&self.table),
            );
            let call = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .instrument(span.clone());
            let output = tokio::time::timeout_at(deadline, call)
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!("{}: no answer within {budget:?}", what()))
                })
                .and_then(|sent| sent.map_err(|err| StoreError::from(classify(&what(), err))));
            record_outcome(&span, &output, StoreError::is_transient);
            let output = output?;
            pending = output
                .unprocessed_items
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            let pause = jittered(backoff);
            if Instant::now() + pause >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "{}: {} items still unprocessed when the budget of {budget:?} ran out",
                    what(),
                    pending.len()
                )));
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        Ok(())
    }
}

/// Between half of `backoff` and all of it, so that writers that were throttled together do not all
/// come back at the same moment.
fn jittered(backoff: Duration) -> Duration {
    backoff / 2 + backoff.mul_f64(fastrand::f64() / 2.0)
}

fn put_request(table: &str, user: &User) -> Result<WriteRequest, StoreError> {
    let item = serde_dynamo::to_item(user).map_err(|err| {
        StoreError::Failed(format!("user {} as an item of {table}: {err}", user.id))
    })?;
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|err| StoreError::Failed(err.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// How the store sorts DynamoDB's answers, seen through the lookup a caller makes. The client is the
/// SDK's own, with canned HTTP responses in DynamoDB's wire format (aws-smithy-mocks): throttling and
/// server errors are what no emulator produces on demand.
/// The canned-response client and its helpers, for the import's unit tests too.
#[cfg(test)]
pub(crate) use tests::{
    SentBatches, batch_write_item, canned_store, error_body, store_refusing_writes,
};

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::operation::batch_write_item::{
        BatchWriteItemError, BatchWriteItemInput, BatchWriteItemOutput,
    };
    use aws_smithy_mocks::{Rule, RuleBuilder, RuleMode, mock, mock_client};

    use super::*;
    use crate::domain::LookupError;
    use crate::service::UserService;

    pub(crate) const TABLE: &str = "Users";

    /// The body DynamoDB sends with an error of type `code`.
    pub(crate) fn error_body(code: &str) -> String {
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"canned"}}"#)
    }

    /// A store on table `Users` whose client answers from `rules`, with the SDK's standard retries
    /// (with a 1 ms backoff, so tests are quick) and `budget` as the operation timeout, as
    /// `STORE_TIMEOUT_MS` sets it.
    pub(crate) fn canned_store(rules: &[&Rule], budget: Duration) -> DynamoDbStore {
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |config| {
            config
                .retry_config(
                    RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)),
                )
                .timeout_config(TimeoutConfig::builder().operation_timeout(budget).build())
        });
        DynamoDbStore::new(client, TABLE)
    }

    /// The users of each `BatchWriteItem` request sent (one entry per request; the SDK's own retries
    /// of a request are not listed again).
    pub(crate) type SentBatches = Arc<Mutex<Vec<Vec<User>>>>;

    /// A rule for `BatchWriteItem` on table `Users` that records every request into `sent`.
    pub(crate) fn batch_write_item(
        sent: &SentBatches,
    ) -> RuleBuilder<BatchWriteItemInput, BatchWriteItemOutput, BatchWriteItemError> {
        let sent = sent.clone();
        mock!(Client::batch_write_item).match_requests(move |req| {
            let users = req
                .request_items()
                .and_then(|tables| tables.get(TABLE))
                .into_iter()
                .flatten()
                .map(|write| {
                    let item = write.put_request().expect("only puts").item().clone();
                    serde_dynamo::from_item(item).expect("a user item")
                })
                .collect();
            sent.lock().unwrap().push(users);
            true
        })
    }

    /// A store whose every `BatchWriteItem` is answered with a 400 and the error `code`.
    pub(crate) fn store_refusing_writes(code: &str) -> (DynamoDbStore, Rule) {
        let rule = batch_write_item(&SentBatches::default())
            .sequence()
            .http_status(400, Some(error_body(code)))
            .repeatedly()
            .build();
        (canned_store(&[&rule], Duration::from_secs(1)), rule)
    }

    /// The `BatchWriteItem` answer that leaves `users` unprocessed.
    pub(crate) fn unprocessed(users: &[&User]) -> BatchWriteItemOutput {
        let requests = users
            .iter()
            .map(|user| put_request(TABLE, user).unwrap())
            .collect();
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, requests)
            .build()
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
        (canned_store(&[&rule], Duration::from_secs(1)), rule)
    }

    /// What `GET /users/u-1` would be answered from, and how many requests reached "DynamoDB".
    async fn lookup(status: u16, body: &str) -> (Result<Arc<User>, LookupError>, usize) {
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

    /// A store whose every `GetItem` of [`CONNECT_KEY`] is answered with `status` and `body`.
    fn store_connecting(status: u16, body: &str) -> (DynamoDbStore, Rule) {
        let rule = mock!(Client::get_item)
            .match_requests(|req| {
                req.table_name() == Some(TABLE)
                    && req.key().and_then(|key| key.get(KEY_ATTRIBUTE))
                        == Some(&AttributeValue::S(CONNECT_KEY.into()))
            })
            .sequence()
            .http_status(status, Some(body.to_owned()))
            .repeatedly()
            .build();
        (canned_store(&[&rule], Duration::from_secs(1)), rule)
    }

    #[tokio::test]
    async fn connecting_is_one_get_item_whatever_it_finds() {
        let (store, rule) = store_connecting(200, "{}");

        store.connect().await.unwrap();

        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_store_unreachable_at_start_up_does_not_stop_the_service() {
        let (store, rule) = store_connecting(500, &error_body("InternalServerError"));
        let service = UserService::new(Arc::new(store.clone()));

        // The error is the store's; the service logs it and goes on.
        assert!(matches!(
            store.connect().await,
            Err(StoreError::Unavailable(_))
        ));
        service.connect_store().await;

        assert!(
            rule.num_calls() >= 2,
            "the SDK retried: {}",
            rule.num_calls()
        );
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

    fn user(id: &str) -> User {
        User::new(
            id,
            "Ada Lovelace",
            "ada@example.com",
            "2024-01-15T09:30:00Z",
        )
        .unwrap()
    }

    fn batch_of(users: &[User]) -> UserBatch {
        let mut batch = UserBatch::new();
        for user in users {
            batch.push(user.clone()).unwrap();
        }
        batch
    }

    #[tokio::test]
    async fn a_batch_is_one_request_holding_every_user() {
        let sent = SentBatches::default();
        let rule = batch_write_item(&sent).then_output(|| BatchWriteItemOutput::builder().build());
        let store = canned_store(&[&rule], Duration::from_secs(1));
        let users = [user("a"), user("b"), user("c")];

        store.put_batch(&batch_of(&users)).await.unwrap();

        assert_eq!(*sent.lock().unwrap(), vec![users.to_vec()]);
    }

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_written() {
        let sent = SentBatches::default();
        let (a, b, c) = (user("a"), user("b"), user("c"));
        let (left_b, left_c, left_c2) = (b.clone(), c.clone(), c.clone());
        let rule = batch_write_item(&sent)
            .sequence()
            .output(move || unprocessed(&[&left_b, &left_c]))
            .output(move || unprocessed(&[&left_c2]))
            .output(|| BatchWriteItemOutput::builder().build())
            .build();
        let store = canned_store(&[&rule], Duration::from_secs(1));

        store
            .put_batch(&batch_of(&[a.clone(), b.clone(), c.clone()]))
            .await
            .unwrap();

        assert_eq!(
            *sent.lock().unwrap(),
            vec![vec![a, b.clone(), c.clone()], vec![b, c.clone()], vec![c]]
        );
    }

    #[tokio::test]
    async fn items_still_unprocessed_when_the_store_timeout_is_spent_are_unavailable() {
        let sent = SentBatches::default();
        let left = user("a");
        let rule = batch_write_item(&sent)
            .sequence()
            .output(move || unprocessed(&[&left]))
            .repeatedly()
            .build();
        let budget = Duration::from_millis(300);
        let store = canned_store(&[&rule], budget);
        let started = std::time::Instant::now();

        let result = store.put_batch(&batch_of(&[user("a")])).await;

        let elapsed = started.elapsed();
        assert!(
            matches!(&result, Err(StoreError::Unavailable(detail)) if detail.contains("unprocessed")),
            "{result:?}"
        );
        assert!(
            elapsed <= budget + Duration::from_millis(100),
            "took {elapsed:?}"
        );
        assert!(
            sent.lock().unwrap().len() >= 3,
            "it retried with backoff: {:?}",
            sent.lock().unwrap().len()
        );
    }

    #[tokio::test]
    async fn a_throttled_batch_write_is_unavailable_after_the_sdk_retried() {
        let sent = SentBatches::default();
        let rule = batch_write_item(&sent)
            .sequence()
            .http_status(
                400,
                Some(error_body("ProvisionedThroughputExceededException")),
            )
            .repeatedly()
            .build();
        let store = canned_store(&[&rule], Duration::from_secs(1));

        let result = store.put_batch(&batch_of(&[user("a")])).await;

        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(rule.num_calls(), 3, "the SDK's standard retries ran first");
    }

    #[tokio::test]
    async fn a_batch_write_to_a_missing_table_failed() {
        let (store, rule) = store_refusing_writes("ResourceNotFoundException");

        let result = store.put_batch(&batch_of(&[user("a")])).await;

        assert!(matches!(result, Err(StoreError::Failed(_))), "{result:?}");
        assert_eq!(rule.num_calls(), 1);
    }
}
