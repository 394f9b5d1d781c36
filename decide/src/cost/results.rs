//! The cost model's results for one [`Scenario`], as data: every figure `cargo xtask cost` prints,
//! computed here and formatted by the templates (`decide/templates/cost*.md`, through the number
//! filters of [`crate::template`]).
//!
//! The same [`Results`] are written as JSON: beside the chart by `cargo xtask cost`
//! (`target/cost/cost.json`), and beside the page by `cargo xtask cost --docs` (`docs/cost.json`,
//! the figures docs/cost.md shows, for scripts and for reviewing a price change as data).
//! Money is in USD, volumes in requests a month; nothing is rounded.

use serde::Serialize;

use super::measured::Measured;
use super::model::{KubernetesSetup, LambdaBill, Profile, Scenario, Workload};
use super::prices::Prices;

/// Request volumes of the volume table (one per decade of the chart).
const VOLUMES: [f64; 6] = [1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Everything the tables show: the price list as read, the seed's model as published, and the
/// extended model for the scenario.
#[derive(Debug, Serialize)]
pub struct Results<'a> {
    pub prices: &'a Prices,
    /// What the EKS control plane costs a month at its list price.
    pub eks_control_plane_monthly: f64,
    pub seed: Seed,
    pub kubernetes: Kubernetes,
    pub lambda: Lambda,
    /// Each volume's monthly cost: Kubernetes, then each Lambda profile.
    pub volumes: Vec<Volume>,
}

/// The seed's example as published: its Kubernetes setup, and Lambda without API Gateway or free
/// tier at the seed's volume.
#[derive(Debug, Serialize)]
pub struct Seed {
    pub kubernetes: Kubernetes,
    pub requests: f64,
    pub workload: WorkloadData,
    pub bill: Bill,
    /// Lambda's request price, per million requests.
    pub request_usd_per_million: f64,
    /// Lambda's x86_64 compute price, per GB-s.
    pub compute_usd_per_gb_second: f64,
}

/// A Kubernetes setup and its monthly cost.
#[derive(Debug, Serialize)]
pub struct Kubernetes {
    pub nodes: u32,
    /// The seed's instance type when the node is priced at its list price, else none.
    pub instance: Option<String>,
    pub node_hourly: f64,
    pub hours_per_month: f64,
    pub nodes_monthly: f64,
    pub lb_monthly: f64,
    /// The EKS control plane's hourly price when it is included, else none.
    pub control_plane_hourly: Option<f64>,
    pub control_plane_monthly: f64,
    pub total: f64,
    /// The total with the EKS control plane added (the same as `total` when it is included).
    pub total_with_control_plane: f64,
}

/// Lambda behind an API Gateway HTTP API at the scenario's volume, for each profile.
#[derive(Debug, Serialize)]
pub struct Lambda {
    pub requests: f64,
    pub free_tier: bool,
    /// The benchmark results the measured profile comes from.
    pub measured: Option<Measured>,
    pub profiles: Vec<ProfileData>,
}

/// One Lambda workload: its bill at the scenario's volume and its break-even with Kubernetes.
#[derive(Debug, Serialize)]
pub struct ProfileData {
    pub label: &'static str,
    pub workload: WorkloadData,
    pub bill: Bill,
    /// List price of a million requests, API Gateway included.
    pub usd_per_million: f64,
    /// Requests a month at which Lambda with API Gateway costs what Kubernetes does (none: never).
    pub break_even: Option<f64>,
    /// `break_even` over the seed profile's (none for the seed itself).
    pub break_even_vs_seed: Option<f64>,
    pub break_even_without_api_gateway: Option<f64>,
}

/// What one invocation uses, and the duration Lambda bills (rounded up to 1 ms).
#[derive(Debug, Serialize)]
pub struct WorkloadData {
    #[serde(flatten)]
    pub workload: Workload,
    pub billed_ms: f64,
}

/// One month's Lambda bill, with its sums.
#[derive(Debug, Serialize)]
pub struct Bill {
    #[serde(flatten)]
    pub items: LambdaBill,
    /// Lambda's own charges (requests and compute).
    pub lambda: f64,
    pub total: f64,
}

/// One row of the volume table.
#[derive(Debug, Serialize)]
pub struct Volume {
    pub requests: f64,
    /// Kubernetes, then each Lambda profile (API Gateway included).
    pub costs: Vec<f64>,
    /// The lowest of `costs` (which may be more than one's).
    pub cheapest: f64,
}

impl<'a> Results<'a> {
    /// The results of `scenario` at `prices`.
    pub fn new(prices: &'a Prices, scenario: &Scenario) -> Results<'a> {
        let hours = prices.meta.hours_per_month;
        Results {
            prices,
            eks_control_plane_monthly: prices.price.eks_control_plane.usd() * hours,
            seed: Seed::new(prices),
            kubernetes: Kubernetes::new(prices, &scenario.kubernetes),
            lambda: Lambda::new(scenario),
            volumes: VOLUMES
                .into_iter()
                .map(|requests| Volume::new(scenario, requests))
                .collect(),
        }
    }

    /// The results as pretty-printed JSON, ending with a newline.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results serialise") + "\n"
    }
}

impl Seed {
    fn new(prices: &Prices) -> Seed {
        let seed = Scenario::seed(prices);
        let profile = &seed.profiles[0];
        let (requests, compute) = (&prices.price.lambda_requests, &prices.price.lambda_x86_64);
        Seed {
            kubernetes: Kubernetes::new(prices, &seed.kubernetes),
            requests: seed.requests,
            workload: WorkloadData::new(&profile.workload),
            bill: Bill::new(&profile.model.monthly(seed.requests)),
            request_usd_per_million: requests.usd() * 1e6 / requests.per,
            compute_usd_per_gb_second: compute.usd() / compute.per,
        }
    }
}

impl Kubernetes {
    fn new(prices: &Prices, setup: &KubernetesSetup) -> Kubernetes {
        let list_plane = prices.price.eks_control_plane.usd() * setup.hours_per_month;
        let plane = match setup.control_plane_hourly {
            Some(_) => 0.0,
            None => list_plane,
        };
        Kubernetes {
            nodes: setup.nodes,
            instance: (setup.node_hourly == prices.price.node.usd())
                .then(|| prices.seed.instance.clone()),
            node_hourly: setup.node_hourly,
            hours_per_month: setup.hours_per_month,
            nodes_monthly: setup.nodes_monthly(),
            lb_monthly: setup.lb_monthly,
            control_plane_hourly: setup.control_plane_hourly,
            control_plane_monthly: setup.control_plane_monthly(),
            total: setup.total(),
            total_with_control_plane: setup.total() + plane,
        }
    }
}

impl Lambda {
    fn new(scenario: &Scenario) -> Lambda {
        let seed = scenario.profiles[0].break_even;
        let profiles = (scenario.profiles.iter().enumerate())
            .map(|(i, profile)| ProfileData::new(scenario, profile, seed.filter(|_| i > 0)))
            .collect();
        Lambda {
            requests: scenario.requests,
            free_tier: scenario.free_tier,
            measured: scenario.measured.clone(),
            profiles,
        }
    }
}

impl ProfileData {
    fn new(scenario: &Scenario, profile: &Profile, seed_break_even: Option<f64>) -> ProfileData {
        ProfileData {
            label: profile.label,
            workload: WorkloadData::new(&profile.workload),
            bill: Bill::new(&profile.model.monthly(scenario.requests)),
            usd_per_million: profile.model.usd_per_million(),
            break_even: profile.break_even,
            break_even_vs_seed: (profile.break_even.zip(seed_break_even))
                .map(|(this, seed)| this / seed),
            break_even_without_api_gateway: profile.break_even_without_api_gateway,
        }
    }
}

impl WorkloadData {
    fn new(workload: &Workload) -> WorkloadData {
        WorkloadData {
            workload: *workload,
            billed_ms: workload.billed_ms(),
        }
    }
}

impl Bill {
    fn new(bill: &LambdaBill) -> Bill {
        Bill {
            items: *bill,
            lambda: bill.lambda(),
            total: bill.total(),
        }
    }
}

impl Volume {
    fn new(scenario: &Scenario, requests: f64) -> Volume {
        let mut costs = vec![scenario.kubernetes.total()];
        costs.extend((scenario.profiles.iter()).map(|p| p.model.monthly(requests).total()));
        let cheapest = costs.iter().copied().fold(f64::INFINITY, f64::min);
        Volume {
            requests,
            costs,
            cheapest,
        }
    }
}
