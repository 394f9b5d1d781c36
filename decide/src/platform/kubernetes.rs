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
//!   removes after it has been unneeded for `node_scale_down_unneeded_s`.
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
