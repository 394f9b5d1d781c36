//! The contract, exercised in-process through the router (`oneshot`), on the embedded store.
//! Cross-target parity (real sockets, real Lambda events, DynamoDB) lives in the `tests` crate.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::store::memory::MemoryStore;

mod auth;

/// The request with the `Host` header every HTTP/1.1 request carries, and no body.
fn with_host(request: axum::http::request::Builder) -> Request<Body> {
    request
        .header(header::HOST, "example.com")
        .body(Body::empty())
        .unwrap()
}

fn service() -> UserService {
    UserService::new(Arc::new(MemoryStore::sample()))
}

async fn send(
    router: Contract,
    method: Method,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.com")
        .body(Body::empty())
        .unwrap();
    send_request(router, request).await
}

async fn send_request(
    router: Contract,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

async fn get_json(uri: &str) -> (StatusCode, Value) {
    let (status, headers, body) = send(router(service()), Method::GET, uri).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_known_user_is_returned_in_the_success_envelope() {
    let (status, headers, body) = send(router(service()), Method::GET, "/users/u-1").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"success":true,"data":{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#
    );
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(headers.contains_key(X_REQUEST_ID));
}

#[tokio::test]
async fn an_unknown_user_is_a_404_user_not_found() {
    let (status, body) = get_json("/users/nope").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["success"], json!(false));
    assert_eq!(body["error"]["code"], "USER_NOT_FOUND");
}

#[tokio::test]
async fn ids_that_break_the_rule_are_a_400_whatever_the_encoding() {
    let too_long = format!("/users/{}", "a".repeat(65));
    for uri in [
        "/users/a%20b",
        "/users/a%2Fb",
        "/users/%C3%A9",
        "/users/%FF",
        "/users/%zz",
        too_long.as_str(),
    ] {
        let (status, body) = get_json(uri).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_USER_ID")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_percent_encoded_valid_id_and_a_query_string_still_find_the_user() {
    for uri in ["/users/u%2D1", "/users/u-1?fields=name&x=%zz"] {
        let (status, body) = get_json(uri).await;
        assert_eq!(
            (status, body["data"]["id"].as_str()),
            (StatusCode::OK, Some("u-1")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_not_found() {
    // `/users/..` resolves to `/` (dot segments are resolved before routing, as a URL parser does).
    for uri in [
        "/",
        "/users",
        "/users/",
        "/users/u-1/extra",
        "/healthz",
        "/users/..",
        "/users/%2e%2e/healthz",
    ] {
        let (status, body) = get_json(uri).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn an_encoded_dot_dot_is_an_id_of_two_dots_not_a_way_up() {
    let (status, body) = get_json("/users/%2e%2E").await;

    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_USER_ID"))
    );
}

#[tokio::test]
async fn a_request_without_one_valid_host_is_refused_before_any_route() {
    let requests = [
        Request::get("/users/u-1").body(Body::empty()).unwrap(),
        Request::get("/users/u-1")
            .header(header::HOST, "a.example")
            .header(header::HOST, "a.example")
            .body(Body::empty())
            .unwrap(),
        with_host(Request::get("/nope").header(header::HOST, "b.example")),
        Request::get("/users/u-1")
            .header(header::HOST, "bad host")
            .body(Body::empty())
            .unwrap(),
    ];
    for request in requests {
        let described = format!("{:?}", request.headers());
        let response = super::router(service()).oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{described}");
        assert!(response.headers().contains_key(X_REQUEST_ID), "{described}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "BAD_REQUEST", "{described}");
    }
}

#[tokio::test]
async fn no_answer_may_be_cached_or_sniffed_as_another_type() {
    for uri in ["/users/u-1", "/users/nope", "/nope"] {
        let response = super::router(service())
            .oneshot(with_host(Request::get(uri)))
            .await
            .unwrap();

        let header = |name| response.headers().get(name).map(|v| v.to_str().unwrap());
        assert_eq!(header(header::CACHE_CONTROL), Some("no-store"), "{uri}");
        assert_eq!(
            header(header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn another_method_is_a_json_405_with_allow() {
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let (status, headers, body) = send(router(service()), method.clone(), "/users/u-1").await;
        let body: Value = serde_json::from_slice(&body).unwrap();

        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
        assert_eq!(headers[header::ALLOW], "GET,HEAD,OPTIONS");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    }
}

#[tokio::test]
async fn options_is_a_204_cors_preflight() {
    let (status, headers, body) = send(router(service()), Method::OPTIONS, "/users/u-1").await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_METHODS],
        "GET, HEAD, OPTIONS"
    );
    assert!(headers.contains_key(header::ACCESS_CONTROL_ALLOW_HEADERS));
    assert!(!headers.contains_key(header::CONTENT_TYPE));
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let (status, headers, body) = send(router(service()), Method::HEAD, "/users/u-1").await;

    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_insane_one_replaced() {
    let with_id = |id: &'static str| {
        Request::get("/users/u-1")
            .header(header::HOST, "example.com")
            .header(X_REQUEST_ID, id)
            .body(Body::empty())
            .unwrap()
    };

    let kept = router(service()).oneshot(with_id("abc-123")).await.unwrap();
    let replaced = router(service())
        .oneshot(with_id("no spaces please"))
        .await
        .unwrap();

    assert_eq!(kept.headers()[X_REQUEST_ID], "abc-123");
    let fresh = replaced.headers()[X_REQUEST_ID].to_str().unwrap();
    assert_ne!(fresh, "no spaces please");
    assert!(is_sane_request_id(&replaced.headers()[X_REQUEST_ID]));
}

#[tokio::test]
async fn readiness_follows_the_server_lifecycle() {
    let readiness = Readiness::new();
    let app = || server_router(service(), readiness.clone());

    let (before, _, _) = send(app(), Method::GET, "/readyz").await;
    readiness.set_ready();
    let (ready, _, _) = send(app(), Method::GET, "/readyz").await;
    readiness.set_shutting_down();
    let (stopping, headers, body) = send(app(), Method::GET, "/readyz").await;
    let (alive, _, _) = send(app(), Method::GET, "/healthz").await;

    assert_eq!(
        (before, ready, stopping, alive),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        )
    );
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "NOT_READY"
    );
}

#[tokio::test]
async fn a_front_doors_own_routes_get_the_whole_contract_and_nothing_else() {
    // GIVEN a front door's own route (as k8s-server's /metrics on its metrics port) behind the contract
    let app = || {
        with_contract(Router::new().route(
            "/metrics",
            axum::routing::get(|| async { "# TYPE up gauge\n" }),
        ))
    };

    // WHEN it is asked for that route, for it with another method, and for the API
    let (ok, headers, body) = send(app(), Method::GET, "/metrics").await;
    let (post, _, post_body) = send(app(), Method::POST, "/metrics").await;
    let (users, _, users_body) = send(app(), Method::GET, "/users/u-1").await;

    // THEN the route answers with the request id and CORS headers, and the rest are JSON 405/404
    assert_eq!(ok, StatusCode::OK);
    assert_eq!(body, b"# TYPE up gauge\n");
    assert!(is_sane_request_id(&headers[X_REQUEST_ID]));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let code =
        |body: &[u8]| serde_json::from_slice::<Value>(body).unwrap()["error"]["code"].clone();
    assert_eq!(post, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&post_body), "METHOD_NOT_ALLOWED");
    assert_eq!(users, StatusCode::NOT_FOUND);
    assert_eq!(code(&users_body), "NOT_FOUND");
}

#[tokio::test]
async fn the_probes_are_not_part_of_the_public_api() {
    let (status, _) = get_json("/readyz").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn store_failures_become_503_with_retry_after_and_500_without_detail() {
    use crate::domain::{User, UserId};
    use crate::store::{StoreError, UserRepository};
    use async_trait::async_trait;

    struct Failing(StoreError);
    #[async_trait]
    impl UserRepository for Failing {
        async fn get(&self, _: &UserId) -> Result<Option<Arc<User>>, StoreError> {
            Err(self.0.clone())
        }
    }
    let app = |err: StoreError| router(UserService::new(Arc::new(Failing(err))));

    let (unavailable, headers, body503) = send(
        app(StoreError::Unavailable(
            "timeout talking to table Users".into(),
        )),
        Method::GET,
        "/users/u-1",
    )
    .await;
    let (internal, _, body500) = send(
        app(StoreError::Failed(
            "table Users: missing attribute email".into(),
        )),
        Method::GET,
        "/users/u-1",
    )
    .await;

    assert_eq!(unavailable, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(
        serde_json::from_slice::<Value>(&body503).unwrap()["error"]["code"],
        "STORE_UNAVAILABLE"
    );
    assert_eq!(internal, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        serde_json::from_slice::<Value>(&body500).unwrap()["error"]["code"],
        "INTERNAL"
    );
    for body in [&body503, &body500] {
        let text = String::from_utf8_lossy(body);
        assert!(
            !text.contains("Users") && !text.contains("attribute"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_panicking_store_is_a_json_500_with_the_request_id_not_a_dropped_connection() {
    use crate::domain::{User, UserId};
    use crate::store::{StoreError, UserRepository};
    use async_trait::async_trait;

    struct Panicking;
    #[async_trait]
    impl UserRepository for Panicking {
        async fn get(&self, _: &UserId) -> Result<Option<Arc<User>>, StoreError> {
            panic!("bug in a store adapter")
        }
    }

    let (status, headers, body) = send(
        router(UserService::new(Arc::new(Panicking))),
        Method::GET,
        "/users/u-1",
    )
    .await;

    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "INTERNAL"
    );
    assert!(!String::from_utf8_lossy(&body).contains("bug"));
    assert!(headers.contains_key(X_REQUEST_ID));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn paths_are_normalised_before_routing_as_lambda_http_does() {
    for uri in [
        "/users/x/../u-1",
        "/users/./u-1",
        "/nope/../users/u-1",
        "/users\\u-1",
    ] {
        let (status, body) = get_json(uri).await;
        assert_eq!(
            (status, body["data"]["id"].as_str()),
            (StatusCode::OK, Some("u-1")),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_served_openapi_document_describes_the_api_as_configured() {
    // GIVEN a server with AUTH=none (the default)
    let app = server_router(service(), Readiness::new());

    // WHEN a client reads /openapi.json
    let response = app
        .oneshot(with_host(Request::get("/openapi.json")))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let doc: Value = serde_json::from_slice(&body).unwrap();

    // THEN the lookup asks for no bearer token (the committed document, AUTH=jwt, does)
    let get = &doc["paths"]["/users/{id}"]["get"];
    assert!(get["security"].is_null(), "{get}");
    assert!(get["responses"]["200"].is_object());
}
