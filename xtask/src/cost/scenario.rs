//! Combines the prices, the seed's example and the user's choices into the figures to report.

use super::CostArgs;
use super::measured::Measured;
use super::model::{KubernetesSetup, LambdaModel, Workload};
use super::prices::Prices;

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

/// The extended model: API Gateway added, the user's choices applied (the seed's own figures are
/// the model's with the seed's inputs: see `render::seed`).
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
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

impl Scenario {
    /// Prices the user's choices beside the seed's workload.
    pub fn new(prices: &Prices, inputs: &CostArgs, measured: Option<&Measured>) -> Self {
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

        let seed_workload = Workload::seed(prices);
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
        Scenario {
            kubernetes,
            control_plane_monthly: eks * seed.hours_per_month,
            free_tier: inputs.free_tier,
            requests: inputs.requests.unwrap_or(prices.seed.requests_per_month),
            profiles,
        }
    }
}
// The figures of docs/cost.md's scenario (seed, API Gateway, EKS, break-even, volumes) are pinned
// by the staleness test in `cost/mod.rs`; these pin the seed's own figures and what the page
// does not show.
#[cfg(test)]
mod tests {
    use super::super::model::Arch;
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
        let prices = Prices::embedded().unwrap();
        let k = KubernetesSetup::seed(&prices);
        let l = LambdaModel::new(&prices, &Workload::seed(&prices), false, false).monthly(1e6);
        // THEN Kubernetes costs $91.10 + $16 = $107.10 (~$107) and Lambda $0.20 + $3.33 = $3.53
        assert_eq!(cents(k.nodes_monthly()), 91.10);
        assert_eq!(k.load_balancer_usd_per_month, 16.00);
        assert_eq!(k.total().round(), 107.0);
        assert!((l.gb_seconds - 200_000.0).abs() < 1e-6);
        assert_eq!((cents(l.requests), cents(l.compute)), (0.20, 3.33));
        assert_eq!((l.api_gateway, cents(l.total())), (0.0, 3.53));
        // AND with API Gateway the break-even is 23.6M requests/month
        let break_even = scenario(CostArgs::default(), None).profiles[0]
            .break_even
            .unwrap();
        assert_eq!((break_even / 1e5).round() / 10.0, 23.6);
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
            duration_ms: 4.6,
            memory_mb: 128,
            peak_rss_mib: 20.0,
        };
        // WHEN both profiles are priced
        let extended = scenario(CostArgs::default(), Some(&measured));
        // THEN 5 ms x 0.125 GB per request: break-even 107.104 / (1.2e-6 + 0.000625 x 0.0000166667)
        let profile = &extended.profiles[1];
        assert_eq!(profile.label, "measured");
        let expected = 107.104 / (1.2e-6 + 0.000_625 * 0.000_016_666_7);
        assert!((profile.break_even.unwrap() - expected).abs() < 1.0);
    }
}
