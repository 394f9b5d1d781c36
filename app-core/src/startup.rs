//! What every binary does before handing over to its runtime (read the configuration, install logging,
//! build the store and the service, or the importer), and how it reports a failure.
//!
//! The lookup binaries (`k8s-server`, `lambda-fn`) call [`init`]; the import binaries (`import-job`,
//! `import-fn`) call [`init_import`]. Each builds its AWS clients once per process.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::aws::{self, sdk_config_loader};

use crate::auth::{Access, AuthSettings};
use crate::config::{ConfigError, Env, vars};
use crate::http::AppState;
use crate::import::{ImportConfig, Importer};
use crate::objects::s3::S3ObjectStore;
use crate::service::UserService;
use crate::store::dynamodb::DynamoDbStore;
use crate::store::memory::MemoryStore;
use crate::store::{StoreSettings, UserRepository};
use crate::telemetry::{self, LogSettings};
use crate::transport::{self, Transport, UnreadableCaBundle};

/// Settings shared by both binaries.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Which store serves lookups, and its settings.
    pub store: StoreSettings,
    /// How logs are written.
    pub log: LogSettings,
    /// Who may call the API.
    pub auth: AuthSettings,
}

impl Config {
    /// Reads the shared settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::process())
    }

    /// Reads the shared settings from `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreSettings::read(env)?,
            log: LogSettings::read(env)?,
            auth: AuthSettings::read(env)?,
        })
    }
}

/// The budget of one S3 call of the import (`GetObject` up to the first byte of the body, `PutObject`
/// of a report), retries included. Longer than the DynamoDB default (`STORE_TIMEOUT_MS`, 1 s): S3's
/// time to first byte has a longer tail than a single-item write, and an import makes two such calls
/// per object, not one per request. Once the body streams, `import::READ_IDLE_TIMEOUT` bounds each
/// read.
pub const OBJECT_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the SDK settings with `timeout` as each call's budget, on `transport`; fails, naming
/// `AWS_REGION`, when no region is configured, since every call would fail later. `needed_by` says
/// who needs one.
async fn load_sdk_config(
    timeout: Duration,
    transport: &Transport,
    needed_by: &str,
) -> Result<SdkConfig, ConfigError> {
    let sdk_config = sdk_config_loader(timeout, transport.http_client())
        .load()
        .await;
    if sdk_config.region().is_none() {
        return Err(ConfigError::Missing {
            var: "AWS_REGION",
            reason: format!("{needed_by} needs a region (or a profile that sets one)"),
        });
    }
    Ok(sdk_config)
}

/// Builds the store `settings` describe and the service over it. Called once per process.
///
/// For DynamoDB this builds the one SDK client the process shares, on `transport`; it fails if no
/// region is configured, since every lookup would fail later.
pub async fn build_service(
    settings: &StoreSettings,
    transport: &Transport,
) -> Result<UserService, ConfigError> {
    let repo: Arc<dyn UserRepository> = match settings {
        StoreSettings::Memory { users_file: None } => {
            tracing::info!(
                store = "memory",
                source = "bundled sample",
                "user store ready"
            );
            Arc::new(MemoryStore::sample())
        }
        StoreSettings::Memory {
            users_file: Some(path),
        } => {
            let store = MemoryStore::from_file(path).map_err(|err| {
                ConfigError::invalid(
                    vars::USERS_FILE,
                    &path.display().to_string(),
                    err.to_string(),
                )
            })?;
            tracing::info!(store = "memory", source = %path.display(), users = store.users().count(), "user store ready");
            Arc::new(store)
        }
        StoreSettings::DynamoDb { table, timeout } => {
            let sdk_config = load_sdk_config(*timeout, transport, "USER_STORE=dynamodb").await?;
            tracing::info!(store = "dynamodb", table = %table, timeout_ms = timeout.as_millis() as u64, "user store ready");
            Arc::new(DynamoDbStore::from_sdk_config(&sdk_config, table.as_str()))
        }
    };
    Ok(UserService::new(repo))
}

/// Builds the importer `config` describes: rows to DynamoDB table `config.table` within
/// `STORE_TIMEOUT_MS` a batch, objects from and reports to S3 within [`OBJECT_STORE_TIMEOUT`] a call.
/// Endpoints, region and credentials come from the SDK's standard settings (`AWS_ENDPOINT_URL_S3`,
/// `AWS_ENDPOINT_URL_DYNAMODB`, ...); HTTPS is `transport`'s. Called once per process; fails if no
/// region is configured.
pub async fn build_importer(
    config: &ImportConfig,
    transport: &Transport,
) -> Result<Importer, ConfigError> {
    let sdk_config = load_sdk_config(config.store_timeout, transport, "the import").await?;
    tracing::info!(
        table = %config.table,
        store_timeout_ms = config.store_timeout.as_millis() as u64,
        object_store_timeout_ms = OBJECT_STORE_TIMEOUT.as_millis() as u64,
        "importer ready"
    );
    Ok(importer_from_sdk_config(&sdk_config, &config.table))
}

/// The importer on `sdk_config` (whose timeout is the DynamoDB budget): rows to `table`, objects on
/// S3 with [`OBJECT_STORE_TIMEOUT`]. What [`build_importer`] builds once the settings are loaded;
/// tests give it SDK settings pointed at an emulator.
pub fn importer_from_sdk_config(sdk_config: &SdkConfig, table: &str) -> Importer {
    let users = DynamoDbStore::from_sdk_config(sdk_config, table);
    let objects = S3ObjectStore::from_config(
        aws_sdk_s3::config::Builder::from(sdk_config)
            .timeout_config(aws::call_budget(OBJECT_STORE_TIMEOUT)),
    );
    Importer::new(Arc::new(users), Arc::new(objects))
}

/// Reads the import settings, installs logging (on stderr: `import-job`'s stdout is its report) and
/// builds the importer on the front door's `transport`: the first thing both import binaries do.
/// Returns the settings too (`import-fn` needs the deadline margin).
pub async fn init_import(transport: Transport) -> Result<(Importer, ImportConfig), StartupError> {
    let config = ImportConfig::from_env()?;
    check_ca_bundle_of_process()?;
    telemetry::init_on_stderr(&config.log, &transport);
    let importer = build_importer(&config, &transport).await?;
    Ok((importer, config))
}

/// [`transport::check_ca_bundle`] on this process's `SSL_CERT_FILE`.
fn check_ca_bundle_of_process() -> Result<(), ConfigError> {
    transport::check_ca_bundle(std::env::var_os(transport::SSL_CERT_FILE).as_deref())
        .map_err(ca_bundle_error)
}

/// An unreadable CA bundle as the configuration error naming `SSL_CERT_FILE`.
fn ca_bundle_error(err: UnreadableCaBundle) -> ConfigError {
    ConfigError::invalid(transport::SSL_CERT_FILE, &err.path, err.to_string())
}

/// Why a binary could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Bad configuration: the message names the variable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The runtime failed (the port is taken, the Lambda Runtime API is unreachable, ...).
    #[error("{0}")]
    Runtime(String),
}

impl StartupError {
    /// A runtime failure, described by `err`.
    pub fn runtime(err: impl std::fmt::Display) -> Self {
        Self::Runtime(err.to_string())
    }
}

/// Reads the shared configuration, installs logging and builds the service and its access rule (the
/// routes' state), on the front door's `transport` (the store's SDK client, the JWKS fetch): the first
/// thing both lookup binaries do.
pub async fn init(transport: Transport) -> Result<AppState, StartupError> {
    let (config, service) = init_service(&transport).await?;
    Ok(AppState::new(service, access(&config.auth, &transport)))
}

/// [`init`], and with `STORE_CONNECT_AT_INIT=true` the store's connection set up before the first
/// request ([`UserService::connect_store`]): what a Lambda function does during its init phase.
/// Init runs on the full CPU where invocations get the share of the function's memory, so the TLS
/// handshake is cheaper there; but connecting waits for one round trip to the store (a probe
/// `GetItem`) that the first request would otherwise share with its own lookup, and Lambda bills a
/// custom runtime's init. Measured with connections kept alive as DynamoDB keeps them, the round trip
/// cost the caller more than the handshake at the share saved, and it is billed: off by default
/// (docs/benchmarks.md, "Lambda as it runs on AWS", measures both settings).
pub async fn init_connected(transport: Transport) -> Result<AppState, StartupError> {
    let connect = connect_at_init(&Env::process())?;
    let (config, service) = init_service(&transport).await?;
    if connect {
        service.connect_store().await;
    }
    Ok(AppState::new(service, access(&config.auth, &transport)))
}

/// `STORE_CONNECT_AT_INIT`'s value when unset (the bench labels its rows by it).
pub const CONNECT_AT_INIT_DEFAULT: bool = false;

/// `STORE_CONNECT_AT_INIT` (default [`CONNECT_AT_INIT_DEFAULT`]): whether [`init_connected`]
/// connects to the store.
fn connect_at_init<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<bool, ConfigError> {
    env.flag(vars::STORE_CONNECT_AT_INIT, CONNECT_AT_INIT_DEFAULT)
}

/// The shared configuration read, logging installed and the service built.
async fn init_service(transport: &Transport) -> Result<(Config, UserService), StartupError> {
    let config = Config::from_env()?;
    check_ca_bundle_of_process()?;
    telemetry::init(&config.log, transport);
    let service = build_service(&config.store, transport).await?;
    Ok((config, service))
}

/// The access rule `settings` describe, said once in the log; keys come through `transport`. No key
/// is fetched here: the first request that needs one fetches the JWKS, so start-up (Lambda init)
/// stays fast.
pub fn access(settings: &AuthSettings, transport: &Transport) -> Access {
    match settings {
        AuthSettings::None => {
            tracing::warn!(
                auth = "none",
                "the API is unauthenticated: anyone who reaches it reads any user (set AUTH=jwt to require bearer tokens)"
            );
        }
        AuthSettings::Jwt(jwt) => {
            tracing::info!(auth = "jwt", issuer = %jwt.issuer, audience = %jwt.audience, jwks_url = %jwt.jwks_url, required_scope = %jwt.required_scope, "bearer tokens required");
        }
    }
    Access::new(settings, transport)
}

/// Ends a binary: exit code 0 on success; otherwise one line on stderr and exit code 78 (`EX_CONFIG`)
/// for bad configuration, 1 for anything else.
pub fn exit(program: &str, result: Result<(), StartupError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let line = err.to_string().replace('\n', " ");
            eprintln!("{program}: {line}");
            match err {
                StartupError::Config(_) => ExitCode::from(78),
                StartupError::Runtime(_) => ExitCode::FAILURE,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::auth::JwtSettings;
    use crate::config::from_pairs as env;
    use crate::telemetry::LogFormat;

    #[test]
    fn nothing_set_means_the_embedded_sample_and_text_logs_at_info() {
        let config = Config::read(&env(&[])).unwrap();

        assert_eq!(config.store, StoreSettings::Memory { users_file: None });
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.filter, "info");
    }

    #[test]
    fn the_store_connects_at_the_first_lookup_unless_told_to_connect_at_init() {
        assert!(!connect_at_init(&env(&[])).unwrap());
        assert!(connect_at_init(&env(&[("STORE_CONNECT_AT_INIT", "true")])).unwrap());
        assert!(!connect_at_init(&env(&[("STORE_CONNECT_AT_INIT", "false")])).unwrap());
        let err = connect_at_init(&env(&[("STORE_CONNECT_AT_INIT", "later")])).unwrap_err();
        assert_eq!(err.var(), "STORE_CONNECT_AT_INIT");
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
    fn an_unreadable_ca_bundle_is_a_configuration_error_naming_the_variable() {
        let missing =
            transport::check_ca_bundle(Some(std::ffi::OsStr::new("/nonexistent/ca-bundle.crt")))
                .map_err(ca_bundle_error)
                .unwrap_err();

        assert_eq!(missing.var(), transport::SSL_CERT_FILE);
        let line = missing.to_string();
        assert!(
            line.starts_with(
                "SSL_CERT_FILE=\"/nonexistent/ca-bundle.crt\" is invalid: the CA bundle cannot be read ("
            ),
            "{line}"
        );
    }

    /// The log lines `f` writes, as the binaries' text format writes them.
    fn logged(f: impl FnOnce()) -> Vec<String> {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Writer(writer.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_open_api_is_said_once_at_start_up_and_a_protected_one_is_not_called_open() {
        let open = logged(|| {
            assert!(matches!(
                access(&AuthSettings::None, &Transport::for_tests()),
                Access::Open
            ));
        });
        let jwt = logged(|| {
            let settings = AuthSettings::Jwt(JwtSettings {
                issuer: "https://idp.test/".into(),
                audience: "users-api".into(),
                jwks_url: "https://idp.test/jwks".parse().unwrap(),
                required_scope: "users:read".into(),
                jwks_refetch_interval: crate::auth::DEFAULT_JWKS_REFETCH_INTERVAL,
            });
            assert!(matches!(
                access(&settings, &Transport::for_tests()),
                Access::Bearer(_)
            ));
        });

        let says_open = |lines: &[String]| {
            lines
                .iter()
                .filter(|l| l.contains("the API is unauthenticated"))
                .count()
        };
        assert_eq!(says_open(&open), 1, "{open:?}");
        assert!(open[0].contains("WARN"), "{open:?}");
        assert_eq!(says_open(&jwt), 0, "{jwt:?}");
        assert!(
            jwt.iter().any(|l| l.contains("bearer tokens required")),
            "{jwt:?}"
        );
    }
}
