//! A server process under measurement: logged to a file, waited for until it answers, read from
//! `/proc`, and ended (with its group) when dropped. [`K8sServer`]: the built `k8s-server` run so.

use std::ffi::OsStr;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::runtime::Runtime;

use crate::paths::target_dir;
use crate::ports::free_port;
use crate::process::Supervised;
use crate::procfs;

/// How long [`Served::wait_ready`] waits for the first 200.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A named child process with its output in a log file.
pub struct Served {
    name: String,
    log: PathBuf,
    child: Supervised,
    started: Instant,
}

impl Served {
    /// Starts `command` as `name`, its output appended to `log`.
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Result<Served> {
        let started = Instant::now();
        let child = Supervised::spawn_logged(command, log)
            .with_context(|| format!("cannot start {name} ({:?})", command.get_program()))?;
        Ok(Served {
            name: name.to_owned(),
            log: log.to_owned(),
            child,
            started,
        })
    }

    /// Its process id (`taskset` execs the program, so this is the program's).
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Fails, naming its log, if it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); see {}",
                self.name,
                self.log.display()
            );
        }
        Ok(())
    }

    /// Waits until `GET path` on `addr` answers 200 and returns the time from spawn to that answer.
    pub fn wait_ready(
        &mut self,
        runtime: &Runtime,
        addr: SocketAddr,
        path: &str,
    ) -> Result<Duration> {
        runtime.block_on(self.ready(addr, path))
    }

    /// [`Served::wait_ready`] on the caller's runtime.
    pub async fn ready(&mut self, addr: SocketAddr, path: &str) -> Result<Duration> {
        loop {
            let reply = crate::http::try_send(addr, "GET", path, &[]).await;
            if reply.is_ok_and(|reply| reply.status == 200) {
                return Ok(self.started.elapsed());
            }
            self.check_alive()?;
            if self.started.elapsed() > READY_LIMIT {
                bail!(
                    "{} did not answer GET {path} within {READY_LIMIT:?}",
                    self.name
                );
            }
            // A thread sleep, not a timer: tokio's millisecond timer would round start-up times up.
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Peak resident memory so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Result<f64> {
        let kib =
            procfs::peak_rss_kib(self.pid()).context("VmHWM missing from /proc/PID/status")?;
        Ok(kib as f64 / 1024.0)
    }

    /// CPU time it has used so far (user + system, every thread).
    pub fn cpu_time(&self) -> Result<Duration> {
        procfs::cpu_time(self.pid()).context("no /proc/PID/stat")
    }

    /// The part of [`Served::cpu_time`] spent in user space (its own code, not the kernel's).
    pub fn user_time(&self) -> Result<Duration> {
        procfs::user_time(self.pid()).context("no /proc/PID/stat")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill();
    }
}

/// The built `k8s-server` binary (`target/debug/k8s-server`) as a [`Served`] process, ready.
pub struct K8sServer {
    /// The process (ended when dropped).
    pub process: Served,
    /// Where it listens.
    pub addr: SocketAddr,
    /// From spawn to the first 200 on `GET /readyz`.
    pub ready_after: Duration,
}

impl K8sServer {
    /// Starts `target/debug/k8s-server` on a free port of 127.0.0.1 with only `envs` in its
    /// environment (plus `PORT`, and `METRICS_PORT=0` for an ephemeral metrics port), its output in
    /// `log`, and waits until `GET /readyz` answers 200.
    pub async fn start<K, V>(envs: &[(K, V)], log: &Path) -> Result<K8sServer>
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let binary = target_dir().join("debug/k8s-server");
        if !binary.is_file() {
            bail!(
                "{} is missing: `cargo build -p k8s-server` builds it",
                binary.display()
            );
        }
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(envs.iter().map(|(name, value)| (name, value)))
            .env("METRICS_PORT", "0")
            .env("PORT", port.to_string());
        let mut process = Served::spawn("k8s-server", &mut command, log)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let ready_after = process.ready(addr, "/readyz").await?;
        Ok(K8sServer {
            process,
            addr,
            ready_after,
        })
    }
}
