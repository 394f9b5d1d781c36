//! The platform parameters and the prices the cost model lacks (`decide/data/platforms.toml`): each
//! value with the page it follows and the day it was read.

use serde::{Deserialize, Serialize};

use crate::input::{InputError, check_non_negative, line_of};

/// The embedded parameter file.
pub const EMBEDDED: &str = include_str!("../data/platforms.toml");
/// Its name in errors.
pub const EMBEDDED_NAME: &str = "decide/data/platforms.toml";

/// One parameter: its value, the page it follows (title, address) and when that was read.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub value: f64,
    pub source: String,
    pub read: String,
}

/// Every parameter, by platform.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub kubernetes: KubernetesParams,
    pub lambda: LambdaParams,
    pub provisioned: ProvisionedParams,
    pub managed_instances: ManagedParams,
    pub api_gateway: ApiGatewayParams,
}

/// The HPA controller, pod start, nodes and queueing.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesParams {
    pub sync_period_s: Param,
    pub tolerance: Param,
    pub metrics_lag_s: Param,
    pub scheduling_s: Param,
    pub image_pull_s: Param,
    pub node_provisioning_s: Param,
    pub node_allocatable_cpu: Param,
    pub node_scale_down_unneeded_s: Param,
    pub queue_timeout_s: Param,
}

/// Lambda on demand: scaling rate, quotas, idle reclaim, INIT billing.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaParams {
    pub scaling_environments: Param,
    pub scaling_period_s: Param,
    pub account_concurrency: Param,
    pub new_account_concurrency: Param,
    pub unreserved_minimum: Param,
    pub idle_reclaim_s: Param,
    pub init_billed: Param,
}

/// Provisioned concurrency prices.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedParams {
    pub concurrency_usd_per_gb_s: Param,
    pub duration_usd_per_gb_s: Param,
}

/// Lambda Managed Instances: instances, fees, scaling.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedParams {
    pub instance_usd_per_hour: Param,
    pub instance_vcpus: Param,
    pub management_fee: Param,
    pub request_usd_per_million: Param,
    pub min_instances: Param,
    pub target_utilization: Param,
    pub scale_delay_s: Param,
}

/// What a throttled API Gateway client receives.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiGatewayParams {
    pub throttled_status: Param,
}

impl Params {
    /// The embedded file.
    pub fn embedded() -> Result<Self, InputError> {
        Self::parse(EMBEDDED, EMBEDDED_NAME)
    }

    /// Parses and checks `text`, read from `file`: every value a finite number not below zero.
    pub fn parse(text: &str, file: &str) -> Result<Self, InputError> {
        let params: Params = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span.start));
            InputError::field(file, line, "-", error.message().replace('\n', " "))
        })?;
        let table: toml::Table = toml::from_str(text).map_err(|e| InputError::file(file, e))?;
        for (section, entries) in &table {
            for (name, entry) in entries.as_table().into_iter().flatten() {
                let value = entry.get("value");
                let number = value.and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
                if let Err(message) = number.map_or(Ok(0.0), check_non_negative) {
                    let needle = format!("\n{name} = ");
                    let line = text.find(&needle).map_or(1, |at| line_of(text, at + 1));
                    return Err(InputError::field(
                        file,
                        line,
                        &format!("{section}.{name}"),
                        message,
                    ));
                }
            }
        }
        Ok(params)
    }

    /// Every parameter as `(section.name, param)`, for the report's source table.
    pub fn all(&self) -> Vec<(String, Param)> {
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut out = Vec::new();
        for (section, entries) in json.as_object().into_iter().flatten() {
            for (name, param) in entries.as_object().into_iter().flatten() {
                if let Ok(param) = serde_json::from_value(param.clone()) {
                    out.push((format!("{section}.{name}"), param));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_parameters_parse_and_each_names_a_page_read_today() {
        let params = Params::embedded().unwrap();
        assert_eq!(params.kubernetes.sync_period_s.value, 15.0);
        for (name, param) in params.all() {
            assert!(
                param.source.contains("https://") || param.source.starts_with("this project"),
                "{name}"
            );
            assert_eq!(param.read, "2026-12-07", "{name}");
        }
    }

    #[test]
    fn a_negative_or_nan_value_is_named_with_its_line() {
        // GIVEN the file with a negative tolerance, and one with a NaN
        let negative =
            EMBEDDED.replace("tolerance = { value = 0.1,", "tolerance = { value = -0.1,");
        let nan = EMBEDDED.replace("tolerance = { value = 0.1,", "tolerance = { value = nan,");
        let line = EMBEDDED
            .lines()
            .position(|l| l.starts_with("tolerance ="))
            .unwrap()
            + 1;
        for text in [negative, nan] {
            // WHEN it is parsed
            let error = Params::parse(&text, "p.toml").unwrap_err().to_string();
            // THEN one line names the file, the line and the field
            assert!(
                error.starts_with(&format!("p.toml:{line}: kubernetes.tolerance: ")),
                "{error}"
            );
            assert!(!error.contains('\n'));
        }
    }

    #[test]
    fn a_malformed_file_names_its_line() {
        let text = EMBEDDED.replace(
            "sync_period_s = { value = 15,",
            "sync_period_s = { value = \"x\",",
        );
        let line = EMBEDDED
            .lines()
            .position(|l| l.starts_with("sync_period_s ="))
            .unwrap()
            + 1;
        let error = Params::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(error.starts_with(&format!("p.toml:{line}: ")), "{error}");
    }
}
