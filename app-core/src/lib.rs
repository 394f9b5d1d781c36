//! The user-lookup service: everything both targets share.
//!
//! - [`domain`]: a user, the id rule, what a lookup can end in.
//! - [`store`]: the `UserRepository` port, the embedded store and the DynamoDB store.
//! - [`service`]: the lookup use case.
//! - [`http`]: the one HTTP contract both front doors serve.
//! - [`config`], [`startup`], [`telemetry`]: what the binaries call at start-up.
//!
//! See ARCHITECTURE.md at the repository root for how a request flows through each target.

pub mod config;
pub mod domain;
pub mod http;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
