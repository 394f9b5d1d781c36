//! `ceiling-lambda`: a bare `lambda_runtime` function answering every event with one static API
//! Gateway response (`lambda-fn`'s answer to `GET /users/u-1`, as a constant): the least any Rust
//! function can do, the floor of `lambda-fn`'s init and cold start.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The body `lambda-fn` answers for `u-1`.
const BODY: &str = r#"{"success":true,"data":{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": BODY}))
    }))
    .await
}
