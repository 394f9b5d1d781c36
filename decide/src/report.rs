//! What the lab writes: the self-contained HTML report (`templates/report.html`), the JSON summary
//! and verdict, and the markdown page docs/decide.md (`templates/decide.md`), all rendered from one
//! [`Report`] through minijinja templates.

use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Serialize;

use crate::lab::{Inputs, Objective, PLATFORMS, Verdict};
use crate::numbers::{count, usd};
use crate::sim::Run;

/// Everything a run of the lab found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub objective: Objective,
    pub measured: crate::measurements::Measurements,
    pub options: crate::lab::Options,
    pub seconds: usize,
    /// Volume labels of the verdict table's columns.
    pub volumes: Vec<String>,
    /// Each trace: its verdict and every platform's run.
    pub traces: Vec<(Verdict, Vec<Run>)>,
    pub params: Vec<(String, crate::params::Param)>,
}

/// One summary row, formatted.
#[derive(Serialize)]
struct Row {
    platform: String,
    class: &'static str,
    served: String,
    failed: String,
    error_pct: String,
    cold_start_pct: String,
    p99_ms: String,
    capacity: String,
    cost_month: String,
    usd_per_million: String,
}

impl Report {
    /// Collects the runs with the inputs they came from.
    pub fn new(
        inputs: &Inputs,
        objective: Objective,
        seconds: usize,
        traces: Vec<(Verdict, Vec<Run>)>,
    ) -> Report {
        let mut volumes: Vec<String> = Vec::new();
        for (verdict, _) in &traces {
            if !volumes.contains(&verdict.volume) {
                volumes.push(verdict.volume.clone());
            }
        }
        Report {
            objective,
            measured: inputs.measured.clone(),
            options: inputs.options.clone(),
            seconds,
            volumes,
            traces,
            params: inputs.params.all(),
        }
    }

    /// The verdict table: one row a shape, one column a volume.
    fn verdict_rows(&self) -> Vec<Value> {
        let mut shapes: Vec<&str> = Vec::new();
        for (verdict, _) in &self.traces {
            if !shapes.contains(&verdict.shape.as_str()) {
                shapes.push(&verdict.shape);
            }
        }
        (shapes.into_iter())
            .map(|shape| {
                let cells: Vec<String> = (self.volumes.iter())
                    .map(|volume| {
                        let found = (self.traces.iter())
                            .find(|(v, _)| v.shape == shape && &v.volume == volume);
                        match found.map(|(v, _)| (&v.cheapest, v.cost_month)) {
                            Some((Some(name), Some(cost))) => {
                                format!("{name} ({}/month)", usd(cost))
                            }
                            Some(_) => "none meets it".into(),
                            None => "-".into(),
                        }
                    })
                    .collect();
                context! { shape, cells }
            })
            .collect()
    }

    fn rows(&self, runs: &[Run], verdict: &Verdict) -> Vec<Row> {
        (runs.iter().zip(&verdict.platforms))
            .map(|(run, outcome)| {
                let s = &run.summary;
                Row {
                    platform: s.platform.clone(),
                    class: if outcome.meets { "meets" } else { "fails" },
                    served: count(s.served),
                    failed: count(s.failed),
                    error_pct: format!("{:.3}", s.error_pct),
                    cold_start_pct: format!("{:.4}", s.cold_start_pct),
                    p99_ms: format!("{:.2}", s.p99_ms),
                    capacity: format!("{:.0} / {:.1}", s.peak_capacity, s.mean_capacity),
                    cost_month: usd(s.cost_month),
                    usd_per_million: usd(s.usd_per_million),
                }
            })
            .collect()
    }

    fn context(&self, charts: bool) -> Value {
        let traces: Vec<Value> = (self.traces.iter())
            .map(|(verdict, runs)| {
                let name = runs
                    .first()
                    .map_or(String::new(), |r| r.summary.trace.clone());
                let svg = if charts {
                    crate::chart::requests(&name, runs)
                } else {
                    String::new()
                };
                context! {
                    name,
                    svg => Value::from_safe_string(svg),
                    summaries => Value::from(Serde(self.rows(runs, verdict))),
                }
            })
            .collect();
        let params: Vec<Value> = (self.params.iter())
            .map(|(name, p)| context! { name, value => p.value, source => p.source.clone(), read => p.read.clone() })
            .collect();
        context! {
            objective => Value::from(Serde(self.objective)),
            measured => Value::from(Serde(&self.measured)),
            days => format!("{:.1}", self.seconds as f64 / 86_400.0),
            volumes => self.volumes.clone(),
            verdict_rows => self.verdict_rows(),
            traces,
            params,
            platforms => PLATFORMS,
        }
    }

    /// The self-contained HTML report.
    pub fn html(&self) -> Result<String, minijinja::Error> {
        render(
            "report.html",
            include_str!("../templates/report.html"),
            self.context(true),
        )
    }

    /// The markdown page (docs/decide.md).
    pub fn markdown(&self) -> Result<String, minijinja::Error> {
        render(
            "decide.md",
            include_str!("../templates/decide.md"),
            self.context(false),
        )
    }

    /// The summaries and the verdicts, for scripts and tests.
    pub fn json(&self) -> String {
        let traces: Vec<_> = (self.traces.iter())
            .map(|(verdict, runs)| {
                let summaries: Vec<_> = runs.iter().map(|r| &r.summary).collect();
                serde_json::json!({ "verdict": verdict, "summaries": summaries })
            })
            .collect();
        let json = serde_json::json!({
            "objective": self.objective,
            "measured": self.measured,
            "options": self.options,
            "seconds": self.seconds,
            "traces": traces,
        });
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
    }
}

fn render(name: &str, source: &str, context: Value) -> Result<String, minijinja::Error> {
    crate::template::render(crate::template::environment()?, name, source, context)
}
