//! One token checked against one key: signature, algorithm, issuer, audience, time, and the claims
//! that carry its scopes.

use jsonwebtoken::{Validation, decode};
use serde::Deserialize;

use super::jwks::Key;
use super::settings::JwtSettings;

/// At most this much clock skew is tolerated on `exp` and `nbf`, in seconds.
pub(super) const LEEWAY_SECS: u64 = 60;

/// What a verified token says about its bearer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verified {
    /// `exp`, in seconds since the epoch.
    pub(super) expires_at: u64,
    /// Whether the token grants the required scope.
    pub(super) has_scope: bool,
}

/// The rules a token must meet, built once from the settings.
#[derive(Debug)]
pub(super) struct Rules {
    audience: String,
    required_scope: String,
    /// For RS256 and for ES256 keys: each key verifies its own algorithm only.
    rs256: Validation,
    es256: Validation,
}

impl Rules {
    pub(super) fn new(settings: &JwtSettings) -> Self {
        let validation = |algorithm| {
            let mut v = Validation::new(algorithm);
            v.leeway = LEEWAY_SECS;
            v.validate_exp = true;
            v.validate_nbf = true;
            v.set_issuer(&[&settings.issuer]);
            v.set_audience(&[&settings.audience]);
            // `aud` is checked whenever present; without it, `client_id` must name the audience (see
            // `audience_ok`).
            v.set_required_spec_claims(&["exp", "iss"]);
            v
        };
        Self {
            audience: settings.audience.clone(),
            required_scope: settings.required_scope.clone(),
            rs256: validation(jsonwebtoken::Algorithm::RS256),
            es256: validation(jsonwebtoken::Algorithm::ES256),
        }
    }

    /// Checks `token` against `key`; `None` if anything is wrong with it.
    pub(super) fn verify(&self, token: &str, key: &Key) -> Option<Verified> {
        let validation = match key.algorithm {
            jsonwebtoken::Algorithm::RS256 => &self.rs256,
            jsonwebtoken::Algorithm::ES256 => &self.es256,
            _ => return None,
        };
        let claims = match decode::<Claims>(token, &key.decoding, validation) {
            Ok(data) => data.claims,
            Err(err) => {
                // For operators only (debug level); the caller is told nothing.
                tracing::debug!(reason = ?err.kind(), "bearer token refused");
                return None;
            }
        };
        if !self.audience_ok(&claims) {
            tracing::debug!(
                reason = "no aud and another client_id",
                "bearer token refused"
            );
            return None;
        }
        let has_scope = [&claims.scope, &claims.scp]
            .into_iter()
            .flatten()
            .any(|scopes| scopes.contains(&self.required_scope));
        Some(Verified {
            expires_at: claims.exp,
            has_scope,
        })
    }

    /// `aud` was checked by `decode` when present. Without it, `client_id` must equal the audience:
    /// the rule of API Gateway's JWT authorizers, and how Cognito access tokens name their client.
    fn audience_ok(&self, claims: &Claims) -> bool {
        claims.aud.is_some() || claims.client_id.as_deref() == Some(self.audience.as_str())
    }
}

/// The claims this service reads (`decode` reads `iss`, `aud`, `exp` and `nbf` itself).
#[derive(Debug, Deserialize)]
struct Claims {
    exp: u64,
    #[serde(default)]
    aud: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    client_id: Option<String>,
    /// RFC 9068: space-separated.
    #[serde(default)]
    scope: Option<Scopes>,
    /// Okta and others send an array; Entra ID a space-separated string.
    #[serde(default)]
    scp: Option<Scopes>,
}

/// Scopes as a space-separated string or as an array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scopes {
    Spaced(String),
    List(Vec<String>),
}

impl Scopes {
    fn contains(&self, scope: &str) -> bool {
        match self {
            Self::Spaced(spaced) => spaced.split(' ').any(|s| s == scope),
            Self::List(list) => list.iter().any(|s| s == scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_whole_words_in_either_form() {
        let spaced: Scopes = serde_json::from_str(r#""openid users:read profile""#).unwrap();
        let list: Scopes = serde_json::from_str(r#"["openid","users:read"]"#).unwrap();
        let prefix: Scopes = serde_json::from_str(r#""users:read:all users""#).unwrap();

        assert!(spaced.contains("users:read"));
        assert!(list.contains("users:read"));
        assert!(!prefix.contains("users:read"));
        assert!(!list.contains("users"));
    }
}
