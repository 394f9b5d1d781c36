//! The settings only the server reads (the shared ones are `app_core::startup::Config`).

use std::time::Duration;

use app_core::config::{ConfigError, Env};

/// The variables only the server reads; app-core lists the shared ones (`app_core::config::vars`).
pub mod vars {
    /// The TCP port (default 8080).
    pub const PORT: &str = "PORT";
    /// The TCP port of `/metrics` (default 9090), which the Service does not expose.
    pub const METRICS_PORT: &str = "METRICS_PORT";
    /// The drain deadline after SIGTERM in seconds (default 20).
    pub const SHUTDOWN_TIMEOUT_SECS: &str = "SHUTDOWN_TIMEOUT_SECS";
    /// How long to keep serving, with `/readyz` at 503, before the listener closes (default 0: on
    /// Kubernetes the pod's preStop sleep does this job).
    pub const SHUTDOWN_DELAY_MS: &str = "SHUTDOWN_DELAY_MS";
    /// The most API connections open at once (default 1024, from the deployment's 64 MiB memory
    /// limit); more wait in the kernel's queue.
    pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";

    /// Every variable above.
    pub const ALL: &[&str] = &[
        PORT,
        METRICS_PORT,
        SHUTDOWN_TIMEOUT_SECS,
        SHUTDOWN_DELAY_MS,
        MAX_CONNECTIONS,
    ];
}

/// The listening ports, the connection cap and the drain after SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `PORT` (default 8080): the API, the probes and `/openapi.json`; 0 picks a free port.
    pub port: u16,
    /// `METRICS_PORT` (default 9090): `/metrics` only, on a port the Service does not expose; 0 picks a
    /// free port. Never the same as a non-zero `PORT`.
    pub metrics_port: u16,
    /// `SHUTDOWN_TIMEOUT_SECS` (default 20): how long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_DELAY_MS` (default 0): how long to keep accepting, with `/readyz` at 503, after SIGTERM.
    pub shutdown_delay: Duration,
    /// `MAX_CONNECTIONS` (default [`DEFAULT_MAX_CONNECTIONS`]): the most API connections open at
    /// once; while that many are open, new ones wait in the kernel's queue.
    pub max_connections: usize,
}

/// The default of `MAX_CONNECTIONS`, for the deployment's 64 MiB memory limit: the process and its
/// requests in flight take up to ~16 MiB, and a connection holding an almost complete request head
/// (15 KiB of the 16 KiB allowed) costs ~24 KiB (measured: 2,000 such connections added 46 MiB of
/// RSS). (64 − 16) MiB / 24 KiB is ~2,000 connections; half of that, because at shutdown the
/// connections the kernel has queued (up to 1,024, the listen backlog) are served too. Connections
/// that send nothing cost ~11 KiB each. `deploy/k8s/base/deployment.yaml` carries the same sum.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl ServerConfig {
    /// Reads the server settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads the server settings from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let port = env.number(vars::PORT, 8080, |_| true, EXPECTED_PORT)?;
        let metrics_port: u16 = env.number(vars::METRICS_PORT, 9090, |_| true, EXPECTED_PORT)?;
        if port != 0 && metrics_port == port {
            return Err(ConfigError::Invalid {
                var: vars::METRICS_PORT,
                value: metrics_port.to_string(),
                reason: format!("expected a port other than {}={port}", vars::PORT),
            });
        }
        Ok(Self {
            port,
            metrics_port,
            shutdown_timeout: Duration::from_secs(env.number(
                vars::SHUTDOWN_TIMEOUT_SECS,
                20,
                |s| (1..=3600).contains(s),
                "expected a whole number of seconds from 1 to 3600",
            )?),
            shutdown_delay: Duration::from_millis(env.number(
                vars::SHUTDOWN_DELAY_MS,
                0,
                |ms| *ms <= 60_000,
                "expected a whole number of milliseconds from 0 to 60000",
            )?),
            max_connections: env.number(
                vars::MAX_CONNECTIONS,
                DEFAULT_MAX_CONNECTIONS,
                |n| (1..=1_000_000).contains(n),
                "expected a whole number of connections from 1 to 1000000",
            )?,
        })
    }
}

/// What a port variable accepts.
const EXPECTED_PORT: &str = "expected a TCP port from 0 to 65535";

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &'static [(&'static str, &'static str)]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::read(&Env::from_fn(|name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.to_string())
        }))
    }

    #[test]
    fn nothing_set_means_port_8080_metrics_on_9090_a_20_s_drain_without_delay_and_1024_connections()
    {
        let server = read(&[]).unwrap();

        assert_eq!(server.port, 8080);
        assert_eq!(server.metrics_port, 9090);
        assert_eq!(server.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(server.shutdown_delay, Duration::ZERO);
        assert_eq!(server.max_connections, 1024);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (vars, var) in [
            (&[("PORT", "eighty")], "PORT"),
            (&[("PORT", "70000")], "PORT"),
            (&[("METRICS_PORT", "metrics")], "METRICS_PORT"),
            (&[("METRICS_PORT", "-1")], "METRICS_PORT"),
            // PORT is 8080 when unset.
            (&[("METRICS_PORT", "8080")], "METRICS_PORT"),
            (&[("SHUTDOWN_TIMEOUT_SECS", "-1")], "SHUTDOWN_TIMEOUT_SECS"),
            (&[("SHUTDOWN_DELAY_MS", "1.5")], "SHUTDOWN_DELAY_MS"),
            (&[("MAX_CONNECTIONS", "0")], "MAX_CONNECTIONS"),
            (&[("MAX_CONNECTIONS", "lots")], "MAX_CONNECTIONS"),
        ] {
            let err = read(vars).unwrap_err();
            assert_eq!(err.var(), var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn both_ports_may_be_ephemeral_but_not_the_same_fixed_port() {
        let both_free = read(&[("PORT", "0"), ("METRICS_PORT", "0")]).unwrap();
        let moved = read(&[("PORT", "9090"), ("METRICS_PORT", "9091")]).unwrap();
        let clash = read(&[("PORT", "9091"), ("METRICS_PORT", "9091")]).unwrap_err();

        assert_eq!((both_free.port, both_free.metrics_port), (0, 0));
        assert_eq!((moved.port, moved.metrics_port), (9090, 9091));
        assert_eq!(
            clash.to_string(),
            r#"METRICS_PORT="9091" is invalid: expected a port other than PORT=9091"#
        );
    }
}
