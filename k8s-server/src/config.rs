//! The settings only the server reads (the shared ones are `app_core::config::Config`).

use std::time::Duration;

use app_core::config::{ConfigError, Env, vars};

/// The listening port and the drain after SIGTERM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `PORT` (default 8080).
    pub port: u16,
    /// `SHUTDOWN_TIMEOUT_SECS` (default 20): how long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_DELAY_MS` (default 0): how long to keep accepting, with `/readyz` at 503, after SIGTERM.
    pub shutdown_delay: Duration,
}

impl ServerConfig {
    /// Reads the server settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads the server settings from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            port: env.number(
                vars::PORT,
                8080,
                |_| true,
                "expected a TCP port from 0 to 65535",
            )?,
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
        })
    }
}

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
    fn nothing_set_means_port_8080_and_a_20_s_drain_without_delay() {
        let server = read(&[]).unwrap();

        assert_eq!(server.port, 8080);
        assert_eq!(server.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(server.shutdown_delay, Duration::ZERO);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (vars, var) in [
            (&[("PORT", "eighty")], "PORT"),
            (&[("PORT", "70000")], "PORT"),
            (&[("SHUTDOWN_TIMEOUT_SECS", "-1")], "SHUTDOWN_TIMEOUT_SECS"),
            (&[("SHUTDOWN_DELAY_MS", "1.5")], "SHUTDOWN_DELAY_MS"),
        ] {
            let err = read(vars).unwrap_err();
            assert_eq!(err.var(), var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }
}
