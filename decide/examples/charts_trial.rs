//! Trial (not committed): the cost chart and one lab chart drawn by plotters, beside the hand-drawn ones.

use std::error::Error;

use decide::cli::{LabArgs, inputs};
use decide::cost::model::Scenario;
use decide::cost::prices::Prices;
use decide::numbers::{count_short, usd, usd_short};
use decide::sim::Run;
use decide::traffic::{Shape, Trace, Volume};
use plotters::prelude::*;

const COLORS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
];
const LAB: [RGBColor; 5] = [
    RGBColor(0xad, 0xb5, 0xbd),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

fn cost(scenario: &Scenario, title: &str) -> Result<String, Box<dyn Error>> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (860, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let samples: Vec<f64> = (0..=240)
            .map(|i| 1e5 * 10f64.powf(i as f64 / 48.0))
            .collect();
        let fixed = scenario.kubernetes.total();
        let mut series = vec![(
            format!("Kubernetes ({}/month)", usd(fixed)),
            samples.iter().map(|_| fixed).collect::<Vec<_>>(),
        )];
        for p in &scenario.profiles {
            let w = &p.workload;
            series.push((
                format!(
                    "Lambda + API Gateway, {}: {} ms × {} MB {}",
                    p.label,
                    w.billed_ms(),
                    w.memory_mb,
                    w.arch.name()
                ),
                samples
                    .iter()
                    .map(|&r| p.model.monthly(r).total().max(0.01))
                    .collect(),
            ));
        }
        let max = series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .fold(0.01, f64::max);
        let min = series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .fold(f64::INFINITY, f64::min);
        let (lo, hi) = (
            10f64.powf(min.log10().floor()),
            10f64.powf(max.log10().ceil()),
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((1e5..1e10).log_scale(), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("requests per month (log scale)")
            .y_desc("monthly cost, USD (log scale)")
            .x_label_formatter(&|v| count_short(*v))
            .y_label_formatter(&|v| usd_short(*v))
            .label_style(("sans-serif", 12))
            .draw()?;
        for ((label, costs), color) in series.iter().zip(COLORS) {
            chart
                .draw_series(LineSeries::new(
                    samples.iter().copied().zip(costs.iter().copied()),
                    color.stroke_width(2),
                ))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        }
        for (i, (p, color)) in scenario.profiles.iter().zip(&COLORS[1..]).enumerate() {
            let Some(r) = p.break_even.filter(|r| (1e5..=1e10).contains(r)) else {
                continue;
            };
            chart.draw_series(DashedLineSeries::new(
                [(r, lo), (r, fixed)],
                4,
                3,
                color.into(),
            ))?;
            chart.draw_series([Circle::new((r, fixed), 5, color.filled())])?;
            chart.draw_series([Text::new(
                format!("break-even {} requests/month", count_short(r)),
                (r, fixed * 1.6f64.powi(i as i32 + 1)),
                ("sans-serif", 12).into_font().color(color),
            )])?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
    }
    Ok(out)
}

fn requests(title: &str, runs: &[Run]) -> Result<String, Box<dyn Error>> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (860, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let first = &runs[0];
        let seconds = first.summary.seconds.max(1) as f64;
        let mut lines = vec![(
            "offered".to_owned(),
            first
                .series
                .iter()
                .map(|p| (p.t as f64 / 86_400.0, p.offered))
                .collect::<Vec<_>>(),
        )];
        for run in runs {
            lines.push((
                format!("served: {}", run.summary.platform),
                run.series
                    .iter()
                    .map(|p| (p.t as f64 / 86_400.0, p.served))
                    .collect(),
            ));
        }
        let days_n = (seconds / 86_400.0).ceil() as usize;
        let top = lines
            .iter()
            .flat_map(|l| l.1.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..seconds / 86_400.0, 0.0..top.max(1.0))?;
        chart
            .configure_mesh()
            .y_desc("requests/s")
            .x_labels(days_n + 1)
            .x_label_formatter(&|d| format!("day {d}"))
            .y_label_formatter(&|v| count_short(*v))
            .y_labels(5)
            .disable_x_mesh()
            .label_style(("sans-serif", 12))
            .draw()?;
        for ((label, points), color) in lines.iter().zip(LAB) {
            let width = if label == "offered" { 4 } else { 1 };
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(width),
                ))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 2), (x + 12, y + 2)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("/tmp/charts".into()));
    std::fs::create_dir_all(&dir)?;
    let prices = Prices::embedded()?;
    let args = {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: decide::cost::CostArgs,
        }
        Cli::parse_from(["cost", "--duration-ms", "5", "--memory-mb", "128"]).args
    };
    let scenario = Scenario::new(&prices, &args, None);
    let title = "Kubernetes vs Lambda monthly cost (us-east-1 list prices, read 2026-11)";
    std::fs::write(
        dir.join("cost-hand.svg"),
        decide::cost::chart::render(&scenario, title),
    )?;
    std::fs::write(dir.join("cost-plotters.svg"), cost(&scenario, title)?)?;

    let lab = inputs(&LabArgs::default())?;
    let trace = Trace::shape(Shape::Diurnal, Volume::Monthly(1e8), 7 * 86_400, 1);
    let runs = lab.run_all(&trace);
    let name = runs[0].summary.trace.clone();
    std::fs::write(
        dir.join("lab-hand.svg"),
        decide::chart::requests(&name, &runs),
    )?;
    std::fs::write(dir.join("lab-plotters.svg"), requests(&name, &runs)?)?;
    Ok(())
}
