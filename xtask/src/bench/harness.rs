//! Where processes under measurement run (pinned to a core) and log (`target/bench/logs`), the
//! artifact sizes, what the machine is, and the few statistics the bench needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
pub use testkit::ports::free_port;
use testkit::procfs;

use crate::steps::target_dir;

/// Where the bench keeps what it installs and writes (`target/bench`).
pub fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

/// `target/bench/logs/NAME.log`, where the output of the process `name` goes (the directory is made).
pub fn log_file(name: &str) -> Result<PathBuf> {
    let logs = bench_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    Ok(logs.join(format!("{name}.log")))
}

/// Which core the process under test gets, and which one the load generator (and everything else the
/// bench starts: moto, the Runtime API) gets.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Cores {
    /// The server, the Lambda function, the raw `GetItem` loop.
    pub server: usize,
    /// wrk, moto, this process.
    pub load: usize,
    /// Whether pinning is on (a machine with one core cannot separate them).
    pub pinned: bool,
}

impl Cores {
    /// Cores 0 and 1 when the machine has two or more, no pinning otherwise.
    pub fn detect() -> Cores {
        let count = std::thread::available_parallelism().map_or(1, usize::from);
        Cores {
            server: 0,
            load: 1,
            pinned: count >= 2,
        }
    }

    /// `program` run on `core` (through `taskset`), with this process's environment.
    pub fn pinned(&self, core: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        if self.pinned {
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(core.to_string()).arg(program);
            taskset
        } else {
            Command::new(program)
        }
    }

    /// `program` run on `core`, with an empty environment but `PATH`: what it is told is all in the
    /// bench's code.
    pub fn command(&self, core: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = self.pinned(core, program);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
    }

    /// Moves every thread of this process (and so what it starts from now on) to the load core.
    pub fn pin_self_to_load(&self) -> Result<()> {
        if !self.pinned {
            return Ok(());
        }
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", &self.load.to_string()])
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .status()
            .context("taskset (util-linux) is needed to pin processes to cores")?;
        if !status.success() {
            bail!("taskset could not pin this process to core {}", self.load);
        }
        Ok(())
    }
}

/// The processes the bench starts, each logged to [`log_file`].
pub use testkit::served::Served as Proc;

/// Starts `command` as `name`, with its output in `target/bench/logs/NAME.log`.
pub fn spawn(name: &str, command: &mut Command) -> Result<Proc> {
    Proc::spawn(name, command, &log_file(name)?)
}

/// CPU time of the children this process has waited for (user + system): how much the load generator
/// used, read before and after a run.
pub fn children_cpu_time() -> Result<Duration> {
    procfs::children_cpu_time().context("no /proc/self/stat")
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The `p`-quantile (0..=1) of `values`, nearest rank; 0 when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 * p).ceil() as usize).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// The size of a file in bytes.
pub fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("{} is missing", path.display()))?
        .len())
}

/// The bytes of the unwind tables in the ELF file at `path` (`.eh_frame`, `.eh_frame_hdr`,
/// `.gcc_except_table`): what unwinding panics cost a stripped binary, besides its landing pads.
pub fn unwind_table_bytes(path: &Path) -> Result<u64> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(path).with_context(|| format!("{} is missing", path.display()))?;
    let file = object::File::parse(&*data)
        .with_context(|| format!("{} is not an ELF file", path.display()))?;
    Ok(file
        .sections()
        .filter(|section| {
            matches!(
                section.name(),
                Ok(".eh_frame" | ".eh_frame_hdr" | ".gcc_except_table")
            )
        })
        .map(|section| section.size())
        .sum())
}

/// The first line a command prints, or `unknown`.
pub fn first_line(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output();
    let stdout = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let line = stdout
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned));
    line.unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentile_use_every_value() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
    }

    #[test]
    fn unwind_tables_are_found_in_an_unwinding_binary() {
        // GIVEN this test binary, built with unwinding panics (the test harness needs them)
        let me = std::env::current_exe().unwrap();

        // WHEN its unwind tables are measured
        let bytes = unwind_table_bytes(&me).unwrap();

        // THEN they are there, and a part of the file
        assert!(bytes > 0);
        assert!(bytes < file_size(&me).unwrap());
    }

    #[test]
    fn a_file_that_is_not_elf_is_an_error() {
        let not_elf = std::env::temp_dir().join(format!("not-elf-{}", std::process::id()));
        std::fs::write(&not_elf, b"plain text").unwrap();
        let err = unwind_table_bytes(&not_elf).unwrap_err();
        std::fs::remove_file(&not_elf).ok();
        assert!(err.to_string().contains("is not an ELF file"), "{err}");
    }
}
