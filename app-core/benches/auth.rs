//! What a bearer token costs: one verification the cache has not seen (RS256 and ES256: header, key
//! lookup, signature, claims), the same token again (the verified-token cache), and the whole
//! `GET /users/u-1` through the router with a token beside the open one. Real keys, and the JWKS
//! served on loopback by the test identity provider the unit tests use. Run with
//! `cargo bench -p app-core --bench auth`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_core::auth::{
    Access, AuthSettings, BearerAuth, DEFAULT_JWKS_REFETCH_INTERVAL, JwtSettings,
};
use app_core::http::{AppState, router};
use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

use app_core::transport::Transport;
use contract::idp::{AUDIENCE, ISSUER, JwksServer, SCOPE, SigningKey, claims};

fn settings(idp: &JwksServer) -> JwtSettings {
    JwtSettings {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: idp.url().parse().unwrap(),
        required_scope: SCOPE.to_owned(),
        jwks_refetch_interval: DEFAULT_JWKS_REFETCH_INTERVAL,
    }
}

/// Distinct tokens signed by `key` (signing is not what is measured).
fn tokens(key: &SigningKey, n: usize) -> Vec<String> {
    (0..n).map(|_| key.sign(&claims())).collect()
}

/// Times `iters` first verifications: every token is new to the checker it meets (a fresh checker,
/// its keys already fetched, per pass over the pool).
async fn uncached(idp: &JwksServer, key: &SigningKey, pool: &[String], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let checker = BearerAuth::new(&settings(idp), &transport());
        checker.authorize(&key.sign(&claims())).await.unwrap();
        for token in pool.iter().take((iters - done) as usize) {
            let start = Instant::now();
            let verdict = checker.authorize(black_box(token)).await;
            total += start.elapsed();
            assert_eq!(verdict, Ok(()));
            done += 1;
        }
    }
    total
}

fn bearer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rsa = SigningKey::rsa("rsa-bench");
    let ec = SigningKey::ec("ec-bench");
    let idp = runtime.block_on(JwksServer::start(&[&rsa, &ec]));
    let rsa_pool = tokens(&rsa, 200);
    let ec_pool = tokens(&ec, 200);

    let mut group = c.benchmark_group("bearer");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("verify_uncached_rs256", |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| uncached(&idp, &rsa, &rsa_pool, iters))
    });
    group.bench_function("verify_uncached_es256", |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| uncached(&idp, &ec, &ec_pool, iters))
    });

    let checker = BearerAuth::new(&settings(&idp), &transport());
    let token = rsa.sign(&claims());
    runtime.block_on(checker.authorize(&token)).unwrap();
    group.bench_function("verify_cached", |b| {
        b.to_async(&runtime)
            .iter(|| checker.authorize(black_box(&token)))
    });

    let store = Arc::new(MemoryStore::sample());
    let open = router(UserService::new(store.clone()));
    let protected = router(AppState::new(
        UserService::new(store),
        Access::new(&AuthSettings::Jwt(settings(&idp)), &transport()),
    ));
    let authorization = format!("Bearer {token}");
    let get = |app: &app_core::http::Contract, authorization: Option<&str>| {
        let mut request = Request::get("/users/u-1").header(header::HOST, "example.com");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let call = app.clone().oneshot(request.body(Body::empty()).unwrap());
        async move {
            let response = call.await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    group.bench_function("router_get_user_open", |b| {
        b.to_async(&runtime).iter(|| get(&open, None))
    });
    group.bench_function("router_get_user_with_token", |b| {
        b.to_async(&runtime)
            .iter(|| get(&protected, Some(&authorization)))
    });
    group.finish();
}

criterion_group!(benches, bearer);
criterion_main!(benches);

/// The HTTPS transport, on the SDK's parts.
fn transport() -> Transport {
    Transport::new(contract::https::http_client(), contract::https::connector)
}
