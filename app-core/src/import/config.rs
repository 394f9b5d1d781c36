//! The settings of the import front doors (`import-fn`, `import-job`).

use std::time::Duration;

use crate::config::{ConfigError, Env, vars};
use crate::store::{store_timeout, table_name};
use crate::telemetry::LogSettings;

/// Settings the import front doors read. The import always writes to DynamoDB (`USERS_TABLE`):
/// `USER_STORE` is not read, since rows written to an embedded store would end with the process.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportConfig {
    /// `USERS_TABLE` (default `Users`): where rows are written, with `BatchWriteItem`.
    pub table: String,
    /// `STORE_TIMEOUT_MS` (default 1000): the budget of one `BatchWriteItem`, its retries of
    /// `UnprocessedItems` included.
    pub store_timeout: Duration,
    /// `IMPORT_DEADLINE_MARGIN_MS` (default 2000): on Lambda, the import stops at a batch boundary once
    /// less than this remains of the invocation, and reports where to go on.
    pub deadline_margin: Duration,
    /// `LOG_FORMAT`, `RUST_LOG`.
    pub log: LogSettings,
}

impl ImportConfig {
    /// Reads the import settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads the import settings from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: table_name(env)?,
            store_timeout: store_timeout(env)?,
            deadline_margin: Duration::from_millis(env.number(
                vars::IMPORT_DEADLINE_MARGIN_MS,
                2_000,
                |ms| *ms <= 900_000,
                "expected a whole number of milliseconds from 0 to 900000",
            )?),
            log: LogSettings::read(env)?,
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
            ImportConfig::read(&unset).unwrap().deadline_margin,
            Duration::from_secs(2)
        );
        assert_eq!(
            ImportConfig::read(&set).unwrap().deadline_margin,
            Duration::from_millis(500)
        );
        assert_eq!(
            ImportConfig::read(&bad).unwrap_err().var(),
            "IMPORT_DEADLINE_MARGIN_MS"
        );
    }

    #[test]
    fn the_table_and_timeout_are_read_whatever_user_store_says() {
        let env = Env::from_fn(|name: &str| match name {
            "USERS_TABLE" => Some("Users-import".to_owned()),
            "STORE_TIMEOUT_MS" => Some("250".to_owned()),
            _ => None,
        });
        let bad_table =
            Env::from_fn(|name: &str| (name == "USERS_TABLE").then(|| "a b".to_owned()));

        let config = ImportConfig::read(&env).unwrap();

        assert_eq!(config.table, "Users-import");
        assert_eq!(config.store_timeout, Duration::from_millis(250));
        assert_eq!(
            ImportConfig::read(&bad_table).unwrap_err().var(),
            "USERS_TABLE"
        );
    }
}
