//! The S3 object store: `GetObject` streamed, `PutObject` for reports.
//!
//! The client comes from the same SDK settings as the DynamoDB store ([`crate::aws::sdk_config_loader`]):
//! `AWS_ENDPOINT_URL_S3` points it at a local endpoint. Against a local endpoint give an IP address
//! (`http://127.0.0.1:PORT`): with a host name the client addresses the bucket as a sub-domain of it.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectError, ObjectLocation, ObjectReader, ObjectStore};
use tracing::Instrument;

use crate::aws::classify;
use crate::telemetry::traces::{AwsResource, TraceParent, aws_client_span, record_outcome};

/// Objects in Amazon S3.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
}

impl S3ObjectStore {
    /// A store on `client`. Its operation timeout bounds each call up to the first byte of the body.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A store with a client built from `sdk_config` (see [`crate::aws::sdk_config_loader`]).
    pub fn from_sdk_config(sdk_config: &SdkConfig) -> Self {
        Self::from_config(aws_sdk_s3::config::Builder::from(sdk_config))
    }

    /// A store with a client built from `config`, whose requests carry the trace context of their
    /// client span ([`TraceParent`]).
    pub fn from_config(config: aws_sdk_s3::config::Builder) -> Self {
        Self::new(Client::from_conf(config.interceptor(TraceParent).build()))
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn open(&self, location: &ObjectLocation) -> Result<Option<ObjectReader>, ObjectError> {
        let span = aws_client_span("S3", "GetObject", AwsResource::Bucket(location.bucket()));
        let result = self
            .client
            .get_object()
            .bucket(location.bucket())
            .key(location.key())
            .send()
            .instrument(span.clone())
            .await;
        let opened = match result {
            Ok(output) => Ok(Some(Box::pin(output.body.into_async_read()) as ObjectReader)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(classify(&format!("GetObject {location}"), err).into()),
        };
        record_outcome(&span, &opened, ObjectError::is_transient);
        opened
    }

    async fn put_json(&self, location: &ObjectLocation, json: Vec<u8>) -> Result<(), ObjectError> {
        let span = aws_client_span("S3", "PutObject", AwsResource::Bucket(location.bucket()));
        let written = self
            .client
            .put_object()
            .bucket(location.bucket())
            .key(location.key())
            .content_type("application/json")
            .body(ByteStream::from(json))
            .send()
            .instrument(span.clone())
            .await
            .map(drop)
            .map_err(|err| ObjectError::from(classify(&format!("PutObject {location}"), err)));
        record_outcome(&span, &written, ObjectError::is_transient);
        written
    }
}
