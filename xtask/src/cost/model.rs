//! The cost model: pure functions over the price list and typed inputs, no I/O and no price literals.

use super::prices::{Price, Prices};

/// Lambda bills memory in MB with 1024 MB to the GB.
const MB_PER_GB: f64 = 1024.0;
/// Lambda bills duration in whole milliseconds.
const MS_PER_SECOND: f64 = 1000.0;

/// A billed line item whose usage grows linearly with the number of requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    /// How the usage is priced.
    pub price: Price,
    /// Units used per request (1 for requests, GB-s per request for compute).
    pub units_per_request: f64,
    /// Units per month that are free (free tier), deducted before pricing.
    pub free_units: f64,
}

impl Meter {
    /// Billable units for `requests` requests in a month.
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    // x86_64: the Lambda default, and the seed's price. (Comments, not doc comments: clap would
    // print those under `--help`.)
    #[default]
    #[value(name = "x86_64")]
    X86_64,
    // arm64 (Graviton): about 20% cheaper per GB-s.
    #[value(name = "arm64")]
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

/// What one Lambda invocation uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Workload {
    /// Measured or assumed duration per invocation, in ms.
    pub duration_ms: f64,
    /// Configured memory, in MB.
    pub memory_mb: u32,
    /// Function architecture.
    pub arch: Arch,
}

impl Workload {
    /// The seed's workload: it prices compute at the x86_64 rate.
    pub fn seed(prices: &Prices) -> Self {
        Workload {
            duration_ms: prices.seed.duration_ms,
            memory_mb: prices.seed.memory_mb,
            arch: Arch::X86_64,
        }
    }

    /// Billed duration: Lambda rounds each invocation up to the next 1 ms.
    pub fn billed_ms(&self) -> f64 {
        self.duration_ms.ceil()
    }

    /// GB-seconds billed per invocation.
    pub fn gb_seconds_per_request(&self) -> f64 {
        self.billed_ms() / MS_PER_SECOND * f64::from(self.memory_mb) / MB_PER_GB
    }
}

/// The Lambda side of the comparison for one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaModel {
    /// Lambda request charge.
    pub requests: Meter,
    /// Lambda compute (GB-s) charge.
    pub compute: Meter,
    /// API Gateway request charge, if included.
    pub api_gateway: Option<Meter>,
}

/// Monthly Lambda bill, in USD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambdaBill {
    /// Lambda request charge.
    pub requests: f64,
    /// Lambda compute charge.
    pub compute: f64,
    /// API Gateway charge (0 when not included).
    pub api_gateway: f64,
    /// GB-seconds used (before the free tier).
    pub gb_seconds: f64,
}

impl LambdaBill {
    /// Total monthly cost.
    pub fn total(&self) -> f64 {
        self.requests + self.compute + self.api_gateway
    }
}

impl LambdaModel {
    /// The meters for `workload`, with the API Gateway charge and the free tier if asked for.
    pub fn new(prices: &Prices, workload: &Workload, api_gateway: bool, free_tier: bool) -> Self {
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
            api_gateway: api_gateway.then(|| meter(&p.api_gateway_requests, 1.0, 0.0)),
        }
    }

    /// Monthly bill for `requests` requests.
    pub fn monthly(&self, requests: f64) -> LambdaBill {
        LambdaBill {
            requests: self.requests.cost(requests),
            compute: self.compute.cost(requests),
            api_gateway: self.api_gateway.as_ref().map_or(0.0, |m| m.cost(requests)),
            gb_seconds: requests * self.compute.units_per_request,
        }
    }

    fn meters(&self) -> Vec<&Meter> {
        let mut meters = vec![&self.requests, &self.compute];
        meters.extend(self.api_gateway.as_ref());
        meters
    }

    /// List price of a million requests: first tiers, before the free tier.
    pub fn usd_per_million(&self) -> f64 {
        let per_request: f64 = (self.meters().into_iter())
            .map(|meter| meter.units_per_request * meter.price.marginal(0.0))
            .sum();
        per_request * 1e6
    }

    /// Requests per month at which this Lambda bill equals `fixed_monthly`.
    pub fn break_even(&self, fixed_monthly: f64) -> Option<f64> {
        break_even(fixed_monthly, &self.meters())
    }
}

/// The Kubernetes deployment: a fixed monthly cost whatever the traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KubernetesSetup {
    /// Worker nodes (one replica each).
    pub nodes: u32,
    /// On-demand price of one node, USD per hour.
    pub node_usd_per_hour: f64,
    /// Load balancer, USD per month.
    pub load_balancer_usd_per_month: f64,
    /// EKS control plane, USD per hour, if included.
    pub control_plane_usd_per_hour: Option<f64>,
    /// Hours in a billing month.
    pub hours_per_month: f64,
}

impl KubernetesSetup {
    /// The seed's setup: its nodes and the load balancer, no control plane.
    pub fn seed(prices: &Prices) -> Self {
        KubernetesSetup {
            nodes: prices.seed.nodes,
            node_usd_per_hour: prices.price.node.usd(),
            load_balancer_usd_per_month: prices.price.load_balancer.usd(),
            control_plane_usd_per_hour: None,
            hours_per_month: prices.meta.hours_per_month,
        }
    }

    /// The nodes' monthly cost.
    pub fn nodes_monthly(&self) -> f64 {
        f64::from(self.nodes) * self.node_usd_per_hour * self.hours_per_month
    }

    /// The EKS control plane's monthly cost (0 when not included).
    pub fn control_plane_monthly(&self) -> f64 {
        self.control_plane_usd_per_hour.unwrap_or(0.0) * self.hours_per_month
    }

    /// Total monthly cost; it does not depend on traffic.
    pub fn total(&self) -> f64 {
        self.nodes_monthly() + self.load_balancer_usd_per_month + self.control_plane_monthly()
    }
}

#[cfg(test)]
mod tests {
    use super::super::prices::Tier;
    use super::*;

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
