//! Lambda Managed Instances: the function's environments on EC2 instances Lambda runs in the
//! account, each serving many requests at once ("Lambda Managed Instances",
//! https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html, read 2026-12-07).
//!
//! - Capacity: an instance's vCPUs / the bench's CPU per request; past it requests queue, and
//!   fail past the bound (`queue`).
//! - Scaling on CPU utilisation toward a target, in minutes: every minute the instances needed at
//!   the target are computed; new ones serve after `scale_delay_s`; one surplus instance goes per
//!   minute; never fewer than `min_instances`.
//! - Cost: the EC2 on-demand price plus the management fee, by the second, and the per-request
//!   charge ("AWS Lambda pricing", https://aws.amazon.com/lambda/pricing/); no duration charge.
//!   API Gateway in front (its throttle and its request price) as for Lambda.

use std::collections::VecDeque;

use super::{Model, Second, bucket, queue};
use crate::cost::prices::Price;

/// Everything the Managed Instances model needs.
#[derive(Clone, Debug)]
pub struct Managed {
    pub api_throttle: Option<(f64, f64)>,
    pub api_price: Price,
    pub instance_vcpus: f64,
    pub cpu_per_request: f64,
    pub latency_ms: f64,
    pub queue_timeout_s: f64,
    pub min_instances: f64,
    pub target_utilization: f64,
    pub scale_delay_s: f64,
    pub instance_usd_per_s: f64,
    pub request_usd: f64,
}

/// Instances serving and coming, the queue, the throttle, the minute's peak CPU.
#[derive(Clone, Debug)]
pub struct State {
    instances: f64,
    coming: VecDeque<f64>,
    backlog: f64,
    api_tokens: f64,
    peak_cpu: f64,
    served_total: f64,
}

/// How often the capacity provider re-evaluates, in s.
const EVALUATE_S: u64 = 60;

impl Model for Managed {
    type State = State;

    fn start(&self) -> State {
        State {
            instances: self.min_instances,
            coming: VecDeque::new(),
            backlog: 0.0,
            api_tokens: self.api_throttle.map_or(0.0, |(_, burst)| burst),
            peak_cpu: 0.0,
            served_total: 0.0,
        }
    }

    fn step(&self, mut s: State, t: u64, offered: f64) -> (State, Second) {
        let now = t as f64;
        while s.coming.front().is_some_and(|&at| at <= now) {
            s.coming.pop_front();
            s.instances += 1.0;
        }
        let (allowed, throttled) = match self.api_throttle {
            Some((rate, burst)) => {
                let (tokens, allowed) = bucket(s.api_tokens, rate, burst, offered);
                s.api_tokens = tokens;
                (allowed, offered - allowed)
            }
            None => (offered, 0.0),
        };
        let capacity = s.instances * self.instance_vcpus / self.cpu_per_request;
        let (backlog, served, timed_out, latency_ms) = queue(
            s.backlog,
            allowed,
            capacity,
            self.queue_timeout_s,
            self.latency_ms,
        );
        s.backlog = backlog;
        // The CPU the instances used (at most all of it): utilisation is what the scaler sees.
        s.peak_cpu = s.peak_cpu.max(served * self.cpu_per_request);
        if t.is_multiple_of(EVALUATE_S) {
            let needed = (s.peak_cpu / (self.instance_vcpus * self.target_utilization))
                .ceil()
                .max(self.min_instances);
            let planned = s.instances + s.coming.len() as f64;
            if needed > planned {
                for _ in 0..(needed - planned) as usize {
                    s.coming.push_back(now + self.scale_delay_s);
                }
            } else if needed < s.instances && s.coming.is_empty() {
                s.instances -= 1.0;
            }
            s.peak_cpu = 0.0;
        }
        let api =
            self.api_price.cost(s.served_total + served) - self.api_price.cost(s.served_total);
        s.served_total += served;
        let second = Second {
            offered,
            served,
            throttled,
            timed_out,
            cold: 0.0,
            latency_ms,
            cold_latency_ms: latency_ms,
            capacity: s.instances,
            cost: s.instances * self.instance_usd_per_s + served * self.request_usd + api,
        };
        (s, second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::prices::Tier;

    fn model() -> Managed {
        Managed {
            api_throttle: None,
            api_price: Price {
                per: 1.0,
                tiers: vec![Tier {
                    usd: 0.0,
                    up_to: None,
                }],
                source: String::new(),
                read: String::new(),
            },
            instance_vcpus: 2.0,
            cpu_per_request: 0.01,
            latency_ms: 1.0,
            queue_timeout_s: 1.0,
            min_instances: 3.0,
            target_utilization: 0.5,
            scale_delay_s: 120.0,
            instance_usd_per_s: 1.0,
            request_usd: 0.0,
        }
    }

    #[test]
    fn new_instances_serve_minutes_after_the_load_rises_and_never_fewer_than_the_floor() {
        // GIVEN three instances (600 requests a second) and 900 offered from t=0
        let model = model();
        let mut state = model.start();
        let mut capacity = Vec::new();
        for t in 0..400 {
            let (next, second) = model.step(state, t, 900.0);
            state = next;
            capacity.push(second.capacity);
        }
        // THEN the evaluation at t=0 sees the CPU at 100 % and asks for twice as many at the 50 %
        // target; they serve 120 s later; draining the queue keeps it growing, then the surplus goes
        assert_eq!(capacity[119], 3.0);
        assert_eq!(capacity[120], 6.0);
        assert!(
            capacity[399] >= 9.0,
            "900 a second at most 100 %: {}",
            capacity[399]
        );
        // AND an idle fleet shrinks one instance a minute, down to the floor of three
        let mut last = 0.0;
        for t in 400..1200 {
            let (next, second) = model.step(state, t, 0.0);
            state = next;
            last = second.capacity;
        }
        assert_eq!(last, 3.0);
    }
}
