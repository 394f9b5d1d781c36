//! An HTTPS client made from the AWS SDK's parts (rustls on ring, the system's root certificates),
//! for app-core's own tests and benchmarks, which cannot use a front door's transport without a second
//! app-core in their build. The front doors' transports (`k8s_server::transport`,
//! `lambda_fn::transport`) are the product's; this one only has to reach a loopback identity provider.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::{SharedHttpClient, SharedHttpConnector};

/// The HTTP client for AWS SDK clients.
pub fn http_client() -> SharedHttpClient {
    Builder::new().tls_provider(RUSTLS_RING).build_https()
}

/// A connector for a JWKS fetch.
pub fn connector() -> SharedHttpConnector {
    SharedHttpConnector::new(Connector::builder().tls_provider(RUSTLS_RING).build())
}

const RUSTLS_RING: tls::Provider = tls::Provider::Rustls(CryptoMode::Ring);
