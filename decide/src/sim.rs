//! Runs a trace through a platform model: a time series for the charts and a summary.

use serde::Serialize;

use crate::platform::{Model, Second};
use crate::traffic::{MONTH_S, Trace};

/// Points in a time series (the trace is averaged into this many buckets at most).
pub const SERIES_POINTS: usize = 600;

/// One bucket of seconds of the time series.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Point {
    /// Start of the bucket, in s.
    pub t: u64,
    /// Mean offered and served, and failed, requests a second.
    pub offered: f64,
    pub served: f64,
    pub failed: f64,
    /// Cold starts in the bucket.
    pub cold: f64,
    /// Highest capacity (pods, environments, instances) in the bucket.
    pub capacity: f64,
    /// Highest latency of a served request in the bucket, in ms.
    pub latency_ms: f64,
    /// Cost so far, USD.
    pub cost: f64,
}

/// What a platform did over the whole trace.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub platform: String,
    pub trace: String,
    pub seconds: u64,
    pub offered: f64,
    pub served: f64,
    pub failed: f64,
    pub error_pct: f64,
    /// Share of served requests that met a cold start, in %.
    pub cold_start_pct: f64,
    pub p99_ms: f64,
    pub peak_capacity: f64,
    pub mean_capacity: f64,
    pub cost_period: f64,
    /// The period's cost scaled to a 730-hour month.
    pub cost_month: f64,
    pub usd_per_million: f64,
}

/// A summary and its time series.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub summary: Summary,
    pub series: Vec<Point>,
}

/// Latencies weighted by request counts, in logarithmic buckets (1 % apart) from 1 µs.
struct Histogram(Vec<f64>);

impl Histogram {
    const MIN_MS: f64 = 0.001;
    const STEP: f64 = 1.01;

    fn add(&mut self, latency_ms: f64, count: f64) {
        if count <= 0.0 {
            return;
        }
        let index =
            ((latency_ms.max(Self::MIN_MS) / Self::MIN_MS).ln() / Self::STEP.ln()).ceil() as usize;
        if index >= self.0.len() {
            self.0.resize(index + 1, 0.0);
        }
        self.0[index] += count;
    }

    /// The latency below which `share` of the requests fall (a bucket's upper bound).
    fn quantile(&self, share: f64) -> f64 {
        let total: f64 = self.0.iter().sum();
        let mut seen = 0.0;
        for (index, count) in self.0.iter().enumerate() {
            seen += count;
            if seen >= total * share && total > 0.0 {
                return Self::MIN_MS * Self::STEP.powi(index as i32);
            }
        }
        0.0
    }
}

/// Runs `trace` through `model`, called `platform` in the summary.
pub fn run<M: Model>(model: &M, platform: &str, trace: &Trace) -> Run {
    let seconds = trace.rps.len();
    let bucket = seconds.div_ceil(SERIES_POINTS).max(1);
    let mut series: Vec<Point> = Vec::with_capacity(SERIES_POINTS + 1);
    let mut histogram = Histogram(Vec::new());
    let mut total = Second::default();
    let mut peak_capacity: f64 = 0.0;
    let mut state = model.start();
    for (t, &offered) in trace.rps.iter().enumerate() {
        let (next, s) = model.step(state, t as u64, offered);
        state = next;
        histogram.add(s.latency_ms, s.served - s.cold);
        histogram.add(s.cold_latency_ms, s.cold);
        total.offered += s.offered;
        total.served += s.served;
        total.throttled += s.throttled;
        total.timed_out += s.timed_out;
        total.cold += s.cold;
        total.capacity += s.capacity;
        total.cost += s.cost;
        peak_capacity = peak_capacity.max(s.capacity);
        if t.is_multiple_of(bucket) {
            series.push(Point {
                t: t as u64,
                ..Point::default()
            });
        }
        let point = series.last_mut().expect("a point per bucket");
        let share = 1.0 / bucket as f64;
        point.offered += s.offered * share;
        point.served += s.served * share;
        point.failed += (s.throttled + s.timed_out) * share;
        point.cold += s.cold;
        point.capacity = point.capacity.max(s.capacity);
        if s.served > 0.0 {
            let worst = if s.cold > 0.0 {
                s.cold_latency_ms.max(s.latency_ms)
            } else {
                s.latency_ms
            };
            point.latency_ms = point.latency_ms.max(worst);
        }
        point.cost = total.cost;
    }
    let failed = total.throttled + total.timed_out;
    let percent = |part: f64, whole: f64| {
        if whole > 0.0 {
            part / whole * 100.0
        } else {
            0.0
        }
    };
    let summary = Summary {
        platform: platform.to_owned(),
        trace: trace.name.clone(),
        seconds: seconds as u64,
        offered: total.offered,
        served: total.served,
        failed,
        error_pct: percent(failed, total.offered),
        cold_start_pct: percent(total.cold, total.served),
        p99_ms: histogram.quantile(0.99),
        peak_capacity,
        mean_capacity: total.capacity / seconds.max(1) as f64,
        cost_period: total.cost,
        cost_month: total.cost * MONTH_S as f64 / seconds.max(1) as f64,
        usd_per_million: if total.served > 0.0 {
            total.cost / total.served * 1e6
        } else {
            0.0
        },
    };
    Run { summary, series }
}
