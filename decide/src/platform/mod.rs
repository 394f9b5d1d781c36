//! The platforms, second by second. Each model is a small pure function of (its state, the load
//! offered this second) → (its next state, what happened this second: served, failed, latency,
//! capacity, cost), every rule citing the page it follows.

pub mod hpa;
pub mod kubernetes;
pub mod lambda;
pub mod managed;

use serde::Serialize;

/// What one platform did in one second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Second {
    /// Requests offered.
    pub offered: f64,
    /// Requests answered by the service.
    pub served: f64,
    /// Refused at once: API Gateway's 429, Lambda's throttle (429).
    pub throttled: f64,
    /// Failed after waiting past the queue bound (the client's timeout).
    pub timed_out: f64,
    /// Served requests that met a cold start (a new execution environment's first request).
    pub cold: f64,
    /// Latency of the other served requests, in ms.
    pub latency_ms: f64,
    /// Latency of a request that met a cold start, in ms.
    pub cold_latency_ms: f64,
    /// Pods, execution environments or instances serving at the end of the second.
    pub capacity: f64,
    /// USD spent in this second.
    pub cost: f64,
}

/// A platform model: `step` is pure; the state carries everything between seconds.
pub trait Model {
    /// What the model remembers between seconds.
    type State;
    /// The state before the first second.
    fn start(&self) -> Self::State;
    /// Second `t`: `offered` requests arrive.
    fn step(&self, state: Self::State, t: u64, offered: f64) -> (Self::State, Second);
}

/// Requests served from a queue in front of `capacity` requests a second: what waits longer than
/// `timeout_s` fails; the rest waits its turn (latency grows with the backlog).
/// Returns (backlog, served, timed out, latency in ms).
pub fn queue(
    backlog: f64,
    offered: f64,
    capacity: f64,
    timeout_s: f64,
    base_ms: f64,
) -> (f64, f64, f64, f64) {
    let waiting = backlog + offered;
    let served = waiting.min(capacity);
    let left = waiting - served;
    let bound = capacity * timeout_s;
    let (left, timed_out) = if left > bound {
        (bound, left - bound)
    } else {
        (left, 0.0)
    };
    let wait_ms = if capacity > 0.0 {
        left / capacity * 1000.0
    } else {
        0.0
    };
    (left, served, timed_out, base_ms + wait_ms)
}

/// A token bucket refilled by `rate` a second up to `burst` (API Gateway's throttle; Lambda's
/// scaling rate). Returns the tokens left and how many of `wanted` were allowed.
pub fn bucket(tokens: f64, rate: f64, burst: f64, wanted: f64) -> (f64, f64) {
    let tokens = (tokens + rate).min(burst);
    let allowed = wanted.min(tokens).max(0.0);
    (tokens - allowed, allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_capacity_requests_wait_then_fail() {
        // 150 offered to 100 a second with a 1 s bound: 50 wait half a second.
        let (backlog, served, failed, latency) = queue(0.0, 150.0, 100.0, 1.0, 1.0);
        assert_eq!(
            (backlog, served, failed, latency),
            (50.0, 100.0, 0.0, 501.0)
        );
        // 300 more: 100 served, a second's worth waits, the rest fails.
        let (backlog, served, failed, _) = queue(backlog, 300.0, 100.0, 1.0, 1.0);
        assert_eq!((backlog, served, failed), (100.0, 100.0, 150.0));
    }
}
