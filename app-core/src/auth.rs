//! Who may read a user: OAuth 2.0 bearer tokens (JWT access tokens from any OIDC provider), checked
//! here so that every front door makes the same decision for the same request.
//!
//! - [`settings`]: `AUTH`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWKS_URL`, `JWKS_ALLOW_INSECURE_HTTP`,
//!   `JWT_REQUIRED_SCOPE`, `JWKS_REFETCH_INTERVAL_SECS`.
//! - `jwks`: the provider's keys, fetched on first need and on an unknown key id (rate-limited).
//! - `token`: one token against one key (RS256 or ES256 as the key says; issuer, audience, time).
//! - `crypto`: the signature checks, on ring.
//! - `cache`: tokens already verified, while their key is held, for five minutes at most.
//!
//! The HTTP side (the `Authorization` header, the 401/403/503 answers) is in `http::auth` and
//! `http::error`.

mod cache;
mod crypto;
mod jwks;
mod settings;
mod token;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use settings::{
    AuthSettings, DEFAULT_JWKS_REFETCH_INTERVAL, DEFAULT_REQUIRED_SCOPE, JwtSettings,
};

use crate::telemetry::traces;
use crate::transport::Transport;
use cache::VerifiedTokens;
use jwks::{Key, KeyError, Keys};
use token::Rules;

/// The longest token accepted, in bytes. Longer ones are refused unread (common proxies refuse
/// header lines over 8 KiB anyway).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token was sent (no `Authorization` header, or another scheme).
    #[error("no bearer token")]
    Missing,
    /// A bearer token was sent but is not acceptable (malformed, badly signed, expired, for another
    /// issuer or audience, signed by an unknown key, ...). Why is never told to the caller.
    #[error("invalid bearer token")]
    InvalidToken,
    /// The token is valid but does not grant the required scope.
    #[error("the token lacks the required scope")]
    InsufficientScope,
    /// No key to check the token could be had: the JWKS endpoint is unreachable and no key is held.
    #[error("no signing keys available")]
    Unavailable,
}

impl AuthError {
    /// A short name of the refusal, as the token check's span records it in `error.type`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The API's access rule.
#[derive(Debug, Clone, Default)]
pub enum Access {
    /// Anyone may read users (`AUTH=none`).
    #[default]
    Open,
    /// A bearer token is needed (`AUTH=jwt`).
    Bearer(Arc<BearerAuth>),
}

impl Access {
    /// The rule `settings` describe; keys are fetched through `transport`. Nothing is fetched yet:
    /// keys come on first need.
    pub fn new(settings: &AuthSettings, transport: &Transport) -> Self {
        match settings {
            AuthSettings::None => Self::Open,
            AuthSettings::Jwt(jwt) => Self::Bearer(Arc::new(BearerAuth::new(jwt, transport))),
        }
    }
}

/// Bearer-token checks against one provider: its keys, the token rules and the verified tokens.
#[derive(Debug)]
pub struct BearerAuth {
    rules: Rules,
    keys: Keys,
    /// Each verdict with the key that reached it.
    verified: VerifiedTokens<Arc<Key>>,
    required_scope: String,
}

impl BearerAuth {
    /// Checks for tokens as `settings` describe, with keys fetched through `transport`. Warns (once,
    /// at start-up) when the keys would travel over plain http beyond this host.
    pub fn new(settings: &JwtSettings, transport: &Transport) -> Self {
        crypto::install();
        if settings::insecure_http(&settings.jwks_url) {
            tracing::warn!(
                jwks_url = %settings.jwks_url,
                "JWKS_URL is plain http to a host that is not loopback (JWKS_ALLOW_INSECURE_HTTP=true): whoever can intercept the key set can mint tokens for anyone; use https"
            );
        }
        Self {
            rules: Rules::new(settings),
            keys: Keys::new(
                settings.jwks_url.clone(),
                settings.jwks_refetch_interval,
                transport.connector(),
            ),
            verified: VerifiedTokens::default(),
            required_scope: settings.required_scope.clone(),
        }
    }

    /// The scope a token must grant.
    pub fn required_scope(&self) -> &str {
        &self.required_scope
    }

    /// Whether `token` (the credentials of a `Bearer` `Authorization` header) may read users.
    pub async fn authorize(&self, token: &str) -> Result<(), AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::InvalidToken);
        }
        let now = unix_now();
        let cached = self.verified.get(token, now, |key| self.keys.holds(key));
        if traces::enabled() {
            // The current span is the token check's (`http::auth`).
            tracing::Span::current().record("cache.hit", cached.is_some());
        }
        let verified = match cached {
            Some(verified) => verified,
            None => {
                let (verified, key) = self.verify(token).await?;
                self.verified.insert(token, verified, key, now);
                verified
            }
        };
        if verified.has_scope {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope)
        }
    }

    /// The full check, without the cache: key id, key, then the token against it. Also returns the
    /// key, which the verdict holds only as long as the provider publishes it.
    async fn verify(&self, token: &str) -> Result<(token::Verified, Arc<Key>), AuthError> {
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .ok_or(AuthError::InvalidToken)?;
        let key = self.keys.get(&kid).await.map_err(|err| match err {
            KeyError::UnknownKid => AuthError::InvalidToken,
            KeyError::Unavailable => AuthError::Unavailable,
        })?;
        let verified = self
            .rules
            .verify(token, &key)
            .ok_or(AuthError::InvalidToken)?;
        Ok((verified, key))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
