//! Combines the prices, the seed's example and the user's choices into the figures to report.

use super::CostArgs;
use super::measured::Measured;
use super::model::{
    Arch, KubernetesBill, KubernetesSetup, LambdaBill, LambdaModel, LambdaOptions, Workload,
};
use super::prices::Prices;

/// The seed article's example, reproduced as published.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedFigures {
    /// 3 nodes and a load balancer.
    pub kubernetes: KubernetesSetup,
    /// Their monthly bill.
    pub kubernetes_bill: KubernetesBill,
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
    /// Its monthly bill.
    pub kubernetes_bill: KubernetesBill,
    /// EKS control plane price, for the hint when it is left out.
    pub control_plane_monthly: f64,
    /// Charges included on the Lambda side.
    pub options: LambdaOptions,
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
    let kubernetes = prices.seed_kubernetes();
    let workload = seed_workload(prices);
    let options = LambdaOptions {
        api_gateway: false,
        free_tier: false,
    };
    let lambda = LambdaModel::new(prices, &workload, options);
    SeedFigures {
        kubernetes,
        kubernetes_bill: kubernetes.monthly(),
        workload,
        requests: prices.seed.requests_per_month,
        lambda_bill: lambda.monthly(prices.seed.requests_per_month),
    }
}

fn extended(prices: &Prices, inputs: &CostArgs, measured: Option<&Measured>) -> Extended {
    let seed = prices.seed_kubernetes();
    let eks = prices.kubernetes.eks_control_plane.usd_per_hour;
    let kubernetes = KubernetesSetup {
        nodes: inputs.nodes.unwrap_or(seed.nodes),
        node_usd_per_hour: inputs.node_hourly.unwrap_or(seed.node_usd_per_hour),
        load_balancer_usd_per_month: inputs
            .lb_monthly
            .unwrap_or(seed.load_balancer_usd_per_month),
        control_plane_usd_per_hour: inputs.eks_control_plane.then_some(eks),
        hours_per_month: seed.hours_per_month,
    };
    let fixed = kubernetes.monthly().total();
    let options = LambdaOptions {
        api_gateway: true,
        free_tier: inputs.free_tier,
    };
    let without_api_gateway = LambdaOptions {
        api_gateway: false,
        ..options
    };
    let profile = |label, workload: Workload| {
        let model = LambdaModel::new(prices, &workload, options);
        let without = LambdaModel::new(prices, &workload, without_api_gateway);
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
        duration_ms: measured
            .map(|m| m.duration_ms)
            .or(inputs.duration_ms)
            .unwrap_or(seed_workload.duration_ms),
        memory_mb: measured
            .map(|m| m.memory_mb)
            .or(inputs.memory_mb)
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
        kubernetes_bill: kubernetes.monthly(),
        control_plane_monthly: eks * seed.hours_per_month,
        options,
        requests: inputs.requests.unwrap_or(prices.seed.requests_per_month),
        profiles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(amount: f64) -> f64 {
        (amount * 100.0).round() / 100.0
    }

    fn scenario(inputs: CostArgs) -> Scenario {
        Scenario::new(&Prices::embedded().unwrap(), &inputs, None)
    }

    #[test]
    fn seed_kubernetes_figures_are_reproduced() {
        // GIVEN the seed's 3 x t3.medium and load balancer
        // WHEN the month is priced with the embedded prices
        let bill = scenario(CostArgs::default()).seed.kubernetes_bill;
        // THEN nodes cost $91.10 (91.104), the load balancer $16, the total $107.10 (~$107)
        assert_eq!(cents(bill.nodes), 91.10);
        assert!((bill.nodes - 91.104).abs() < 1e-9);
        assert_eq!(cents(bill.load_balancer), 16.00);
        assert_eq!(cents(bill.total()), 107.10);
        assert_eq!(bill.total().round(), 107.0);
    }

    #[test]
    fn seed_lambda_figures_are_reproduced() {
        // GIVEN the seed's 1 M requests x 200 ms x 1 GB
        // WHEN Lambda is priced the seed's way (no API Gateway, no free tier)
        let seed = scenario(CostArgs::default()).seed;
        let bill = seed.lambda_bill;
        // THEN requests cost $0.20, 200,000 GB-s cost $3.33, the total $3.53
        assert_eq!(seed.requests, 1_000_000.0);
        assert!((bill.gb_seconds - 200_000.0).abs() < 1e-6);
        assert_eq!(cents(bill.requests), 0.20);
        assert_eq!(cents(bill.compute), 3.33);
        assert_eq!(bill.api_gateway, 0.0);
        assert_eq!(cents(bill.total()), 3.53);
    }

    #[test]
    fn extended_model_adds_api_gateway_and_finds_the_break_even() {
        // GIVEN the seed's workload with API Gateway at $1.00 per million
        let extended = scenario(CostArgs::default()).extended;
        let chosen = extended.profiles.last().unwrap();
        // WHEN 1 M requests are priced
        let bill = chosen.model.monthly(1e6);
        // THEN API Gateway adds $1.00 for $4.53 in all
        assert_eq!(cents(bill.api_gateway), 1.00);
        assert_eq!(cents(bill.total()), 4.53);
        // AND break-even = 107.104 / (0.20e-6 + 0.2 x 0.0000166667 + 1.00e-6) requests
        let per_request = 0.20e-6 + 0.2 * 0.000_016_666_7 + 1.00e-6;
        let break_even = chosen.break_even.unwrap();
        assert!(
            (break_even - 107.104 / per_request).abs() < 1.0,
            "{break_even}"
        );
        assert_eq!((break_even / 1e5).round() / 10.0, 23.6);
        // AND without API Gateway it would be 107.104 / 3.53334e-6 = 30.3 M
        let without = chosen.break_even_without_api_gateway.unwrap();
        assert_eq!((without / 1e5).round() / 10.0, 30.3);
        assert_eq!(extended.profiles.len(), 1);
    }

    #[test]
    fn arm64_compute_is_priced_per_gb_second_at_the_arm_rate() {
        // GIVEN the seed's workload on arm64
        let inputs = CostArgs {
            arch: Arch::Arm64,
            ..CostArgs::default()
        };
        // WHEN 1 M requests are priced
        let extended = scenario(inputs).extended;
        let bill = extended.profiles.last().unwrap().model.monthly(1e6);
        // THEN 200,000 GB-s cost 200,000 x $0.0000133334 = $2.67 and the seed profile is kept
        assert!((bill.compute - 200_000.0 * 0.000_013_333_4).abs() < 1e-9);
        assert_eq!(cents(bill.compute), 2.67);
        assert_eq!(extended.profiles.len(), 2);
        assert_eq!(extended.profiles[0].workload.arch, Arch::X86_64);
    }

    #[test]
    fn api_gateway_price_drops_after_300_million_requests() {
        // GIVEN the seed's workload
        let extended = scenario(CostArgs::default()).extended;
        // WHEN 1 billion requests are priced
        let bill = extended.profiles.last().unwrap().model.monthly(1e9);
        // THEN API Gateway costs 300 x $1.00 + 700 x $0.90 = $930
        assert_eq!(cents(bill.api_gateway), 930.00);
    }

    #[test]
    fn fast_handler_moves_the_break_even_out() {
        // GIVEN a measured 5 ms handler at 128 MB
        let measured = Measured {
            duration_ms: 4.6,
            memory_mb: 128,
            peak_rss_mib: 20.0,
        };
        // WHEN both profiles are priced
        let prices = Prices::embedded().unwrap();
        let extended = Scenario::new(&prices, &CostArgs::default(), Some(&measured)).extended;
        let [seed, measured] = &extended.profiles[..] else {
            panic!("expected two profiles");
        };
        // THEN 5 ms x 0.125 GB per request: break-even 107.104 / (1.2e-6 + 0.000625 x 0.0000166667)
        assert_eq!(measured.label, "measured");
        let per_request = 1.2e-6 + 0.000_625 * 0.000_016_666_7;
        let expected = 107.104 / per_request;
        assert!((measured.break_even.unwrap() - expected).abs() < 1.0);
        // AND it is about 3.7 times the seed profile's
        let ratio = measured.break_even.unwrap() / seed.break_even.unwrap();
        assert_eq!((ratio * 10.0).round() / 10.0, 3.7);
    }

    #[test]
    fn eks_control_plane_adds_73_dollars() {
        // GIVEN --eks-control-plane
        let inputs = CostArgs {
            eks_control_plane: true,
            ..CostArgs::default()
        };
        // WHEN Kubernetes is priced
        let bill = scenario(inputs).extended.kubernetes_bill;
        // THEN $0.10 x 730 h = $73 is added to $107.10
        assert_eq!(cents(bill.control_plane), 73.00);
        assert_eq!(cents(bill.total()), 180.10);
    }

    #[test]
    fn free_tier_covers_the_first_million_requests() {
        // GIVEN the free tier and 1 M requests at 200 ms x 1 GB
        let inputs = CostArgs {
            free_tier: true,
            ..CostArgs::default()
        };
        // WHEN Lambda is priced
        let bill = scenario(inputs)
            .extended
            .profiles
            .last()
            .unwrap()
            .model
            .monthly(1e6);
        // THEN the 1 M requests and 200,000 GB-s fit in the free 1 M and 400,000: only API Gateway bills
        assert_eq!(bill.requests, 0.0);
        assert_eq!(bill.compute, 0.0);
        assert_eq!(cents(bill.api_gateway), 1.00);
    }
}
