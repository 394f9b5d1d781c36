//! The tables of `cargo xtask cost`, each a pure function of the price list and one [`Scenario`]:
//! printed by the command, and written into the `<!-- cost:NAME -->` regions of `docs/cost.md`.

use super::measured::Measured;
use super::model::{KubernetesSetup, LambdaModel, Workload};
use super::prices::{Price, Prices};
use super::scenario::Scenario;
use crate::doc_regions::table;
use crate::numbers::{count, count_short, usd};

/// Request volumes in the volume table (one per decade of the chart).
const VOLUMES: [f64; 6] = [1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Every table, by region name, with the heading the terminal report gives it; `measured` is the
/// benchmark results' path (as given or defaulted) and what was read from it.
pub fn regions(
    prices: &Prices,
    scenario: &Scenario,
    measured: Option<(&str, &Measured)>,
) -> Vec<(&'static str, &'static str, String)> {
    let ext = scenario;
    vec![
        ("prices", "Prices", price_list(prices)),
        (
            "seed",
            "The seed's model, as published (no API Gateway, free tier, EKS control plane or data transfer)",
            seed(prices),
        ),
        (
            "kubernetes",
            "Extended model: Kubernetes",
            kubernetes(prices, ext),
        ),
        (
            "lambda",
            "Extended model: Lambda behind an API Gateway HTTP API",
            lambda(prices, ext, measured),
        ),
        ("break-even", "Break-even", break_even(ext)),
        ("volumes", "Monthly cost by volume", volumes(ext)),
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

/// A tiered price: `$1.00 per million up to 300M, then $0.90`.
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
    let (p, free, hours) = (
        &prices.price,
        &prices.free_tier,
        prices.meta.hours_per_month,
    );
    let row = |what: &str, list: String, source: &str, read: &str| {
        vec![what.to_owned(), list, format!("{source}, read {read}")]
    };
    let item = |what: &str, price: &Price, list| row(what, list, &price.source, &price.read);
    let tiered = |what: &str, price: &Price, unit| item(what, price, tiers(price, unit));
    let eks = p.eks_control_plane.usd();
    let rows = [
        item(
            &format!("Kubernetes node ({})", prices.seed.instance),
            &p.node,
            format!("{}/h", price(p.node.usd())),
        ),
        item(
            "load balancer",
            &p.load_balancer,
            format!("{}/month", usd(p.load_balancer.usd())),
        ),
        item(
            "EKS control plane",
            &p.eks_control_plane,
            format!("{}/h × {hours} h = {}/month", price(eks), usd(eks * hours)),
        ),
        tiered("Lambda requests", &p.lambda_requests, " per million"),
        tiered("Lambda compute, x86_64", &p.lambda_x86_64, " per GB-s"),
        tiered("Lambda compute, arm64", &p.lambda_arm64, " per GB-s"),
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
        tiered(
            "API Gateway HTTP API requests",
            &p.api_gateway_requests,
            " per million",
        ),
    ];
    table(&["price", "list price", "source"], rows)
}

fn nodes_label(prices: &Prices, setup: &KubernetesSetup) -> String {
    let instance = if setup.node_usd_per_hour == prices.price.node.usd() {
        prices.seed.instance.as_str()
    } else {
        "node"
    };
    format!(
        "{} × {instance} × {}/h × {} h",
        setup.nodes,
        price(setup.node_usd_per_hour),
        setup.hours_per_month
    )
}

fn workload_label(workload: &Workload) -> String {
    let billed = workload.billed_ms();
    let duration = if billed == workload.duration_ms {
        format!("{billed} ms")
    } else {
        format!("{} ms (billed {billed} ms)", workload.duration_ms)
    };
    format!(
        "{duration} × {} MB {}",
        workload.memory_mb,
        workload.arch.name()
    )
}

fn row(what: &str, calculation: String, monthly: f64) -> Vec<String> {
    vec![what.into(), calculation, usd(monthly)]
}

fn total(what: &str, calculation: String, monthly: f64) -> Vec<String> {
    vec![
        format!("**{what}**"),
        calculation,
        format!("**{}**", usd(monthly)),
    ]
}

/// The seed's figures: its Kubernetes setup, and Lambda without API Gateway or free tier.
fn seed(prices: &Prices) -> String {
    let (k, workload) = (&KubernetesSetup::seed(prices), Workload::seed(prices));
    let requests_per_month = prices.seed.requests_per_month;
    let l = LambdaModel::new(prices, &workload, false, false).monthly(requests_per_month);
    let (requests, compute) = (&prices.price.lambda_requests, &prices.price.lambda_x86_64);
    let rows = [
        row(
            "Kubernetes nodes",
            nodes_label(prices, k),
            k.nodes_monthly(),
        ),
        row(
            "Load balancer",
            "as given by the seed".into(),
            k.load_balancer_usd_per_month,
        ),
        total("Kubernetes total", "whatever the traffic".into(), k.total()),
        row(
            "Lambda requests",
            format!(
                "{} × {} per million",
                count(requests_per_month),
                price(requests.usd() * 1e6 / requests.per)
            ),
            l.requests,
        ),
        row(
            "Lambda compute",
            format!(
                "{} GB-s ({}) × {}",
                count(l.gb_seconds),
                workload_label(&workload),
                price(compute.usd() / compute.per)
            ),
            l.compute,
        ),
        total(
            "Lambda total",
            format!("at {} requests/month", count(requests_per_month)),
            l.total(),
        ),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn kubernetes(prices: &Prices, ext: &Scenario) -> String {
    let setup = &ext.kubernetes;
    let plane = match setup.control_plane_usd_per_hour {
        Some(hourly) => row(
            "EKS control plane",
            format!("{}/h × {} h", price(hourly), setup.hours_per_month),
            setup.control_plane_monthly(),
        ),
        None => vec![
            "EKS control plane".into(),
            format!(
                "left out (`--eks-control-plane` adds {}, for {} in all)",
                usd(ext.control_plane_monthly),
                usd(setup.total() + ext.control_plane_monthly)
            ),
            "-".into(),
        ],
    };
    let rows = [
        row("nodes", nodes_label(prices, setup), setup.nodes_monthly()),
        row(
            "load balancer",
            String::new(),
            setup.load_balancer_usd_per_month,
        ),
        plane,
        total("total", "whatever the traffic".into(), setup.total()),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn lambda(prices: &Prices, ext: &Scenario, measured: Option<(&str, &Measured)>) -> String {
    let bills: Vec<_> = (ext.profiles.iter())
        .map(|p| p.model.monthly(ext.requests))
        .collect();
    let line = |what: &str, cell: &dyn Fn(usize) -> String| {
        let mut cells = vec![what.to_owned()];
        cells.extend((0..bills.len()).map(cell));
        cells
    };
    let api = format!(
        "API Gateway HTTP API requests ({})",
        tiers(&prices.price.api_gateway_requests, " per million")
    );
    let rows = [
        line("Lambda requests", &|i| usd(bills[i].requests)),
        line("Lambda compute", &|i| {
            format!(
                "{} ({} GB-s)",
                usd(bills[i].compute),
                count(bills[i].gb_seconds)
            )
        }),
        line(&api, &|i| usd(bills[i].api_gateway)),
        line("**total**", &|i| format!("**{}**", usd(bills[i].total()))),
    ];
    let free = if ext.free_tier {
        "free tier deducted"
    } else {
        "no free tier"
    };
    let first = format!("{} requests/month, {free}", count(ext.requests));
    let mut header = vec![first];
    header.extend(
        (ext.profiles.iter()).map(|p| format!("{}: {}", p.label, workload_label(&p.workload))),
    );
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let source = measured.map_or(String::new(), |(path, m)| {
        format!(
            "Duration and memory measured in {path}: p50 {} ms, peak RSS {} MiB → {} MB.\n\n",
            m.duration_ms, m.peak_rss_mib, m.memory_mb
        )
    });
    source + &table(&header, rows)
}

fn break_even(ext: &Scenario) -> String {
    let seed = ext.profiles[0].break_even;
    let requests = |n: Option<f64>| {
        n.map_or("never".into(), |n| {
            format!("{} ({})", count_short(n), count(n))
        })
    };
    let rows = ext.profiles.iter().enumerate().map(|(i, p)| {
        let versus = match (p.break_even, seed) {
            (Some(this), Some(seed)) if i > 0 => format!("{:.1}×", this / seed),
            _ => "-".into(),
        };
        vec![
            p.label.into(),
            workload_label(&p.workload),
            usd(p.model.usd_per_million()),
            requests(p.break_even),
            versus,
            requests(p.break_even_without_api_gateway),
        ]
    });
    let at = format!(
        "requests/month at Kubernetes' {}",
        usd(ext.kubernetes.total())
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

fn volumes(ext: &Scenario) -> String {
    let mut header = vec!["requests/month".to_owned(), "Kubernetes".to_owned()];
    header.extend(ext.profiles.iter().map(|p| format!("Lambda {}", p.label)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let kubernetes = ext.kubernetes.total();
    let rows = VOLUMES.into_iter().map(|requests| {
        let mut amounts = vec![kubernetes];
        amounts.extend((ext.profiles.iter()).map(|p| p.model.monthly(requests).total()));
        let cheapest = amounts.iter().copied().fold(f64::INFINITY, f64::min);
        let mut cells = vec![count_short(requests)];
        cells.extend(amounts.into_iter().map(|amount| {
            if amount == cheapest {
                format!("**{}**", usd(amount))
            } else {
                usd(amount)
            }
        }));
        cells
    });
    table(&header, rows) + "\nLambda columns include API Gateway; the cheapest in bold.\n"
}
