//! The HTTP transport: how the process reaches AWS and the identity provider over HTTPS.
//!
//! Which TLS library and which root certificates a process trusts is a platform concern, so each
//! front door supplies its transport (`k8s_server::transport`, `lambda_fn::transport`); app-core knows
//! only the SDK's client traits (`aws-smithy-runtime-api`), not the HTTP client behind them.

use aws_smithy_runtime_api::client::http::{SharedHttpClient, SharedHttpConnector};

/// The HTTP client of the AWS SDK clients, and the connector of the JWKS fetch.
#[derive(Debug, Clone)]
pub struct Transport {
    http_client: SharedHttpClient,
    connector: fn() -> SharedHttpConnector,
}

impl Transport {
    /// The SDK clients use `http_client`; the JWKS fetch calls `connector` on its first fetch (not at
    /// start-up: a connector may load root certificates, and most processes never fetch a key).
    pub fn new(http_client: SharedHttpClient, connector: fn() -> SharedHttpConnector) -> Self {
        Self {
            http_client,
            connector,
        }
    }

    /// The HTTP client the AWS SDK clients are built with.
    pub fn http_client(&self) -> SharedHttpClient {
        self.http_client.clone()
    }

    /// Builds the connector of the JWKS fetch.
    pub(crate) fn connector(&self) -> fn() -> SharedHttpConnector {
        self.connector
    }
}

#[cfg(test)]
impl Transport {
    /// The transport of the unit tests: `k8s-server`'s, through testkit. (testkit's `app-core` is
    /// another crate than the one under test, so its `Transport` is another type: the parts are the
    /// SDK's.)
    pub(crate) fn for_tests() -> Self {
        Self::new(testkit::https::http_client(), testkit::https::connector)
    }
}
