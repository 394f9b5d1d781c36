//! The tables of `cargo xtask cost`, each a pure function of the price list and one [`Scenario`]:
//! printed by the command, and written into the `<!-- cost:NAME -->` regions of `docs/cost.md`.

use super::measured::Measured;
use super::model::{KubernetesSetup, Workload};
use super::prices::{Prices, TieredPrice};
use super::scenario::{Extended, Scenario};
use crate::doc_regions::table;
use crate::numbers::{count, count_short, usd};

/// Request volumes in the volume table (one per decade of the chart).
const VOLUMES: [f64; 6] = [1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Where measured figures came from.
pub struct MeasuredSource<'a> {
    /// Path as given or defaulted.
    pub path: &'a str,
    /// What was read.
    pub measured: &'a Measured,
}

/// Every table, by region name, with the heading the terminal report gives it.
pub fn regions(
    prices: &Prices,
    scenario: &Scenario,
    measured: Option<MeasuredSource>,
) -> Vec<(&'static str, &'static str, String)> {
    let ext = &scenario.extended;
    vec![
        ("prices", "Prices", price_list(prices)),
        (
            "seed",
            "The seed's model, as published (no API Gateway, free tier, EKS control plane or data transfer)",
            seed(prices, scenario),
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
fn tiers(p: &TieredPrice, unit: &str) -> String {
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
    let (k, l) = (&prices.kubernetes, &prices.lambda);
    let hours = prices.meta.hours_per_month;
    let (free, eks) = (&l.free_tier, &k.eks_control_plane);
    let row = |what: &str, list: String, source: &str, read: &str| {
        vec![what.to_owned(), list, format!("{source}, read {read}")]
    };
    let tiered =
        |what: &str, p: &TieredPrice, unit: &str| row(what, tiers(p, unit), &p.source, &p.read);
    let rows = [
        row(
            &format!("Kubernetes node ({})", k.node.instance),
            format!("{}/h", price(k.node.usd_per_hour)),
            &k.node.source,
            &k.node.read,
        ),
        row(
            "load balancer",
            format!("{}/month", usd(k.load_balancer.usd_per_month)),
            &k.load_balancer.source,
            &k.load_balancer.read,
        ),
        row(
            "EKS control plane",
            format!(
                "{}/h × {hours} h = {}/month",
                price(eks.usd_per_hour),
                usd(eks.usd_per_hour * hours)
            ),
            &eks.source,
            &eks.read,
        ),
        tiered("Lambda requests", &l.requests, " per million"),
        tiered("Lambda compute, x86_64", &l.compute.x86_64, " per GB-s"),
        tiered("Lambda compute, arm64", &l.compute.arm64, " per GB-s"),
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
            &prices.api_gateway.http_api_requests,
            " per million",
        ),
    ];
    table(&["price", "list price", "source"], rows)
}

fn nodes_label(prices: &Prices, setup: &KubernetesSetup) -> String {
    let node = &prices.kubernetes.node;
    let instance = if setup.node_usd_per_hour == node.usd_per_hour {
        node.instance.as_str()
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

fn seed(prices: &Prices, scenario: &Scenario) -> String {
    let seed = &scenario.seed;
    let (k, l) = (&seed.kubernetes_bill, &seed.lambda_bill);
    let requests = &prices.lambda.requests;
    let compute = &prices.lambda.compute.x86_64;
    let rows = [
        row(
            "Kubernetes nodes",
            nodes_label(prices, &seed.kubernetes),
            k.nodes,
        ),
        row(
            "Load balancer",
            "as given by the seed".into(),
            k.load_balancer,
        ),
        total("Kubernetes total", "whatever the traffic".into(), k.total()),
        row(
            "Lambda requests",
            format!(
                "{} × {} per million",
                count(seed.requests),
                price(requests.first_usd() * 1e6 / requests.per)
            ),
            l.requests,
        ),
        row(
            "Lambda compute",
            format!(
                "{} GB-s ({}) × {}",
                count(l.gb_seconds),
                workload_label(&seed.workload),
                price(compute.first_usd() / compute.per)
            ),
            l.compute,
        ),
        total(
            "Lambda total",
            format!("at {} requests/month", count(seed.requests)),
            l.total(),
        ),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn kubernetes(prices: &Prices, ext: &Extended) -> String {
    let (setup, k) = (&ext.kubernetes, &ext.kubernetes_bill);
    let plane = match setup.control_plane_usd_per_hour {
        Some(hourly) => row(
            "EKS control plane",
            format!("{}/h × {} h", price(hourly), setup.hours_per_month),
            k.control_plane,
        ),
        None => vec![
            "EKS control plane".into(),
            format!(
                "left out (`--eks-control-plane` adds {}, for {} in all)",
                usd(ext.control_plane_monthly),
                usd(k.total() + ext.control_plane_monthly)
            ),
            "-".into(),
        ],
    };
    let rows = [
        row("nodes", nodes_label(prices, setup), k.nodes),
        row(
            "load balancer",
            String::new(),
            setup.load_balancer_usd_per_month,
        ),
        plane,
        total("total", "whatever the traffic".into(), k.total()),
    ];
    table(&["", "calculation", "monthly"], rows)
}

fn lambda(prices: &Prices, ext: &Extended, measured: Option<MeasuredSource>) -> String {
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
        tiers(&prices.api_gateway.http_api_requests, " per million")
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
    let free = if ext.options.free_tier {
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
    let source = measured.map_or(String::new(), |s| {
        format!(
            "Duration and memory measured in {}: p50 {} ms, peak RSS {} MiB → {} MB.\n\n",
            s.path, s.measured.duration_ms, s.measured.peak_rss_mib, s.measured.memory_mb
        )
    });
    source + &table(&header, rows)
}

fn break_even(ext: &Extended) -> String {
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
        usd(ext.kubernetes_bill.total())
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

fn volumes(ext: &Extended) -> String {
    let mut header = vec!["requests/month".to_owned(), "Kubernetes".to_owned()];
    header.extend(ext.profiles.iter().map(|p| format!("Lambda {}", p.label)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let kubernetes = ext.kubernetes_bill.total();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_names_its_source_and_read_date() {
        // GIVEN the embedded price file
        // WHEN its price list is rendered
        let list = price_list(&Prices::embedded().unwrap());
        // THEN each of the 8 prices names an AWS pricing page in us-east-1, read in 2026-11
        let rows: Vec<&str> = list.lines().skip(2).collect();
        assert_eq!(rows.len(), 8, "{list}");
        for row in rows {
            assert!(row.to_lowercase().contains("pricing"), "{row}");
            assert!(row.contains("us-east-1"), "{row}");
            assert!(row.ends_with(", read 2026-11 |"), "{row}");
        }
    }

    #[test]
    fn the_cheapest_deployment_at_each_volume_is_bold() {
        // GIVEN the seed's scenario (Kubernetes $107.10, Lambda + API Gateway $4.53 per million)
        let prices = Prices::embedded().unwrap();
        let scenario = Scenario::new(&prices, &Default::default(), None);
        // WHEN the volume table is rendered
        let table = volumes(&scenario.extended);
        // THEN Lambda is cheaper at 10M a month, Kubernetes at 100M
        assert!(table.contains("| 10M | $107.10 | **$45.33** |"), "{table}");
        assert!(
            table.contains("| 100M | **$107.10** | $453.33 |"),
            "{table}"
        );
    }
}
