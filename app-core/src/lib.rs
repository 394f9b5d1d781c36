//! The user-lookup service: everything both targets share.
//!
//! - [`auth`]: who may read users (bearer tokens, the provider's keys).
//! - [`domain`]: a user, the id rule, what a lookup can end in.
//! - [`store`]: the `UserRepository` port, the embedded store and the DynamoDB store.
//! - [`service`]: the lookup use case.
//! - [`http`]: the one HTTP contract both binaries serve (and, with the `lambda` feature, its Lambda
//!   front door).
//! - [`config`], [`startup`], [`telemetry`]: what the binaries call at start-up.
//!
//! See ARCHITECTURE.md at the repository root for how a request flows through each target.

pub mod auth;
pub mod config;
pub mod domain;
pub mod http;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
