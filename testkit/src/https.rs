//! The HTTPS transport tests and developer commands give app-core: `k8s-server`'s (rustls on ring,
//! the system's root certificates).

pub use k8s_server::transport::{connector, http_client, transport};
