//! The user-lookup service: everything both targets share.
//!
//! - [`auth`]: who may read users (bearer tokens, the provider's keys).
//! - [`domain`]: a user, the rules of its fields, what a lookup can end in.
//! - [`store`]: the `UserRepository` and `UserWriter` ports, the embedded store and the DynamoDB store.
//! - [`service`]: the lookup use case.
//! - [`import`]: the import use case (JSON Lines in, users written, a report out), over [`objects`]
//!   (the `ObjectStore` port: S3 or a local folder) and [`aws`] (the SDK settings every AWS client
//!   shares).
//! - [`http`]: the one HTTP contract both front doors serve.
//! - [`config`], [`startup`], [`telemetry`]: what the binaries call at start-up, with the
//!   [`transport`] (HTTPS) their front door supplies. `config` is the environment reader; each module
//!   reads its own settings with it, and `startup` assembles them.
//!
//! Modules use each other in one direction (`tests/module_cycles.rs` fails on a circle).
//!
//! See ARCHITECTURE.md at the repository root for how a request flows through each target.

pub mod auth;
pub mod aws;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod objects;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transport;
