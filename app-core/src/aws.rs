//! What every AWS client of this service shares: how the SDK is configured, and how an SDK error is
//! sorted into "worth retrying later" or not.

use std::time::Duration;

use aws_config::{BehaviorVersion, ConfigLoader, timeout::TimeoutConfig};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::store::StoreError;

/// The SDK settings every AWS client of this service (DynamoDB, S3) uses: standard settings from the
/// environment, `http_client` (the front door's, see [`crate::transport`]), and `timeout` as the budget
/// of one whole call (retries included).
///
/// Callers may override settings on the returned loader (tests point it at a local endpoint) before
/// `.load().await`.
pub fn sdk_config_loader(timeout: Duration, http_client: SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(call_budget(timeout))
}

/// `timeout` as the budget of one whole call (retries included) and of each connection attempt.
pub fn call_budget(timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// Error codes AWS services answer when a caller goes too fast.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// Sorts a failed SDK call into [`StoreError::Unavailable`] (timeouts, network, throttling, server
/// errors: worth retrying later) or [`StoreError::Failed`] (a missing table or bucket, refused
/// credentials, a bad request). `what` names the call for the log, e.g. `GetItem on table Users`.
pub(crate) fn classify<E>(what: &str, err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service
                    .err()
                    .code()
                    .is_some_and(|code| THROTTLING_CODES.contains(&code))
        }
        _ => false,
    };
    let detail = format!("{what}: {}", DisplayErrorContext(&err));
    if unavailable {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Failed(detail)
    }
}
