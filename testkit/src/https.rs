//! The HTTPS transport tests and developer commands give app-core: `k8s-server`'s (rustls on ring,
//! the system's root certificates), and the same client trusting one certificate authority alone
//! (a [`crate::moto::RunCa`]).

use std::path::Path;

use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
pub use k8s_server::transport::{connector, http_client, transport};

/// The SDK's HTTPS client on rustls with ring, trusting only the PEM certificate(s) in `ca`.
pub fn http_client_trusting(ca: &Path) -> std::io::Result<SharedHttpClient> {
    let pem = std::fs::read(ca)?;
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(std::io::Error::other)?;
    Ok(Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}
