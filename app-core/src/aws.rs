//! What every AWS client of this service shares: how the SDK is configured, and how an SDK error is
//! sorted into "worth retrying later" or not ([`AwsError`], which each caller maps to its own error).

use std::time::Duration;

use aws_config::{BehaviorVersion, ConfigLoader, timeout::TimeoutConfig};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use thiserror::Error;

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

/// A failed AWS call, sorted by what the caller can do about it. The text is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AwsError {
    /// Timed out, unreachable, throttled or a server error: worth retrying later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a missing table or bucket, refused credentials, a bad request.
    #[error("failed: {0}")]
    Failed(String),
}

/// Error codes AWS services answer when a caller goes too fast.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// Sorts a failed SDK call into [`AwsError::Unavailable`] (timeouts, network, throttling, server
/// errors: worth retrying later) or [`AwsError::Failed`] (a missing table or bucket, refused
/// credentials, a bad request). `what` names the call for the log, e.g. `GetItem on table Users`.
pub(crate) fn classify<E>(what: &str, err: SdkError<E>) -> AwsError
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
        AwsError::Unavailable(detail)
    } else {
        AwsError::Failed(detail)
    }
}
