//! Lambda behind the API Gateway HTTP API, on demand or with provisioned concurrency.
//!
//! - API Gateway: the stage's default route throttle from deploy/lambda/template.yaml, a token
//!   bucket (rate, burst); a throttled client receives 429 Too Many Requests ("Throttle requests to
//!   your HTTP APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html,
//!   read 2026-12-07).
//! - Concurrency by Little's law: requests a second × the measured duration.
//! - New execution environments at the documented scaling rate, 1,000 every 10 s per function,
//!   refilled continuously; past it, or past the concurrency limit (the account's, a new account's
//!   lower quota, or the template's reserved concurrency), requests are throttled with 429 ("Lambda
//!   scaling behavior", https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html, read 2026-12-07).
//! - Every new environment's first request pays the measured cold start; an environment unused for
//!   `idle_reclaim_s` is reclaimed.
//! - Provisioned concurrency: that many environments are always initialised (no cold start) and
//!   billed by the second; requests beyond them spill over to on-demand environments
//!   ("Configuring provisioned concurrency", https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html).
//! - Cost: requests, GB-s (billed ms rounded up) and API Gateway requests through the cost model's
//!   tiered meters (`cost::model::LambdaModel`), INIT GB-s, and provisioned GB-s.

use std::collections::VecDeque;

use super::{Model, Second, bucket};
use crate::cost::model::LambdaModel;

/// Everything the Lambda model needs.
#[derive(Clone, Debug)]
pub struct Lambda {
    /// API Gateway's stage throttle: requests a second and burst (`None`: no throttle).
    pub api_throttle: Option<(f64, f64)>,
    pub duration_ms: f64,
    pub cold_start_ms: f64,
    pub init_ms: f64,
    pub memory_gb: f64,
    /// Concurrent executions this function may use.
    pub concurrency_limit: f64,
    /// New environments a second (the documented 1,000 per 10 s) and the bucket's size (1,000).
    pub scaling_per_s: f64,
    pub scaling_burst: f64,
    pub idle_reclaim_s: u64,
    /// Provisioned environments (0: on demand only).
    pub provisioned: f64,
    /// The on-demand meters (requests, compute, API Gateway).
    pub prices: LambdaModel,
    /// USD per GB-s of INIT (0 when INIT is not billed), of provisioned concurrency, and of
    /// duration on provisioned environments.
    pub init_usd_per_gb_s: f64,
    pub provisioned_usd_per_gb_s: f64,
    pub provisioned_duration_usd_per_gb_s: f64,
}

/// Between seconds: the throttle's and the scaling rate's tokens, the environments used in the
/// reclaim window (a falling sequence, for its maximum), and the requests served so far (tiers).
#[derive(Clone, Debug)]
pub struct State {
    api_tokens: f64,
    scaling_tokens: f64,
    used: VecDeque<(u64, f64)>,
    served_total: f64,
}

/// What a burst of concurrent requests met ([`Lambda::burst`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Burst {
    /// Requests answered, and those of them that met a cold start.
    pub served: f64,
    pub cold: f64,
    /// Requests refused with 429 (API Gateway's throttle, or Lambda's past the concurrency limit
    /// or the scaling rate).
    pub throttled: f64,
    /// Latency of a request on a warm environment, and of one that met a cold start, in ms.
    pub latency_ms: f64,
    pub cold_latency_ms: f64,
}

impl Lambda {
    /// API Gateway's throttle: how many of `offered` pass it.
    fn admit(&self, s: &mut State, offered: f64) -> f64 {
        match self.api_throttle {
            Some((rate, burst)) => {
                let (tokens, allowed) = bucket(s.api_tokens, rate, burst, offered);
                s.api_tokens = tokens;
                allowed
            }
            None => offered,
        }
    }

    /// `needed` environments at second `t` (provisioned ones first): reclaims the idle ones, takes
    /// the warm ones, and starts new ones within the concurrency limit and the scaling rate.
    /// Returns (on-demand environments in use, of which new).
    fn environments(&self, s: &mut State, t: u64, needed: f64) -> (f64, f64) {
        while s
            .used
            .front()
            .is_some_and(|(at, _)| t - at >= self.idle_reclaim_s)
        {
            s.used.pop_front();
        }
        let alive = s.used.front().map_or(0.0, |(_, n)| *n);
        let on_demand_needed = (needed - self.provisioned).max(0.0);
        let room = (self.concurrency_limit - self.provisioned - alive).max(0.0);
        let wanted_new = (on_demand_needed - alive).max(0.0).min(room);
        let (tokens, new) = bucket(
            s.scaling_tokens,
            self.scaling_per_s,
            self.scaling_burst,
            wanted_new,
        );
        s.scaling_tokens = tokens;
        let on_demand = on_demand_needed.min(alive + new);
        while s.used.back().is_some_and(|(_, n)| *n <= on_demand) {
            s.used.pop_back();
        }
        if on_demand > 0.0 {
            s.used.push_back((t, on_demand));
        }
        (on_demand, new)
    }

    /// `concurrent` requests arriving together at second `t`, each in flight until answered: what
    /// a one-second step cannot say for a burst of a few requests, whose Little's-law concurrency
    /// (requests a second × duration) rounds up to one environment.
    ///
    /// The rule ("Understanding Lambda function scaling",
    /// https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html, read 2026-12-07):
    /// concurrency is the number of in-flight requests, and an execution environment handles one
    /// request at a time, so the burst needs `concurrent` environments. Warm ones (alive within the
    /// reclaim window) serve first; new ones start within the concurrency limit (the reservation)
    /// and the scaling rate, each request on one paying the cold start; the rest are throttled
    /// (429). API Gateway's throttle applies first. The cost of a burst is not modelled.
    pub fn burst(&self, mut s: State, t: u64, concurrent: f64) -> (State, Burst) {
        let allowed = self.admit(&mut s, concurrent);
        let (on_demand, new) = self.environments(&mut s, t, allowed);
        let served = allowed.min(self.provisioned.min(allowed) + on_demand);
        let burst = Burst {
            served,
            cold: new.min(served),
            throttled: concurrent - served,
            latency_ms: self.duration_ms,
            cold_latency_ms: self.cold_start_ms,
        };
        (s, burst)
    }
}

impl Model for Lambda {
    type State = State;

    fn start(&self) -> State {
        State {
            api_tokens: self.api_throttle.map_or(0.0, |(_, burst)| burst),
            scaling_tokens: self.scaling_burst,
            used: VecDeque::new(),
            served_total: 0.0,
        }
    }

    fn step(&self, mut s: State, t: u64, offered: f64) -> (State, Second) {
        let allowed = self.admit(&mut s, offered);
        // Environments by Little's law: requests a second × the duration.
        let duration_s = self.duration_ms / 1000.0;
        let needed = if allowed > 0.0 {
            (allowed * duration_s).ceil()
        } else {
            0.0
        };
        let (on_demand, new) = self.environments(&mut s, t, needed);
        // Served: what the environments in use can take in this second.
        let capacity = (self.provisioned.min(needed) + on_demand) / duration_s;
        let served = allowed.min(capacity);
        let cold = new.min(served);
        let warm_provisioned = served.min(self.provisioned / duration_s);

        // Cost: the meters on the cumulative volume (so tiers apply), then INIT and provisioned.
        let gb_s = |requests: f64| requests * (self.duration_ms.ceil() / 1000.0) * self.memory_gb;
        let before = self.prices.monthly(s.served_total);
        let after = self.prices.monthly(s.served_total + served);
        s.served_total += served;
        let on_demand_share = if served > 0.0 {
            (served - warm_provisioned) / served
        } else {
            0.0
        };
        let cost = (after.requests - before.requests)
            + (after.api_gateway - before.api_gateway)
            + (after.compute - before.compute) * on_demand_share
            + gb_s(warm_provisioned) * self.provisioned_duration_usd_per_gb_s
            + new * self.init_ms / 1000.0 * self.memory_gb * self.init_usd_per_gb_s
            + self.provisioned * self.memory_gb * self.provisioned_usd_per_gb_s;
        let second = Second {
            offered,
            served,
            throttled: offered - served,
            timed_out: 0.0,
            cold,
            latency_ms: self.duration_ms,
            cold_latency_ms: self.cold_start_ms,
            capacity: self.provisioned + on_demand,
            cost,
        };
        (s, second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::model::{Arch, Workload};
    use crate::cost::prices::Prices;

    fn lambda(duration_ms: f64, limit: f64) -> Lambda {
        let workload = Workload {
            duration_ms,
            memory_mb: 128,
            arch: Arch::X86_64,
        };
        Lambda {
            api_throttle: None,
            duration_ms,
            cold_start_ms: 13.0,
            init_ms: 8.0,
            memory_gb: 0.125,
            concurrency_limit: limit,
            scaling_per_s: 100.0,
            scaling_burst: 1000.0,
            idle_reclaim_s: 600,
            provisioned: 0.0,
            prices: LambdaModel::new(&Prices::embedded().unwrap(), &workload, false),
            init_usd_per_gb_s: 0.0,
            provisioned_usd_per_gb_s: 0.0,
            provisioned_duration_usd_per_gb_s: 0.0,
        }
    }

    /// Seconds until `target` environments are in use from zero under a load needing them all.
    fn seconds_to_reach(model: &Lambda, target: f64) -> u64 {
        let offered = target / (model.duration_ms / 1000.0);
        let mut state = model.start();
        for t in 0..10_000 {
            let (next, second) = model.step(state, t, offered);
            state = next;
            if second.capacity >= target {
                return t;
            }
        }
        panic!("never reached {target}");
    }

    #[test]
    fn from_zero_the_scaling_rate_adds_1000_environments_every_10_seconds() {
        // The docs: 1,000 environments every 10 s per function, refilled continuously. From zero
        // with a full bucket, 1,000 at once; 5,000 after 40 more seconds; 10,000 after 90.
        let model = lambda(100.0, 100_000.0);
        assert_eq!(seconds_to_reach(&model, 1_000.0), 0);
        assert_eq!(seconds_to_reach(&model, 5_000.0), 40);
        assert_eq!(seconds_to_reach(&model, 10_000.0), 90);
    }

    #[test]
    fn past_the_account_concurrency_requests_are_throttled() {
        // 1,000 concurrent executions at 100 ms serve 10,000 requests a second; 15,000 offered:
        // 5,000 a second get 429 however long it lasts.
        let model = lambda(100.0, 1_000.0);
        let mut state = model.start();
        for t in 0..30 {
            let (next, second) = model.step(state, t, 15_000.0);
            state = next;
            assert_eq!(second.served, 10_000.0);
            assert_eq!(second.throttled, 5_000.0);
        }
    }

    #[test]
    fn an_idle_environment_is_reclaimed_and_the_next_request_is_cold() {
        let model = lambda(5.0, 1_000.0);
        let (state, first) = model.step(model.start(), 0, 1.0);
        assert_eq!(first.cold, 1.0);
        let (state, warm) = model.step(state, 599, 1.0);
        assert_eq!(warm.cold, 0.0);
        let (_, cold) = model.step(state, 599 + 600, 1.0);
        assert_eq!(cold.cold, 1.0);
    }

    #[test]
    fn api_gateway_throttles_past_its_rate_and_burst() {
        // The template's 100 a second with a 200 burst: a 300-request second passes 200, then 100.
        let model = Lambda {
            api_throttle: Some((100.0, 200.0)),
            ..lambda(5.0, 1_000.0)
        };
        let (state, first) = model.step(model.start(), 0, 300.0);
        assert_eq!((first.served, first.throttled), (200.0, 100.0));
        let (_, second) = model.step(state, 1, 300.0);
        assert_eq!((second.served, second.throttled), (100.0, 200.0));
    }

    #[test]
    fn a_burst_needs_an_environment_per_request_in_flight() {
        // GIVEN 4 requests at once from zero, at 5 ms: a one-second step (Little's law) would need
        // one environment for them
        let model = lambda(5.0, 1_000.0);
        let (_, second) = model.step(model.start(), 0, 4.0);
        assert_eq!(second.cold, 1.0);
        // WHEN they come as a burst: 4 cold starts; the next burst finds 4 warm environments
        let (state, first) = model.burst(model.start(), 0, 4.0);
        assert_eq!((first.served, first.cold, first.throttled), (4.0, 4.0, 0.0));
        assert_eq!(first.cold_latency_ms, 13.0);
        let (_, again) = model.burst(state, 1, 4.0);
        assert_eq!((again.served, again.cold, again.throttled), (4.0, 0.0, 0.0));
        assert_eq!(again.latency_ms, 5.0);
    }

    #[test]
    fn a_burst_past_the_reserved_concurrency_is_throttled() {
        let model = lambda(5.0, 2.0);
        let (state, first) = model.burst(model.start(), 0, 4.0);
        assert_eq!((first.served, first.cold, first.throttled), (2.0, 2.0, 2.0));
        let (_, again) = model.burst(state, 1, 4.0);
        assert_eq!((again.served, again.cold, again.throttled), (2.0, 0.0, 2.0));
    }
}
