//! The price list, embedded from `decide/data/prices.toml` (whose comments say what each field is):
//! every price is one [`Price`], a tiered schedule with its source.

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

const PRICES_TOML: &str = include_str!("../../data/prices.toml");

/// Every price, Lambda's free allowance and the seed's example workload.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub meta: Meta,
    pub seed: Seed,
    pub price: PriceList,
    pub free_tier: FreeTier,
}

/// Where and when the prices apply, and the hours in a billing month.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub region: String,
    pub currency: String,
    pub read: String,
    pub hours_per_month: f64,
}

/// The seed article's example: its nodes (of the `instance` type that `price.node` prices) and its
/// Lambda workload.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub nodes: u32,
    pub instance: String,
    pub requests_per_month: f64,
    pub duration_ms: f64,
    pub memory_mb: u32,
}

/// The priced items, each a `[price.NAME]` table.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    pub node: Price,
    pub load_balancer: Price,
    pub eks_control_plane: Price,
    pub lambda_requests: Price,
    pub lambda_x86_64: Price,
    pub lambda_arm64: Price,
    pub api_gateway_requests: Price,
}

/// One price: each tier's `usd` buys `per` units (default 1) of the monthly usage below its
/// cumulative `up_to`; the last tier has no bound, and a flat price has that one tier only.
/// `source` names the AWS pricing page it was read from, `read` the month.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(default = "one")]
    pub per: f64,
    pub tiers: Vec<Tier>,
    pub source: String,
    pub read: String,
}

/// One volume tier of a [`Price`].
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub usd: f64,
    pub up_to: Option<f64>,
}

fn one() -> f64 {
    1.0
}

/// Lambda's monthly free allowance, with its source like a [`Price`].
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreeTier {
    pub requests: f64,
    pub gb_seconds: f64,
    pub source: String,
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
        let tier = (self.tiers.iter()).find(|tier| tier.up_to.is_none_or(|upper| quantity < upper));
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
        Self::parse(PRICES_TOML).context("decide/data/prices.toml")
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
