//! The server-only routes: `GET /healthz` and `GET /readyz` for the Kubernetes probes, and
//! `GET /openapi.json`. None of them is part of the Lambda surface.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use serde::Serialize;

use super::error::{ApiError, Success};

/// Whether the server should get traffic: ready once it listens, not ready again once it is told to stop.
///
/// The store needs no check: the server only starts once its store is built, and a store outage is
/// answered per request (503) rather than by pulling every replica out of the load balancer at once.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server listens and may get traffic.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// The server is shutting down: `/readyz` answers 503 from now on.
    pub fn set_shutting_down(&self) {
        self.0.store(false, Ordering::Release);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

/// The probes, and `GET /openapi.json` answering `openapi`.
pub(super) fn routes(readiness: Readiness, openapi: String) -> Router {
    let openapi = axum::body::Bytes::from(openapi);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness)
        .route(
            "/openapi.json",
            get(move || async move { ([(CONTENT_TYPE, "application/json")], openapi) }),
        )
}

/// Liveness: the process is up and serving HTTP.
async fn healthz() -> axum::Json<Success<Status>> {
    Success::new(Status { status: "ok" })
}

/// Readiness: started and not shutting down.
async fn readyz(
    State(readiness): State<Readiness>,
) -> Result<axum::Json<Success<Status>>, ApiError> {
    if readiness.is_ready() {
        Ok(Success::new(Status { status: "ready" }))
    } else {
        Err(ApiError::NotReady)
    }
}
