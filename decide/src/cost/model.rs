//! The cost model: pure functions over the price list and typed inputs, no I/O and no price literals.

use std::fmt;

use serde::Serialize;

use super::CostArgs;
use super::measured::Measured;
use super::prices::{Price, Prices};

/// A billed line item whose usage grows linearly with the number of requests: `units_per_request`
/// (1 for requests, GB-s per request for compute) are used per request, and the first `free_units`
/// a month (the free tier) are deducted before pricing.
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    pub price: Price,
    pub units_per_request: f64,
    pub free_units: f64,
}

impl Meter {
    fn billable_units(&self, requests: f64) -> f64 {
        (requests * self.units_per_request - self.free_units).max(0.0)
    }

    /// Monthly cost in USD for `requests` requests.
    pub fn cost(&self, requests: f64) -> f64 {
        self.price.cost(self.billable_units(requests))
    }

    /// Cost in USD of one more request once `requests` requests are served.
    fn slope(&self, requests: f64) -> f64 {
        if requests * self.units_per_request < self.free_units {
            return 0.0;
        }
        self.units_per_request * self.price.marginal(self.billable_units(requests))
    }

    /// Request volumes where this meter's price per request changes.
    fn breakpoints(&self) -> impl Iterator<Item = f64> + '_ {
        let bounds = self.price.tiers.iter().filter_map(|tier| tier.up_to);
        std::iter::once(0.0)
            .chain(bounds)
            .map(|units| (units + self.free_units) / self.units_per_request)
            .filter(|requests| requests.is_finite())
    }
}

/// Smallest monthly request volume at which the meters together cost `fixed_monthly` USD.
///
/// The meters' total is piecewise linear and non-decreasing in requests, so the crossing
/// is solved exactly segment by segment. `None` when the meters never reach `fixed_monthly`.
pub fn break_even(fixed_monthly: f64, meters: &[&Meter]) -> Option<f64> {
    let total = |requests: f64| meters.iter().map(|meter| meter.cost(requests)).sum::<f64>();
    let slope = |requests: f64| meters.iter().map(|m| m.slope(requests)).sum::<f64>();
    let mut breakpoints: Vec<f64> = meters.iter().flat_map(|m| m.breakpoints()).collect();
    breakpoints.sort_by(f64::total_cmp);

    let mut start = 0.0;
    loop {
        let remaining = fixed_monthly - total(start);
        if remaining <= 0.0 {
            return Some(start);
        }
        let end = (breakpoints.iter().copied())
            .find(|&point| point > start)
            .unwrap_or(f64::INFINITY);
        // The rate is constant inside a segment; probe its middle to stay clear of the ends.
        let probe = if end.is_finite() {
            (start + end) / 2.0
        } else {
            start * 2.0 + 1.0
        };
        let rate = slope(probe);
        if rate > 0.0 && start + remaining / rate <= end {
            return Some(start + remaining / rate);
        }
        if end.is_infinite() {
            return None;
        }
        start = end;
    }
}

/// CPU architecture of the Lambda function; it selects the compute price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Arch {
    // x86_64: the Lambda default, and the seed's price. (Comments, not doc comments: clap would
    // print those under `--help`.)
    #[default]
    #[value(name = "x86_64")]
    #[serde(rename = "x86_64")]
    X86_64,
    // arm64 (Graviton): about 20% cheaper per GB-s.
    #[value(name = "arm64")]
    #[serde(rename = "arm64")]
    Arm64,
}

impl Arch {
    /// The name Lambda uses for the architecture.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// What one Lambda invocation uses: its duration in ms, the configured memory in MB, and the
/// function's architecture.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Workload {
    pub duration_ms: f64,
    pub memory_mb: u32,
    pub arch: Arch,
}

impl Workload {
    /// Billed duration: Lambda rounds each invocation up to the next 1 ms.
    pub fn billed_ms(&self) -> f64 {
        self.duration_ms.ceil()
    }

    /// GB-seconds billed per invocation (Lambda counts 1024 MB to the GB).
    pub fn gb_seconds_per_request(&self) -> f64 {
        self.billed_ms() / 1000.0 * f64::from(self.memory_mb) / 1024.0
    }
}

/// `5 ms × 128 MB x86_64`, with the billed duration when it differs: `4.2 ms (billed 5 ms) × ...`.
impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let billed = self.billed_ms();
        write!(f, "{} ms", self.duration_ms)?;
        if billed != self.duration_ms {
            write!(f, " (billed {billed} ms)")?;
        }
        write!(f, " × {} MB {}", self.memory_mb, self.arch.name())
    }
}

/// The meters of Lambda for one workload, and of the API Gateway HTTP API in front of it.
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaModel {
    pub requests: Meter,
    pub compute: Meter,
    pub api_gateway: Meter,
}

/// One month's bill of a [`LambdaModel`] in USD, and the GB-seconds used before the free tier.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LambdaBill {
    pub requests: f64,
    pub compute: f64,
    pub api_gateway: f64,
    pub gb_seconds: f64,
}

impl LambdaBill {
    /// Lambda's own charges, without the API Gateway.
    pub fn lambda(&self) -> f64 {
        self.requests + self.compute
    }

    /// The whole bill.
    pub fn total(&self) -> f64 {
        self.lambda() + self.api_gateway
    }
}

impl LambdaModel {
    /// The meters for `workload`, with Lambda's free tier deducted if asked for.
    pub fn new(prices: &Prices, workload: &Workload, free_tier: bool) -> Self {
        let (p, free) = (&prices.price, &prices.free_tier);
        let meter = |price: &Price, units_per_request, free_units| Meter {
            price: price.clone(),
            units_per_request,
            free_units: if free_tier { free_units } else { 0.0 },
        };
        let compute = match workload.arch {
            Arch::X86_64 => &p.lambda_x86_64,
            Arch::Arm64 => &p.lambda_arm64,
        };
        LambdaModel {
            requests: meter(&p.lambda_requests, 1.0, free.requests),
            compute: meter(compute, workload.gb_seconds_per_request(), free.gb_seconds),
            api_gateway: meter(&p.api_gateway_requests, 1.0, 0.0),
        }
    }

    /// Monthly bill for `requests` requests.
    pub fn monthly(&self, requests: f64) -> LambdaBill {
        LambdaBill {
            requests: self.requests.cost(requests),
            compute: self.compute.cost(requests),
            api_gateway: self.api_gateway.cost(requests),
            gb_seconds: requests * self.compute.units_per_request,
        }
    }

    fn meters(&self, api_gateway: bool) -> Vec<&Meter> {
        let mut meters = vec![&self.requests, &self.compute];
        meters.extend(api_gateway.then_some(&self.api_gateway));
        meters
    }

    /// List price of a million requests, API Gateway included: first tiers, before the free tier.
    pub fn usd_per_million(&self) -> f64 {
        let per_request: f64 = (self.meters(true).into_iter())
            .map(|meter| meter.units_per_request * meter.price.marginal(0.0))
            .sum();
        per_request * 1e6
    }

    /// Requests per month at which this bill, with or without the API Gateway, is `fixed_monthly`.
    pub fn break_even(&self, fixed_monthly: f64, api_gateway: bool) -> Option<f64> {
        break_even(fixed_monthly, &self.meters(api_gateway))
    }
}

/// The Kubernetes deployment: `nodes` worker nodes (one replica each) at `node_hourly` USD, a load
/// balancer at `lb_monthly` USD and, if included, the EKS control plane at `control_plane_hourly`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KubernetesSetup {
    pub nodes: u32,
    pub node_hourly: f64,
    pub lb_monthly: f64,
    pub control_plane_hourly: Option<f64>,
    pub hours_per_month: f64,
}

impl KubernetesSetup {
    /// The nodes' monthly cost.
    pub fn nodes_monthly(&self) -> f64 {
        f64::from(self.nodes) * self.node_hourly * self.hours_per_month
    }

    /// The EKS control plane's monthly cost (0 when not included).
    pub fn control_plane_monthly(&self) -> f64 {
        self.control_plane_hourly.unwrap_or(0.0) * self.hours_per_month
    }

    /// Total monthly cost; it does not depend on traffic.
    pub fn total(&self) -> f64 {
        self.nodes_monthly() + self.lb_monthly + self.control_plane_monthly()
    }
}

/// One Lambda workload priced against the Kubernetes setup: `label` names it in tables and the
/// chart, `model` includes the API Gateway, and each break-even is the request volume per month
/// where Lambda, with or without the API Gateway (e.g. behind a function URL), costs as much as
/// Kubernetes.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub label: &'static str,
    pub workload: Workload,
    pub model: LambdaModel,
    pub break_even: Option<f64>,
    pub break_even_without_api_gateway: Option<f64>,
}

/// What the report shows: the seed's example with the user's choices applied, the itemised bill's
/// `requests` per month, and the profiles: the seed's workload first, then the chosen one (or the
/// `measured` one) if it differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub kubernetes: KubernetesSetup,
    pub free_tier: bool,
    pub requests: f64,
    pub profiles: Vec<Profile>,
    pub measured: Option<Measured>,
}

impl Scenario {
    /// The seed's example as published: nothing chosen, nothing measured.
    pub fn seed(prices: &Prices) -> Self {
        Scenario::new(prices, &CostArgs::default(), None)
    }

    /// Prices the user's choices beside the seed's workload.
    pub fn new(prices: &Prices, inputs: &CostArgs, measured: Option<Measured>) -> Self {
        let (seed, p) = (&prices.seed, &prices.price);
        let kubernetes = KubernetesSetup {
            nodes: inputs.nodes.unwrap_or(seed.nodes),
            node_hourly: inputs.node_hourly.unwrap_or(p.node.usd()),
            lb_monthly: inputs.lb_monthly.unwrap_or(p.load_balancer.usd()),
            control_plane_hourly: (inputs.eks_control_plane).then(|| p.eks_control_plane.usd()),
            hours_per_month: prices.meta.hours_per_month,
        };
        let fixed = kubernetes.total();
        let profile = |label, workload: Workload| {
            let model = LambdaModel::new(prices, &workload, inputs.free_tier);
            Profile {
                label,
                workload,
                break_even: model.break_even(fixed, true),
                break_even_without_api_gateway: model.break_even(fixed, false),
                model,
            }
        };

        let seed_workload = Workload {
            duration_ms: seed.duration_ms,
            memory_mb: seed.memory_mb,
            arch: Arch::X86_64,
        };
        let (duration_ms, memory_mb) = match &measured {
            Some(m) => (m.duration_ms, m.memory_mb),
            None => (
                inputs.duration_ms.unwrap_or(seed.duration_ms),
                inputs.memory_mb.unwrap_or(seed.memory_mb),
            ),
        };
        let chosen = Workload {
            duration_ms,
            memory_mb,
            arch: inputs.arch,
        };
        let mut profiles = vec![profile("seed", seed_workload)];
        if chosen != seed_workload {
            let label = measured.as_ref().map_or("this run", |_| "measured");
            profiles.push(profile(label, chosen));
        }
        Scenario {
            kubernetes,
            free_tier: inputs.free_tier,
            requests: inputs.requests.unwrap_or(seed.requests_per_month),
            profiles,
            measured,
        }
    }
}

// The figures of docs/cost.md's scenario (seed, API Gateway, EKS, break-even, volumes) are pinned
// by the staleness test in `cost/mod.rs`; these pin the seed's own figures and what the page
// does not show.
#[cfg(test)]
mod tests {
    use super::super::prices::Tier;
    use super::*;

    fn cents(amount: f64) -> f64 {
        (amount * 100.0).round() / 100.0
    }

    fn scenario(inputs: CostArgs, measured: Option<Measured>) -> Scenario {
        Scenario::new(&Prices::embedded().unwrap(), &inputs, measured)
    }

    #[test]
    fn the_seeds_figures_are_reproduced() {
        // GIVEN the seed's 3 x t3.medium + load balancer, and 1 M requests x 200 ms x 1 GB
        let seed = Scenario::seed(&Prices::embedded().unwrap());
        let (k, seed) = (seed.kubernetes, &seed.profiles[0]);
        let l = seed.model.monthly(1e6);
        // THEN Kubernetes costs $91.10 + $16 = $107.10 (~$107) and Lambda $0.20 + $3.33 = $3.53
        assert_eq!(cents(k.nodes_monthly()), 91.10);
        assert_eq!(k.lb_monthly, 16.00);
        assert_eq!(k.total().round(), 107.0);
        assert!((l.gb_seconds - 200_000.0).abs() < 1e-6);
        assert_eq!((cents(l.requests), cents(l.compute)), (0.20, 3.33));
        assert_eq!(cents(l.lambda()), 3.53);
        // AND with API Gateway ($1.00) the break-even is 23.6M requests/month
        assert_eq!(cents(l.total()), 4.53);
        assert_eq!((seed.break_even.unwrap() / 1e5).round() / 10.0, 23.6);
    }

    #[test]
    fn duration_is_billed_in_whole_milliseconds() {
        // GIVEN a 4.2 ms invocation at 128 MB
        let workload = Workload {
            duration_ms: 4.2,
            memory_mb: 128,
            arch: Arch::Arm64,
        };
        // WHEN / THEN 5 ms x 0.125 GB are charged
        assert_eq!(workload.billed_ms(), 5.0);
        assert!((workload.gb_seconds_per_request() - 0.000_625).abs() < 1e-15);
    }

    #[test]
    fn arm64_compute_is_priced_per_gb_second_at_the_arm_rate() {
        // GIVEN the seed's workload on arm64
        let inputs = CostArgs {
            arch: Arch::Arm64,
            ..CostArgs::default()
        };
        let extended = scenario(inputs, None);
        // WHEN 1 M requests are priced
        let bill = extended.profiles[1].model.monthly(1e6);
        // THEN 200,000 GB-s cost 200,000 x $0.0000133334 = $2.67, beside the x86_64 seed profile
        assert_eq!(cents(bill.compute), 2.67);
        assert_eq!(extended.profiles[0].workload.arch, Arch::X86_64);
    }

    #[test]
    fn free_tier_covers_the_first_million_requests() {
        // GIVEN the free tier and 1 M requests at 200 ms x 1 GB
        let inputs = CostArgs {
            free_tier: true,
            ..CostArgs::default()
        };
        // WHEN Lambda is priced
        let bill = scenario(inputs, None).profiles[0].model.monthly(1e6);
        // THEN the 1 M requests and 200,000 GB-s fit in the free 1 M and 400,000: only API Gateway bills
        assert_eq!((bill.requests, bill.compute), (0.0, 0.0));
        assert_eq!(cents(bill.api_gateway), 1.00);
    }

    #[test]
    fn a_measured_handler_is_priced_beside_the_seed() {
        // GIVEN a measured 4.6 ms handler at 128 MB
        let measured = Measured {
            path: "benchmarks.json".into(),
            duration_ms: 4.6,
            at_share: false,
            memory_mb: 128,
            peak_rss_mib: 20.0,
        };
        // WHEN both profiles are priced
        let extended = scenario(CostArgs::default(), Some(measured));
        // THEN 5 ms x 0.125 GB per request: break-even 107.104 / (1.2e-6 + 0.000625 x 0.0000166667)
        let profile = &extended.profiles[1];
        assert_eq!(profile.label, "measured");
        let expected = 107.104 / (1.2e-6 + 0.000_625 * 0.000_016_666_7);
        assert!((profile.break_even.unwrap() - expected).abs() < 1.0);
    }

    #[test]
    fn break_even_crosses_tiers_and_free_allowances() {
        // GIVEN 1,000 free units, then $1 per unit up to 1,000 billable units, then $0.50
        let tier = |usd, up_to| Tier { usd, up_to };
        let price = Price {
            per: 1.0,
            tiers: vec![tier(1.0, Some(1_000.0)), tier(0.5, None)],
            source: String::new(),
            read: String::new(),
        };
        let meter = |price: &Price, free_units| Meter {
            price: price.clone(),
            units_per_request: 1.0,
            free_units,
        };
        let tiered = meter(&price, 1_000.0);
        // WHEN the fixed cost is $1,500
        let requests = break_even(1_500.0, &[&tiered]).unwrap();
        // THEN 1,000 free + 1,000 at $1 + 1,000 at $0.50 = 3,000 requests
        assert!((requests - 3_000.0).abs() < 1e-9, "{requests}");
        assert!((tiered.cost(requests) - 1_500.0).abs() < 1e-9);
        // AND a meter that costs nothing never reaches it
        let free = Price {
            tiers: vec![tier(0.0, None)],
            ..price
        };
        assert_eq!(break_even(10.0, &[&meter(&free, 0.0)]), None);
    }
}
