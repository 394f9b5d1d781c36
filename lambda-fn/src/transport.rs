//! HTTPS for the AWS SDK clients and the JWKS fetch: `aws-smithy-http-client` on rustls with ring
//! (the one crypto library of the package).
//!
//! Root certificates: the one bundle `SSL_CERT_FILE` names, which the SAM template sets to the
//! `provided.al2023` runtime's bundle (`/etc/pki/tls/certs/ca-bundle.crt`). `rustls-native-certs`
//! (under the SDK's client) then reads that file only; unset, it also reads every file of the
//! runtime's certificate directories at init (docs/benchmarks.md, "Lambda cold start"). A bundle that
//! cannot be read stops init, naming the variable (`app_core::transport::check_ca_bundle`).

use app_core::transport::Transport;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;

/// The function's transport: the SDK clients' HTTP client (it loads the root certificates when the
/// first SDK client is built, during init), and the JWKS fetch's connector, built on the first fetch.
pub fn transport() -> Transport {
    Transport::new(
        Builder::new().tls_provider(RUSTLS_RING).build_https(),
        || SharedHttpConnector::new(Connector::builder().tls_provider(RUSTLS_RING).build()),
    )
}

const RUSTLS_RING: tls::Provider = tls::Provider::Rustls(CryptoMode::Ring);
