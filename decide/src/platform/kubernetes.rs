//! Kubernetes: the Deployment's pods behind a load balancer, scaled by the HPA
//! (`hpa.rs`, as deploy/k8s/base/hpa.yaml declares it), on nodes a node autoscaler adds.
//!
//! - A pod serves `cpu_limit / cpu_per_request` requests a second (the bench's CPU per request);
//!   a node's pods share its allocatable CPU. Past capacity requests queue, and fail past the
//!   bound (`queue`).
//! - The HPA syncs every `sync_period_s` (15 s) on the CPU utilisation (a share of the pods' CPU
//!   request) that metrics-server reported `metrics_lag_s` earlier.
//! - A new pod is ready after scheduling + image pull + the measured start-to-ready; a pod that
//!   does not fit waits for a node, which a node autoscaler adds after its provisioning delay and
//!   removes after it has been unneeded for `node_scale_down_unneeded_s`. It reacts to pods that do
//!   not fit, not to busy CPU: pods whose limit exceeds their request can saturate their nodes.
//! - Cost: the nodes (at the seed's instance price) and the load balancer, by the second.

use std::collections::VecDeque;

use super::hpa::{HpaSpec, HpaState, Observation};
use super::{Model, Second, queue};

/// Everything the Kubernetes model needs, from the deployment, the parameters, the bench and the prices.
#[derive(Clone, Debug)]
pub struct Kubernetes {
    pub hpa: HpaSpec,
    pub tolerance: f64,
    pub sync_period_s: u64,
    pub metrics_lag_s: u64,
    /// Scheduling + image pull + start-to-ready, in s.
    pub pod_start_s: f64,
    pub node_provisioning_s: f64,
    pub node_scale_down_unneeded_s: u64,
    pub cpu_request: f64,
    pub cpu_limit: f64,
    pub node_cpu: f64,
    /// The fewest nodes (the seed's 3).
    pub min_nodes: u32,
    pub cpu_per_request: f64,
    pub latency_ms: f64,
    pub queue_timeout_s: f64,
    pub node_usd_per_s: f64,
    /// The load balancer (and any other fixed charge), per second.
    pub fixed_usd_per_s: f64,
}

/// Pods and nodes between seconds.
#[derive(Clone, Debug)]
pub struct State {
    replicas: u32,
    ready: u32,
    starting: VecDeque<f64>,
    pending: u32,
    nodes: u32,
    nodes_coming: VecDeque<f64>,
    unneeded_since: Option<u64>,
    hpa: HpaState,
    backlog: f64,
    usage: VecDeque<(u64, f64, u32)>,
}

impl Kubernetes {
    fn pods_per_node(&self) -> u32 {
        (self.node_cpu / self.cpu_request).floor().max(1.0) as u32
    }

    /// What the HPA sees at `t`: utilisation over the sync period that ended `metrics_lag_s` ago.
    fn observe(&self, s: &State, t: u64) -> Observation {
        let end = t.saturating_sub(self.metrics_lag_s);
        let from = end.saturating_sub(self.sync_period_s);
        let (cpu, requested) = (s.usage.iter())
            .filter(|(at, _, _)| *at > from && *at <= end)
            .fold((0.0, 0.0), |(c, r), (_, cpu, ready)| {
                (c + cpu, r + f64::from(*ready) * self.cpu_request)
            });
        Observation {
            utilization: if requested > 0.0 {
                cpu / requested
            } else {
                0.0
            },
            ready: s.ready,
            not_ready: s.replicas - s.ready,
        }
    }
}

impl Model for Kubernetes {
    type State = State;

    fn start(&self) -> State {
        let replicas = self.hpa.min_replicas;
        let nodes = self.min_nodes.max(replicas.div_ceil(self.pods_per_node()));
        State {
            replicas,
            ready: replicas,
            starting: VecDeque::new(),
            pending: 0,
            nodes,
            nodes_coming: VecDeque::new(),
            unneeded_since: None,
            hpa: HpaState::default(),
            backlog: 0.0,
            usage: VecDeque::new(),
        }
    }

    fn step(&self, mut s: State, t: u64, offered: f64) -> (State, Second) {
        let now = t as f64;
        // Nodes that finished provisioning; pods that became ready.
        while s.nodes_coming.front().is_some_and(|&at| at <= now) {
            s.nodes_coming.pop_front();
            s.nodes += 1;
        }
        while s.starting.front().is_some_and(|&at| at <= now) {
            s.starting.pop_front();
            s.ready += 1;
        }
        // Pending pods are scheduled where a node has room.
        let room =
            (s.nodes * self.pods_per_node()).saturating_sub(s.ready + s.starting.len() as u32);
        for _ in 0..s.pending.min(room) {
            s.starting.push_back(now + self.pod_start_s);
        }
        s.pending -= s.pending.min(room);

        // Serve: the ready pods' CPU, within the nodes' allocatable CPU.
        let cpu = (f64::from(s.ready) * self.cpu_limit).min(f64::from(s.nodes) * self.node_cpu);
        let capacity = cpu / self.cpu_per_request;
        let (backlog, served, timed_out, latency_ms) = queue(
            s.backlog,
            offered,
            capacity,
            self.queue_timeout_s,
            self.latency_ms,
        );
        s.backlog = backlog;
        s.usage
            .push_back((t, served * self.cpu_per_request, s.ready));
        let keep = self.metrics_lag_s + self.sync_period_s;
        while s.usage.front().is_some_and(|(at, _, _)| t - at > keep) {
            s.usage.pop_front();
        }

        // The HPA controller's sync.
        if t.is_multiple_of(self.sync_period_s) {
            let seen = self.observe(&s, t);
            let desired = s.hpa.sync(&self.hpa, self.tolerance, t, s.replicas, seen);
            if desired > s.replicas {
                s.pending += desired - s.replicas;
            } else {
                let mut remove = s.replicas - desired;
                let from_pending = remove.min(s.pending);
                s.pending -= from_pending;
                remove -= from_pending;
                while remove > 0 && s.starting.pop_back().is_some() {
                    remove -= 1;
                }
                s.ready -= remove.min(s.ready);
            }
            s.replicas = desired;
        }

        // The node autoscaler: nodes for pods that do not fit; a node unneeded for long goes.
        let pods = s.replicas;
        let needed = self.min_nodes.max(pods.div_ceil(self.pods_per_node()));
        let planned = s.nodes + s.nodes_coming.len() as u32;
        if s.pending > 0 && needed > planned {
            for _ in planned..needed {
                s.nodes_coming.push_back(now + self.node_provisioning_s);
            }
        }
        if needed < s.nodes {
            let since = *s.unneeded_since.get_or_insert(t);
            if t - since >= self.node_scale_down_unneeded_s {
                s.nodes -= 1;
                s.unneeded_since = None;
            }
        } else {
            s.unneeded_since = None;
        }

        let second = Second {
            offered,
            served,
            throttled: 0.0,
            timed_out,
            cold: 0.0,
            latency_ms,
            cold_latency_ms: latency_ms,
            capacity: f64::from(s.ready),
            cost: f64::from(s.nodes) * self.node_usd_per_s + self.fixed_usd_per_s,
        };
        (s, second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::hpa::Rules;

    /// The declared HPA's shape (3 to 10, 70 %) on pods that serve 100 requests a second each.
    fn model() -> Kubernetes {
        Kubernetes {
            hpa: HpaSpec {
                min_replicas: 3,
                max_replicas: 10,
                target_utilization: 0.7,
                scale_up: Rules::default_up(),
                scale_down: Rules::default_down(),
            },
            tolerance: 0.1,
            sync_period_s: 15,
            metrics_lag_s: 15,
            pod_start_s: 4.0,
            node_provisioning_s: 90.0,
            node_scale_down_unneeded_s: 600,
            cpu_request: 0.25,
            cpu_limit: 1.0,
            node_cpu: 2.0,
            min_nodes: 3,
            cpu_per_request: 0.01,
            latency_ms: 1.0,
            queue_timeout_s: 1.0,
            node_usd_per_s: 1.0,
            fixed_usd_per_s: 0.0,
        }
    }

    #[test]
    fn past_capacity_requests_queue_until_the_hpa_has_started_more_pods() {
        // GIVEN 3 ready pods (300 requests a second) and 400 offered from t=0
        let model = model();
        let mut state = model.start();
        let mut seconds = Vec::new();
        for t in 0..120 {
            let (next, second) = model.step(state, t, 400.0);
            state = next;
            seconds.push(second);
        }
        // THEN the first seconds queue and then fail past the 1 s bound
        assert_eq!(seconds[0].served, 300.0);
        assert!(seconds[0].latency_ms > 300.0, "{:?}", seconds[0]);
        assert!(seconds[3].timed_out > 0.0);
        // AND the HPA sees the load only after the metrics lag: its sync at t=30 takes 3 pods to 7
        // (+4 allows more than doubling), which fit on the three nodes (8 pods of 250m a 2-CPU
        // node), are scheduled the next second and ready 4 s after that
        assert_eq!(seconds[34].capacity, 3.0);
        assert_eq!(seconds[35].capacity, 7.0);
        // AND with enough pods nothing fails any more and the queue drains
        let last = seconds.last().unwrap();
        assert_eq!((last.timed_out, last.served), (0.0, 400.0));
        assert_eq!(last.cost, 3.0, "three nodes");
    }

    #[test]
    fn pods_that_do_not_fit_wait_for_a_new_node() {
        // GIVEN nodes that hold one pod each and a load needing ten pods
        let model = Kubernetes {
            node_cpu: 0.3,
            ..model()
        };
        let mut state = model.start();
        let mut last = Second::default();
        let mut ready_at = Vec::new();
        for t in 0..300 {
            let (next, second) = model.step(state, t, 900.0);
            if second.capacity > last.capacity {
                ready_at.push((t, second.capacity));
            }
            state = next;
            last = second;
        }
        // THEN the first new pods are ready only after a node's 90 s provisioning, plus their own start
        // (the three nodes' CPU caps the pods at 120 % of their request: the sync at t=30 asks for
        // 6; three nodes are asked for then, ready at 120, and the pods at 124)
        assert_eq!(ready_at[0], (0, 3.0));
        assert_eq!(ready_at[1], (30 + 90 + 4, 6.0), "{ready_at:?}");
        assert!(last.cost > 3.0, "more than three nodes");
    }
}
