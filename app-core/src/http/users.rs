//! `/users/{id}`: the lookup and its CORS preflight.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE,
};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::auth::Authorized;
use super::error::{ApiError, Failure, Success};
use crate::domain::User;
use crate::service::UserService;

/// The user routes, with their state applied.
pub(super) fn routes(state: AppState) -> Router {
    Router::new()
        .route("/users/{id}", get(get_user).options(preflight))
        .with_state(state)
}

/// `GET /users/{id}` (axum answers `HEAD` from the same handler, without the body).
///
/// The access rule comes first ([`Authorized`]), then the body limit, then the id rule. The id arrives
/// percent-decoded; one that does not decode to UTF-8 breaks the id rule like any other.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "getUser",
    summary = "Look a user up by id",
    description = "Also answers HEAD (without the body). Every response carries `x-request-id` and `Access-Control-Allow-Origin: *`. When the deployment sets `AUTH=jwt`, a bearer token (a JWT access token from the configured OpenID Connect provider, granting the configured scope, `users:read` by default) is checked before anything else: without a valid one the answer is 401 whatever the id.",
    params(("id" = String, Path, description = "The user id: 1 to 64 of A-Z a-z 0-9 - _", pattern = "^[A-Za-z0-9_-]{1,64}$", example = "u-1")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = Success<User>, headers(("x-request-id" = String))),
        (status = 400, description = "INVALID_USER_ID: the id breaks the id rule; BAD_REQUEST: no `Host` header, two, or one that is not a host", body = Failure),
        (status = 401, description = "UNAUTHENTICATED: no valid bearer token (AUTH=jwt)", body = Failure, headers(("www-authenticate" = String, description = "`Bearer`, plus `error=\"invalid_token\"` when a token was sent"))),
        (status = 403, description = "FORBIDDEN: the token does not grant the required scope (AUTH=jwt)", body = Failure, headers(("www-authenticate" = String, description = "`Bearer error=\"insufficient_scope\", scope=\"users:read\"` (the configured scope)"))),
        (status = 404, description = "USER_NOT_FOUND: no user has this id", body = Failure),
        (status = 413, description = "PAYLOAD_TOO_LARGE: the request declares a body over 1 KiB (the API takes none)", body = Failure),
        (status = 500, description = "INTERNAL: anything else", body = Failure),
        (status = 503, description = "STORE_UNAVAILABLE: the store timed out, is unreachable or throttles; AUTH_UNAVAILABLE: the provider's signing keys cannot be fetched and none are held (AUTH=jwt)", body = Failure, headers(("retry-after" = String, description = "Seconds to wait before retrying"))),
    ),
    tag = "users"
)]
async fn get_user(
    _: Authorized,
    _: NoLargeBody,
    State(service): State<UserService>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::InvalidUserId)?;
    let user = service.get_user(&id).await?;
    // Encoded here, from the user the store shares.
    Ok(Success::new(&*user).into_response())
}

/// `OPTIONS /users/{id}`: the CORS preflight. `Access-Control-Allow-Origin` is added to every response
/// by the contract's layers.
#[utoipa::path(
    options,
    path = "/users/{id}",
    operation_id = "preflightUser",
    summary = "CORS preflight",
    params(("id" = String, Path, description = "Any path segment")),
    responses((status = 204, description = "Allowed methods and headers", headers(
        ("access-control-allow-methods" = String),
        ("access-control-allow-headers" = String),
        ("access-control-max-age" = String),
    ))),
    tag = "users"
)]
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
            (
                ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type, x-request-id",
            ),
            (ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
}

/// The largest request body the API tolerates, in bytes (by `Content-Length`). It reads none.
pub(super) const MAX_BODY_BYTES: u64 = 1024;

/// Refuses a request that declares a body over [`MAX_BODY_BYTES`]: the lookup takes none, and a
/// client sending megabytes is either confused or hostile. (A body is never read either way.)
struct NoLargeBody;

impl<S: Send + Sync> FromRequestParts<S> for NoLargeBody {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if declared > MAX_BODY_BYTES {
            Err(ApiError::PayloadTooLarge)
        } else {
            Ok(NoLargeBody)
        }
    }
}
