//! `ceiling-axum PORT`: a plain axum router serving `GET /users/{id}` from the embedded store on
//! `127.0.0.1:PORT`, with no layer (no request id, span, CORS, metrics, panic guard or dot segments):
//! what `k8s-server` would reach if its production layers cost nothing.

use std::sync::Arc;

use anyhow::{Context, Result};
use app_core::domain::User;
use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

/// The success envelope, shaped as the contract sends it.
#[derive(Serialize)]
struct Envelope<'a> {
    success: bool,
    data: &'a User,
}

async fn get_user(
    State(service): State<UserService>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, StatusCode> {
    let user = service
        .get_user(&id)
        .await
        .map_err(|_| StatusCode::NOT_FOUND)?;
    let body = serde_json::to_vec(&Envelope {
        success: true,
        data: &user,
    })
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(([(CONTENT_TYPE, "application/json")], body))
}

#[tokio::main]
async fn main() -> Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .context("usage: ceiling-axum PORT")?
        .parse()?;
    let service = UserService::new(Arc::new(MemoryStore::sample()));
    let app = Router::new()
        .route("/users/{id}", get(get_user))
        .with_state(service);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
