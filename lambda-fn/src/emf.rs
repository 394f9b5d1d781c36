//! CloudWatch Embedded Metric Format: on Lambda there is no endpoint to scrape, so the measures the
//! service records through the `metrics` facade (the same as `k8s-server`'s `/metrics`) are written
//! into the function's log, one EMF JSON line per series, at the end of each invocation. CloudWatch
//! turns those lines into metrics with no agent and no API call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::{Map, Value, json};

/// The CloudWatch namespace of the service's metrics.
pub const NAMESPACE: &str = "user-lookup";

/// What one invocation recorded, by series.
#[derive(Default)]
struct Recorded {
    counters: BTreeMap<Key, u64>,
    histograms: BTreeMap<Key, Vec<f64>>,
}

/// A `metrics` recorder that keeps one invocation's measures until [`flush`] writes them out.
#[derive(Clone, Default)]
struct EmfRecorder(Arc<Mutex<Recorded>>);

struct Series {
    key: Key,
    recorded: Arc<Mutex<Recorded>>,
}

impl metrics::CounterFn for Series {
    fn increment(&self, value: u64) {
        *self
            .recorded
            .lock()
            .unwrap()
            .counters
            .entry(self.key.clone())
            .or_default() += value;
    }

    fn absolute(&self, value: u64) {
        self.recorded
            .lock()
            .unwrap()
            .counters
            .insert(self.key.clone(), value);
    }
}

impl metrics::HistogramFn for Series {
    fn record(&self, value: f64) {
        self.recorded
            .lock()
            .unwrap()
            .histograms
            .entry(self.key.clone())
            .or_default()
            .push(value);
    }
}

impl Recorder for EmfRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(self.series(key)))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(self.series(key)))
    }
}

impl EmfRecorder {
    fn series(&self, key: &Key) -> Series {
        Series {
            key: key.clone(),
            recorded: self.0.clone(),
        }
    }
}

static RECORDER: OnceLock<Option<EmfRecorder>> = OnceLock::new();

/// Installs the EMF recorder as the process's metrics recorder, unless another one is installed.
pub fn install() {
    RECORDER.get_or_init(|| {
        let recorder = EmfRecorder::default();
        metrics::set_global_recorder(recorder.clone())
            .ok()
            .map(|()| recorder)
    });
}

/// Writes what was recorded since the last flush to stdout (the function's log).
pub fn flush() {
    if let Some(Some(recorder)) = RECORDER.get() {
        for line in recorder.take_lines() {
            println!("{line}");
        }
    }
}

impl EmfRecorder {
    /// Takes what was recorded since the last call, as EMF JSON lines (one per series).
    fn take_lines(&self) -> Vec<String> {
        let recorded = std::mem::take(&mut *self.0.lock().unwrap());
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let counters = recorded
            .counters
            .into_iter()
            .map(|(key, count)| line(timestamp, &key, "Count", json!(count)));
        let histograms = recorded.histograms.into_iter().map(|(key, values)| {
            // Durations are recorded in seconds; CloudWatch shows them in milliseconds.
            let millis: Vec<f64> = values.iter().map(|seconds| seconds * 1000.0).collect();
            line(timestamp, &key, "Milliseconds", json!(millis))
        });
        counters.chain(histograms).collect()
    }
}

fn line(timestamp: u64, key: &Key, unit: &str, value: Value) -> String {
    let dimensions: Vec<&str> = key.labels().map(|label| label.key()).collect();
    let mut object = Map::new();
    object.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{ "Name": key.name(), "Unit": unit }],
            }],
        }),
    );
    for label in key.labels() {
        object.insert(label.key().into(), json!(label.value()));
    }
    object.insert(key.name().into(), value);
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::telemetry::metric::{DURATION, REQUESTS};

    #[test]
    fn an_invocation_becomes_one_emf_line_per_series_and_is_then_forgotten() {
        // GIVEN one request's measures
        let recorder = EmfRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!(REQUESTS, "route" => "/users/{id}", "status" => "200").increment(1);
            metrics::histogram!(DURATION, "route" => "/users/{id}", "status" => "200")
                .record(0.002);
        });

        // WHEN they are flushed
        let lines: Vec<Value> = recorder
            .take_lines()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();

        // THEN each series is an EMF object with its dimensions, unit and value
        assert_eq!(lines.len(), 2);
        let count = &lines[0];
        let directive = &count["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["route", "status"]]));
        assert_eq!(
            directive["Metrics"][0],
            json!({"Name": REQUESTS, "Unit": "Count"})
        );
        assert_eq!(
            (count["route"].as_str(), count["status"].as_str()),
            (Some("/users/{id}"), Some("200"))
        );
        assert_eq!(count[REQUESTS], 1);
        assert_eq!(lines[1][DURATION], json!([2.0]));
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
        // AND the next invocation starts from nothing
        assert!(recorder.take_lines().is_empty());
    }
}
