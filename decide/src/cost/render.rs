//! The tables of `cargo xtask cost`, each a pure function of the price list and one [`Scenario`]:
//! printed by the command, and written into the `<!-- cost:NAME -->` regions of `docs/cost.md`.

use super::model::{KubernetesSetup, LambdaBill, Scenario};
use super::prices::{Price, Prices};
use crate::doc_regions::table;
use crate::numbers::{count, count_short, usd};

/// Request volumes in the volume table (one per decade of the chart).
const VOLUMES: [f64; 6] = [1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Every table, by region name, with the heading the terminal report gives it.
pub fn regions(prices: &Prices, scenario: &Scenario) -> [(&'static str, &'static str, String); 6] {
    [
        ("prices", "Prices", price_list(prices)),
        (
            "seed",
            "The seed's model, as published (no API Gateway, free tier, EKS control plane or data transfer)",
            seed(prices),
        ),
        (
            "kubernetes",
            "Extended model: Kubernetes",
            kubernetes(prices, scenario),
        ),
        (
            "lambda",
            "Extended model: Lambda behind an API Gateway HTTP API",
            lambda(prices, scenario),
        ),
        ("break-even", "Break-even", break_even(scenario)),
        ("volumes", "Monthly cost by volume", volumes(scenario)),
    ]
}

/// A list price with every digit it has, and whole cents with two (`$0.0416`, `$0.20`).
fn price(usd: f64) -> String {
    let cents = format!("{usd:.2}");
    if cents.parse() == Ok(usd) {
        format!("${cents}")
    } else {
        format!("${usd}")
    }
}

/// A tiered price, `unit` after the first tier's: `$1.00 per million up to 300M, then $0.90`.
fn tiers(p: &Price, unit: &str) -> String {
    let parts: Vec<String> = (p.tiers.iter().enumerate())
        .map(|(i, tier)| {
            let upto = (tier.up_to).map_or(String::new(), |n| format!(" up to {}", count_short(n)));
            match i {
                0 => format!("{}{unit}{upto}", price(tier.usd)),
                _ => format!("then {}{upto}", price(tier.usd)),
            }
        })
        .collect();
    parts.join(", ")
}

/// Every price the model uses, with the page it was read from.
fn price_list(prices: &Prices) -> String {
    let (p, free) = (&prices.price, &prices.free_tier);
    let hours = prices.meta.hours_per_month;
    let row = |what: &str, list: String, source: &str, read: &str| {
        vec![what.to_owned(), list, format!("{source}, read {read}")]
    };
    let item = |what: &str, price: &Price, unit: &str| {
        row(what, tiers(price, unit), &price.source, &price.read)
    };
    let eks_monthly = usd(p.eks_control_plane.usd() * hours);
    let rows = [
        item(
            &format!("Kubernetes node ({})", prices.seed.instance),
            &p.node,
            "/h",
        ),
        item("load balancer", &p.load_balancer, "/month"),
        item(
            "EKS control plane",
            &p.eks_control_plane,
            &format!("/h × {hours} h = {eks_monthly}/month"),
        ),
        item("Lambda requests", &p.lambda_requests, " per million"),
        item("Lambda compute, x86_64", &p.lambda_x86_64, " per GB-s"),
        item("Lambda compute, arm64", &p.lambda_arm64, " per GB-s"),
        row(
            "Lambda free tier, per account (`--free-tier`)",
            format!(
                "{} requests and {} GB-s a month",
                count(free.requests),
                count(free.gb_seconds)
            ),
            &free.source,
            &free.read,
        ),
        item(
            "API Gateway HTTP API requests",
            &p.api_gateway_requests,
            " per million",
        ),
    ];
    table(&["price", "list price", "source"], rows)
}

fn nodes_label(prices: &Prices, setup: &KubernetesSetup) -> String {
    let instance = if setup.node_hourly == prices.price.node.usd() {
        prices.seed.instance.as_str()
    } else {
        "node"
    };
    format!(
        "{} × {instance} × {}/h × {} h",
        setup.nodes,
        price(setup.node_hourly),
        setup.hours_per_month
    )
}

/// A table row: `first`, then `rest`.
fn cells(first: impl Into<String>, rest: impl IntoIterator<Item = String>) -> Vec<String> {
    std::iter::once(first.into()).chain(rest).collect()
}

/// A `what | calculation | monthly` row, and the same in bold for a total.
fn row(what: &str, calculation: &str, monthly: f64) -> Vec<String> {
    vec![what.to_owned(), calculation.to_owned(), usd(monthly)]
}

fn total(what: &str, calculation: &str, monthly: f64) -> Vec<String> {
    vec![bold(what), calculation.to_owned(), bold(&usd(monthly))]
}

fn bold(text: &str) -> String {
    format!("**{text}**")
}

/// [`table`] under a header made at run time.
fn owned_table(header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    table(&header.iter().map(String::as_str).collect::<Vec<_>>(), rows)
}

/// The seed's figures: its Kubernetes setup, and Lambda without API Gateway or free tier.
fn seed(prices: &Prices) -> String {
    let seed = Scenario::seed(prices);
    let (k, profile) = (&seed.kubernetes, &seed.profiles[0]);
    let l = profile.model.monthly(seed.requests);
    let (requests, compute) = (&prices.price.lambda_requests, &prices.price.lambda_x86_64);
    let per_million = price(requests.usd() * 1e6 / requests.per);
    let volume = count(seed.requests);
    let rows = [
        row(
            "Kubernetes nodes",
            &nodes_label(prices, k),
            k.nodes_monthly(),
        ),
        row("Load balancer", "as given by the seed", k.lb_monthly),
        total("Kubernetes total", "whatever the traffic", k.total()),
        row(
            "Lambda requests",
            &format!("{volume} × {per_million} per million"),
            l.requests,
        ),
        row(
            "Lambda compute",
            &format!(
                "{} GB-s ({}) × {}",
                count(l.gb_seconds),
                profile.workload,
                price(compute.usd() / compute.per)
            ),
            l.compute,
        ),
        total(
            "Lambda total",
            &format!("at {volume} requests/month"),
            l.lambda(),
        ),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn kubernetes(prices: &Prices, scenario: &Scenario) -> String {
    let setup = &scenario.kubernetes;
    let plane = match setup.control_plane_hourly {
        Some(hourly) => row(
            "EKS control plane",
            &format!("{}/h × {} h", price(hourly), setup.hours_per_month),
            setup.control_plane_monthly(),
        ),
        None => {
            let adds = prices.price.eks_control_plane.usd() * setup.hours_per_month;
            let hint = format!(
                "left out (`--eks-control-plane` adds {}, for {} in all)",
                usd(adds),
                usd(setup.total() + adds)
            );
            cells("EKS control plane", [hint, "-".into()])
        }
    };
    let rows = [
        row("nodes", &nodes_label(prices, setup), setup.nodes_monthly()),
        row("load balancer", "", setup.lb_monthly),
        plane,
        total("total", "whatever the traffic", setup.total()),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn lambda(prices: &Prices, scenario: &Scenario) -> String {
    let bills: Vec<_> = (scenario.profiles.iter())
        .map(|p| p.model.monthly(scenario.requests))
        .collect();
    let api = format!(
        "API Gateway HTTP API requests ({})",
        tiers(&prices.price.api_gateway_requests, " per million")
    );
    let compute = |b: &LambdaBill| format!("{} ({} GB-s)", usd(b.compute), count(b.gb_seconds));
    let rows = [
        cells("Lambda requests", bills.iter().map(|b| usd(b.requests))),
        cells("Lambda compute", bills.iter().map(compute)),
        cells(api, bills.iter().map(|b| usd(b.api_gateway))),
        cells("**total**", bills.iter().map(|b| bold(&usd(b.total())))),
    ];
    let free = if scenario.free_tier {
        "free tier deducted"
    } else {
        "no free tier"
    };
    let header = cells(
        format!("{} requests/month, {free}", count(scenario.requests)),
        (scenario.profiles.iter()).map(|p| format!("{}: {}", p.label, p.workload)),
    );
    let source = scenario.measured.as_ref().map_or(String::new(), |m| {
        format!(
            "Duration and memory measured in {}: p50 {} ms, peak RSS {} MiB → {} MB.\n\n",
            m.path, m.duration_ms, m.peak_rss_mib, m.memory_mb
        )
    });
    source + &owned_table(&header, rows)
}

fn break_even(scenario: &Scenario) -> String {
    let seed = scenario.profiles[0].break_even;
    let requests = |n: Option<f64>| {
        n.map_or("never".into(), |n| {
            format!("{} ({})", count_short(n), count(n))
        })
    };
    let rows = scenario.profiles.iter().enumerate().map(|(i, p)| {
        let versus = match (p.break_even, seed) {
            (Some(this), Some(seed)) if i > 0 => format!("{:.1}×", this / seed),
            _ => "-".into(),
        };
        vec![
            p.label.into(),
            p.workload.to_string(),
            usd(p.model.usd_per_million()),
            requests(p.break_even),
            versus,
            requests(p.break_even_without_api_gateway),
        ]
    });
    let at = format!(
        "requests/month at Kubernetes' {}",
        usd(scenario.kubernetes.total())
    );
    let header = [
        "Lambda",
        "workload",
        "per million, with API Gateway",
        &at,
        "vs the seed's",
        "the same without API Gateway",
    ];
    table(&header, rows)
}

fn volumes(scenario: &Scenario) -> String {
    let mut header = vec!["requests/month".to_owned(), "Kubernetes".to_owned()];
    header.extend(
        scenario
            .profiles
            .iter()
            .map(|p| format!("Lambda {}", p.label)),
    );
    let kubernetes = scenario.kubernetes.total();
    let rows = VOLUMES.into_iter().map(|requests| {
        let mut amounts = vec![kubernetes];
        amounts.extend((scenario.profiles.iter()).map(|p| p.model.monthly(requests).total()));
        let cheapest = amounts.iter().copied().fold(f64::INFINITY, f64::min);
        let cell = |amount| {
            if amount == cheapest {
                bold(&usd(amount))
            } else {
                usd(amount)
            }
        };
        cells(count_short(requests), amounts.into_iter().map(cell))
    });
    owned_table(&header, rows) + "\nLambda columns include API Gateway; the cheapest in bold.\n"
}
