//! Control groups for one process under test, removed when the value is dropped (also when a test
//! panics):
//!
//! - [`MemoryGroup`] (cgroup v1): a process started in it is OOM-killed by the kernel once it uses
//!   more than the limit, as a container is under its memory limit.
//! - [`CpuGroup`] (cgroup v1's `cpu` controller, or v2's where only that is mounted): a CPU quota,
//!   fixed as a container's CPU limit ([`CpuGroup::limited`]) or changed while the process runs, as
//!   Lambda gives a function the share of a core its memory size buys; and the CPU time its
//!   processes used ([`CpuGroup::usage`], the scheduler's own count). The process is moved in before
//!   it runs (a v1 move waits for an RCU grace period, tens of milliseconds: not something to time),
//!   and, with [`CpuGroup::stopped_command`], stopped there until the caller continues it.
//!
//! Both need root and a writable controller; the error says what to do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where cgroup v1's memory controller is mounted.
const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";

/// A memory cgroup of its own, removed on drop (once the processes in it have ended).
pub struct MemoryGroup {
    path: PathBuf,
}

impl MemoryGroup {
    /// Creates group `name` (made unique with this process's id) limited to `limit_bytes` of memory,
    /// swap included where the kernel accounts it.
    pub fn create(name: &str, limit_bytes: u64) -> Result<MemoryGroup, String> {
        let path = Path::new(MEMORY_ROOT).join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir(&path).map_err(|err| {
            format!(
                "cannot create the memory cgroup {} ({err}): this test needs root and cgroup v1's \
                 memory controller mounted writable at {MEMORY_ROOT}",
                path.display()
            )
        })?;
        let group = MemoryGroup { path };
        group.write("memory.limit_in_bytes", limit_bytes)?;
        if group.path.join("memory.memsw.limit_in_bytes").exists() {
            group.write("memory.memsw.limit_in_bytes", limit_bytes)?;
        }
        Ok(group)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), String> {
        write_value(&self.path.join(file), &value.to_string())
    }

    /// A command that runs `program` inside the group from its first instruction on: a shell moves
    /// itself into the group, then becomes `program` (arguments and environment are the caller's).
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$1""#)
            .arg(self.path.join("cgroup.procs"))
            .arg(program);
        command
    }

    /// How many processes of the group the kernel has OOM-killed (`oom_kill` of `memory.oom_control`).
    pub fn oom_kills(&self) -> u64 {
        stat_field(&self.path.join("memory.oom_control"), "oom_kill").unwrap_or(0)
    }

    /// The group's peak memory use in bytes (`memory.max_usage_in_bytes`).
    pub fn peak_bytes(&self) -> u64 {
        std::fs::read_to_string(self.path.join("memory.max_usage_in_bytes"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemoryGroup {
    fn drop(&mut self) {
        remove_group(&self.path);
    }
}

/// Removes a group; waits up to 5 s for the processes in it to end first (a process still in it
/// keeps it from being removed).
fn remove_group(path: &Path) {
    let started = Instant::now();
    while std::fs::remove_dir(path).is_err() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Removes the groups under `root` named `prefix` and a process id whose process has ended (a run
/// that was killed before its drop): never another live process's group. The kernel refuses to
/// remove a group that still holds a process.
fn remove_empty_groups(root: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner = (name.to_str())
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|pid| pid.parse::<u32>().ok());
        if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Where cgroup v1's cpu controller is mounted.
const CPU_V1_ROOT: &str = "/sys/fs/cgroup/cpu";
/// Where cgroup v1's CPU accounting controller is mounted (on its own, or with the cpu controller).
const CPUACCT_V1_ROOT: &str = "/sys/fs/cgroup/cpuacct";
/// Where the cgroup v2 hierarchy is mounted when it is the only one.
const V2_ROOT: &str = "/sys/fs/cgroup";

/// What to do where no CPU cgroup can be made.
pub const CPU_GROUP_HELP: &str = "run as root with the cpu controller mounted writable \
     (cgroup v1 at /sys/fs/cgroup/cpu, or cgroup v2 at /sys/fs/cgroup with +cpu in its \
     cgroup.subtree_control)";

/// A CPU cgroup of its own whose quota can change while its process runs; removed on drop.
pub struct CpuGroup {
    path: PathBuf,
    /// cgroup v1's CPU accounting group of the same name, where that controller is mounted apart
    /// from the cpu controller (v2 and a joint v1 mount count in `path` itself).
    accounting: Option<PathBuf>,
    /// cgroup v2 (`cpu.max`) rather than v1 (`cpu.cfs_quota_us`).
    v2: bool,
    period: Duration,
}

impl CpuGroup {
    /// Creates group `name` (made unique with this process's id) with the CFS `period`, its quota
    /// unlimited. Fails, saying what to do ([`CPU_GROUP_HELP`]), where no CPU controller is writable.
    /// Empty groups `name-*` that a killed run left behind are removed first.
    pub fn create(name: &str, period: Duration) -> Result<CpuGroup, String> {
        let leaf = format!("{name}-{}", std::process::id());
        for root in [CPU_V1_ROOT, CPUACCT_V1_ROOT, V2_ROOT] {
            remove_empty_groups(Path::new(root), &format!("{name}-"));
        }
        let v1 = Path::new(CPU_V1_ROOT);
        let (path, v2) = if v1.join("cpu.cfs_quota_us").exists() {
            (v1.join(leaf), false)
        } else {
            let root = Path::new(V2_ROOT);
            let controllers = std::fs::read_to_string(root.join("cgroup.controllers"));
            if !controllers.is_ok_and(|text| text.split_whitespace().any(|c| c == "cpu")) {
                return Err(format!("no CPU cgroup controller: {CPU_GROUP_HELP}"));
            }
            // Delegating the controller to children; a no-op when it already is.
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
            (root.join(leaf), true)
        };
        std::fs::create_dir(&path).map_err(|err| {
            format!(
                "cannot create the CPU cgroup {} ({err}): {CPU_GROUP_HELP}",
                path.display()
            )
        })?;
        let accounting =
            Path::new(CPUACCT_V1_ROOT).join(path.file_name().expect("a group has a name"));
        let accounting = (!v2 && !path.join("cpuacct.usage").exists())
            .then(|| {
                std::fs::create_dir(&accounting)
                    .is_ok()
                    .then_some(accounting)
            })
            .flatten();
        let group = CpuGroup {
            path,
            accounting,
            v2,
            period,
        };
        if !group.v2 {
            group.write("cpu.cfs_period_us", &period.as_micros().to_string())?;
        }
        group.set_share(None)?;
        Ok(group)
    }

    /// Group `name` allowed `cores` of CPU time, as a container with that CPU limit. The period is
    /// as short as the kernel allows (quota and period at least 1 ms), so that the group gets its
    /// share evenly, not a whole core for part of each 100 ms (the default period).
    pub fn limited(name: &str, cores: f64) -> Result<CpuGroup, String> {
        const LEAST_US: f64 = 1_000.0;
        let period_us = (LEAST_US / cores).max(LEAST_US).ceil();
        let group = CpuGroup::create(name, Duration::from_micros(period_us as u64))?;
        group.set_share(Some(cores))?;
        Ok(group)
    }

    /// CPU time the group's processes have used so far, every thread: see [`UsageMeter::read`].
    pub fn usage(&self) -> Result<Duration, String> {
        self.usage_meter().read()
    }

    /// What reads the group's CPU time, apart from the group (for another thread).
    pub fn usage_meter(&self) -> UsageMeter {
        let path = if self.v2 {
            self.path.join("cpu.stat")
        } else {
            (self.accounting.as_ref().unwrap_or(&self.path)).join("cpuacct.usage")
        };
        UsageMeter { path, v2: self.v2 }
    }

    /// Sets the quota to `share` of one core per period (`None`: unlimited). Instant: the kernel
    /// applies it from the next period on.
    pub fn set_share(&self, share: Option<f64>) -> Result<(), String> {
        self.quota_change(share).apply()
    }

    /// The change [`CpuGroup::set_share`] makes, to apply later (from another thread).
    pub fn quota_change(&self, share: Option<f64>) -> QuotaChange {
        let period = self.period.as_micros() as u64;
        // The kernel's least quota is 1 ms.
        let quota = share.map(|share| ((period as f64 * share).round() as u64).max(1000));
        let (file, value) = match (self.v2, quota) {
            (false, Some(quota)) => ("cpu.cfs_quota_us", quota.to_string()),
            (false, None) => ("cpu.cfs_quota_us", "-1".to_owned()),
            (true, Some(quota)) => ("cpu.max", format!("{quota} {period}")),
            (true, None) => ("cpu.max", format!("max {period}")),
        };
        QuotaChange {
            file: self.path.join(file),
            value,
        }
    }

    /// How many periods the group has been throttled in (`nr_throttled` of `cpu.stat`).
    pub fn throttled_periods(&self) -> u64 {
        stat_field(&self.path.join("cpu.stat"), "nr_throttled").unwrap_or(0)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        write_value(&self.path.join(file), value)
    }

    /// `program` run inside the group from its first instruction on: a shell moves itself into the
    /// group, then becomes `program` (arguments and environment are the caller's).
    pub fn command(&self, program: &Path) -> Command {
        let mut command = self.shell("");
        command.arg(program);
        command
    }

    /// `command` run inside the group, stopped (SIGSTOP) before its first instruction: a shell moves
    /// itself into the group, stops, and once continued (SIGCONT) becomes `command`'s program with
    /// its arguments, working directory and the environment set on it. Only that environment: the
    /// wrapped command starts from an empty one (as the bench's commands do).
    pub fn stopped_command(&self, command: &Command) -> Command {
        let mut wrapped = self.shell("kill -STOP $$ && ");
        wrapped
            .arg(command.get_program())
            .args(command.get_args())
            .env_clear();
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                wrapped.env(key, value);
            }
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        if command.get_envs().all(|(key, _)| key != "PATH") {
            wrapped.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        }
        wrapped
    }

    /// `/bin/sh` that moves itself into the group (and its accounting group), runs `then`, and
    /// becomes the program given as its next arguments.
    fn shell(&self, then: &str) -> Command {
        let procs = if self.v2 { "cgroup.procs" } else { "tasks" };
        let accounting =
            (self.accounting.as_ref()).map_or(PathBuf::from("/dev/null"), |dir| dir.join(procs));
        let mut shell = Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(format!(
                r#"echo $$ > "$0" && echo $$ > "$1" && shift && {then}exec "$@""#
            ))
            .arg(self.path.join(procs))
            .arg(accounting);
        shell
    }
}

/// Reads a [`CpuGroup`]'s CPU time: the scheduler's own count (`cpuacct.usage` in v1, `usage_usec`
/// of `cpu.stat` in v2), every thread of every process in it, where `/proc/PID/stat` samples at each
/// clock tick.
#[derive(Debug, Clone)]
pub struct UsageMeter {
    path: PathBuf,
    v2: bool,
}

impl UsageMeter {
    /// The group's CPU time so far.
    pub fn read(&self) -> Result<Duration, String> {
        let path = &self.path;
        if self.v2 {
            let usec = stat_field(path, "usage_usec")
                .ok_or_else(|| format!("no usage_usec in {}", path.display()))?;
            return Ok(Duration::from_micros(usec));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let ns: u64 =
            (text.trim().parse()).map_err(|err| format!("{}: {err}: {text:?}", path.display()))?;
        Ok(Duration::from_nanos(ns))
    }
}

/// A CPU group's new quota, not yet written.
#[derive(Debug, Clone)]
pub struct QuotaChange {
    file: PathBuf,
    value: String,
}

impl QuotaChange {
    /// Writes it.
    pub fn apply(&self) -> Result<(), String> {
        write_value(&self.file, &self.value)
    }
}

/// The value of line `KEY VALUE` of a cgroup's flat keyed file (`cpu.stat`, `memory.oom_control`).
fn stat_field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    (text.lines())
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn write_value(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value)
        .map_err(|err| format!("cannot write {value} to {}: {err}", path.display()))
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        remove_group(&self.path);
        if let Some(accounting) = &self.accounting {
            remove_group(accounting);
        }
    }
}

/// Waits up to `limit` until process `pid` is stopped (state `T` in `/proc/PID/stat`).
pub fn wait_stopped(pid: u32, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|err| format!("process {pid} is gone ({err})"))?;
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('T') {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!("process {pid} did not stop within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
