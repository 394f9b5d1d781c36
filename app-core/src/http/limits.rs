//! What the service takes in one request, whatever the front door: the bounds a front door checks
//! where its runtime hands it a request no socket limit has bounded (a Lambda event). Past either, the
//! request is `400 BAD_REQUEST` ([`super::ApiError::BadRequest`]).

/// The most header fields one request may carry, each value of a repeated header counted: four times
/// the 64 that `k8s-server` reads from a client, room for the ones API Gateway and a load balancer add,
/// and far below the 32,768 an `http::HeaderMap` can hold.
pub const MAX_HEADER_FIELDS: usize = 256;

/// The most bytes of host, path and query one request may carry: the 16 KiB `k8s-server` reads as a
/// whole request head. Percent-encoded, they stay under the 64 KiB an `http::Uri` can hold.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;
