//! Bearer-token authentication through the router, with real keys, real signatures and the JWKS
//! served over HTTP on loopback (`contract::idp`); the table is `contract::auth`, which the
//! parity suite also sends to every front door.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use url::Url;

use super::{send_request, service};
use contract::auth::{
    AuthCase, FORBIDDEN_BODY, INVALID, MISSING, UNAUTHENTICATED_BODY, cases as auth_cases,
    published_keys,
};
use contract::idp::{
    self, AUDIENCE, ISSUER, JwksServer, SCOPE, SigningKey, claims, claims_with, shared_ec,
    shared_rsa,
};

use crate::auth::{Access, AuthSettings, DEFAULT_JWKS_REFETCH_INTERVAL, JwtSettings};
use crate::http::{AppState, Readiness, router, server_router};
use crate::transport::Transport;

/// The user service behind `AUTH=jwt` with the test provider's issuer, audience and scope.
fn protected(jwks_url: &str) -> AppState {
    let settings = AuthSettings::Jwt(JwtSettings {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: Url::parse(jwks_url).unwrap(),
        required_scope: SCOPE.to_owned(),
        jwks_refetch_interval: DEFAULT_JWKS_REFETCH_INTERVAL,
    });
    AppState::new(service(), Access::new(&settings, &Transport::for_tests()))
}

/// What a caller sees.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn code(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body["error"]["code"].as_str().map(str::to_owned)
    }

    fn challenge(&self) -> Option<&str> {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }
}

async fn call(
    service: &AppState,
    method: Method,
    uri: &str,
    authorization: Option<&str>,
) -> Answer {
    let lines: Vec<&str> = authorization.into_iter().collect();
    call_with(service, method, uri, &lines).await
}

/// [`call`] with every `Authorization` line in `authorization`.
async fn call_with(
    service: &AppState,
    method: Method,
    uri: &str,
    authorization: &[&str],
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.com");
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    let (status, headers, body) = send_request(
        router(service.clone()),
        request.body(Body::empty()).unwrap(),
    )
    .await;
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(service: &AppState, token: &str) -> Answer {
    call(
        service,
        Method::GET,
        "/users/u-1",
        Some(&format!("Bearer {token}")),
    )
    .await
}

const USER_1: &str = r#"{"success":true,"data":{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#;

#[tokio::test]
async fn the_authentication_table() {
    let idp = JwksServer::start(&published_keys()).await;
    let service = protected(&idp.url());

    for AuthCase {
        case,
        authorization,
    } in auth_cases()
    {
        let method = Method::from_bytes(case.method.as_bytes()).unwrap();
        let lines: Vec<&str> = authorization.iter().map(String::as_str).collect();
        let answer = call_with(&service, method, case.target, &lines).await;
        let name = case.name;
        assert_eq!(answer.status, case.status, "{name}");
        assert_eq!(answer.challenge(), case.challenge, "{name}");
        assert_eq!(answer.code().as_deref(), case.code, "{name}");
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/json",
            "{name}"
        );
        let body = String::from_utf8(answer.body.clone()).unwrap();
        match (case.method, case.status) {
            ("HEAD", _) => assert_eq!(body, "", "{name}"),
            (_, 200) => assert_eq!(body, USER_1, "{name}"),
            (_, 401) => assert_eq!(body, UNAUTHENTICATED_BODY, "{name}"),
            (_, 403) => assert_eq!(body, FORBIDDEN_BODY, "{name}"),
            _ => {}
        }
    }
    assert_eq!(idp.fetches(), 1, "one fetch served every known kid");
}

#[tokio::test]
async fn without_a_valid_token_the_id_rule_and_the_store_are_never_reached() {
    let idp = JwksServer::start(&[shared_rsa()]).await;
    let service = protected(&idp.url());
    let token = shared_rsa().sign(&claims());

    let malformed = call(&service, Method::GET, "/users/a%20b", None).await;
    let unknown = call(&service, Method::GET, "/users/nope", Some("Bearer x.y.z")).await;
    let head = call(&service, Method::HEAD, "/users/u-1", None).await;
    let with_token = call(
        &service,
        Method::GET,
        "/users/a%20b",
        Some(&format!("Bearer {token}")),
    )
    .await;

    assert_eq!(
        (malformed.status, malformed.code().as_deref()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );
    assert_eq!(malformed.challenge(), MISSING);
    assert_eq!(
        (unknown.status, unknown.challenge()),
        (StatusCode::UNAUTHORIZED, INVALID)
    );
    assert_eq!(
        (head.status, head.challenge()),
        (StatusCode::UNAUTHORIZED, MISSING)
    );
    assert!(head.body.is_empty());
    assert_eq!(
        (with_token.status, with_token.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("INVALID_USER_ID"))
    );
}

#[tokio::test]
async fn preflights_unknown_paths_other_methods_and_probes_stay_open() {
    let idp = JwksServer::start(&[shared_rsa()]).await;
    let service = protected(&idp.url());

    let preflight = call(&service, Method::OPTIONS, "/users/u-1", None).await;
    let post = call(&service, Method::POST, "/users/u-1", None).await;
    let unknown = call(&service, Method::GET, "/nope", None).await;
    let readiness = Readiness::new();
    readiness.set_ready();
    let mut probes = Vec::new();
    for uri in ["/healthz", "/readyz", "/openapi.json"] {
        let request = super::with_host(Request::get(uri));
        let (status, _, _) =
            send_request(server_router(service.clone(), readiness.clone()), request).await;
        probes.push(status);
    }

    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    let allowed = preflight.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(
        allowed.split(", ").any(|h| h == "authorization"),
        "{allowed}"
    );
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(probes, [StatusCode::OK; 3]);
    for answer in [&preflight, &post, &unknown] {
        assert_eq!(answer.challenge(), None);
    }
    assert_eq!(idp.fetches(), 0, "nothing open needed the keys");
}

#[tokio::test]
async fn a_browser_may_read_the_challenge() {
    let idp = JwksServer::start(&[shared_rsa()]).await;
    let answer = call(&protected(&idp.url()), Method::GET, "/users/u-1", None).await;

    let exposed = answer.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    assert!(
        exposed.split(", ").any(|h| h == "www-authenticate"),
        "{exposed}"
    );
}

#[tokio::test]
async fn keys_are_fetched_on_first_need_once_even_under_concurrent_requests() {
    let idp = JwksServer::start(&[shared_rsa()]).await;
    let service = protected(&idp.url());
    assert_eq!(idp.fetches(), 0, "building the service fetches nothing");

    let requests: Vec<_> = (0..16)
        .map(|_| {
            let service = service.clone();
            let token = shared_rsa().sign(&claims());
            tokio::spawn(async move { get(&service, &token).await.status })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }

    assert_eq!(idp.fetches(), 1);
}

#[tokio::test]
async fn a_key_added_after_the_first_fetch_is_fetched_on_its_first_token_at_most_every_30_s() {
    let rsa = shared_rsa();
    let rotated = SigningKey::ec("ec-rotated");
    let idp = JwksServer::start(&[rsa]).await;
    let service = protected(&idp.url());
    assert_eq!(
        get(&service, &rsa.sign(&claims())).await.status,
        StatusCode::OK
    );

    idp.publish(&rotated);
    let too_soon = get(&service, &rotated.sign(&claims())).await;
    skip_time(Duration::from_secs(31)).await;
    let after_the_interval = get(&service, &rotated.sign(&claims())).await;
    let random_kid = get(&service, &SigningKey::ec("random").sign(&claims())).await;

    assert_eq!(
        (too_soon.status, too_soon.challenge()),
        (StatusCode::UNAUTHORIZED, INVALID),
        "the last fetch was under 30 s ago"
    );
    assert_eq!(after_the_interval.status, StatusCode::OK);
    assert_eq!(random_kid.status, StatusCode::UNAUTHORIZED);
    assert_eq!(idp.fetches(), 2, "the random kid did not cause a fetch");
}

#[tokio::test]
async fn a_verified_token_is_refused_once_its_key_has_left_the_set() {
    let leaving = SigningKey::ec("leaving");
    let idp = JwksServer::start(&[&leaving, shared_rsa()]).await;
    let service = protected(&idp.url());
    let kept = leaving.sign(&claims_with(json!({"exp": idp::now() + 10 * 365 * 86_400})));
    let other_key = shared_rsa().sign(&claims());
    assert_eq!(get(&service, &kept).await.status, StatusCode::OK);
    assert_eq!(get(&service, &other_key).await.status, StatusCode::OK);

    // The provider rotates `leaving` out; a token of the new key makes the service fetch again.
    idp.retire("leaving");
    idp.publish(shared_ec());
    skip_time(Duration::from_secs(31)).await;
    let new_key = get(&service, &shared_ec().sign(&claims())).await;
    let verified_before = get(&service, &kept).await;
    let fresh_from_old_key = get(&service, &leaving.sign(&claims())).await;
    let key_still_held = get(&service, &other_key).await;

    assert_eq!(new_key.status, StatusCode::OK);
    assert_eq!(
        (verified_before.status, verified_before.challenge()),
        (StatusCode::UNAUTHORIZED, INVALID),
        "a ten-year token verified with the retired key is not answered from the cache"
    );
    assert_eq!(fresh_from_old_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(key_still_held.status, StatusCode::OK);
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn a_verified_token_is_refused_once_its_key_id_names_another_key() {
    let replaced = SigningKey::ec("k");
    let idp = JwksServer::start(&[&replaced]).await;
    let service = protected(&idp.url());
    let kept = replaced.sign(&claims());
    assert_eq!(get(&service, &kept).await.status, StatusCode::OK);

    // The provider publishes another key under the same id; a token of a new key id makes the
    // service fetch again.
    idp.retire("k");
    idp.publish(&SigningKey::ec("k"));
    idp.publish(shared_ec());
    skip_time(Duration::from_secs(31)).await;
    assert_eq!(
        get(&service, &shared_ec().sign(&claims())).await.status,
        StatusCode::OK
    );
    let verified_before = get(&service, &kept).await;

    assert_eq!(verified_before.status, StatusCode::UNAUTHORIZED);
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn a_key_set_fetched_empty_keeps_the_keys_held() {
    let idp = JwksServer::start(&[shared_ec()]).await;
    let service = protected(&idp.url());
    assert_eq!(
        get(&service, &shared_ec().sign(&claims())).await.status,
        StatusCode::OK
    );

    // The provider publishes an empty set; a token of an unknown key id makes the service fetch it.
    idp.retire(shared_ec().kid());
    skip_time(Duration::from_secs(31)).await;
    let unknown = get(&service, &SigningKey::ec("new").sign(&claims())).await;
    let held_key = get(&service, &shared_ec().sign(&claims())).await;

    assert_eq!(idp.fetches(), 2, "the empty set was fetched");
    assert_eq!(
        (unknown.status, unknown.challenge()),
        (StatusCode::UNAUTHORIZED, INVALID)
    );
    assert_eq!(
        held_key.status,
        StatusCode::OK,
        "the held key still verifies: {:?}",
        held_key.code()
    );
}

#[tokio::test]
async fn a_key_set_with_a_duplicate_key_id_is_refused_and_the_keys_held_are_kept() {
    let held = shared_ec();
    let impostor = SigningKey::ec(held.kid());
    let added = SigningKey::ec("added");
    let idp = JwksServer::start(&[held]).await;
    let service = protected(&idp.url());
    assert_eq!(
        get(&service, &held.sign(&claims())).await.status,
        StatusCode::OK
    );

    // The provider publishes a second key under the held key's id, and a new key; a token of the
    // new key makes the service fetch the set.
    idp.publish(&impostor);
    idp.publish(&added);
    skip_time(Duration::from_secs(31)).await;
    let from_added = get(&service, &added.sign(&claims())).await;
    let from_impostor = get(&service, &impostor.sign(&claims())).await;
    let from_held = get(&service, &held.sign(&claims())).await;

    assert_eq!(idp.fetches(), 2, "the set was fetched");
    assert_eq!(
        from_added.status,
        StatusCode::UNAUTHORIZED,
        "the set was refused as a whole"
    );
    assert_eq!(from_impostor.status, StatusCode::UNAUTHORIZED);
    assert_eq!(from_held.status, StatusCode::OK);
}

#[tokio::test]
async fn a_first_key_set_with_a_duplicate_key_id_leaves_no_key_held_503() {
    let idp = JwksServer::start(&[shared_ec()]).await;
    idp.publish(&SigningKey::ec(shared_ec().kid()));
    let service = protected(&idp.url());

    let answer = get(&service, &shared_ec().sign(&claims())).await;

    assert_eq!(
        (answer.status, answer.code().as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("AUTH_UNAVAILABLE"))
    );
}

#[tokio::test]
async fn a_jwks_endpoint_that_goes_down_once_keys_are_held_changes_nothing() {
    let idp = JwksServer::start(&[shared_rsa(), shared_ec()]).await;
    let service = protected(&idp.url());
    assert_eq!(
        get(&service, &shared_rsa().sign(&claims())).await.status,
        StatusCode::OK
    );

    idp.stop().await;
    skip_time(Duration::from_secs(31)).await;
    let fresh_rsa = get(&service, &shared_rsa().sign(&claims())).await;
    let fresh_ec = get(&service, &shared_ec().sign(&claims())).await;
    let unknown = get(&service, &SigningKey::ec("new").sign(&claims())).await;

    assert_eq!(fresh_rsa.status, StatusCode::OK);
    assert_eq!(fresh_ec.status, StatusCode::OK);
    assert_eq!(
        (unknown.status, unknown.challenge()),
        (StatusCode::UNAUTHORIZED, INVALID),
        "an unknown kid is the token's fault while keys are held"
    );
}

#[tokio::test]
async fn a_jwks_endpoint_never_reached_is_503_auth_unavailable_with_retry_after() {
    let service = protected(&idp::unreachable_url());

    let answer = get(&service, &shared_rsa().sign(&claims())).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.code().as_deref(), Some("AUTH_UNAVAILABLE"));
    assert_eq!(answer.headers[header::RETRY_AFTER], "1");
    assert_eq!(answer.challenge(), None);
}

#[tokio::test]
async fn answers_never_carry_the_token_or_its_claims() {
    let idp = JwksServer::start(&[shared_rsa()]).await;
    let service = protected(&idp.url());
    let secret_claims = claims_with(json!({"sub": "secret-subject", "iss": "https://evil.test/"}));
    let token = shared_rsa().sign(&secret_claims);

    let answer = get(&service, &token).await;

    let text = String::from_utf8_lossy(&answer.body);
    for leak in [
        token.as_str(),
        "secret-subject",
        "evil",
        "signature",
        "issuer",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

/// Moves the clock the service's rate limit reads (tokio's) forward by `by`, without waiting.
async fn skip_time(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

#[test]
fn the_contract_crate_knows_the_longest_token_the_service_accepts() {
    assert_eq!(
        contract::auth::MAX_TOKEN_BYTES,
        crate::auth::MAX_TOKEN_BYTES
    );
}
