//! The test plumbing of the workspace, written once: used by the cross-target tests, `k8s-server`'s
//! process tests and `cargo xtask`.

pub mod paths;
pub mod python;
