//! The bearer-token check of the protected routes, as an extractor: the first argument of a handler,
//! so it runs before the path is read (a caller without a valid token learns nothing, not even whether
//! the id is well formed) and before the store is asked.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::Response;

use tracing::{Instrument, Span};

use super::error;
use crate::auth::{Access, AuthError};
use crate::telemetry::traces;

/// Proof that the request may read users: the access rule is open, or its bearer token is valid and
/// grants the required scope.
pub(super) struct Authorized;

impl<S> FromRequestParts<S> for Authorized
where
    Access: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Access::Bearer(bearer) = Access::from_ref(state) else {
            return Ok(Authorized);
        };
        let span = token_check_span();
        let checked = async {
            match bearer_token(&parts.headers) {
                Ok(token) => bearer.authorize(token).await,
                Err(err) => Err(err),
            }
        }
        .instrument(span.clone())
        .await;
        if let Err(err) = checked {
            span.record("error.type", err.kind());
            if err == AuthError::Unavailable {
                span.record("otel.status_code", "error");
            }
        }
        checked
            .map(|()| Authorized)
            .map_err(|err| error::auth_failure(err, bearer.required_scope()))
    }
}

/// The span of a protected request's token check, `auth.token_check` (internal), a child of the
/// request's server span: `cache.hit` says whether the verdict came from the verified tokens
/// (`auth::cache`) or from a signature check (whose JWKS fetch, if one was needed, is the child
/// client span); a refusal sets `error.type` (`missing`, `invalid_token`, `insufficient_scope`,
/// `unavailable`), and only `unavailable`, the service's own failure, the error status (a refused
/// token is the check working, as a 4xx is no server error). A disabled span when export is off.
///
/// One span per check, cache hit or not, and nothing more: the hit is an attribute, not a span or
/// event of its own, so a hit costs one span that the request's tree needs anyway to show where
/// the check sits, and no lookup of its own is timed or exported.
fn token_check_span() -> Span {
    if !traces::enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "auth",
        otel.name = "auth.token_check",
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        cache.hit = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case, RFC 7235). No header or
/// another scheme is [`AuthError::Missing`]; a `Bearer` header that is repeated, not ASCII or without
/// a token is [`AuthError::InvalidToken`].
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::Missing);
    };
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = rest.trim_matches(' ');
    if values.next().is_some() || token.is_empty() || token.contains(' ') {
        return Err(AuthError::InvalidToken);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn token(values: &[&'static str]) -> Result<String, AuthError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_static(value));
        }
        bearer_token(&headers).map(str::to_owned)
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_spaces_around_the_token_are_ignored() {
        for value in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER   abc.def.ghi ",
        ] {
            assert_eq!(token(&[value]).as_deref(), Ok("abc.def.ghi"), "{value}");
        }
    }

    #[test]
    fn no_header_or_another_scheme_is_missing_credentials() {
        assert_eq!(token(&[]), Err(AuthError::Missing));
        assert_eq!(token(&["Basic dXNlcjpwYXNz"]), Err(AuthError::Missing));
        assert_eq!(token(&["Bearerabc"]), Err(AuthError::Missing));
    }

    #[test]
    fn an_empty_split_or_repeated_bearer_token_is_invalid() {
        for values in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a", "Bearer b"],
        ] {
            assert_eq!(token(values), Err(AuthError::InvalidToken), "{values:?}");
        }
    }
}
