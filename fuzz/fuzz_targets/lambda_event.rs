//! Event in, response out of the Lambda front door: any JSON event the runtime delivers is either
//! refused as unreadable (an invocation error, as when the runtime cannot read it) or answered (never a
//! panic), the answer is never a 5xx, and every body is the JSON envelope.
#![no_main]

use std::sync::{Arc, OnceLock};

use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use lambda_fn::event_handler;
use lambda_http::{Context, LambdaEvent};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fn service() -> UserService {
    static SERVICE: OnceLock<UserService> = OnceLock::new();
    SERVICE
        .get_or_init(|| UserService::new(Arc::new(MemoryStore::sample())))
        .clone()
}

fuzz_target!(|data: &[u8]| {
    // What the runtime does with the bytes it receives; an event that is not JSON never reaches us.
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut context = Context::default();
    context.request_id = "fuzz".into();
    let response = runtime()
        .block_on(event_handler(service()).oneshot(LambdaEvent::new(event, context)));
    // Not an event `lambda_http` reads (no API Gateway, Function URL or ALB shape).
    let Ok(response) = response else {
        return;
    };
    let response = serde_json::to_value(&response).expect("the response event is JSON");
    let status = response["statusCode"].as_u64().expect("a status code");
    assert!(status < 500, "{status} for {}", String::from_utf8_lossy(data));
    if let Some(body) = response["body"].as_str().filter(|body| !body.is_empty()) {
        let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert!(json["success"].is_boolean(), "{json}");
    }
});
