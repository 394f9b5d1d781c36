//! The one error type of the contract, and the JSON envelope it becomes.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::LookupError;

/// Every error answer of the contract. Each has a status, a stable code and a fixed message; none carries
/// internal detail. It serialises as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiError {
    /// 400: the id breaks the id rule.
    InvalidUserId,
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
}

/// How long a client should wait before retrying a 503, in seconds.
const RETRY_AFTER_SECS: &str = "1";

impl ApiError {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidUserId => StatusCode::BAD_REQUEST,
            Self::UserNotFound | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::StoreUnavailable | Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the body.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidUserId => "INVALID_USER_ID",
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::NotReady => "NOT_READY",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        }
    }

    /// The human-readable message in the body.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidUserId => {
                "a user id is 1 to 64 characters, each a letter, a digit, '-' or '_'"
            }
            Self::UserNotFound => "no user has this id",
            Self::StoreUnavailable => "the user store is unavailable; retry later",
            Self::Internal => "internal error",
            Self::NotFound => "no such resource",
            Self::MethodNotAllowed => "method not allowed on this resource",
            Self::NotReady => "the server is shutting down",
            Self::PayloadTooLarge => "this API takes no request body",
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
        ] {
            assert_eq!(serde_json::to_value(err).unwrap(), err.code());
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
