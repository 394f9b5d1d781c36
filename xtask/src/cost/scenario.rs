//! Combines the prices, the seed's example and the user's choices into the figures to report.

use super::CostArgs;
use super::measured::Measured;
use super::model::{Arch, KubernetesSetup, LambdaBill, LambdaModel, Workload};
use super::prices::Prices;

/// The seed article's example, reproduced as published.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedFigures {
    /// 3 nodes and a load balancer.
    pub kubernetes: KubernetesSetup,
    /// 200 ms at 1024 MB, x86_64.
    pub workload: Workload,
    /// 1 M requests per month.
    pub requests: f64,
    /// Lambda only: no API Gateway, no free tier.
    pub lambda_bill: LambdaBill,
}

/// One Lambda workload priced in the extended model.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Short name for tables and the chart legend.
    pub label: &'static str,
    /// Duration, memory and architecture.
    pub workload: Workload,
    /// Meters, including API Gateway.
    pub model: LambdaModel,
    /// Requests per month where Lambda + API Gateway costs as much as Kubernetes.
    pub break_even: Option<f64>,
    /// The same without API Gateway (e.g. behind a function URL).
    pub break_even_without_api_gateway: Option<f64>,
}

/// The extended model: API Gateway added, user's choices applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Extended {
    /// The Kubernetes setup priced.
    pub kubernetes: KubernetesSetup,
    /// EKS control plane price, for the hint when it is left out.
    pub control_plane_monthly: f64,
    /// Whether the Lambda free tier is deducted.
    pub free_tier: bool,
    /// Requests per month for the itemised bill.
    pub requests: f64,
    /// The seed's workload first, then the chosen one if it differs.
    pub profiles: Vec<Profile>,
}

/// Everything the tables and the chart show.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The seed's own figures.
    pub seed: SeedFigures,
    /// The extended model.
    pub extended: Extended,
}

impl Scenario {
    /// Prices the seed's example and the user's choices.
    pub fn new(prices: &Prices, inputs: &CostArgs, measured: Option<&Measured>) -> Self {
        Scenario {
            seed: seed_figures(prices),
            extended: extended(prices, inputs, measured),
        }
    }
}

/// The seed's workload: it prices compute at the x86_64 rate.
fn seed_workload(prices: &Prices) -> Workload {
    Workload {
        duration_ms: prices.seed.duration_ms,
        memory_mb: prices.seed.memory_mb,
        arch: Arch::X86_64,
    }
}

fn seed_figures(prices: &Prices) -> SeedFigures {
    let kubernetes = KubernetesSetup::seed(prices);
    let workload = seed_workload(prices);
    let lambda = LambdaModel::new(prices, &workload, false, false);
    SeedFigures {
        kubernetes,
        workload,
        requests: prices.seed.requests_per_month,
        lambda_bill: lambda.monthly(prices.seed.requests_per_month),
    }
}

fn extended(prices: &Prices, inputs: &CostArgs, measured: Option<&Measured>) -> Extended {
    let seed = KubernetesSetup::seed(prices);
    let eks = prices.price.eks_control_plane.usd();
    let kubernetes = KubernetesSetup {
        nodes: inputs.nodes.unwrap_or(seed.nodes),
        node_usd_per_hour: inputs.node_hourly.unwrap_or(seed.node_usd_per_hour),
        load_balancer_usd_per_month: (inputs.lb_monthly)
            .unwrap_or(seed.load_balancer_usd_per_month),
        control_plane_usd_per_hour: inputs.eks_control_plane.then_some(eks),
        hours_per_month: seed.hours_per_month,
    };
    let fixed = kubernetes.total();
    let profile = |label, workload: Workload| {
        let model = LambdaModel::new(prices, &workload, true, inputs.free_tier);
        let without = LambdaModel::new(prices, &workload, false, inputs.free_tier);
        Profile {
            label,
            workload,
            break_even: model.break_even(fixed),
            break_even_without_api_gateway: without.break_even(fixed),
            model,
        }
    };

    let seed_workload = seed_workload(prices);
    let chosen = Workload {
        duration_ms: (measured.map(|m| m.duration_ms).or(inputs.duration_ms))
            .unwrap_or(seed_workload.duration_ms),
        memory_mb: (measured.map(|m| m.memory_mb).or(inputs.memory_mb))
            .unwrap_or(seed_workload.memory_mb),
        arch: inputs.arch,
    };
    let mut profiles = vec![profile("seed", seed_workload)];
    if chosen != seed_workload {
        let label = if measured.is_some() {
            "measured"
        } else {
            "this run"
        };
        profiles.push(profile(label, chosen));
    }
    Extended {
        kubernetes,
        control_plane_monthly: eks * seed.hours_per_month,
        free_tier: inputs.free_tier,
        requests: inputs.requests.unwrap_or(prices.seed.requests_per_month),
        profiles,
    }
}

// The figures of docs/cost.md's scenario (seed, API Gateway, EKS, break-even, volumes) are pinned
// by the staleness test in `cost/mod.rs`; these pin the seed's own figures and what the page
// does not show.
#[cfg(test)]
mod tests {
    use super::*;

    fn cents(amount: f64) -> f64 {
        (amount * 100.0).round() / 100.0
    }

    fn scenario(inputs: CostArgs, measured: Option<&Measured>) -> Scenario {
        Scenario::new(&Prices::embedded().unwrap(), &inputs, measured)
    }

    #[test]
    fn the_seeds_figures_are_reproduced() {
        // GIVEN the seed's 3 x t3.medium + load balancer, and 1 M requests x 200 ms x 1 GB
        let scenario = scenario(CostArgs::default(), None);
        let (k, l) = (scenario.seed.kubernetes, scenario.seed.lambda_bill);
        // THEN Kubernetes costs $91.10 + $16 = $107.10 (~$107) and Lambda $0.20 + $3.33 = $3.53
        assert_eq!(cents(k.nodes_monthly()), 91.10);
        assert_eq!(k.load_balancer_usd_per_month, 16.00);
        assert_eq!(k.total().round(), 107.0);
        assert!((l.gb_seconds - 200_000.0).abs() < 1e-6);
        assert_eq!((cents(l.requests), cents(l.compute)), (0.20, 3.33));
        assert_eq!((l.api_gateway, cents(l.total())), (0.0, 3.53));
        // AND with API Gateway the break-even is 23.6M requests/month
        let break_even = scenario.extended.profiles[0].break_even.unwrap();
        assert_eq!((break_even / 1e5).round() / 10.0, 23.6);
    }

    #[test]
    fn arm64_compute_is_priced_per_gb_second_at_the_arm_rate() {
        // GIVEN the seed's workload on arm64
        let inputs = CostArgs {
            arch: Arch::Arm64,
            ..CostArgs::default()
        };
        let extended = scenario(inputs, None).extended;
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
        let bill = scenario(inputs, None).extended.profiles[0]
            .model
            .monthly(1e6);
        // THEN the 1 M requests and 200,000 GB-s fit in the free 1 M and 400,000: only API Gateway bills
        assert_eq!((bill.requests, bill.compute), (0.0, 0.0));
        assert_eq!(cents(bill.api_gateway), 1.00);
    }

    #[test]
    fn a_measured_handler_is_priced_beside_the_seed() {
        // GIVEN a measured 4.6 ms handler at 128 MB
        let measured = Measured {
            duration_ms: 4.6,
            memory_mb: 128,
            peak_rss_mib: 20.0,
        };
        // WHEN both profiles are priced
        let extended = scenario(CostArgs::default(), Some(&measured)).extended;
        // THEN 5 ms x 0.125 GB per request: break-even 107.104 / (1.2e-6 + 0.000625 x 0.0000166667)
        let profile = &extended.profiles[1];
        assert_eq!(profile.label, "measured");
        let expected = 107.104 / (1.2e-6 + 0.000_625 * 0.000_016_666_7);
        assert!((profile.break_even.unwrap() - expected).abs() < 1.0);
    }
}
