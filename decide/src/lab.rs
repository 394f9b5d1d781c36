//! The lab: the platform models built from the inputs (prices, parameters, measurements, the
//! deployment), every platform run on the same trace, and the verdict across shapes × volumes.

use serde::Serialize;

use crate::cost::model::{Arch, LambdaModel, Workload};
use crate::cost::prices::Prices;
use crate::deploy::Deployment;
use crate::measurements::Measurements;
use crate::params::Params;
use crate::platform::kubernetes::Kubernetes;
use crate::platform::lambda::Lambda;
use crate::platform::managed::Managed;
use crate::sim::{Run, run};
use crate::traffic::{Shape, Trace, Volume};

/// Everything the models are built from.
#[derive(Debug)]
pub struct Inputs {
    pub prices: Prices,
    pub params: Params,
    pub measured: Measurements,
    pub deployment: Deployment,
    pub options: Options,
}

/// The choices a team can make beyond what `deploy/` declares.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Options {
    /// A new account's lower concurrency quota instead of the default.
    pub new_account: bool,
    /// Reserved concurrency instead of the template's default.
    pub reserved: Option<u32>,
    /// Leave out API Gateway's stage throttle (as if it were raised out of the way).
    pub no_api_throttle: bool,
    /// Provisioned environments [default: enough for the trace's peak].
    pub provisioned: Option<u32>,
    /// The Lambda's duration and memory instead of the measured ones.
    pub duration_ms: Option<f64>,
    pub memory_mb: Option<u32>,
}

/// The platforms, in the report's order.
pub const PLATFORMS: [&str; 4] = [
    "Kubernetes (HPA)",
    "Lambda on demand",
    "Lambda provisioned",
    "Lambda Managed Instances",
];

impl Inputs {
    fn duration_ms(&self) -> f64 {
        self.options
            .duration_ms
            .unwrap_or(self.measured.lambda_duration_ms)
    }

    fn memory_mb(&self) -> u32 {
        self.options.memory_mb.unwrap_or(self.deployment.memory_mb)
    }

    fn api_throttle(&self) -> Option<(f64, f64)> {
        let d = &self.deployment;
        (!self.options.no_api_throttle).then_some((d.api_rate_limit, d.api_burst_limit))
    }

    /// The Kubernetes model.
    pub fn kubernetes(&self) -> Kubernetes {
        let (k, m, p) = (&self.params.kubernetes, &self.measured, &self.prices);
        Kubernetes {
            hpa: self.deployment.hpa.clone(),
            tolerance: k.tolerance.value,
            sync_period_s: k.sync_period_s.value as u64,
            metrics_lag_s: k.metrics_lag_s.value as u64,
            pod_start_s: k.scheduling_s.value
                + k.image_pull_s.value
                + m.server_start_to_ready_ms / 1000.0,
            node_provisioning_s: k.node_provisioning_s.value,
            node_scale_down_unneeded_s: k.node_scale_down_unneeded_s.value as u64,
            cpu_request: self.deployment.cpu_request,
            cpu_limit: self.deployment.cpu_limit,
            node_cpu: k.node_allocatable_cpu.value,
            min_nodes: p.seed.nodes,
            cpu_per_request: m.server_cpu_s_per_request,
            latency_ms: m.server_latency_ms,
            queue_timeout_s: k.queue_timeout_s.value,
            node_usd_per_s: p.price.node.usd() / 3600.0,
            fixed_usd_per_s: p.price.load_balancer.usd() / (p.meta.hours_per_month * 3600.0),
        }
    }

    /// Lambda with `provisioned` environments (0: on demand).
    pub fn lambda(&self, provisioned: f64) -> Lambda {
        let (l, pc) = (&self.params.lambda, &self.params.provisioned);
        let workload = Workload {
            duration_ms: self.duration_ms(),
            memory_mb: self.memory_mb(),
            arch: Arch::X86_64,
        };
        let account = if self.options.new_account {
            &l.new_account_concurrency
        } else {
            &l.account_concurrency
        };
        let reserved = self
            .options
            .reserved
            .unwrap_or(self.deployment.reserved_concurrency);
        let limit = if reserved > 0 {
            f64::from(reserved)
        } else {
            account.value
        };
        let x86 = self.prices.price.lambda_x86_64.usd();
        Lambda {
            api_throttle: self.api_throttle(),
            duration_ms: workload.duration_ms,
            cold_start_ms: self.measured.lambda_cold_start_ms,
            init_ms: self.measured.lambda_init_ms,
            memory_gb: f64::from(workload.memory_mb) / 1024.0,
            concurrency_limit: limit,
            scaling_per_s: l.scaling_environments.value / l.scaling_period_s.value,
            scaling_burst: l.scaling_environments.value,
            idle_reclaim_s: l.idle_reclaim_s.value as u64,
            provisioned: provisioned.min(limit),
            prices: LambdaModel::new(&self.prices, &workload, false),
            init_usd_per_gb_s: if l.init_billed.value > 0.0 { x86 } else { 0.0 },
            provisioned_usd_per_gb_s: pc.concurrency_usd_per_gb_s.value,
            provisioned_duration_usd_per_gb_s: pc.duration_usd_per_gb_s.value,
        }
    }

    /// The Managed Instances model.
    pub fn managed(&self) -> Managed {
        let (mi, m) = (&self.params.managed_instances, &self.measured);
        Managed {
            api_throttle: self.api_throttle(),
            api_price: self.prices.price.api_gateway_requests.clone(),
            instance_vcpus: mi.instance_vcpus.value,
            cpu_per_request: m.server_cpu_s_per_request,
            latency_ms: m.server_latency_ms,
            queue_timeout_s: self.params.kubernetes.queue_timeout_s.value,
            min_instances: mi.min_instances.value,
            target_utilization: mi.target_utilization.value,
            scale_delay_s: mi.scale_delay_s.value,
            instance_usd_per_s: mi.instance_usd_per_hour.value * (1.0 + mi.management_fee.value)
                / 3600.0,
            request_usd: mi.request_usd_per_million.value / 1e6,
        }
    }

    /// Provisioned environments for `trace`: the option, else enough for its peak second.
    pub fn provisioned_for(&self, trace: &Trace) -> f64 {
        let peak = trace.rps.iter().copied().fold(0.0, f64::max);
        let needed = (peak * self.duration_ms() / 1000.0).ceil().max(1.0);
        self.options.provisioned.map_or(needed, f64::from)
    }

    /// Every platform on `trace`, in [`PLATFORMS`] order.
    pub fn run_all(&self, trace: &Trace) -> Vec<Run> {
        vec![
            run(&self.kubernetes(), PLATFORMS[0], trace),
            run(&self.lambda(0.0), PLATFORMS[1], trace),
            run(
                &self.lambda(self.provisioned_for(trace)),
                PLATFORMS[2],
                trace,
            ),
            run(&self.managed(), PLATFORMS[3], trace),
        ]
    }
}

/// What "meets the objective" means: a p99 latency and an error budget.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Objective {
    pub p99_ms: f64,
    /// Failed requests allowed, in % of those offered.
    pub error_budget_pct: f64,
}

/// One cell of the verdict: the cheapest platform that meets the objective for a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub shape: String,
    pub volume: String,
    /// `None` when no platform meets the objective.
    pub cheapest: Option<String>,
    pub cost_month: Option<f64>,
    /// Each platform against the objective.
    pub platforms: Vec<Outcome>,
}

/// One platform's result on one trace, against the objective.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub platform: String,
    pub meets: bool,
    pub cost_month: f64,
    pub p99_ms: f64,
    pub error_pct: f64,
}

/// The verdict for one trace's runs.
pub fn verdict(shape: &str, volume: &str, runs: &[Run], objective: Objective) -> Verdict {
    let platforms: Vec<Outcome> = (runs.iter())
        .map(|r| {
            let s = &r.summary;
            Outcome {
                platform: s.platform.clone(),
                meets: s.p99_ms <= objective.p99_ms && s.error_pct <= objective.error_budget_pct,
                cost_month: s.cost_month,
                p99_ms: s.p99_ms,
                error_pct: s.error_pct,
            }
        })
        .collect();
    let best = (platforms.iter())
        .filter(|p| p.meets)
        .min_by(|a, b| a.cost_month.total_cmp(&b.cost_month));
    Verdict {
        shape: shape.to_owned(),
        volume: volume.to_owned(),
        cheapest: best.map(|p| p.platform.clone()),
        cost_month: best.map(|p| p.cost_month),
        platforms,
    }
}

/// The volumes of the verdict table: 1M, 100M and 10B requests a month.
pub const VOLUMES: [f64; 3] = [1e6, 1e8, 1e10];

/// Every built-in shape at every volume, over `seconds`: the runs (by shape, then volume) and the verdicts.
pub fn matrix(
    inputs: &Inputs,
    seconds: usize,
    seed: u64,
    objective: Objective,
) -> Vec<(Verdict, Vec<Run>)> {
    let mut out = Vec::new();
    for shape in Shape::ALL {
        for volume in VOLUMES {
            let volume = Volume::Monthly(volume);
            let trace = Trace::shape(shape, volume, seconds, seed);
            let runs = inputs.run_all(&trace);
            out.push((
                verdict(shape.name(), &volume.label(), &runs, objective),
                runs,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::MONTH_S;

    fn inputs(options: Options) -> Inputs {
        let root = crate::paths::workspace_root();
        Inputs {
            prices: Prices::embedded().unwrap(),
            params: Params::embedded().unwrap(),
            measured: Measurements::load(&root.join(crate::measurements::DEFAULT_PATH)).unwrap(),
            deployment: Deployment::load(&root).unwrap(),
            options,
        }
    }

    fn cents(usd: f64) -> f64 {
        (usd * 100.0).round() / 100.0
    }

    #[test]
    fn a_steady_million_a_month_costs_what_docs_cost_md_says() {
        // GIVEN docs/cost.md's scenario: 1M requests a month, 5 ms × 128 MB
        let inputs = inputs(Options {
            duration_ms: Some(5.0),
            memory_mb: Some(128),
            ..Options::default()
        });
        let trace = Trace::shape(Shape::Steady, Volume::Monthly(1e6), MONTH_S, 0);
        // WHEN a month runs second by second
        let kubernetes = run(&inputs.kubernetes(), PLATFORMS[0], &trace).summary;
        let lambda = run(&inputs.lambda(0.0), PLATFORMS[1], &trace).summary;
        // THEN Kubernetes costs $107.10 and Lambda + API Gateway $1.21, as the page's tables
        assert_eq!(cents(kubernetes.cost_month), 107.10);
        assert_eq!(cents(lambda.cost_month), 1.21);
        // AND both serve everything; Lambda met at most one cold start (its first request)
        assert_eq!((kubernetes.failed, lambda.failed), (0.0, 0.0));
        assert!((lambda.served - 1e6).abs() < 1e-3);
        assert!(lambda.cold_start_pct > 0.0 && lambda.cold_start_pct <= 1e-4);
    }

    #[test]
    fn the_verdict_is_the_cheapest_platform_meeting_the_objective() {
        let inputs = inputs(Options::default());
        let trace = Trace::shape(Shape::Spike, Volume::Monthly(1e8), 86_400, 0);
        let runs = inputs.run_all(&trace);
        let strict = verdict(
            "spike",
            "100M",
            &runs,
            Objective {
                p99_ms: 0.001,
                error_budget_pct: 0.0,
            },
        );
        assert_eq!(strict.cheapest, None);
        let loose = verdict(
            "spike",
            "100M",
            &runs,
            Objective {
                p99_ms: 1e9,
                error_budget_pct: 100.0,
            },
        );
        let cheapest = runs
            .iter()
            .map(|r| r.summary.cost_month)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(loose.cost_month, Some(cheapest));
    }

    #[test]
    fn a_spike_past_the_stage_throttle_gets_429s_on_lambda() {
        // 10B a month is ~3,800 requests a second: far past the template's 100 a second.
        let inputs = inputs(Options::default());
        let trace = Trace::shape(Shape::Steady, Volume::Monthly(1e10), 3600, 0);
        let runs = inputs.run_all(&trace);
        assert!(runs[1].summary.error_pct > 90.0, "{:?}", runs[1].summary);
        // AND without the throttle, within the account concurrency, nothing fails
        let open = self::inputs(Options {
            no_api_throttle: true,
            ..Options::default()
        });
        let lambda = run(&open.lambda(0.0), PLATFORMS[1], &trace).summary;
        assert_eq!(lambda.failed, 0.0);
    }
}
