//! The one error type of the contract, and the JSON envelope it becomes.

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::LookupError;

/// Every error answer of the contract. Each has a status, a stable code and a fixed message; none carries
/// internal detail. It serialises as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiError {
    /// 400: the id breaks the id rule.
    InvalidUserId,
    /// 400: the request breaks HTTP's framing rules (no `Host`, two, or one that is not a host) or
    /// carries more than the service takes in one request (see [`crate::http::limits`]).
    BadRequest,
    /// 404: no user has this id.
    UserNotFound,
    /// 503 with `Retry-After`: the store timed out, is unreachable or throttles.
    StoreUnavailable,
    /// 500: anything else.
    Internal,
    /// 404: no such route.
    NotFound,
    /// 405 (with `Allow`, set by the router): the route exists, the method does not.
    MethodNotAllowed,
    /// 503 with `Retry-After`: the server is shutting down (readiness probe).
    NotReady,
    /// 413: the request declares a body larger than the API accepts (it takes none).
    PayloadTooLarge,
    /// 401 with `WWW-Authenticate: Bearer`: no valid bearer token.
    Unauthenticated,
    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`: the token lacks the scope.
    Forbidden,
    /// 503 with `Retry-After`: the provider's keys cannot be had to check the token.
    AuthUnavailable,
}

/// How long a client should wait before retrying a 503, in seconds.
const RETRY_AFTER_SECS: &str = "1";

impl ApiError {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidUserId | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::UserNotFound | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::StoreUnavailable | Self::NotReady | Self::AuthUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the body.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidUserId => "INVALID_USER_ID",
            Self::BadRequest => "BAD_REQUEST",
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::NotReady => "NOT_READY",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::AuthUnavailable => "AUTH_UNAVAILABLE",
        }
    }

    /// The human-readable message in the body.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidUserId => {
                "a user id is 1 to 64 characters, each a letter, a digit, '-' or '_'"
            }
            Self::BadRequest => "malformed request",
            Self::UserNotFound => "no user has this id",
            Self::StoreUnavailable => "the user store is unavailable; retry later",
            Self::Internal => "internal error",
            Self::NotFound => "no such resource",
            Self::MethodNotAllowed => "method not allowed on this resource",
            Self::NotReady => "the server is shutting down",
            Self::PayloadTooLarge => "this API takes no request body",
            Self::Unauthenticated => "a valid bearer token is required",
            Self::Forbidden => "the bearer token does not grant the scope this resource needs",
            Self::AuthUnavailable => "the bearer token cannot be checked now; retry later",
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::InvalidId(_) => Self::InvalidUserId,
            LookupError::NotFound(_) => Self::UserNotFound,
            LookupError::StoreUnavailable => Self::StoreUnavailable,
            LookupError::Internal => Self::Internal,
        }
    }
}

/// The answer to a refused request on a protected route: the contract's error, with the RFC 6750
/// challenge (`scope` is the scope the route needs).
pub(super) fn auth_failure(err: AuthError, scope: &str) -> Response {
    let (api, challenge) = match err {
        AuthError::Missing => (
            ApiError::Unauthenticated,
            HeaderValue::from_static("Bearer"),
        ),
        AuthError::InvalidToken => (
            ApiError::Unauthenticated,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        ),
        AuthError::InsufficientScope => (
            ApiError::Forbidden,
            // The scope was checked at start-up to be a valid header value.
            HeaderValue::try_from(format!(
                r#"Bearer error="insufficient_scope", scope="{scope}""#
            ))
            .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer error="insufficient_scope""#)),
        ),
        AuthError::Unavailable => return ApiError::AuthUnavailable.into_response(),
    };
    let mut response = api.into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    response
}

/// `{"success":true,"data":...}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    success: bool,
    /// The answer.
    data: T,
}

impl<T: Serialize> Success<T> {
    pub(crate) fn new(data: T) -> Json<Self> {
        Json(Self {
            success: true,
            data,
        })
    }
}

/// `{"success":false,"error":{"code":...,"message":...}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Failure {
    /// Always `false`.
    success: bool,
    /// What went wrong.
    error: ErrorBody,
}

/// The code (stable, for programs) and message (for people) of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error code.
    code: ApiError,
    /// A fixed, human-readable explanation.
    #[schema(example = "no user has this id")]
    message: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Failure {
            success: false,
            error: ErrorBody {
                code: self,
                message: self.message(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        response
    }
}

/// The answer to a panic in a handler: logged with its message, answered as a plain `500 INTERNAL`.
pub(super) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    ApiError::Internal.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_serialises_as_its_code() {
        for err in [
            ApiError::InvalidUserId,
            ApiError::UserNotFound,
            ApiError::StoreUnavailable,
            ApiError::Internal,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::NotReady,
            ApiError::PayloadTooLarge,
            ApiError::Unauthenticated,
            ApiError::Forbidden,
            ApiError::AuthUnavailable,
        ] {
            assert_eq!(serde_json::to_value(err).unwrap(), err.code());
        }
    }

    #[tokio::test]
    async fn each_auth_error_maps_to_its_status_code_and_challenge() {
        use http_body_util::BodyExt;
        let cases = [
            (AuthError::Missing, 401, "UNAUTHENTICATED", Some("Bearer")),
            (
                AuthError::InvalidToken,
                401,
                "UNAUTHENTICATED",
                Some(r#"Bearer error="invalid_token""#),
            ),
            (
                AuthError::InsufficientScope,
                403,
                "FORBIDDEN",
                Some(r#"Bearer error="insufficient_scope", scope="users:read""#),
            ),
            (AuthError::Unavailable, 503, "AUTH_UNAVAILABLE", None),
        ];
        for (err, status, code, challenge) in cases {
            let (parts, body) = auth_failure(err, "users:read").into_parts();
            let body: serde_json::Value =
                serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
            assert_eq!(parts.status.as_u16(), status, "{err:?}");
            assert_eq!(body["error"]["code"], code, "{err:?}");
            assert_eq!(
                parts
                    .headers
                    .get(WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap()),
                challenge
            );
            assert_eq!(parts.headers.contains_key(RETRY_AFTER), status == 503);
        }
    }

    #[test]
    fn each_lookup_error_maps_to_its_contract_status_and_code() {
        let id = crate::domain::UserId::parse("u-1").unwrap();
        let cases = [
            (
                LookupError::InvalidId(crate::domain::InvalidUserId),
                400,
                "INVALID_USER_ID",
            ),
            (LookupError::NotFound(id), 404, "USER_NOT_FOUND"),
            (LookupError::StoreUnavailable, 503, "STORE_UNAVAILABLE"),
            (LookupError::Internal, 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!((api.status().as_u16(), api.code()), (status, code));
        }
    }
}
