//! Renders the scenario as a plain-text report.

use std::fmt::Write as _;

use super::measured::Measured;
use super::model::{KubernetesBill, KubernetesSetup, Workload};
use super::prices::Prices;
use super::scenario::{Extended, Scenario, SeedFigures};
use crate::numbers::{count, count_short, usd};

/// Request volumes in the summary table (one per decade of the chart).
pub const TABLE_VOLUMES: [f64; 6] = [1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
/// Width of the label column of itemised lines.
const LABEL_WIDTH: usize = 56;

/// Where measured figures came from, for the report.
pub struct MeasuredSource<'a> {
    /// Path as given or defaulted.
    pub path: &'a str,
    /// What was read.
    pub measured: &'a Measured,
}

/// The whole text report.
pub fn render(prices: &Prices, scenario: &Scenario, measured: Option<MeasuredSource>) -> String {
    let mut out = String::new();
    let meta = &prices.meta;
    let _ = writeln!(
        out,
        "Kubernetes vs Lambda, monthly cost ({} list prices in {}, read {})\n",
        meta.region, meta.currency, meta.read
    );
    seed(&mut out, prices, &scenario.seed);
    extended(&mut out, prices, &scenario.extended, measured);
    table(&mut out, &scenario.extended);
    out
}

fn line(out: &mut String, section: &str, label: &str, amount: f64) {
    let _ = writeln!(
        out,
        "  {section:<11} {label:<LABEL_WIDTH$} {:>10}",
        usd(amount)
    );
}

fn note(out: &mut String, text: &str) {
    let _ = writeln!(out, "  {:<11} {text}", "");
}

/// The Kubernetes nodes and load balancer lines, common to both models.
fn nodes_and_load_balancer(
    out: &mut String,
    prices: &Prices,
    setup: &KubernetesSetup,
    bill: &KubernetesBill,
) {
    line(out, "Kubernetes", &nodes_label(prices, setup), bill.nodes);
    line(out, "", "load balancer", bill.load_balancer);
}

fn nodes_label(prices: &Prices, setup: &KubernetesSetup) -> String {
    let node = &prices.kubernetes.node;
    let instance = if setup.node_usd_per_hour == node.usd_per_hour {
        node.instance.as_str()
    } else {
        "node"
    };
    format!(
        "{} × {instance} × ${}/h × {} h",
        setup.nodes, setup.node_usd_per_hour, setup.hours_per_month
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

fn seed(out: &mut String, prices: &Prices, seed: &SeedFigures) {
    let _ = writeln!(
        out,
        "Seed's model, as published (it leaves out API Gateway, the free tier, the EKS control plane\nand data transfer)"
    );
    let k = &seed.kubernetes_bill;
    nodes_and_load_balancer(out, prices, &seed.kubernetes, k);
    line(out, "", "total, whatever the traffic", k.total());
    let l = &seed.lambda_bill;
    let requests = &prices.lambda.requests;
    let compute = &prices.lambda.compute.x86_64;
    let request_label = format!(
        "{} requests × ${:.2} per million",
        count(seed.requests),
        requests.first_usd() * 1e6 / requests.per
    );
    line(out, "Lambda", &request_label, l.requests);
    let compute_label = format!(
        "{} GB-s ({}) × ${}",
        count(l.gb_seconds),
        workload_label(&seed.workload),
        compute.first_usd() / compute.per
    );
    line(out, "", &compute_label, l.compute);
    let total_label = format!("total at {} requests/month", count(seed.requests));
    line(out, "", &total_label, l.total());
    out.push('\n');
}

fn extended(out: &mut String, prices: &Prices, ext: &Extended, measured: Option<MeasuredSource>) {
    let api = &prices.api_gateway.http_api_requests;
    let tiers: Vec<String> = api
        .tiers
        .iter()
        .map(|tier| match tier.up_to {
            Some(up_to) => format!("${:.2}/million up to {}", tier.usd, count_short(up_to)),
            None => format!("then ${:.2}", tier.usd),
        })
        .collect();
    let _ = writeln!(
        out,
        "Extended model: adds API Gateway HTTP API requests ({})",
        tiers.join(", ")
    );
    let k = &ext.kubernetes_bill;
    nodes_and_load_balancer(out, prices, &ext.kubernetes, k);
    if ext.kubernetes.control_plane_usd_per_hour.is_some() {
        line(out, "", "EKS control plane", k.control_plane);
    } else {
        let hint = format!(
            "EKS control plane left out (--eks-control-plane adds {})",
            usd(ext.control_plane_monthly)
        );
        note(out, &hint);
    }
    line(out, "", "total, whatever the traffic", k.total());

    let chosen = ext.chosen();
    let mut section = "Lambda";
    if let Some(source) = measured {
        let text = format!(
            "measured in {}: p50 {} ms, peak RSS {} MiB -> {} MB",
            source.path,
            source.measured.duration_ms,
            source.measured.peak_rss_mib,
            source.measured.memory_mb
        );
        let _ = writeln!(out, "  {section:<11} {text}");
        section = "";
    }
    let free = if ext.options.free_tier {
        "free tier deducted"
    } else {
        "no free tier (--free-tier)"
    };
    let heading = format!(
        "{}, {} requests/month, {free}",
        workload_label(&chosen.workload),
        count(ext.requests)
    );
    let _ = writeln!(out, "  {section:<11} {heading}");
    let bill = chosen.model.monthly(ext.requests);
    line(out, "", "Lambda requests", bill.requests);
    let compute_label = format!("Lambda compute, {} GB-s", count(bill.gb_seconds));
    line(out, "", &compute_label, bill.compute);
    line(out, "", "API Gateway HTTP API requests", bill.api_gateway);
    line(out, "", "total", bill.total());

    let _ = writeln!(
        out,
        "  {:<11} Lambda + API Gateway costs as much as Kubernetes ({}/month) at:",
        "Break-even",
        usd(k.total())
    );
    let seed_break_even = ext.profiles[0].break_even;
    let labels: Vec<String> = ext
        .profiles
        .iter()
        .map(|profile| workload_label(&profile.workload))
        .collect();
    let width = labels.iter().map(|label| label.chars().count()).max();
    for (profile, label) in ext.profiles.iter().zip(&labels) {
        let at = match profile.break_even {
            Some(requests) => format!(
                "{} requests/month ({})",
                count_short(requests),
                count(requests)
            ),
            None => "never".to_owned(),
        };
        let versus = match (profile.break_even, seed_break_even) {
            (Some(this), Some(seed)) if profile.label != "seed" => {
                format!(", {:.1}× the seed's", this / seed)
            }
            _ => String::new(),
        };
        let text = format!(
            "{:<9} {label:<width$}  {}/million  {at}{versus}",
            profile.label,
            usd(profile.model.usd_per_million()),
            width = width.unwrap_or(0),
        );
        note(out, &text);
    }
    if let Some(requests) = ext.break_even_without_api_gateway {
        let text = format!(
            "without API Gateway ({}): {} requests/month",
            chosen.label,
            count_short(requests)
        );
        note(out, &text);
    }
    out.push('\n');
}

fn table(out: &mut String, ext: &Extended) {
    // Money cells end with a one-character mark, so headers get a trailing space.
    let mut header = vec!["requests/month".to_owned(), "Kubernetes ".to_owned()];
    header.extend(ext.profiles.iter().map(|p| format!("Lambda {} ", p.label)));
    let mut rows = vec![header];
    for requests in TABLE_VOLUMES {
        let kubernetes = ext.kubernetes_bill.total();
        let lambdas: Vec<f64> = ext
            .profiles
            .iter()
            .map(|p| p.model.monthly(requests).total())
            .collect();
        let cheapest = lambdas.iter().copied().fold(kubernetes, f64::min);
        let cell = |amount: f64| {
            let mark = if amount == cheapest { "*" } else { " " };
            format!("{}{mark}", usd(amount))
        };
        let mut row = vec![count_short(requests), cell(kubernetes)];
        row.extend(lambdas.into_iter().map(cell));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|col| {
            rows.iter()
                .map(|row| row[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:>width$}"))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("   ").trim_end());
    }
    let _ = writeln!(out, "  (* cheapest; Lambda columns include API Gateway)");
}

/// The price list's provenance: one line per price.
pub fn sources(prices: &Prices) -> String {
    let mut out = format!(
        "Price sources ({} list prices, xtask/data/prices.toml):\n",
        prices.meta.region
    );
    for (name, source, read) in prices.sources() {
        let _ = writeln!(out, "  {name:<30} {source}, read {read}");
    }
    out
}
