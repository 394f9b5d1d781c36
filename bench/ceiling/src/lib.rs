//! The ceilings `cargo xtask bench` measures the service against, as release binaries:
//!
//! - `ceiling-http`: a bare hyper HTTP/1.1 server answering every request with one static JSON body
//!   (the service's own answer to `GET /users/u-1`, handed over by the bench). No routing, no
//!   middleware, no lookup: the most a Rust server can do on this machine.
//! - `ceiling-axum`: a plain axum router with the same lookup and no layers: the price of the layers.
//! - `ceiling-lambda`: a bare `lambda_runtime` function with a static answer: the Lambda floor.
//! - `ceiling-getitem`: a raw `GetItem` loop with the service's own SDK settings against a DynamoDB
//!   table: the database round trip without any HTTP in front of it.
//!
//! Both run on the same tokio runtime flavour as `k8s-server` (multi-thread; pinned to one core by the
//! bench, so one worker).
