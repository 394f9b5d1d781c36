//! moto server, the open-source AWS emulator (Apache-2.0) the tests, the demo, the bench and
//! `cargo xtask aws-local` run DynamoDB and S3 on: installed with pip into `target/ci-venv/moto` on first use
//! (once per process, and one process at a time), started as `moto_server -H 127.0.0.1 -p PORT`, and
//! stopped when the [`Moto`] value is dropped or this process exits, however it exits.
//!
//! A missing `python3` (or its `venv` module) fails with a message saying what to install: nothing
//! here skips itself.
//!
//! # Where moto differs from DynamoDB, and what the tests do about it
//!
//! - **Tables live in memory.** A moto that is killed and started again has no tables; DynamoDB
//!   keeps a table until it is deleted. The fault test reseeds the table after restarting moto, and
//!   allows the `500 INTERNAL` that a missing table gets (see below), and the `404` of a table that
//!   exists but is not filled yet, only in the moment between moto listening again and its table
//!   being back: artefacts of the emulator, never of the service.
//! - **Tables are per region** (and account), as in DynamoDB: everything here uses [`REGION`].
//! - **Any credentials work and signatures are not checked**; DynamoDB rejects both. Nothing here
//!   depends on a refusal.
//! - **CreateTable is ACTIVE at once**; DynamoDB answers `CREATING` and becomes `ACTIVE` later, so
//!   [`crate::seed::seed`] waits for `ACTIVE` (a no-op here).
//! - **A missing table** is `ResourceNotFoundException` (HTTP 400), as the DynamoDB API reference
//!   documents for GetItem; the store sorts it as a failure (500), not an outage (503).
//! - **Speed**: a few milliseconds per GetItem (about 3 ms from boto3 on these machines), and about
//!   2 s to start. The bench's absolute DynamoDB figures are bounded by the emulator; the comparison
//!   with a raw GetItem loop on the same emulator is what it measures.
//! - **Every connection is closed** after one answer (`Connection: close`, werkzeug's server, over
//!   HTTP and HTTPS alike); DynamoDB keeps a connection open for the next call. Where that matters
//!   (a connection opened during a Lambda init, the handshake of a first call against later ones),
//!   [`crate::keepalive_front::KeepAliveFront`] keeps the client's connection open in front of moto.
//! - **S3** answers a missing key with `NoSuchKey` (404) as S3 does for a caller allowed to list the
//!   bucket (without `s3:ListBucket`, S3 answers 403: the SAM template grants it for that reason).
//!   Buckets are addressed path-style because the endpoint is an IP address ([`Moto::endpoint`]).
//! - **Throttling and 5xx** never happen on moto: those cases are unit tests in `app-core` with the
//!   SDK's canned-response client.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use app_core::aws::sdk_config_loader;
use app_core::domain::User;
use app_core::store::memory::MemoryStore;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_s3::Client as S3Client;
use aws_sdk_s3::primitives::ByteStream;

use crate::paths::target_dir;
use crate::ports::{self, free_port};
use crate::process::{self, Signal, Supervised};
use crate::python;
use crate::seed::{self, IfMissing};

/// The one region everything uses (moto keeps tables per region, as DynamoDB does).
pub const REGION: &str = "us-east-1";

/// The access key id and secret (moto accepts any).
pub const ACCESS_KEY: &str = "testing";

/// How long moto may take to listen (about 2 s on an idle machine).
const START_LIMIT: Duration = Duration::from_secs(60);

/// Why moto could not be installed or started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// pip could not install it (or Python 3 with `venv` is missing).
    #[error("cannot install moto from tools/python/moto.txt: {0:#}")]
    Install(anyhow::Error),
    /// It did not start listening.
    #[error("moto_server on 127.0.0.1:{port} {problem}; its output ({log}):\n{output}")]
    Start {
        /// The port it was asked to listen on.
        port: u16,
        /// What went wrong.
        problem: String,
        /// Where its output is.
        log: String,
        /// The end of its output.
        output: String,
    },
    /// Creating or seeding a table failed.
    #[error("{0}")]
    Store(#[from] app_core::store::StoreError),
}

/// A running moto server on `127.0.0.1`.
pub struct Moto {
    port: u16,
    endpoint: String,
    program: PathBuf,
    process: Mutex<Option<Supervised>>,
    /// The CA, certificate and key it serves HTTPS with, if it does.
    tls: Option<[PathBuf; 3]>,
}

/// A certificate authority made for one run and a leaf certificate for `127.0.0.1` it signed (RSA
/// 2048, as DynamoDB's endpoints present), in a folder removed on drop. Trust [`RunCa::ca`] with
/// `SSL_CERT_FILE` (the workspace's binaries) or `NODE_EXTRA_CA_CERTS` (Node.js).
pub struct RunCa {
    dir: tempfile::TempDir,
}

impl RunCa {
    /// Makes one with the `cryptography` package of moto's environment.
    pub fn create() -> Result<RunCa, MotoError> {
        let program = install()?;
        let python = program.with_file_name("python");
        let dir = tempfile::Builder::new()
            .prefix("run-ca-")
            .tempdir()
            .map_err(|err| MotoError::Install(err.into()))?;
        let output = Command::new(&python)
            .arg("-c")
            .arg(include_str!("moto-tls.py"))
            .arg(dir.path())
            .output()
            .map_err(|err| MotoError::Install(err.into()))?;
        if !output.status.success() {
            return Err(MotoError::Install(anyhow::anyhow!(
                "{} could not make the certificates: {}",
                python.display(),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(RunCa { dir })
    }

    /// The CA's certificate (PEM): the one root to trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The leaf certificate for `127.0.0.1` and its key (PEM).
    pub fn leaf(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("cert.pem"),
            self.dir.path().join("key.pem"),
        )
    }
}

impl Moto {
    /// The instance this process shares (one per test binary), started on a free port on first use.
    ///
    /// Panics, saying why, if moto cannot be installed or started.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::launch(free_port()).unwrap_or_else(|err| panic!("{err}")))
    }

    /// Installs moto if needed and starts it on `port` (0: a free port); it stops when this value is
    /// dropped or this process exits.
    pub fn launch(port: u16) -> Result<Moto, MotoError> {
        Self::launch_with(port, None)
    }

    /// [`Moto::launch`] serving HTTPS (`https://127.0.0.1:PORT`) with `ca`'s leaf certificate, as
    /// AWS's endpoints are reached: a client pays a real handshake and trusts only what it is told.
    pub fn launch_tls(port: u16, ca: &RunCa) -> Result<Moto, MotoError> {
        Self::launch_with(port, Some([ca.ca(), ca.leaf().0, ca.leaf().1]))
    }

    /// Starts moto on `port` (0: a free port), over HTTPS when `tls` (CA, certificate, key) is given.
    fn launch_with(port: u16, tls: Option<[PathBuf; 3]>) -> Result<Moto, MotoError> {
        let port = if port == 0 { free_port() } else { port };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let moto = Moto {
            port,
            endpoint: format!("{scheme}://127.0.0.1:{port}"),
            program: install()?,
            process: Mutex::new(None),
            tls,
        };
        moto.start()?;
        Ok(moto)
    }

    /// `http://127.0.0.1:PORT` (`https://` from [`Moto::launch_tls`]; an IP address, not `localhost`:
    /// the S3 client then uses path-style addressing).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts moto (again) on this instance's port, with no tables, and waits until it listens.
    pub fn start(&self) -> Result<(), MotoError> {
        let mut process = self.lock();
        assert!(process.is_none(), "moto is already running");
        let log = log_path(self.port);
        let start_error = |problem: String| MotoError::Start {
            port: self.port,
            problem,
            log: log.display().to_string(),
            output: process::log_tail(&log, 30),
        };
        let mut command = Command::new(&self.program);
        command.args(["-H", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some([_, cert, key]) = &self.tls {
            command.arg("-c").arg(cert).arg("-k").arg(key);
        }
        let mut server = Supervised::spawn_logged(&mut command, &log)
            .map_err(|err| start_error(format!("could not be started: {err}")))?;
        let listening = ports::wait_listening(self.port, START_LIMIT, || match server.try_wait() {
            Ok(Some(status)) => Err(format!("exited ({status}) before listening")),
            _ => Ok(()),
        });
        if let Err(problem) = listening {
            server.kill();
            return Err(start_error(problem));
        }
        *process = Some(server);
        Ok(())
    }

    /// Kills moto (SIGKILL) and waits for it to be gone: the store is down, and its tables with it.
    pub fn kill(&self) {
        if let Some(mut process) = self.lock().take() {
            process.kill();
        }
    }

    /// Freezes moto (SIGSTOP): connections are accepted but nothing answers, as with a hung store.
    pub fn pause(&self) {
        self.signal(Signal::STOP);
    }

    /// Lets a paused moto run again (SIGCONT).
    pub fn resume(&self) {
        self.signal(Signal::CONT);
    }

    fn signal(&self, signal: Signal) {
        self.lock()
            .as_ref()
            .expect("moto is running")
            .signal(signal);
    }

    /// The process slot, also after a panicking test thread held it (a drop must not panic again).
    fn lock(&self) -> MutexGuard<'_, Option<Supervised>> {
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// SDK settings for this instance: the service's own loader (timeouts, HTTP client) pointed here,
    /// in [`REGION`], with fixed credentials.
    /// Over HTTPS, the client trusts the run's CA alone.
    pub async fn sdk_config(&self, timeout: Duration) -> SdkConfig {
        let ca = self.tls.as_ref().map(|[ca, ..]| ca.as_path());
        sdk_config_at(&self.endpoint, ca, timeout).await
    }

    /// The settings that point the service (either target) at this instance's `table`.
    pub fn service_env(&self, table: &str) -> Vec<(&'static str, String)> {
        service_env_at(&self.endpoint, table)
    }

    /// The settings that point the import binaries (`import-job`, `import-fn`) at this instance: rows to
    /// `table`, objects on its S3.
    pub fn import_env(&self, table: &str) -> Vec<(&'static str, String)> {
        let mut env = self.service_env(table);
        env.retain(|(name, _)| *name != "USER_STORE");
        env.push(("AWS_ENDPOINT_URL_S3", self.endpoint.clone()));
        env
    }

    /// An S3 client for set-up and checks.
    pub async fn s3(&self) -> S3Client {
        S3Client::new(&self.sdk_config(Duration::from_secs(10)).await)
    }

    /// Creates a bucket under a name no other test uses (`PREFIX-PID-N`, lower case), and returns
    /// the name. Panics if it cannot.
    pub async fn create_bucket(&self, prefix: &str) -> String {
        let name = unique_name(prefix).to_ascii_lowercase();
        self.s3()
            .await
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|err| panic!("CreateBucket {name}: {}", DisplayErrorContext(err)));
        name
    }

    /// Writes `body` as object `key` of `bucket`. Panics if it cannot.
    pub async fn put_object(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.s3()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.into()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("PutObject {bucket}/{key}: {}", DisplayErrorContext(err)));
    }

    /// Object `key` of `bucket`, or `None` if there is none. Panics on any other error.
    pub async fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let got = self
            .s3()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        match got {
            Ok(output) => Some(
                output
                    .body
                    .collect()
                    .await
                    .expect("the object's body")
                    .to_vec(),
            ),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => panic!("GetObject {bucket}/{key}: {}", DisplayErrorContext(err)),
        }
    }

    /// The keys of `bucket` under `prefix`, sorted. Panics if it cannot list them.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listed = self
            .s3()
            .await
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap_or_else(|err| panic!("ListObjectsV2 {bucket}: {}", DisplayErrorContext(err)));
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    /// Every item of `table` as `name=value` text per attribute, sorted: for comparing tables.
    /// Panics if it cannot scan.
    pub async fn items(&self, table: &str) -> Vec<String> {
        let client = self.client().await;
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|err| panic!("Scan {table}: {}", DisplayErrorContext(err)));
            for item in page.items() {
                let mut fields: Vec<String> = item
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect();
                fields.sort();
                items.push(fields.join(" "));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        items.sort();
        items
    }

    /// A client for set-up and checks.
    pub async fn client(&self) -> Client {
        Client::new(&self.sdk_config(Duration::from_secs(10)).await)
    }

    /// Creates `table` (if missing) and writes the sample users into it.
    pub async fn seed_sample(&self, table: &str) -> Result<(), MotoError> {
        let sample = MemoryStore::sample();
        seed::seed(
            &self.client().await,
            table,
            IfMissing::Create,
            sample.users(),
        )
        .await?;
        Ok(())
    }

    /// Creates an empty table under a name no other test uses (`PREFIX-PID-N`), and returns the name.
    ///
    /// Panics if it cannot.
    pub async fn create_table(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let none: [&User; 0] = [];
        seed::seed(&self.client().await, &name, IfMissing::Create, none)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        name
    }

    /// A table of its own holding the sample users, for one test. Panics if it cannot.
    pub async fn sample_table(&self, prefix: &str) -> String {
        let table = self.create_table(prefix).await;
        self.seed_sample(&table)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        table
    }
}

/// SDK settings for moto reached at `endpoint` (itself or a front of it): the service's own loader
/// (timeouts, HTTP client), in [`REGION`], with fixed credentials; over HTTPS trusting `ca` alone.
pub async fn sdk_config_at(endpoint: &str, ca: Option<&Path>, timeout: Duration) -> SdkConfig {
    let http_client = match ca {
        Some(ca) => crate::https::http_client_trusting(ca)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", ca.display())),
        None => crate::https::http_client(),
    };
    sdk_config_loader(timeout, http_client)
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, ACCESS_KEY, None, None, "testkit",
        ))
        .load()
        .await
}

/// The settings that point the service (either target) at `table` of moto reached at `endpoint`.
pub fn service_env_at(endpoint: &str, table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("USER_STORE", "dynamodb".into()),
        ("USERS_TABLE", table.into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY.into()),
    ]
}

/// `PREFIX-PID-N`: a name no other test of this or another process uses.
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where moto is installed, and its `moto_server`: once per process, however many test threads ask
/// at the same time (and one process at a time: see [`python::ensure_tool`]).
pub fn install() -> Result<PathBuf, MotoError> {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    if let Some(program) = PROGRAM.get() {
        return Ok(program.clone());
    }
    let program = python::ensure_tool("moto", "moto_server").map_err(MotoError::Install)?;
    Ok(PROGRAM.get_or_init(|| program).clone())
}

/// Where an instance on `port` writes its output.
fn log_path(port: u16) -> PathBuf {
    let dir = target_dir().join("moto");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("moto-{port}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn moto_over_tls_is_reached_with_the_run_ca_and_refused_without_it() {
        // GIVEN moto serving HTTPS with a certificate of a CA made for this run
        let ca = RunCa::create().unwrap_or_else(|err| panic!("{err}"));
        let moto = Moto::launch_tls(0, &ca).unwrap_or_else(|err| panic!("{err}"));
        assert!(moto.endpoint().starts_with("https://127.0.0.1:"));

        // WHEN a client trusting that CA alone makes a table, and one trusting the system's roots
        // reads it
        let table = moto.sample_table("tls").await;
        // One attempt, with time to spare: a refused handshake is reported at once, where the
        // SDK's retries of it (with backoff) could outlast a short timeout on a busy machine and
        // hide the reason behind "timed out".
        let untrusting = sdk_config_loader(Duration::from_secs(30), crate::https::http_client())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .endpoint_url(moto.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY, ACCESS_KEY, None, None, "testkit",
            ))
            .load()
            .await;
        let refused = Client::new(&untrusting)
            .describe_table()
            .table_name(&table)
            .send()
            .await;

        // THEN the first works (over TLS) and the second fails the handshake
        assert_eq!(moto.items(&table).await.len(), 3);
        let error = format!("{}", DisplayErrorContext(refused.unwrap_err()));
        assert!(
            error.contains("certificate") || error.contains("UnknownIssuer"),
            "{error}"
        );
    }
}
