//! HTTPS for the AWS SDK clients and the JWKS fetch: `aws-smithy-http-client` on rustls with ring,
//! trusting the system's root certificates (the image's trust store, as `rustls-native-certs` finds
//! it: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the distribution's bundle and directory).

use app_core::transport::Transport;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::{SharedHttpClient, SharedHttpConnector};

/// The server's transport: [`http_client`] for the SDK clients, [`connector`] for the JWKS.
pub fn transport() -> Transport {
    Transport::new(http_client(), connector)
}

/// The SDK clients' HTTP client; it loads the root certificates when an SDK client is built.
pub fn http_client() -> SharedHttpClient {
    Builder::new().tls_provider(RUSTLS_RING).build_https()
}

/// A connector of its own, for HTTP calls outside the SDK (the JWKS fetch).
pub fn connector() -> SharedHttpConnector {
    SharedHttpConnector::new(Connector::builder().tls_provider(RUSTLS_RING).build())
}

const RUSTLS_RING: tls::Provider = tls::Provider::Rustls(CryptoMode::Ring);
