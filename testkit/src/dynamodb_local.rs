//! DynamoDB Local for the tests: installed on first use, started once per test process on a free port,
//! stopped when the process exits (however it exits).
//!
//! DynamoDB Local 1.25 ships in the npm package `amplify-dynamodb-simulator` as
//! `package/emulator/DynamoDBLocal.jar`; it needs Java 17+. A missing `java` or `npm` fails the test
//! with a message saying what to install: these tests never skip themselves.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use app_core::domain::User;
use app_core::store::dynamodb::{self, sdk_config_loader};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};

use crate::ports::{self, free_port};

/// The npm package (and version) that carries DynamoDB Local 1.25.
const PACKAGE: &str = "amplify-dynamodb-simulator@2.9.30";

/// The region the tests use (DynamoDB Local accepts any).
pub const REGION: &str = "us-east-1";

/// The access key id and secret the tests use (DynamoDB Local accepts any, but refuses unsigned requests).
pub const ACCESS_KEY: &str = "local";

/// Where DynamoDB Local keeps its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory: gone when the process stops (the default, and the fastest).
    InMemory,
    /// In a folder: tables survive a restart (the fault tests stop and restart the database).
    Dir(PathBuf),
}

/// A running DynamoDB Local.
pub struct DynamoDbLocal {
    endpoint: String,
    port: u16,
    storage: Storage,
    emulator: PathBuf,
    /// The shell that runs Java: it exits when Java does, and kills Java when this process's end of
    /// its stdin closes.
    process: Mutex<Option<(Child, ChildStdin)>>,
}

impl DynamoDbLocal {
    /// The instance this test process shares, started on first use.
    pub fn shared() -> &'static DynamoDbLocal {
        static SHARED: OnceLock<DynamoDbLocal> = OnceLock::new();
        SHARED.get_or_init(|| DynamoDbLocal::launch(free_port()))
    }

    /// Installs DynamoDB Local if needed and starts it on `port`; it stops when this value is dropped
    /// or this process exits.
    pub fn launch(port: u16) -> DynamoDbLocal {
        Self::launch_with(port, Storage::InMemory)
    }

    /// Like [`DynamoDbLocal::launch`], keeping tables in `storage`.
    pub fn launch_with(port: u16, storage: Storage) -> DynamoDbLocal {
        let local = DynamoDbLocal {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            storage,
            emulator: install(),
            process: Mutex::new(None),
        };
        local.start();
        local
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Starts Java (again) on this instance's port and waits until it accepts connections.
    ///
    /// Panics with Java's output if it exits, or does not listen within a minute.
    pub fn start(&self) {
        let mut process = self.lock();
        assert!(process.is_none(), "DynamoDB Local is already running");
        let lib = self.emulator.join("DynamoDBLocal_lib");
        let jar = self.emulator.join("DynamoDBLocal.jar");
        let log = std::fs::File::create(log_path(self.port))
            .expect("DynamoDB Local log file can be created");
        let storage: Vec<std::ffi::OsString> = match &self.storage {
            Storage::InMemory => vec!["-inMemory".into()],
            Storage::Dir(dir) => {
                std::fs::create_dir_all(dir).expect("DynamoDB Local data folder");
                vec!["-dbPath".into(), dir.into()]
            }
        };
        // The shell waits for Java, so it exits when Java does (a port taken, a broken install).
        // Its watcher's `read` returns when our end of the pipe closes (on `stop`, or when this
        // process exits) and then stops Java. The watcher reads the pipe through fd 3: a background
        // job's own stdin is /dev/null. Java's pid goes to a file so that `pause` and `resume` can
        // signal it.
        let script = r#"lib=$1 jar=$2 port=$3 pidfile=$4; shift 4
java -Djava.library.path="$lib" -jar "$jar" "$@" -sharedDb -disableTelemetry -port "$port" & pid=$!
echo "$pid" > "$pidfile"
exec 3<&0
(read _ <&3; kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null) &
wait "$pid""#;
        let mut child = Command::new("sh")
            .args(["-c", script, "sh"])
            .arg(&lib)
            .arg(&jar)
            .arg(self.port.to_string())
            .arg(pid_path(self.port))
            .args(storage)
            // DynamoDB Local writes a metadata file into its working folder: keep it out of the repo.
            .current_dir(&self.emulator)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            // Its own process group: a Ctrl-C would kill this shell but not Java (a background job
            // ignores SIGINT), leaving Java behind. Closing stdin stops both, also on a Ctrl-C.
            .process_group(0)
            .spawn()
            .expect("sh can be started");
        let stdin = child.stdin.take().expect("piped stdin");
        if let Err(problem) = wait_for_port(self.port, &mut child, Duration::from_secs(60)) {
            drop(stdin);
            let _ = child.wait();
            drop(process);
            let log = log_path(self.port);
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "DynamoDB Local {problem}; its output ({}):\n{}",
                log.display(),
                last_lines(&output, 30)
            );
        }
        *process = Some((child, stdin));
    }

    /// Stops Java and waits for it to exit (the fault tests use this to take the database away).
    pub fn stop(&self) {
        if let Some((mut child, stdin)) = self.lock().take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// The process slot, also after a panicking test thread held it (a drop must not panic again).
    fn lock(&self) -> MutexGuard<'_, Option<(Child, ChildStdin)>> {
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Freezes Java (SIGSTOP): connections are accepted but nothing answers, as with a hung database.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused Java run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let pid = std::fs::read_to_string(pid_path(self.port)).expect("DynamoDB Local pid file");
        run(Command::new("kill").arg(format!("-{name}")).arg(pid.trim()));
    }

    /// SDK settings for this instance: the service's own loader (timeouts, HTTP client) pointed here with
    /// fixed test credentials.
    pub async fn sdk_config(&self, timeout: Duration) -> SdkConfig {
        sdk_config_loader(timeout)
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY, ACCESS_KEY, None, None, "tests",
            ))
            .load()
            .await
    }

    /// A client for set-up and checks.
    pub async fn client(&self) -> Client {
        Client::new(&self.sdk_config(Duration::from_secs(10)).await)
    }

    /// Creates a table keyed by `id` (S) under a name no other test uses, and returns the name.
    pub async fn create_table(&self, prefix: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        dynamodb::create_table(&self.client().await, &name)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        name
    }

    /// Writes `users` into `table`.
    pub async fn put_users<'a>(&self, table: &str, users: impl IntoIterator<Item = &'a User>) {
        let client = self.client().await;
        for user in users {
            dynamodb::put_user(&client, table, user)
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where DynamoDB Local is installed: `$DYNAMODB_LOCAL_DIR`, else `target/dynamodb-local`.
fn install_dir() -> PathBuf {
    match std::env::var_os("DYNAMODB_LOCAL_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dynamodb-local"),
    }
}

/// Where an instance on `port` writes its output.
fn log_path(port: u16) -> PathBuf {
    install_dir().with_file_name(format!("dynamodb-local-{port}.log"))
}

/// Where an instance on `port` writes Java's pid.
fn pid_path(port: u16) -> PathBuf {
    install_dir().with_file_name(format!("dynamodb-local-{port}.pid"))
}

/// Makes sure the emulator is unpacked and returns its folder: once per process, however many test
/// threads ask at the same time.
fn install() -> PathBuf {
    static EMULATOR: OnceLock<PathBuf> = OnceLock::new();
    EMULATOR.get_or_init(install_once).clone()
}

fn install_once() -> PathBuf {
    require(
        "java",
        "-version",
        "Java 17 or newer (Debian: apt-get install -y openjdk-17-jre-headless)",
    );
    let dir = install_dir();
    let emulator = dir.join("package/emulator");
    if emulator.join("DynamoDBLocal.jar").is_file() {
        return emulator;
    }
    require("npm", "--version", "npm (Debian: apt-get install -y npm)");
    let staging = dir.with_extension(format!("staging-{}", std::process::id()));
    std::fs::create_dir_all(&staging).expect("staging folder");
    run(Command::new("npm")
        .args(["pack", PACKAGE, "--silent", "--pack-destination"])
        .arg(&staging)
        .current_dir(&staging));
    let tarball = std::fs::read_dir(&staging)
        .expect("staging folder")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .expect("npm pack wrote a .tgz");
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging));
    std::fs::remove_file(&tarball).ok();
    // Another test process may have finished first; either copy is complete.
    if std::fs::rename(&staging, &dir).is_err() {
        std::fs::remove_dir_all(&staging).ok();
    }
    assert!(
        emulator.join("DynamoDBLocal.jar").is_file(),
        "{PACKAGE} did not contain package/emulator/DynamoDBLocal.jar"
    );
    emulator
}

fn require(tool: &str, version_flag: &str, install_hint: &str) {
    let found = Command::new(tool)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "DynamoDB Local needs `{tool}`, which is not on PATH: install {install_hint}"
    );
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until something listens on `port`, or says why not: `shell` exited (Java did) or time ran out.
fn wait_for_port(port: u16, shell: &mut Child, limit: Duration) -> Result<(), String> {
    ports::wait_listening(port, limit, || match shell.try_wait() {
        Ok(Some(status)) => Err(format!("exited ({status}) before listening on port {port}")),
        _ => Ok(()),
    })
}

/// The last `count` lines of `text`.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
