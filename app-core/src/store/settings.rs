//! The settings of the user store: `USER_STORE` and the store's own (`USERS_FILE`, `USERS_TABLE`,
//! `STORE_TIMEOUT_MS`).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigError, Env, vars};

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

impl StoreSettings {
    /// Reads `USER_STORE` and the settings of the store it picks from `env`.
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
        Ok(store)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_pairs as env;

    #[test]
    fn dynamodb_reads_table_and_timeout_with_defaults() {
        let defaults = StoreSettings::read(&env(&[("USER_STORE", "dynamodb")])).unwrap();
        let set = StoreSettings::read(&env(&[
            ("USER_STORE", "dynamodb"),
            ("USERS_TABLE", "Users-prod"),
            ("STORE_TIMEOUT_MS", "250"),
        ]))
        .unwrap();

        assert_eq!(
            defaults,
            StoreSettings::DynamoDb {
                table: "Users".into(),
                timeout: Duration::from_millis(1000)
            }
        );
        assert_eq!(
            set,
            StoreSettings::DynamoDb {
                table: "Users-prod".into(),
                timeout: Duration::from_millis(250)
            }
        );
    }
}
