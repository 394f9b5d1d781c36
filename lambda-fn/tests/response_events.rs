//! The response events byte for byte: every case of the contract, through every event source, is
//! posted back exactly as `lambda_http`'s own response conversion would post it (`lambda-fn` encodes
//! the body itself, see `answer.rs`).

use std::sync::Arc;

use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use lambda_fn::EventHandler;
use lambda_http::{Context, IntoResponse, LambdaEvent};
use serde_json::Value;
use testkit::contract::CASES;
use testkit::lambda::EventSource;
use tower::ServiceExt;

const INVOCATION_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

fn context() -> Context {
    let mut context = Context::default();
    context.request_id = INVOCATION_ID.to_owned();
    context
}

/// The response event `lambda-fn` posts for `event`, as JSON text.
async fn posted(service: &UserService, event: &Value) -> String {
    answer(lambda_fn::event_handler(service.clone()), event).await
}

/// The response event posted when `lambda_http` encodes the same responses its own generic way.
async fn posted_by_lambda_http(service: &UserService, event: &Value) -> String {
    let handler = lambda_fn::event_handler_encoding(service.clone(), std::convert::identity);
    answer(handler, event).await
}

async fn answer<R: IntoResponse + Send + 'static>(
    handler: EventHandler<R>,
    event: &Value,
) -> String {
    let response = handler
        .oneshot(LambdaEvent::new(event.clone(), context()))
        .await
        .expect("lambda_http accepts the event");
    serde_json::to_string(&response).unwrap()
}

#[tokio::test]
async fn every_event_source_gets_the_response_event_lambda_http_would_post() {
    // GIVEN the service on the embedded store
    let service = UserService::new(Arc::new(MemoryStore::sample()));
    let mut differ = Vec::new();
    for case in CASES {
        for source in EventSource::ALL {
            // WHEN a case comes through an event source
            let event = source.event(case.method, case.target, case.headers);

            // THEN the response event is lambda_http's, to the byte
            let ours = posted(&service, &event).await;
            let theirs = posted_by_lambda_http(&service, &event).await;
            if ours != theirs {
                differ.push(format!(
                    "{} via {}:\n  posted      {ours}\n  lambda_http {theirs}",
                    case.name,
                    source.name()
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} response events differ:\n{}",
        differ.len(),
        CASES.len() * EventSource::ALL.len(),
        differ.join("\n")
    );
}
