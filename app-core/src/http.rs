//! The HTTP contract, written once and served by both targets.
//!
//! [`router`] is the public API (what the Lambda function serves); [`server_router`] adds the
//! Kubernetes probes; [`with_contract`] puts a front door's own routes (`k8s-server`'s `/metrics`, on
//! its own port) behind the same layers. All share the error envelope, CORS headers and request-id
//! handling.

mod auth;
mod error;
mod host;
mod layer;
pub mod limits;
mod metrics;
mod openapi;
mod path;
mod probes;
mod request_id;
mod trace_context;
mod users;

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::FromRef;
use axum::http::Request;
use axum::response::Response;
use tower::Service;

pub use error::ApiError;
pub use host::is_valid_host;
pub use openapi::{openapi_json, openapi_json_for};
pub use path::escape_encoded_dot_segments;
pub use probes::Readiness;
pub use request_id::{
    X_REQUEST_ID, callers_request_id, generate as generate_request_id, is_sane_request_id,
};
pub use trace_context::InvocationTrace;

use crate::auth::Access;
use crate::service::UserService;

/// The routes' state: the lookup service and the access rule the contract applies before any lookup.
/// Handlers and extractors take the part they need (`State<UserService>`, `Access`) through
/// [`FromRef`]. A bare [`UserService`] converts into an open API ([`Access::Open`]).
///
/// Cheap to clone; every clone shares the one store and the one access rule (keys, verified tokens).
#[derive(Debug, Clone)]
pub struct AppState {
    users: UserService,
    access: Access,
}

impl AppState {
    /// The lookup service `users` under the access rule `access`.
    pub fn new(users: UserService, access: Access) -> Self {
        Self { users, access }
    }
}

impl From<UserService> for AppState {
    fn from(users: UserService) -> Self {
        Self::new(users, Access::Open)
    }
}

impl FromRef<AppState> for UserService {
    fn from_ref(state: &AppState) -> Self {
        state.users.clone()
    }
}

impl FromRef<AppState> for Access {
    fn from_ref(state: &AppState) -> Self {
        state.access.clone()
    }
}

/// The public API: `GET|HEAD|OPTIONS /users/{id}`, JSON errors for everything else.
pub fn router(state: impl Into<AppState>) -> Contract {
    with_contract(users::routes(state.into()))
}

/// The public API plus `GET /healthz`, `GET /readyz` and `GET /openapi.json` (the document of the
/// API as `state`'s access rule configures it), for the long-running server's public port.
pub fn server_router(state: impl Into<AppState>, readiness: Readiness) -> Contract {
    let state = state.into();
    let openapi = openapi_json_for(&state.access);
    with_contract(users::routes(state).merge(probes::routes(readiness, openapi)))
}

/// The contract over no routes: every request is answered `400 BAD_REQUEST`, with every header the
/// contract puts on an answer. A front door serves it for a request it could not read whole (see
/// `lambda-fn`'s event check), so that such an answer looks like any other 400.
pub fn refusal() -> Contract {
    with_contract(Router::new().fallback(|| async { ApiError::BadRequest }))
}

/// `routes` behind the contract, for a front door's own routes that the API does not serve
/// (`k8s-server`'s `/metrics` on its metrics port). What every response gets, whatever the route:
/// JSON 404/405 answers, the CORS origin header, the request id (kept from the request if sane, else
/// generated; also on every log line), the request metrics, a JSON 500 instead of a dropped
/// connection if a handler ever panics, and the path normalised before routing (dot segments
/// resolved) by the URL parser `lambda_http` uses.
pub fn with_contract(routes: Router) -> Contract {
    let router = routes
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
        .layer(layer::ContractLayer::default());
    Contract { router }
}

/// The contract as a tower `Service`, ready to serve: the routes behind every layer of
/// [`with_contract`], with the path normalised in front of the router (routing matches the raw
/// path). It takes requests with any body `axum::Router` accepts (hyper's, `lambda_http`'s, axum's).
#[derive(Debug, Clone)]
pub struct Contract {
    router: Router,
}

impl<B> Service<Request<B>> for Contract
where
    Router: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A Router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.router.call(path::normalise(req))
    }
}

#[cfg(test)]
mod tests;
