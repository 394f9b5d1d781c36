//! Helpers for the cross-target tests in `tests/tests/`: the contract's case table, DynamoDB Local, the
//! server on a real socket, a bounded load, the Lambda front door fed real-shaped events, `lambda-fn`
//! under `cargo lambda watch`, and the reply all are reduced to.

pub mod cargo_env;
pub mod contract;
pub mod dynamodb_local;
pub mod lambda;
pub mod lambda_watch;
pub mod load;
pub mod procfs;
pub mod reply;
pub mod server;
pub mod watchdog;
