//! The deployment's own settings, read from the manifests the project deploys (never copied):
//! the HPA, the pods' CPU request and limit, the API Gateway stage throttle, the Lambda's
//! reserved concurrency and memory.

use std::path::Path;

use serde::Serialize;

use crate::input::{InputError, read};
use crate::platform::hpa::HpaSpec;

pub const HPA: &str = "deploy/k8s/base/hpa.yaml";
pub const DEPLOYMENT: &str = "deploy/k8s/base/deployment.yaml";
pub const TEMPLATE: &str = "deploy/lambda/template.yaml";

/// What `deploy/` declares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deployment {
    pub hpa: HpaSpec,
    /// The pod's CPU request and limit, in cores.
    pub cpu_request: f64,
    pub cpu_limit: f64,
    /// The HTTP API stage's default route throttle: steady rate and burst, requests a second.
    pub api_rate_limit: f64,
    pub api_burst_limit: f64,
    /// The template's default reserved concurrency (0: none, the account's unreserved pool).
    pub reserved_concurrency: u32,
    /// The lookup function's memory, in MB.
    pub memory_mb: u32,
}

impl Deployment {
    /// Reads the three manifests under `root`.
    pub fn load(root: &Path) -> Result<Self, InputError> {
        let hpa_text = read(&root.join(HPA))?;
        let hpa = HpaSpec::from_yaml(&hpa_text).map_err(|e| InputError::file(HPA, e))?;
        let deployment: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&read(&root.join(DEPLOYMENT))?)
                .map_err(|e| InputError::file(DEPLOYMENT, e))?;
        let resources = &deployment["spec"]["template"]["spec"]["containers"][0]["resources"];
        let cpu = |which: &str| {
            cores(&resources[which]["cpu"]).ok_or_else(|| {
                InputError::file(DEPLOYMENT, format!("no CPU {which} on the first container"))
            })
        };
        let template = read(&root.join(TEMPLATE))?;
        let setting = |key: &str| -> Result<f64, InputError> {
            let (number, line) = (template.lines().enumerate())
                .find_map(|(i, line)| {
                    Some((line.trim().strip_prefix(key)?.trim().to_owned(), i + 1))
                })
                .ok_or_else(|| InputError::file(TEMPLATE, format!("no `{key}`")))?;
            number.parse().map_err(|_| {
                InputError::field(
                    TEMPLATE,
                    line,
                    key.trim_end_matches(':'),
                    format!("`{number}` is not a number"),
                )
            })
        };
        // The first `Default:` after `ReservedConcurrency:` is that parameter's default.
        let reserved = (template.split_once("\n  ReservedConcurrency:"))
            .and_then(|(_, rest)| rest.lines().find_map(|l| l.trim().strip_prefix("Default:")))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| InputError::file(TEMPLATE, "no ReservedConcurrency default"))?;
        Ok(Deployment {
            hpa,
            cpu_request: cpu("requests")?,
            cpu_limit: cpu("limits")?,
            api_rate_limit: setting("ThrottlingRateLimit:")?,
            api_burst_limit: setting("ThrottlingBurstLimit:")?,
            reserved_concurrency: reserved,
            memory_mb: setting("MemorySize:")? as u32,
        })
    }
}

/// A Kubernetes CPU quantity (`250m`, `1`, `"1"`) in cores.
fn cores(value: &serde_yaml_ng::Value) -> Option<f64> {
    let text = match value {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifests_are_read() {
        let d = Deployment::load(&crate::paths::workspace_root()).unwrap();
        assert_eq!((d.cpu_request, d.cpu_limit), (0.25, 1.0));
        assert_eq!((d.api_rate_limit, d.api_burst_limit), (100.0, 200.0));
        assert_eq!((d.reserved_concurrency, d.memory_mb), (0, 128));
        assert_eq!(d.hpa.max_replicas, 10);
    }
}
