//! The price list, embedded from `xtask/data/prices.toml`: every price is one [`Price`], a tiered
//! schedule with its source.

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

/// The embedded price file.
const PRICES_TOML: &str = include_str!("../../data/prices.toml");

/// Every price, the free allowance and the seed's example workload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Region, currency and date the prices were read.
    pub meta: Meta,
    /// The seed article's example workload.
    pub seed: Seed,
    /// The priced items.
    pub price: PriceList,
    /// Lambda's always-free monthly allowance.
    pub free_tier: FreeTier,
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
    /// Their instance type, which `price.node` prices.
    pub instance: String,
    /// Lambda requests per month.
    pub requests_per_month: f64,
    /// Lambda duration per request, in ms.
    pub duration_ms: f64,
    /// Lambda memory, in MB.
    pub memory_mb: u32,
}

/// The priced items, each a `[price.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    /// One Kubernetes worker node, per hour.
    pub node: Price,
    /// The load balancer, per month.
    pub load_balancer: Price,
    /// The EKS control plane, per hour.
    pub eks_control_plane: Price,
    /// Lambda requests.
    pub lambda_requests: Price,
    /// Lambda compute per GB-s, x86_64.
    pub lambda_x86_64: Price,
    /// Lambda compute per GB-s, arm64.
    pub lambda_arm64: Price,
    /// API Gateway HTTP API requests.
    pub api_gateway_requests: Price,
}

/// One price: each tier's `usd` buys `per` units; a flat price has one tier.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Units each tier's `usd` buys (1 for GB-s or hours, 1,000,000 for requests).
    #[serde(default = "one")]
    pub per: f64,
    /// Tiers in increasing order of `up_to`; the last one is unbounded.
    pub tiers: Vec<Tier>,
    /// AWS pricing page the price was read from.
    pub source: String,
    /// Month the price was read.
    pub read: String,
}

/// One volume tier of a [`Price`].
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Price in USD per `Price::per` units.
    pub usd: f64,
    /// Cumulative monthly usage where this tier ends; `None` for the last tier.
    pub up_to: Option<f64>,
}

fn one() -> f64 {
    1.0
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

impl Price {
    /// The first tier's `usd` (a flat price's only one), per `per` units.
    pub fn usd(&self) -> f64 {
        self.tiers[0].usd
    }

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

    fn validate(&self, name: &str) -> Result<()> {
        ensure!(self.per > 0.0, "{name}: `per` must be positive");
        let (last, rest) =
            (self.tiers.split_last()).with_context(|| format!("{name}: no tiers"))?;
        ensure!(last.up_to.is_none(), "{name}: last tier must have no up_to");
        let mut lower = 0.0;
        for tier in rest {
            let upper = (tier.up_to)
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

impl Prices {
    /// Parses and checks the embedded price file.
    pub fn embedded() -> Result<Self> {
        Self::parse(PRICES_TOML).context("xtask/data/prices.toml")
    }

    /// Parses and checks a price file.
    pub fn parse(text: &str) -> Result<Self> {
        let prices: Prices = toml::from_str(text)?;
        let p = &prices.price;
        for (name, price) in [
            ("node", &p.node),
            ("load_balancer", &p.load_balancer),
            ("eks_control_plane", &p.eks_control_plane),
            ("lambda_requests", &p.lambda_requests),
            ("lambda_x86_64", &p.lambda_x86_64),
            ("lambda_arm64", &p.lambda_arm64),
            ("api_gateway_requests", &p.api_gateway_requests),
        ] {
            price.validate(&format!("price.{name}"))?;
        }
        Ok(prices)
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
        // THEN the offending price is named
        assert!(error.to_string().contains("price.api_gateway_requests"));
    }
}
