//! The telemetry settings: `LOG_FORMAT` and `RUST_LOG`, or the Lambda runtime's own, and the trace
//! export's standard `OTEL_*` variables ([`TraceSettings`]).

use tracing_subscriber::filter::Targets;

use super::traces::TraceSettings;
use crate::config::{ConfigError, Env, vars};

/// Log format and filter, and the trace export.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// `LOG_FORMAT`, else the Lambda runtime's `AWS_LAMBDA_LOG_FORMAT`, else text.
    pub format: LogFormat,
    /// `RUST_LOG`, else the Lambda runtime's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
    pub filter: String,
    /// The `OTEL_*` variables: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub traces: TraceSettings,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable text, for local runs.
    Text,
    /// One JSON object per line, for production log pipelines.
    Json,
}

impl LogSettings {
    /// Reads `LOG_FORMAT` and `RUST_LOG` (or the Lambda runtime's own settings) and the `OTEL_*`
    /// variables from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let format = match env.get(vars::LOG_FORMAT) {
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::invalid(
                        vars::LOG_FORMAT,
                        &raw,
                        "expected text or json",
                    ));
                }
            },
            // The Lambda runtime's own setting (the function's LoggingConfig), `Text` or `JSON`.
            None => match env.get(vars::AWS_LAMBDA_LOG_FORMAT) {
                Some(raw) if raw.eq_ignore_ascii_case("json") => LogFormat::Json,
                _ => LogFormat::Text,
            },
        };
        let (var, filter) = match (env.get(vars::RUST_LOG), env.get(vars::AWS_LAMBDA_LOG_LEVEL)) {
            (Some(filter), _) => (vars::RUST_LOG, filter),
            (None, Some(level)) => (vars::AWS_LAMBDA_LOG_LEVEL, level.to_ascii_lowercase()),
            (None, None) => (vars::RUST_LOG, "info".to_owned()),
        };
        if let Err(err) = filter.parse::<Targets>() {
            return Err(ConfigError::invalid(var, &filter, err.to_string()));
        }
        Ok(Self {
            format,
            filter,
            traces: TraceSettings::read(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_pairs as env;

    #[test]
    fn the_lambda_runtime_log_settings_apply_when_ours_are_unset() {
        let lambda = env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
        ]);
        let ours_win = env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("LOG_FORMAT", "text"),
            ("RUST_LOG", "debug"),
        ]);

        let from_lambda = LogSettings::read(&lambda).unwrap();
        let from_ours = LogSettings::read(&ours_win).unwrap();

        assert_eq!(
            (from_lambda.format, from_lambda.filter.as_str()),
            (LogFormat::Json, "warn")
        );
        assert_eq!(
            (from_ours.format, from_ours.filter.as_str()),
            (LogFormat::Text, "debug")
        );
    }
}
