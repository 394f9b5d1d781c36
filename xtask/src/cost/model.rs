//! The cost model: pure functions over the price list and typed inputs, no I/O and no price literals.

/// Lambda bills memory in MB with 1024 MB to the GB.
const MB_PER_GB: f64 = 1024.0;
/// Lambda bills duration in whole milliseconds.
const MS_PER_SECOND: f64 = 1000.0;

use serde::Deserialize;

use super::prices::Prices;

/// One volume tier of a price schedule, as `prices.toml` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Price in USD per `Schedule::per` units.
    pub usd: f64,
    /// Cumulative monthly usage where this tier ends; `None` for the last tier.
    pub up_to: Option<f64>,
}

/// A tiered price schedule, e.g. "$1.00 per million requests up to 300 M, then $0.90".
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Number of units each tier's `usd` buys (1 for GB-s, 1,000,000 for requests).
    pub per: f64,
    /// Tiers in increasing order of `up_to`; the last one is unbounded.
    pub tiers: Vec<Tier>,
}

impl Schedule {
    /// Monthly cost in USD of `quantity` units.
    pub fn cost(&self, quantity: f64) -> f64 {
        let mut lower = 0.0;
        let mut total = 0.0;
        for tier in &self.tiers {
            let upper = tier.up_to.unwrap_or(f64::INFINITY);
            if quantity > lower {
                total += (quantity.min(upper) - lower) * tier.usd;
            }
            lower = upper;
        }
        total / self.per
    }

    /// Price in USD of one more unit once `quantity` units are used.
    pub fn marginal(&self, quantity: f64) -> f64 {
        let tier = self
            .tiers
            .iter()
            .find(|tier| tier.up_to.is_none_or(|upper| quantity < upper));
        tier.map_or(0.0, |tier| tier.usd) / self.per
    }
}

/// A billed line item whose usage grows linearly with the number of requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    /// How the usage is priced.
    pub schedule: Schedule,
    /// Units used per request (1 for requests, GB-s per request for compute).
    pub units_per_request: f64,
    /// Units per month that are free (free tier), deducted before pricing.
    pub free_units: f64,
}

impl Meter {
    /// Billable units for `requests` requests in a month.
    pub fn billable_units(&self, requests: f64) -> f64 {
        (requests * self.units_per_request - self.free_units).max(0.0)
    }

    /// Monthly cost in USD for `requests` requests.
    pub fn cost(&self, requests: f64) -> f64 {
        self.schedule.cost(self.billable_units(requests))
    }

    /// Cost in USD of one more request once `requests` requests are served.
    fn slope(&self, requests: f64) -> f64 {
        if requests * self.units_per_request < self.free_units {
            return 0.0;
        }
        self.units_per_request * self.schedule.marginal(self.billable_units(requests))
    }

    /// Request volumes where this meter's price per request changes.
    fn breakpoints(&self) -> impl Iterator<Item = f64> + '_ {
        let bounds = self.schedule.tiers.iter().filter_map(|tier| tier.up_to);
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
    let slope = |requests: f64| {
        meters
            .iter()
            .map(|meter| meter.slope(requests))
            .sum::<f64>()
    };
    let mut breakpoints: Vec<f64> = meters
        .iter()
        .flat_map(|meter| meter.breakpoints())
        .collect();
    breakpoints.sort_by(f64::total_cmp);

    let mut start = 0.0;
    loop {
        let remaining = fixed_monthly - total(start);
        if remaining <= 0.0 {
            return Some(start);
        }
        let end = breakpoints
            .iter()
            .copied()
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
    /// Billed duration: Lambda rounds each invocation up to the next 1 ms.
    pub fn billed_ms(&self) -> f64 {
        self.duration_ms.ceil()
    }

    /// GB-seconds billed per invocation.
    pub fn gb_seconds_per_request(&self) -> f64 {
        self.billed_ms() / MS_PER_SECOND * f64::from(self.memory_mb) / MB_PER_GB
    }
}

/// Which charges the Lambda estimate includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LambdaOptions {
    /// Add the API Gateway HTTP API request charge.
    pub api_gateway: bool,
    /// Deduct the Lambda free tier.
    pub free_tier: bool,
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
    /// Builds the meters for `workload` under `prices`.
    pub fn new(prices: &Prices, workload: &Workload, options: LambdaOptions) -> Self {
        let (lambda, free_tier) = (&prices.lambda, &prices.lambda.free_tier);
        let free = |units: f64| if options.free_tier { units } else { 0.0 };
        let compute = match workload.arch {
            Arch::X86_64 => &lambda.compute.x86_64,
            Arch::Arm64 => &lambda.compute.arm64,
        };
        LambdaModel {
            requests: Meter {
                schedule: lambda.requests.schedule(),
                units_per_request: 1.0,
                free_units: free(free_tier.requests),
            },
            compute: Meter {
                schedule: compute.schedule(),
                units_per_request: workload.gb_seconds_per_request(),
                free_units: free(free_tier.gb_seconds),
            },
            api_gateway: options.api_gateway.then(|| Meter {
                schedule: prices.api_gateway.http_api_requests.schedule(),
                units_per_request: 1.0,
                free_units: 0.0,
            }),
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

    /// List price of a million requests: first tiers, before the free tier.
    pub fn usd_per_million(&self) -> f64 {
        let meters = [
            Some(&self.requests),
            Some(&self.compute),
            self.api_gateway.as_ref(),
        ];
        let per_request: f64 = meters
            .into_iter()
            .flatten()
            .map(|meter| meter.units_per_request * meter.schedule.marginal(0.0))
            .sum();
        per_request * 1e6
    }

    /// Requests per month at which this Lambda bill equals `fixed_monthly`.
    pub fn break_even(&self, fixed_monthly: f64) -> Option<f64> {
        let mut meters = vec![&self.requests, &self.compute];
        meters.extend(self.api_gateway.as_ref());
        break_even(fixed_monthly, &meters)
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

/// Monthly Kubernetes bill, in USD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KubernetesBill {
    /// Worker nodes.
    pub nodes: f64,
    /// Load balancer.
    pub load_balancer: f64,
    /// EKS control plane (0 when not included).
    pub control_plane: f64,
}

impl KubernetesBill {
    /// Total monthly cost.
    pub fn total(&self) -> f64 {
        self.nodes + self.load_balancer + self.control_plane
    }
}

impl KubernetesSetup {
    /// Monthly bill; it does not depend on traffic.
    pub fn monthly(&self) -> KubernetesBill {
        KubernetesBill {
            nodes: f64::from(self.nodes) * self.node_usd_per_hour * self.hours_per_month,
            load_balancer: self.load_balancer_usd_per_month,
            control_plane: self.control_plane_usd_per_hour.unwrap_or(0.0) * self.hours_per_month,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(usd: f64, per: f64) -> Schedule {
        Schedule {
            per,
            tiers: vec![Tier { usd, up_to: None }],
        }
    }

    fn meter(usd_per_request: f64) -> Meter {
        Meter {
            schedule: flat(usd_per_request, 1.0),
            units_per_request: 1.0,
            free_units: 0.0,
        }
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{actual} != {expected}"
        );
    }

    #[test]
    fn tiered_schedule_charges_each_tier_at_its_own_price() {
        // GIVEN $1.00 per million up to 300 M, then $0.90
        let schedule = Schedule {
            per: 1e6,
            tiers: vec![
                Tier {
                    usd: 1.0,
                    up_to: Some(300e6),
                },
                Tier {
                    usd: 0.9,
                    up_to: None,
                },
            ],
        };
        // WHEN 1 billion requests are priced
        let cost = schedule.cost(1e9);
        // THEN 300 M cost $300 and the other 700 M cost $630
        assert_close(cost, 930.0);
        assert_close(schedule.marginal(299e6), 1e-6);
        assert_close(schedule.marginal(300e6), 0.9e-6);
    }

    #[test]
    fn duration_is_billed_in_whole_milliseconds() {
        // GIVEN a 4.2 ms invocation at 128 MB
        let workload = Workload {
            duration_ms: 4.2,
            memory_mb: 128,
            arch: Arch::Arm64,
        };
        // WHEN it is billed
        // THEN 5 ms x 0.125 GB are charged
        assert_eq!(workload.billed_ms(), 5.0);
        assert_close(workload.gb_seconds_per_request(), 0.000_625);
    }

    #[test]
    fn break_even_with_flat_prices_is_fixed_cost_over_price_per_request() {
        // GIVEN a $100 fixed cost and meters costing $1 + $3 per thousand requests
        let (a, b) = (meter(0.001), meter(0.003));
        // WHEN the break-even volume is solved
        let requests = break_even(100.0, &[&a, &b]).unwrap();
        // THEN it is 100 / 0.004 = 25,000 requests
        assert_close(requests, 25_000.0);
    }

    #[test]
    fn break_even_crosses_tiers_and_free_allowances() {
        // GIVEN 1,000 free units, then $1 per unit up to 1,000 billable units, then $0.50
        let tiered = Meter {
            schedule: Schedule {
                per: 1.0,
                tiers: vec![
                    Tier {
                        usd: 1.0,
                        up_to: Some(1_000.0),
                    },
                    Tier {
                        usd: 0.5,
                        up_to: None,
                    },
                ],
            },
            units_per_request: 1.0,
            free_units: 1_000.0,
        };
        // WHEN the fixed cost is $1,500
        let requests = break_even(1_500.0, &[&tiered]).unwrap();
        // THEN 1,000 free + 1,000 at $1 + 1,000 at $0.50 = 3,000 requests
        assert_close(requests, 3_000.0);
        assert_close(tiered.cost(requests), 1_500.0);
    }

    #[test]
    fn break_even_is_none_when_lambda_is_free() {
        // GIVEN a meter that costs nothing
        let free = meter(0.0);
        // WHEN / THEN no volume reaches a positive fixed cost
        assert_eq!(break_even(10.0, &[&free]), None);
    }

    #[test]
    fn kubernetes_cost_does_not_depend_on_traffic_and_adds_control_plane() {
        // GIVEN 2 nodes at $0.05/h, a $10 load balancer and a $0.10/h control plane
        let setup = KubernetesSetup {
            nodes: 2,
            node_usd_per_hour: 0.05,
            load_balancer_usd_per_month: 10.0,
            control_plane_usd_per_hour: Some(0.10),
            hours_per_month: 730.0,
        };
        // WHEN the month is billed
        let bill = setup.monthly();
        // THEN nodes cost 2 x 0.05 x 730 = $73 and the control plane $73
        assert_close(bill.nodes, 73.0);
        assert_close(bill.control_plane, 73.0);
        assert_close(bill.total(), 156.0);
    }
}
