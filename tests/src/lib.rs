//! Helpers for the cross-target tests in `tests/tests/`: DynamoDB Local, the server on a real socket,
//! a bounded load,
//! the Lambda front door fed real-shaped events, and the reply both are reduced to.

pub mod dynamodb_local;
pub mod lambda;
pub mod load;
pub mod reply;
pub mod server;
