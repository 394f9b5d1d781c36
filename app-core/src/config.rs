//! Configuration: read from the environment once, at start-up, and checked before anything runs.
//!
//! Every problem becomes a [`ConfigError`] whose one-line message names the variable; the binaries print
//! it and exit non-zero. Nothing here reads the environment after start-up or writes to it.

use thiserror::Error;

/// The names of every variable app-core reads for the binaries (besides the AWS SDK's own standard
/// settings such as `AWS_REGION` and `AWS_ENDPOINT_URL_DYNAMODB`, which the SDK reads). A front door
/// that reads its own settings lists them itself (`k8s_server::vars`); the deploy drift test checks
/// the manifests against the union.
pub mod vars {
    /// `memory` (default) or `dynamodb`.
    pub const USER_STORE: &str = "USER_STORE";
    /// A JSON users file for the embedded store.
    pub const USERS_FILE: &str = "USERS_FILE";
    /// The DynamoDB table (default `Users`).
    pub const USERS_TABLE: &str = "USERS_TABLE";
    /// The budget of one lookup in milliseconds (default 1000).
    pub const STORE_TIMEOUT_MS: &str = "STORE_TIMEOUT_MS";
    /// `lambda-fn` only: `true` sets up the store's connection during init, `false` (default) at the
    /// first lookup.
    pub const STORE_CONNECT_AT_INIT: &str = "STORE_CONNECT_AT_INIT";
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
    /// Import on Lambda only: stop at a batch boundary when less than this many milliseconds of the
    /// invocation remain (default 2000).
    pub const IMPORT_DEADLINE_MARGIN_MS: &str = "IMPORT_DEADLINE_MARGIN_MS";

    /// Traces: the collector's base URL (`http://127.0.0.1:4318`); spans go to `<base>/v1/traces`. Unset:
    /// no export, and nothing of OpenTelemetry is built.
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// Only `http/protobuf` (the default) is supported.
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// Extra request headers, `key1=value1,key2=value2` (values percent-decoded).
    pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// The `service.name` resource attribute.
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Further resource attributes, `key1=value1,key2=value2`.
    pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    /// `always_on`, `always_off`, `traceidratio`, `parentbased_always_on` (the default),
    /// `parentbased_always_off`, `parentbased_traceidratio`.
    pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
    /// The ratio of the `*traceidratio` samplers, 0 to 1 (default 1).
    pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

    /// The trace export's variables (the OpenTelemetry standard ones), read by every binary.
    pub const OTEL: &[&str] = &[
        OTEL_EXPORTER_OTLP_ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL,
        OTEL_EXPORTER_OTLP_HEADERS,
        OTEL_SERVICE_NAME,
        OTEL_RESOURCE_ATTRIBUTES,
        OTEL_TRACES_SAMPLER,
        OTEL_TRACES_SAMPLER_ARG,
    ];

    /// The variables the import binaries (`import-fn`, `import-job`) read.
    pub const IMPORT: &[&str] = &with_otel::<{ IMPORT_OWN.len() + OTEL.len() }>(IMPORT_OWN);

    /// The import binaries' variables other than [`OTEL`].
    const IMPORT_OWN: &[&str] = &[
        USERS_TABLE,
        STORE_TIMEOUT_MS,
        LOG_FORMAT,
        RUST_LOG,
        AWS_LAMBDA_LOG_FORMAT,
        AWS_LAMBDA_LOG_LEVEL,
        IMPORT_DEADLINE_MARGIN_MS,
    ];

    /// Every variable above.
    pub const ALL: &[&str] = &with_otel::<{ ALL_OWN.len() + OTEL.len() }>(ALL_OWN);

    /// Every variable above but [`OTEL`].
    const ALL_OWN: &[&str] = &[
        USER_STORE,
        USERS_FILE,
        USERS_TABLE,
        STORE_TIMEOUT_MS,
        STORE_CONNECT_AT_INIT,
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
        IMPORT_DEADLINE_MARGIN_MS,
    ];

    /// `own` followed by [`OTEL`]: how a list includes the trace export's variables without
    /// writing them again. `N` is the sum of the two lengths (checked at compile time).
    const fn with_otel<const N: usize>(own: &[&'static str]) -> [&'static str; N] {
        assert!(
            own.len() + OTEL.len() == N,
            "N must be the two lists' length"
        );
        let mut all = [""; N];
        let mut i = 0;
        while i < own.len() {
            all[i] = own[i];
            i += 1;
        }
        while i < N {
            all[i] = OTEL[i - own.len()];
            i += 1;
        }
        all
    }
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

    /// `true` or `false` in `var`, or `default` if it is unset; any other value is an error.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ConfigError::invalid(var, other, "expected true or false")),
        }
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

/// The variables `vars` (name, value), for tests.
#[cfg(test)]
pub(crate) fn from_pairs(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
    let map: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Env::from_fn(move |name| map.get(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::vars;

    #[test]
    fn the_import_and_all_lists_hold_the_otel_variables_once_each() {
        for list in [vars::IMPORT, vars::ALL] {
            assert!(list.ends_with(vars::OTEL), "{list:?}");
            for var in list {
                assert_eq!(list.iter().filter(|v| *v == var).count(), 1, "{var}");
            }
        }
        assert!(vars::IMPORT.iter().all(|var| vars::ALL.contains(var)));
    }
}
