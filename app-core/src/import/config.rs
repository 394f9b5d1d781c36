//! The import's own setting (besides the store settings every binary reads).

use std::time::Duration;

use crate::config::{ConfigError, Env, vars};

/// Settings only the import front doors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportConfig {
    /// `IMPORT_DEADLINE_MARGIN_MS` (default 2000): on Lambda, the import stops at a batch boundary once
    /// less than this remains of the invocation, and reports where to go on.
    pub deadline_margin: Duration,
}

impl ImportConfig {
    /// Reads the import settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    /// Reads the import settings from `env`.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            deadline_margin: Duration::from_millis(env.number(
                vars::IMPORT_DEADLINE_MARGIN_MS,
                2_000,
                |ms| *ms <= 900_000,
                "expected a whole number of milliseconds from 0 to 900000",
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_defaults_to_two_seconds_and_a_bad_value_names_the_variable() {
        let unset = Env::from_fn(|_: &str| None);
        let set = Env::from_fn(|name: &str| {
            (name == "IMPORT_DEADLINE_MARGIN_MS").then(|| "500".to_owned())
        });
        let bad = Env::from_fn(|name: &str| {
            (name == "IMPORT_DEADLINE_MARGIN_MS").then(|| "2s".to_owned())
        });

        assert_eq!(
            ImportConfig::from(&unset).unwrap().deadline_margin,
            Duration::from_secs(2)
        );
        assert_eq!(
            ImportConfig::from(&set).unwrap().deadline_margin,
            Duration::from_millis(500)
        );
        assert_eq!(
            ImportConfig::from(&bad).unwrap_err().var(),
            "IMPORT_DEADLINE_MARGIN_MS"
        );
    }
}
