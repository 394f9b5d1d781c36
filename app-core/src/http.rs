//! The HTTP contract, written once and served by both targets.
//!
//! [`router`] is the public API (what the Lambda function serves); [`server_router`] adds the
//! Kubernetes probes. Both share the same routes, error envelope, CORS headers and request-id handling.

mod error;
#[cfg(feature = "lambda")]
pub mod lambda;
mod metrics;
mod openapi;
mod path;
mod probes;
mod request_id;
mod users;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use openapi::openapi_json;
pub use probes::Readiness;
pub use request_id::{X_REQUEST_ID, is_sane_request_id};

use crate::service::UserService;

/// The public API: `GET|HEAD|OPTIONS /users/{id}`, JSON errors for everything else.
pub fn router(service: UserService) -> Router {
    with_contract(users::routes(service))
}

/// The public API plus `GET /healthz`, `GET /readyz`, `GET /openapi.json` and (with the `prometheus`
/// feature, which installs the process's metrics recorder) `GET /metrics`, for the long-running server.
pub fn server_router(service: UserService, readiness: Readiness) -> Router {
    let routes = users::routes(service).merge(probes::routes(readiness));
    #[cfg(feature = "prometheus")]
    let routes = {
        metrics::prometheus::install();
        routes.route("/metrics", axum::routing::get(metrics::prometheus::render))
    };
    with_contract(routes)
}

/// What every response gets, whatever the route: JSON 404/405 answers, the CORS origin header, the
/// request id (kept from the request if sane, else generated; also on every log line), a JSON 500
/// instead of a dropped connection if a handler ever panics, and dot segments resolved before routing.
fn with_contract(routes: Router) -> Router {
    let contract = routes
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
        .layer(
            ServiceBuilder::new()
                .map_request(request_id::drop_insane)
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(SetResponseHeaderLayer::overriding(
                    ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(X_REQUEST_ID),
                ))
                .layer(axum::middleware::from_fn(metrics::record))
                .layer(CatchPanicLayer::custom(error::panic_response)),
        );
    // Routing matches the raw path, so dot segments are resolved in front of the whole router.
    Router::new().fallback_service(
        ServiceBuilder::new()
            .map_request(path::remove_dot_segments)
            .service(contract),
    )
}

#[cfg(test)]
mod tests;
