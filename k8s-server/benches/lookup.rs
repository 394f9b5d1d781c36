//! Micro-benchmarks of the in-process path of `GET /users/u-1` on the embedded store: the id rule, the
//! lookup, the JSON encoding, and the whole contract through the router (`oneshot`, as the unit tests
//! drive it). Run with `cargo bench -p k8s-server`; `cargo xtask bench` summarises them in
//! docs/benchmarks.md.
//!
//! `axum_bare_get_user` serves the same lookup from a plain axum route without the contract's layers,
//! so the difference to `router_get_user` is what the layers cost. `server_router_*` is what
//! `k8s-server` serves (`k8s_server::router`, which installs the Prometheus recorder). The last benchmark installs the production log subscriber (text, `info`) first,
//! so that the request span costs what it costs in the binaries; the others run without one.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use app_core::domain::UserId;
use app_core::http::{Readiness, generate_request_id, router};
use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use app_core::telemetry::{LogFormat, LogSettings};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use serde::Serialize;
use tower::{Service, ServiceExt};

/// The success envelope, shaped as the contract sends it.
#[derive(Serialize)]
struct Envelope<T> {
    success: bool,
    data: T,
}

/// The lookup as a plain axum handler: no request id, span, CORS, metrics or panic layer.
async fn bare_get_user(
    State(service): State<UserService>,
    Path(id): Path<String>,
) -> Result<Response, StatusCode> {
    let user = service
        .get_user(&id)
        .await
        .map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(axum::Json(Envelope {
        success: true,
        data: &*user,
    })
    .into_response())
}

fn service() -> UserService {
    UserService::new(Arc::new(MemoryStore::sample()))
}

/// One `GET` through the router, body read to the end; returns the body length.
async fn send<S>(router: &S, uri: &str) -> usize
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    let request = Request::get(uri)
        .header(axum::http::header::HOST, "example.com")
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len()
}

fn lookup(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = service();
    let user = runtime.block_on(service.get_user("u-1")).unwrap();
    let app = router(service.clone());
    let bare = Router::new()
        .route("/users/{id}", get(bare_get_user))
        .with_state(service.clone());

    let mut group = c.benchmark_group("lookup");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("id_check", |b| b.iter(|| UserId::parse(black_box("u-1"))));
    group.bench_function("service_get_user", |b| {
        b.to_async(&runtime)
            .iter(|| async { service.get_user(black_box("u-1")).await })
    });
    group.bench_function("request_uuid", |b| b.iter(generate_request_id));
    group.bench_function("json_envelope", |b| {
        b.iter(|| {
            serde_json::to_vec(&Envelope {
                success: true,
                data: black_box(&user),
            })
        })
    });
    group.bench_function("router_get_user", |b| {
        b.to_async(&runtime).iter(|| send(&app, "/users/u-1"))
    });
    group.bench_function("router_invalid_id", |b| {
        b.to_async(&runtime).iter(|| send(&app, "/users/a%20b"))
    });
    group.bench_function("axum_bare_get_user", |b| {
        b.to_async(&runtime).iter(|| send(&bare, "/users/u-1"))
    });
    // From here on the metrics recorder is installed.
    let server = k8s_server::router(service.clone(), Readiness::new());
    group.bench_function("server_router_get_user", |b| {
        b.to_async(&runtime).iter(|| send(&server, "/users/u-1"))
    });
    app_core::telemetry::init(
        &LogSettings {
            format: LogFormat::Text,
            filter: "info".to_owned(),
            traces: app_core::telemetry::traces::TraceSettings::Off,
        },
        &k8s_server::transport::transport(),
    );
    group.bench_function("server_router_get_user_with_info_logging", |b| {
        b.to_async(&runtime).iter(|| send(&server, "/users/u-1"))
    });
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
