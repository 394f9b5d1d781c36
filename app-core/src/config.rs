//! Configuration: read from the environment once, at start-up, and checked before anything runs.
//!
//! Every problem becomes a [`ConfigError`] whose one-line message names the variable; the binaries print
//! it and exit non-zero. Nothing here reads the environment after start-up or writes to it.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use tracing_subscriber::filter::Targets;

use crate::auth::AuthSettings;

/// The names of every variable the binaries read (besides the AWS SDK's own standard settings such as
/// `AWS_REGION` and `AWS_ENDPOINT_URL_DYNAMODB`, which the SDK reads). The deploy drift test checks the
/// manifests against this list.
pub mod vars {
    /// `memory` (default) or `dynamodb`.
    pub const USER_STORE: &str = "USER_STORE";
    /// A JSON users file for the embedded store.
    pub const USERS_FILE: &str = "USERS_FILE";
    /// The DynamoDB table (default `Users`).
    pub const USERS_TABLE: &str = "USERS_TABLE";
    /// The budget of one lookup in milliseconds (default 1000).
    pub const STORE_TIMEOUT_MS: &str = "STORE_TIMEOUT_MS";
    /// `text` (default) or `json`.
    pub const LOG_FORMAT: &str = "LOG_FORMAT";
    /// The log filter (default `info`).
    pub const RUST_LOG: &str = "RUST_LOG";
    /// The Lambda runtime's log format, used when `LOG_FORMAT` is unset.
    pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
    /// The Lambda runtime's log level, used when `RUST_LOG` is unset.
    pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
    /// `none` (default: the API is open) or `jwt` (bearer tokens).
    pub const AUTH: &str = "AUTH";
    /// With `AUTH=jwt`: the exact `iss` of accepted tokens.
    pub const JWT_ISSUER: &str = "JWT_ISSUER";
    /// With `AUTH=jwt`: the audience accepted tokens name in `aud`.
    pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
    /// With `AUTH=jwt`: the https URL of the provider's JSON Web Key Set (http to loopback only).
    pub const JWKS_URL: &str = "JWKS_URL";
    /// With `AUTH=jwt`: `true` lets `JWKS_URL` be plain http to a host other than loopback (default
    /// `false`; the start-up log warns).
    pub const JWKS_ALLOW_INSECURE_HTTP: &str = "JWKS_ALLOW_INSECURE_HTTP";
    /// With `AUTH=jwt`: the scope a token must grant (default `users:read`).
    pub const JWT_REQUIRED_SCOPE: &str = "JWT_REQUIRED_SCOPE";
    /// With `AUTH=jwt`: the shortest time between two fetches of the key set, in seconds (default
    /// 30, 1 to 3600).
    pub const JWKS_REFETCH_INTERVAL_SECS: &str = "JWKS_REFETCH_INTERVAL_SECS";
    /// `k8s-server` only: the TCP port (default 8080).
    pub const PORT: &str = "PORT";
    /// `k8s-server` only: the TCP port of `/metrics` (default 9090), which the Service does not expose.
    pub const METRICS_PORT: &str = "METRICS_PORT";
    /// `k8s-server` only: the drain deadline after SIGTERM in seconds (default 20).
    pub const SHUTDOWN_TIMEOUT_SECS: &str = "SHUTDOWN_TIMEOUT_SECS";
    /// `k8s-server` only: how long to keep serving, with `/readyz` at 503, before the listener closes
    /// (default 0: on Kubernetes the pod's preStop sleep does this job).
    pub const SHUTDOWN_DELAY_MS: &str = "SHUTDOWN_DELAY_MS";
    /// `k8s-server` only: the most API connections open at once (default 1024, from the
    /// deployment's 64 MiB memory limit); more wait in the kernel's queue.
    pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
    /// Import on Lambda only: stop at a batch boundary when less than this many milliseconds of the
    /// invocation remain (default 2000).
    pub const IMPORT_DEADLINE_MARGIN_MS: &str = "IMPORT_DEADLINE_MARGIN_MS";

    /// The variables the import binaries (`import-fn`, `import-job`) read.
    pub const IMPORT: &[&str] = &[
        USERS_TABLE,
        STORE_TIMEOUT_MS,
        LOG_FORMAT,
        RUST_LOG,
        AWS_LAMBDA_LOG_FORMAT,
        AWS_LAMBDA_LOG_LEVEL,
        IMPORT_DEADLINE_MARGIN_MS,
    ];

    /// Every variable above.
    pub const ALL: &[&str] = &[
        USER_STORE,
        USERS_FILE,
        USERS_TABLE,
        STORE_TIMEOUT_MS,
        LOG_FORMAT,
        RUST_LOG,
        AWS_LAMBDA_LOG_FORMAT,
        AWS_LAMBDA_LOG_LEVEL,
        AUTH,
        JWT_ISSUER,
        JWT_AUDIENCE,
        JWKS_URL,
        JWKS_ALLOW_INSECURE_HTTP,
        JWT_REQUIRED_SCOPE,
        JWKS_REFETCH_INTERVAL_SECS,
        PORT,
        METRICS_PORT,
        SHUTDOWN_TIMEOUT_SECS,
        SHUTDOWN_DELAY_MS,
        MAX_CONNECTIONS,
        IMPORT_DEADLINE_MARGIN_MS,
    ];
}

/// Settings shared by both binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Which store serves lookups, and its settings.
    pub store: StoreSettings,
    /// How logs are written.
    pub log: LogSettings,
    /// Who may call the API.
    pub auth: AuthSettings,
}

/// `USER_STORE` and the settings of the store it picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// `USER_STORE=memory` (the default): the embedded store.
    Memory {
        /// `USERS_FILE`: a JSON users file to load instead of the bundled sample.
        users_file: Option<PathBuf>,
    },
    /// `USER_STORE=dynamodb`: `GetItem` on `USERS_TABLE`.
    DynamoDb {
        /// `USERS_TABLE` (default `Users`).
        table: String,
        /// `STORE_TIMEOUT_MS` (default 1000): the budget of one lookup, retries included.
        timeout: Duration,
    },
}

/// Log format and filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `LOG_FORMAT`, else the Lambda runtime's `AWS_LAMBDA_LOG_FORMAT`, else text.
    pub format: LogFormat,
    /// `RUST_LOG`, else the Lambda runtime's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
    pub filter: String,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable text, for local runs.
    Text,
    /// One JSON object per line, for production log pipelines.
    Json,
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The variable is set to something unusable.
    #[error("{var}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// What it was set to.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A variable that this configuration needs is not set.
    #[error("{var} is not set: {reason}")]
    Missing {
        /// The variable's name.
        var: &'static str,
        /// Why it is needed.
        reason: String,
    },
}

impl ConfigError {
    /// The name of the variable at fault.
    pub fn var(&self) -> &'static str {
        match self {
            Self::Invalid { var, .. } | Self::Missing { var, .. } => var,
        }
    }

    pub(crate) fn invalid(var: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Reads variables by name; [`Env::process`] reads the process environment.
pub struct Env<F>(F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment. A value that is not UTF-8 reads as its lossy form, so it fails validation.
    pub fn process() -> Self {
        Env(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Variables from a lookup function (tests use a map).
    pub fn from_fn(lookup: F) -> Self {
        Env(lookup)
    }

    /// The variable's value; an empty value counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// The number in `var`, or `default` if it is unset; a value that does not parse or is not
    /// `valid` is an error saying what was `expected`.
    pub fn number<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: T,
        valid: impl Fn(&T) -> bool,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .ok()
                .filter(|n| valid(n))
                .ok_or_else(|| ConfigError::invalid(var, &raw, expected)),
        }
    }
}

impl Config {
    /// Reads the shared settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads the shared settings from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let timeout = store_timeout(env)?;
        let store = match env.get(vars::USER_STORE).as_deref() {
            None | Some("memory") => StoreSettings::Memory {
                users_file: env.get(vars::USERS_FILE).map(PathBuf::from),
            },
            Some("dynamodb") => StoreSettings::DynamoDb {
                table: table_name(env)?,
                timeout,
            },
            Some(other) => {
                return Err(ConfigError::invalid(
                    vars::USER_STORE,
                    other,
                    "expected memory or dynamodb",
                ));
            }
        };
        Ok(Self {
            store,
            log: LogSettings::read(env)?,
            auth: AuthSettings::read(env)?,
        })
    }
}

/// `STORE_TIMEOUT_MS` (default 1000): the budget of one store call, retries included.
pub(crate) fn store_timeout<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Duration, ConfigError> {
    let ms = env.number(
        vars::STORE_TIMEOUT_MS,
        1000_u64,
        |ms| (1..=60_000).contains(ms),
        "expected a whole number of milliseconds from 1 to 60000",
    )?;
    Ok(Duration::from_millis(ms))
}

/// `USERS_TABLE` (default `Users`), checked against DynamoDB's table name rule so a typo fails at
/// start-up.
pub(crate) fn table_name<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<String, ConfigError> {
    let Some(table) = env.get(vars::USERS_TABLE) else {
        return Ok("Users".to_owned());
    };
    let valid = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(table)
    } else {
        Err(ConfigError::invalid(
            vars::USERS_TABLE,
            &table,
            "a DynamoDB table name is 3 to 255 characters from A-Z a-z 0-9 _ - .",
        ))
    }
}

impl LogSettings {
    /// Reads `LOG_FORMAT` and `RUST_LOG` (or the Lambda runtime's own settings) from `env`.
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
        Ok(Self { format, filter })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_fn(move |name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_means_the_embedded_sample_and_text_logs_at_info() {
        let config = Config::read(&env(&[])).unwrap();

        assert_eq!(config.store, StoreSettings::Memory { users_file: None });
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.filter, "info");
    }

    #[test]
    fn dynamodb_reads_table_and_timeout_with_defaults() {
        let defaults = Config::read(&env(&[("USER_STORE", "dynamodb")])).unwrap();
        let set = Config::read(&env(&[
            ("USER_STORE", "dynamodb"),
            ("USERS_TABLE", "Users-prod"),
            ("STORE_TIMEOUT_MS", "250"),
        ]))
        .unwrap();

        assert_eq!(
            defaults.store,
            StoreSettings::DynamoDb {
                table: "Users".into(),
                timeout: Duration::from_millis(1000)
            }
        );
        assert_eq!(
            set.store,
            StoreSettings::DynamoDb {
                table: "Users-prod".into(),
                timeout: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("USER_STORE", "redis")], "USER_STORE"),
            (&[("STORE_TIMEOUT_MS", "soon")], "STORE_TIMEOUT_MS"),
            (&[("STORE_TIMEOUT_MS", "0")], "STORE_TIMEOUT_MS"),
            (
                &[("USER_STORE", "dynamodb"), ("USERS_TABLE", "a b")],
                "USERS_TABLE",
            ),
            (&[("LOG_FORMAT", "xml")], "LOG_FORMAT"),
            (&[("RUST_LOG", "app=loud")], "RUST_LOG"),
        ];
        for (vars, var) in cases {
            let err = Config::read(&env(vars)).unwrap_err();
            assert_eq!(err.var(), *var, "{vars:?}");
            assert!(err.to_string().starts_with(var), "{err}");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }

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

        let from_lambda = Config::read(&lambda).unwrap().log;
        let from_ours = Config::read(&ours_win).unwrap().log;

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
