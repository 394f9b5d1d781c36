//! The trace export settings: the OpenTelemetry SDK's standard variables only, validated at start-up
//! (a bad value is a [`ConfigError`] naming the variable, so the binary exits 78).

use std::time::Duration;

use http::{HeaderName, HeaderValue};
use url::Url;

use crate::config::{ConfigError, Env};

use crate::config::vars::{
    OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
};

/// The service name when `OTEL_SERVICE_NAME` is unset.
pub const DEFAULT_SERVICE_NAME: &str = "user-lookup";

/// Whether and where spans are exported.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TraceSettings {
    /// No endpoint: nothing is built, spans stay log context only.
    #[default]
    Off,
    /// Export over OTLP/HTTP (protobuf).
    Export(ExportSettings),
}

/// Where and what to export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`.
    pub traces_url: Url,
    /// `OTEL_EXPORTER_OTLP_HEADERS`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `OTEL_SERVICE_NAME`, else [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES` (a `service.name` there is overridden by `OTEL_SERVICE_NAME`).
    pub resource: Vec<(String, String)>,
    /// `OTEL_TRACES_SAMPLER` and `_ARG`.
    pub sampler: SamplerSetting,
}

/// The sampler, as the standard names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// This share of traces, by trace id.
    Ratio(f64),
    /// The parent's decision; without a parent, the inner rule.
    ParentBased(Root),
}

/// The rule of a parent-based sampler for a trace that starts here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Root {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// This share of traces.
    Ratio(f64),
}

/// How long one export may take before its spans are dropped (and counted): the bound a slow or hung
/// collector adds to a Lambda invocation, which exports before it answers.
pub const EXPORT_TIMEOUT: Duration = Duration::from_millis(500);

impl TraceSettings {
    /// Reads the standard variables from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let Some(endpoint) = env.get(OTEL_EXPORTER_OTLP_ENDPOINT) else {
            return Ok(Self::Off);
        };
        if let Some(protocol) = env.get(OTEL_EXPORTER_OTLP_PROTOCOL)
            && protocol != "http/protobuf"
        {
            return Err(ConfigError::invalid(
                OTEL_EXPORTER_OTLP_PROTOCOL,
                &protocol,
                "only http/protobuf is supported",
            ));
        }
        let traces_url = traces_url(&endpoint).ok_or_else(|| {
            ConfigError::invalid(
                OTEL_EXPORTER_OTLP_ENDPOINT,
                &endpoint,
                "expected an http or https URL",
            )
        })?;
        let headers = match env.get(OTEL_EXPORTER_OTLP_HEADERS) {
            None => Vec::new(),
            Some(raw) => pairs(&raw)
                .and_then(|pairs| {
                    pairs
                        .into_iter()
                        .map(|(k, v)| {
                            Some((
                                HeaderName::try_from(k).ok()?,
                                HeaderValue::try_from(v).ok()?,
                            ))
                        })
                        .collect()
                })
                .ok_or_else(|| {
                    ConfigError::invalid(
                        OTEL_EXPORTER_OTLP_HEADERS,
                        "<redacted>",
                        "expected key=value pairs separated by commas",
                    )
                })?,
        };
        let resource = match env.get(OTEL_RESOURCE_ATTRIBUTES) {
            None => Vec::new(),
            Some(raw) => pairs(&raw).ok_or_else(|| {
                ConfigError::invalid(
                    OTEL_RESOURCE_ATTRIBUTES,
                    &raw,
                    "expected key=value pairs separated by commas",
                )
            })?,
        };
        let service_name = env
            .get(OTEL_SERVICE_NAME)
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        Ok(Self::Export(ExportSettings {
            traces_url,
            headers,
            service_name,
            resource,
            sampler: sampler(env)?,
        }))
    }
}

/// `<endpoint>/v1/traces`, as the standard builds the signal's URL from the base.
fn traces_url(endpoint: &str) -> Option<Url> {
    let base = Url::parse(endpoint).ok()?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return None;
    }
    let path = format!("{}/v1/traces", base.path().trim_end_matches('/'));
    let mut url = base;
    url.set_path(&path);
    Some(url)
}

/// `key1=value1,key2=value2` (W3C Baggage's list form; values percent-decoded), or `None` when an
/// entry has no `=` or an empty key.
fn pairs(raw: &str) -> Option<Vec<(String, String)>> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once('=')?;
            let key = key.trim();
            let value = percent_encoding::percent_decode_str(value.trim())
                .decode_utf8()
                .ok()?;
            (!key.is_empty()).then(|| (key.to_owned(), value.into_owned()))
        })
        .collect()
}

fn sampler<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<SamplerSetting, ConfigError> {
    let name = env
        .get(OTEL_TRACES_SAMPLER)
        .unwrap_or_else(|| "parentbased_always_on".to_owned());
    let ratio = || {
        env.number(
            OTEL_TRACES_SAMPLER_ARG,
            1.0,
            |r: &f64| (0.0..=1.0).contains(r),
            "expected a ratio from 0 to 1",
        )
    };
    Ok(match name.as_str() {
        "always_on" => SamplerSetting::AlwaysOn,
        "always_off" => SamplerSetting::AlwaysOff,
        "traceidratio" => SamplerSetting::Ratio(ratio()?),
        "parentbased_always_on" => SamplerSetting::ParentBased(Root::AlwaysOn),
        "parentbased_always_off" => SamplerSetting::ParentBased(Root::AlwaysOff),
        "parentbased_traceidratio" => SamplerSetting::ParentBased(Root::Ratio(ratio()?)),
        _ => {
            return Err(ConfigError::invalid(
                OTEL_TRACES_SAMPLER,
                &name,
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_pairs as env;

    fn read(pairs: &[(&str, &str)]) -> Result<TraceSettings, ConfigError> {
        TraceSettings::read(&env(pairs))
    }

    #[test]
    fn no_endpoint_means_off_whatever_else_is_set() {
        assert_eq!(
            read(&[("OTEL_TRACES_SAMPLER", "always_on")]),
            Ok(TraceSettings::Off)
        );
    }

    #[test]
    fn an_endpoint_exports_to_its_traces_path_with_the_standard_defaults() {
        let Ok(TraceSettings::Export(export)) = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-token=a%20b"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
        ]) else {
            panic!("expected export settings");
        };
        assert_eq!(
            export.traces_url.as_str(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(export.headers[0].1, "a b");
        assert_eq!(export.service_name, DEFAULT_SERVICE_NAME);
        assert_eq!(
            export.resource,
            [("deployment.environment".to_owned(), "test".to_owned())]
        );
        assert_eq!(export.sampler, SamplerSetting::ParentBased(Root::AlwaysOn));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        let cases = [
            (
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4318"),
                OTEL_EXPORTER_OTLP_ENDPOINT,
            ),
            (
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                OTEL_EXPORTER_OTLP_PROTOCOL,
            ),
            (
                ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
                OTEL_EXPORTER_OTLP_HEADERS,
            ),
            (("OTEL_RESOURCE_ATTRIBUTES", "=x"), OTEL_RESOURCE_ATTRIBUTES),
            (("OTEL_TRACES_SAMPLER", "sometimes"), OTEL_TRACES_SAMPLER),
        ];
        for (bad, var) in cases {
            let err = read(&[endpoint, bad]).unwrap_err();
            assert_eq!(err.var(), var, "{bad:?}");
        }
        let err = read(&[
            endpoint,
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
        .unwrap_err();
        assert_eq!(err.var(), OTEL_TRACES_SAMPLER_ARG);
    }
}
