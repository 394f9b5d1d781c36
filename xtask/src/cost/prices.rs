//! The price list, embedded from `xtask/data/prices.toml`.

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

use super::model::{KubernetesSetup, Schedule, Tier};

/// The embedded price file.
const PRICES_TOML: &str = include_str!("../../data/prices.toml");

/// Every price and the seed's example workload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Region, currency and date the prices were read.
    pub meta: Meta,
    /// The seed article's example workload.
    pub seed: Seed,
    /// Kubernetes (EC2, ELB, EKS) prices.
    pub kubernetes: KubernetesPrices,
    /// Lambda prices.
    pub lambda: LambdaPriceList,
    /// API Gateway prices.
    pub api_gateway: ApiGatewayPrices,
}

/// Where and when the prices apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// AWS region, e.g. us-east-1.
    pub region: String,
    /// Currency, e.g. USD.
    pub currency: String,
    /// Month the prices were read, e.g. 2026-11.
    pub read: String,
    /// Hours in a billing month (730).
    pub hours_per_month: f64,
}

/// The seed article's example workload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Kubernetes worker nodes.
    pub nodes: u32,
    /// Lambda requests per month.
    pub requests_per_month: f64,
    /// Lambda duration per request, in ms.
    pub duration_ms: f64,
    /// Lambda memory, in MB.
    pub memory_mb: u32,
}

/// Kubernetes prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesPrices {
    /// One worker node.
    pub node: NodePrice,
    /// The load balancer in front of the service.
    pub load_balancer: MonthlyPrice,
    /// The EKS control plane.
    pub eks_control_plane: HourlyPrice,
}

/// An EC2 instance price.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePrice {
    /// Instance type, e.g. t3.medium.
    pub instance: String,
    /// USD per hour.
    pub usd_per_hour: f64,
    /// AWS pricing page the price was read from.
    pub source: String,
    /// Month the price was read.
    pub read: String,
}

/// A price per hour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourlyPrice {
    /// USD per hour.
    pub usd_per_hour: f64,
    /// AWS pricing page the price was read from.
    pub source: String,
    /// Month the price was read.
    pub read: String,
}

/// A price per month.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlyPrice {
    /// USD per month.
    pub usd_per_month: f64,
    /// AWS pricing page the price was read from.
    pub source: String,
    /// Month the price was read.
    pub read: String,
}

/// A usage price with volume tiers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TieredPrice {
    /// Units each tier's `usd` buys.
    pub per: f64,
    /// Volume tiers, cheapest last.
    pub tiers: Vec<Tier>,
    /// AWS pricing page the price was read from.
    pub source: String,
    /// Month the price was read.
    pub read: String,
}

impl TieredPrice {
    /// The schedule the model computes with.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            per: self.per,
            tiers: self.tiers.clone(),
        }
    }

    /// Price of the first tier, per `per` units.
    pub fn first_usd(&self) -> f64 {
        self.tiers.first().map_or(0.0, |tier| tier.usd)
    }

    fn validate(&self, name: &str) -> Result<()> {
        ensure!(self.per > 0.0, "{name}: `per` must be positive");
        let (last, rest) = self
            .tiers
            .split_last()
            .with_context(|| format!("{name}: no tiers"))?;
        ensure!(last.up_to.is_none(), "{name}: last tier must have no up_to");
        let mut lower = 0.0;
        for tier in rest {
            let upper = tier
                .up_to
                .with_context(|| format!("{name}: only the last tier may omit up_to"))?;
            ensure!(upper > lower, "{name}: tiers must increase");
            lower = upper;
        }
        ensure!(
            self.tiers.iter().all(|tier| tier.usd >= 0.0),
            "{name}: negative price"
        );
        Ok(())
    }
}

/// Lambda prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPriceList {
    /// Request charge.
    pub requests: TieredPrice,
    /// Compute charge per architecture.
    pub compute: ComputePrices,
    /// Always-free monthly allowance.
    pub free_tier: FreeTier,
}

/// Lambda compute charge per GB-s, per architecture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputePrices {
    /// x86_64 functions.
    pub x86_64: TieredPrice,
    /// arm64 functions.
    pub arm64: TieredPrice,
}

/// Lambda's monthly free allowance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeTier {
    /// Free requests per month.
    pub requests: f64,
    /// Free GB-s per month.
    pub gb_seconds: f64,
    /// AWS pricing page the allowance was read from.
    pub source: String,
    /// Month it was read.
    pub read: String,
}

/// API Gateway prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiGatewayPrices {
    /// HTTP API request charge.
    pub http_api_requests: TieredPrice,
}

impl Prices {
    /// Parses and checks the embedded price file.
    pub fn embedded() -> Result<Self> {
        Self::parse(PRICES_TOML).context("xtask/data/prices.toml")
    }

    /// Parses and checks a price file.
    pub fn parse(text: &str) -> Result<Self> {
        let prices: Prices = toml::from_str(text)?;
        let (lambda, compute) = (&prices.lambda, &prices.lambda.compute);
        for (name, price) in [
            ("lambda.requests", &lambda.requests),
            ("lambda.compute.x86_64", &compute.x86_64),
            ("lambda.compute.arm64", &compute.arm64),
            (
                "api_gateway.http_api_requests",
                &prices.api_gateway.http_api_requests,
            ),
        ] {
            price.validate(name)?;
        }
        Ok(prices)
    }

    /// The seed's Kubernetes setup: nodes and load balancer, no control plane.
    pub fn seed_kubernetes(&self) -> KubernetesSetup {
        KubernetesSetup {
            nodes: self.seed.nodes,
            node_usd_per_hour: self.kubernetes.node.usd_per_hour,
            load_balancer_usd_per_month: self.kubernetes.load_balancer.usd_per_month,
            control_plane_usd_per_hour: None,
            hours_per_month: self.meta.hours_per_month,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_must_end_unbounded() {
        // GIVEN a price file whose last tier has an upper bound
        let text = PRICES_TOML.replace("{ usd = 0.90 }", "{ usd = 0.90, up_to = 1e12 }");
        // WHEN it is parsed
        let error = Prices::parse(&text).unwrap_err();
        // THEN the offending table is named
        assert!(error.to_string().contains("api_gateway.http_api_requests"));
    }
}
