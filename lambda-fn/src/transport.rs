//! HTTPS for the AWS SDK clients and the JWKS fetch: `aws-smithy-http-client` on rustls with ring
//! (the one crypto library of the package).
//!
//! Root certificates: the one bundle [`SSL_CERT_FILE`] names, which the SAM template sets to the
//! `provided.al2023` runtime's bundle (`/etc/pki/tls/certs/ca-bundle.crt`). `rustls-native-certs`
//! (under the SDK's client) then reads that file only; unset, it also reads every file of the
//! runtime's certificate directories at init (docs/benchmarks.md, "Lambda cold start"). A bundle that
//! cannot be read would leave the client trusting nothing, so init fails on it, naming the variable.

use std::ffi::OsStr;

use app_core::config::ConfigError;
use app_core::transport::Transport;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::SharedHttpConnector;

/// The variable naming the CA bundle the function trusts.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The function's transport: the SDK clients' HTTP client (it loads the root certificates when the
/// first SDK client is built, during init), and the JWKS fetch's connector, built on the first fetch.
/// Fails if `SSL_CERT_FILE` names a file that cannot be opened.
pub fn transport() -> Result<Transport, ConfigError> {
    check_bundle(std::env::var_os(SSL_CERT_FILE).as_deref())?;
    Ok(Transport::new(
        Builder::new().tls_provider(RUSTLS_RING).build_https(),
        || SharedHttpConnector::new(Connector::builder().tls_provider(RUSTLS_RING).build()),
    ))
}

const RUSTLS_RING: tls::Provider = tls::Provider::Rustls(CryptoMode::Ring);

/// `Ok` if no bundle is named, or the named one can be opened.
fn check_bundle(path: Option<&OsStr>) -> Result<(), ConfigError> {
    let Some(path) = path else { return Ok(()) };
    std::fs::File::open(path)
        .map(drop)
        .map_err(|err| ConfigError::Invalid {
            var: SSL_CERT_FILE,
            value: path.to_string_lossy().into_owned(),
            reason: format!("the CA bundle cannot be read ({err})"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_that_cannot_be_read_is_a_configuration_error_naming_the_variable() {
        let missing = check_bundle(Some(OsStr::new("/nonexistent/ca-bundle.crt"))).unwrap_err();
        assert_eq!(missing.var(), SSL_CERT_FILE);
        assert!(
            missing.to_string().contains("/nonexistent/ca-bundle.crt"),
            "{missing}"
        );

        // Only whether the file opens is checked: any readable file passes.
        let readable = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(check_bundle(Some(readable.as_os_str())), Ok(()));
        assert_eq!(check_bundle(None), Ok(()));
    }
}
