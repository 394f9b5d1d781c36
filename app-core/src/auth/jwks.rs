//! The provider's signing keys: fetched from `JWKS_URL` on first need (never at start-up, so Lambda
//! init stays fast), kept, and fetched again when a token names a key id the set does not have (key
//! rotation), at most once per refetch interval (`JWKS_REFETCH_INTERVAL_SECS`, 30 s by default), so
//! that tokens with made-up key ids cannot turn the service into a flood against the provider. A
//! failed fetch keeps the keys already held, and so does a set the service refuses: one without a
//! usable signing key, or one where two usable keys share a key id (which of them a token means
//! would be a guess).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use axum::body::Bytes;
use http_body_util::{BodyExt, Limited};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::{Instrument, Span};
use url::Url;

use crate::telemetry::traces;

/// The budget of one fetch: connect, TLS, request and the whole body.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest key set accepted, in bytes (providers publish a few keys, a few KiB).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A signing key, and the one algorithm it verifies (given by its type and curve, never by a token).
#[derive(Debug)]
pub(super) struct Key {
    pub(super) algorithm: Algorithm,
    pub(super) decoding: DecodingKey,
    /// The key as published: what tells whether a later set still holds it.
    jwk: Jwk,
}

/// Why no key could be had for a key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyError {
    /// The key set (as held, or freshly fetched) has no usable key with this id.
    UnknownKid,
    /// No key set could be fetched, and none is held.
    Unavailable,
}

/// The keys held, by key id.
type KeySet = HashMap<String, Arc<Key>>;

/// The provider's keys, fetched on demand and kept.
#[derive(Debug)]
pub(super) struct Keys {
    endpoint: Endpoint,
    /// The shortest time between two fetches.
    refetch_interval: Duration,
    /// Read on every request (see `cache`) without a lock; replaced whole by a fetch.
    held: ArcSwap<KeySet>,
    /// When the last fetch started; holding the lock means fetching (one fetch at a time, and the
    /// requests that wait for it then find its keys).
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Keys {
    /// Keys from `url` through the connector `connect` builds, fetched at most once per
    /// `refetch_interval`; nothing is fetched (or connected) until a key is asked for.
    pub(super) fn new(
        url: Url,
        refetch_interval: Duration,
        connect: fn() -> SharedHttpConnector,
    ) -> Self {
        Self {
            endpoint: Endpoint {
                url,
                connect,
                connector: OnceLock::new(),
            },
            refetch_interval,
            held: ArcSwap::default(),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    /// The key with id `kid`: from the keys held, else from a fresh fetch if the last one is at least
    /// the refetch interval old.
    pub(super) async fn get(&self, kid: &str) -> Result<Arc<Key>, KeyError> {
        if let Some(key) = self.held().get(kid) {
            return Ok(key.clone());
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // A fetch that finished while this request waited may have brought the key.
        let held = self.held();
        if let Some(key) = held.get(kid) {
            return Ok(key.clone());
        }
        let missing = if held.is_empty() {
            KeyError::Unavailable
        } else {
            KeyError::UnknownKid
        };
        if last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Err(missing);
        }
        *last_fetch = Some(Instant::now());
        match self.endpoint.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.endpoint.url, keys = keys.len(), "JWKS fetched");
                let keys = Arc::new(keys);
                self.held.store(keys.clone());
                keys.get(kid).cloned().ok_or(KeyError::UnknownKid)
            }
            Err(err) => {
                tracing::warn!(url = %self.endpoint.url, error = %err, keys_held = held.len(), "JWKS fetch failed or refused; the keys held are kept");
                Err(missing)
            }
        }
    }

    /// Whether the keys held still include `key`: the same key id for the same published key.
    pub(super) fn holds(&self, key: &Key) -> bool {
        let held = self.held.load();
        key.jwk
            .common
            .key_id
            .as_ref()
            .and_then(|kid| held.get(kid))
            .is_some_and(|current| std::ptr::eq(current.as_ref(), key) || current.jwk == key.jwk)
    }

    fn held(&self) -> Arc<KeySet> {
        self.held.load_full()
    }
}

/// Why a fetch of the key set failed (for the log only).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("body unreadable or over {MAX_JWKS_BYTES} bytes: {0}")]
    Body(String),
    #[error("not a JSON Web Key Set: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the set has no usable signing key (RS256 or ES256, with a key id)")]
    NoUsableKey,
    /// The key id, escaped and cut to [`MAX_LOGGED_KID_CHARS`] (it comes from outside).
    #[error("two usable keys share the key id {0:?}")]
    DuplicateKid(String),
}

impl FetchError {
    /// How the HTTP request ended, for its client span: the status when one came, else the
    /// `error.type` (`timeout`, `connection`, `body`); parse errors come after a 2xx.
    fn http_outcome(&self) -> Result<u16, &'static str> {
        match self {
            Self::Timeout(_) => Err("timeout"),
            Self::Request(_) => Err("connection"),
            Self::Status(status) => Ok(*status),
            Self::Body(_) => Err("body"),
            Self::Json(_) | Self::NoUsableKey | Self::DuplicateKid(_) => Ok(200),
        }
    }
}

/// How much of a key id a log line carries.
const MAX_LOGGED_KID_CHARS: usize = 64;

/// `JWKS_URL`, fetched through a connector of the front door's transport (`crate::transport`).
#[derive(Debug)]
struct Endpoint {
    url: Url,
    /// Builds the connector.
    connect: fn() -> SharedHttpConnector,
    /// Built on the first fetch: it may load root certificates.
    connector: OnceLock<SharedHttpConnector>,
}

impl Endpoint {
    /// Fetches and parses the key set, the request in its HTTP client span (which the request's
    /// `traceparent` names, so the provider's side can join the trace).
    async fn fetch(&self) -> Result<KeySet, FetchError> {
        let span = traces::http_client_span("GET", &self.url);
        let body = self.get().instrument(span.clone()).await;
        traces::record_http_outcome(
            &span,
            match &body {
                Ok(_) => Ok(200),
                Err(err) => err.http_outcome(),
            },
        );
        parse(&body?)
    }

    /// The key set's bytes: a `GET` of the URL that answers 2xx within [`FETCH_TIMEOUT`].
    async fn get(&self) -> Result<Bytes, FetchError> {
        let connector = self.connector.get_or_init(self.connect);
        let mut request =
            http::Request::get(self.url.as_str()).header(http::header::ACCEPT, "application/json");
        for (name, value) in traces::trace_headers(&Span::current()) {
            request = request.header(name, value);
        }
        let request = request
            .body(SdkBody::empty())
            .map_err(|err| FetchError::Request(err.to_string()))
            .and_then(|req| {
                HttpRequest::try_from(req).map_err(|err| FetchError::Request(err.to_string()))
            })?;
        let body = tokio::time::timeout(FETCH_TIMEOUT, async {
            let response = connector
                .call(request)
                .await
                .map_err(|err| FetchError::Request(err.to_string()))?;
            let status = response.status().as_u16();
            if !response.status().is_success() {
                return Err(FetchError::Status(status));
            }
            Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .map_err(|err| FetchError::Body(err.to_string()))
        })
        .await
        .map_err(|_| FetchError::Timeout(FETCH_TIMEOUT))??;
        Ok(body)
    }
}

/// The usable keys of a JWKS document. Keys this service cannot use (encryption keys, other types or
/// curves, no key id, an `alg` that contradicts the key) are skipped, not fatal: providers publish
/// such keys beside their signing keys. A document with no usable key, or with two usable keys under
/// one key id, is refused.
fn parse(body: &[u8]) -> Result<KeySet, FetchError> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body)?;
    let mut keys = KeySet::new();
    let usable_keys = document
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, usable(jwk)?)));
    for (kid, key) in usable_keys {
        if keys.contains_key(&kid) {
            return Err(FetchError::DuplicateKid(
                kid.chars().take(MAX_LOGGED_KID_CHARS).collect(),
            ));
        }
        keys.insert(kid, Arc::new(key));
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKey);
    }
    Ok(keys)
}

/// RS256 for an RSA key, ES256 for an EC key on P-256; nothing else.
fn usable(jwk: Jwk) -> Option<Key> {
    if matches!(&jwk.common.public_key_use, Some(purpose) if *purpose != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    if let Some(declared) = jwk.common.key_algorithm
        && declared != KeyAlgorithm::from(algorithm)
    {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        algorithm,
        decoding,
        jwk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_and_p256_signing_keys_with_an_id_and_a_matching_alg_are_kept() {
        let rsa = r#""kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB""#;
        let ec = r#""kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
        let p384 = r#""kty":"EC","crv":"P-384","x":"iA7lWQLzVrKGEFjfGMfMHfTEZ2KnLiKU7JuNT3E7ygsfE7ygs2n_TqOUm7V_cBcy","y":"XDgnt2lMdEOaGbzvCJfUoIrfvLoyNyAr6ZA5Ej8lVJ9l-zOVD4mNNSYFZJgdaNbI""#;
        let body = format!(
            r#"{{"keys":[
                {{"kid":"rsa",{rsa}}},
                {{"kid":"rsa-alg","alg":"RS256","use":"sig",{rsa}}},
                {{"kid":"rsa-claims-es256","alg":"ES256",{rsa}}},
                {{"kid":"rsa-enc","use":"enc",{rsa}}},
                {{{rsa}}},
                {{"kid":"ec",{ec}}},
                {{"kid":"p384",{p384}}},
                {{"kid":"hmac","kty":"oct","k":"c2VjcmV0"}},
                {{"kid":"future","kty":"PQC","pub":"AAAA"}}
            ]}}"#
        );

        let keys = parse(body.as_bytes()).unwrap();

        let mut kept: Vec<_> = keys
            .iter()
            .map(|(kid, key)| (kid.as_str(), key.algorithm))
            .collect();
        kept.sort_by_key(|(kid, _)| *kid);
        assert_eq!(
            kept,
            [
                ("ec", Algorithm::ES256),
                ("rsa", Algorithm::RS256),
                ("rsa-alg", Algorithm::RS256)
            ]
        );
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(parse(b"<html>login</html>").is_err());
        assert!(parse(br#"{"issuer":"x"}"#).is_err());
    }

    const EC: &str = r#""kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;

    #[test]
    fn a_set_without_a_usable_key_is_refused() {
        let only_unusable = r#"{"keys":[{"kid":"hmac","kty":"oct","k":"c2VjcmV0"}]}"#;
        for body in [r#"{"keys":[]}"#, only_unusable] {
            assert!(
                matches!(parse(body.as_bytes()), Err(FetchError::NoUsableKey)),
                "{body}"
            );
        }
    }

    #[test]
    fn a_set_with_two_usable_keys_under_one_id_is_refused_naming_it_escaped() {
        let body = format!(r#"{{"keys":[{{"kid":"a\nb",{EC}}},{{"kid":"a\nb",{EC}}}]}}"#);
        let beside_an_unusable_one =
            format!(r#"{{"keys":[{{"kid":"k",{EC}}},{{"kid":"k","kty":"oct","k":"c2VjcmV0"}}]}}"#);

        let err = parse(body.as_bytes()).unwrap_err();

        assert!(matches!(err, FetchError::DuplicateKid(_)), "{err}");
        assert_eq!(
            err.to_string(),
            r#"two usable keys share the key id "a\nb""#
        );
        assert_eq!(parse(beside_an_unusable_one.as_bytes()).unwrap().len(), 1);
    }
}
