//! The test plumbing of the workspace, written once: used by the cross-target tests (`tests/`),
//! `k8s-server`'s process tests and `cargo xtask`.
//!
//! - Ports ([`ports`]), child processes that never outlive this one ([`process`]), what `/proc`
//!   says about them ([`procfs`]), a server process under measurement, such as the built
//!   `k8s-server` ([`served`]), where the workspace is ([`paths`]), running cargo from cargo
//!   ([`cargo_env`]) and Python tools in `target/` ([`python`]).
//! - An HTTP/1.1 client ([`http`]) and the reply all front doors are reduced to ([`reply`]); the
//!   contract as a table of cases ([`contract`]); a bounded load ([`load`]) and a bounded connection
//!   flood ([`flood`]); a memory-limited cgroup for a process under it ([`cgroup`]).
//! - The front doors: `k8s-server` in this process ([`server`]), `lambda-fn`'s handler fed real-shaped
//!   events ([`lambda`]), `lambda-fn` under `cargo lambda watch` ([`lambda_watch`]), and a local
//!   Lambda Runtime API that runs and times any function process ([`runtime_api`]).
//! - The import's front doors: `import-fn`'s handler fed S3 events and the `import-job` process
//!   ([`import`]); log lines read back in the text format ([`logs`]).
//! - A real identity provider on loopback: keys, tokens and a JWKS endpoint ([`idp`]).
//! - moto server, the AWS emulator the DynamoDB store and the import are tested on ([`moto`]), a
//!   TCP proxy that shows what was sent to it ([`recording_proxy`]), and a front that keeps
//!   connections to it open as an AWS endpoint does ([`keepalive_front`]).
//!
//! The contract's tables, the identity provider and the reply type live in the `contract` crate,
//! which depends on nothing of the workspace (so that app-core's own tests use them without a second
//! app-core); they are re-exported here under their old paths.

pub mod cargo_env;
pub mod cgroup;
pub mod flood;
pub mod http;
pub mod https;
pub mod import;
pub mod keepalive_front;
pub mod lambda;
pub mod lambda_watch;
pub mod load;
pub mod moto;
pub mod otlp;
pub mod paths;
pub mod ports;
pub mod process;
pub mod procfs;
pub mod python;
pub mod recording_proxy;
pub mod runtime_api;
pub mod seed;
pub mod served;
pub mod server;

pub use ::contract;
pub use ::contract::{idp, logs, reply};
