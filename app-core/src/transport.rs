//! The HTTP transport: how the process reaches AWS and the identity provider over HTTPS.
//!
//! Which TLS library and which root certificates a process trusts is a platform concern, so each
//! front door supplies its transport (`k8s_server::transport`, `lambda_fn::transport`); app-core knows
//! only the SDK's client traits (`aws-smithy-runtime-api`), not the HTTP client behind them. The one
//! rule about root certificates both front doors share is here: a bundle named by [`SSL_CERT_FILE`]
//! must be readable ([`check_ca_bundle`], at start-up).

use std::ffi::OsStr;

use aws_smithy_runtime_api::client::http::{SharedHttpClient, SharedHttpConnector};
use thiserror::Error;

/// The variable naming a PEM bundle of the root certificates to trust: the front doors' TLS
/// (`rustls-native-certs`) reads that file instead of the system's bundle and certificate
/// directories. The SAM template sets the Lambda runtime's one bundle (a faster init).
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The bundle [`SSL_CERT_FILE`] names cannot be read; `startup` reports it as a configuration error
/// naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the CA bundle cannot be read ({reason})")]
pub struct UnreadableCaBundle {
    /// The value of [`SSL_CERT_FILE`], lossily as text.
    pub path: String,
    /// Why it cannot be opened.
    pub reason: String,
}

/// `Ok` unless `bundle` (the value of [`SSL_CERT_FILE`]) names a file that cannot be opened: the
/// HTTPS client would then trust no certificate and fail every call to AWS and the identity provider,
/// so the binary stops at start-up instead, naming the variable.
pub fn check_ca_bundle(bundle: Option<&OsStr>) -> Result<(), UnreadableCaBundle> {
    let Some(path) = bundle else { return Ok(()) };
    std::fs::File::open(path)
        .map(drop)
        .map_err(|err| UnreadableCaBundle {
            path: path.to_string_lossy().into_owned(),
            reason: err.to_string(),
        })
}

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
    /// The transport of the unit tests, on the SDK's parts (`contract::https`).
    pub(crate) fn for_tests() -> Self {
        Self::new(contract::https::http_client(), contract::https::connector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_that_cannot_be_read_is_an_error_naming_the_file() {
        let missing = check_ca_bundle(Some(OsStr::new("/nonexistent/ca-bundle.crt"))).unwrap_err();
        assert_eq!(missing.path, "/nonexistent/ca-bundle.crt");

        // Only whether the file opens is checked: any readable file passes.
        let readable = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(check_ca_bundle(Some(readable.as_os_str())), Ok(()));
        assert_eq!(check_ca_bundle(None), Ok(()));
    }
}
