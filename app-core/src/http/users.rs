//! `/users/{id}`: the lookup and its CORS preflight.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE,
};
use axum::response::IntoResponse;
use axum::routing::get;

use super::error::{ApiError, Success};
use crate::domain::User;
use crate::service::UserService;

/// The user routes, with their state applied.
pub(super) fn routes(service: UserService) -> Router {
    Router::new()
        .route("/users/{id}", get(get_user).options(preflight))
        .with_state(service)
}

/// `GET /users/{id}` (axum answers `HEAD` from the same handler, without the body).
///
/// The id arrives percent-decoded; one that does not decode to UTF-8 breaks the id rule like any other.
async fn get_user(
    State(service): State<UserService>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Success<User>>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::InvalidUserId)?;
    let user = service.get_user(&id).await?;
    Ok(Success::new(user))
}

/// `OPTIONS /users/{id}`: the CORS preflight. `Access-Control-Allow-Origin` is added to every response
/// by the contract's layers.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
            (ACCESS_CONTROL_ALLOW_HEADERS, "content-type, x-request-id"),
            (ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
}
