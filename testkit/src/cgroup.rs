//! cgroup v1 groups for one test: a memory group, in which a process is OOM-killed by the kernel
//! once it uses more than the limit, as a container is under its memory limit; and a CPU group, in
//! which processes get at most a share of the CPU, as a container under its CPU limit. Each needs
//! root and the controller mounted writable under `/sys/fs/cgroup` (the failure says so); a group
//! is removed when its value is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where cgroup v1's memory controller is mounted.
const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";

/// Where cgroup v1's CPU controller is mounted.
const CPU_ROOT: &str = "/sys/fs/cgroup/cpu";

/// Where cgroup v1's CPU accounting controller is mounted (on its own or with the CPU controller).
const CPUACCT_ROOT: &str = "/sys/fs/cgroup/cpuacct";

/// A cgroup of one controller, removed on drop (once the processes in it have ended).
struct Group {
    path: PathBuf,
}

impl Group {
    /// Creates group `name` (made unique with this process's id) under `root`.
    fn create(root: &str, name: &str) -> Result<Group, String> {
        let path = Path::new(root).join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir(&path).map_err(|err| {
            format!(
                "cannot create the cgroup {} ({err}): this test needs root and cgroup v1's \
                 controller mounted writable at {root}",
                path.display()
            )
        })?;
        Ok(Group { path })
    }

    fn write(&self, file: &str, value: u64) -> Result<(), String> {
        let path = self.path.join(file);
        std::fs::write(&path, value.to_string())
            .map_err(|err| format!("cannot write {value} to {}: {err}", path.display()))
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$1""#)
            .arg(self.path.join("cgroup.procs"))
            .arg(program);
        command
    }
}

/// A memory cgroup of its own, removed on drop (once the processes in it have ended).
pub struct MemoryGroup(Group);

impl MemoryGroup {
    /// Creates group `name` (made unique with this process's id) limited to `limit_bytes` of memory,
    /// swap included where the kernel accounts it.
    pub fn create(name: &str, limit_bytes: u64) -> Result<MemoryGroup, String> {
        let group = Group::create(MEMORY_ROOT, name)?;
        group.write("memory.limit_in_bytes", limit_bytes)?;
        if group.path.join("memory.memsw.limit_in_bytes").exists() {
            group.write("memory.memsw.limit_in_bytes", limit_bytes)?;
        }
        Ok(MemoryGroup(group))
    }

    /// A command that runs `program` inside the group from its first instruction on: a shell moves
    /// itself into the group, then becomes `program` (arguments and environment are the caller's).
    pub fn command(&self, program: &Path) -> Command {
        self.0.command(program)
    }

    /// How many processes of the group the kernel has OOM-killed (`oom_kill` of `memory.oom_control`).
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.0.path.join("memory.oom_control"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("oom_kill "))
                    .and_then(|count| count.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// The group's peak memory use in bytes (`memory.max_usage_in_bytes`).
    pub fn peak_bytes(&self) -> u64 {
        std::fs::read_to_string(self.0.path.join("memory.max_usage_in_bytes"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// A CPU cgroup of its own, with a CPU accounting group beside it, removed on drop (once the
/// processes in them have ended).
pub struct CpuGroup {
    cpu: Group,
    accounting: Group,
}

impl CpuGroup {
    /// Creates group `name` (made unique with this process's id) allowed `cores` of CPU time, as
    /// a container with that CPU limit (`cpu.cfs_quota_us` over `cpu.cfs_period_us`). The period is
    /// as short as the kernel allows (quota and period at least 1 ms), so that the group gets its
    /// share evenly, not a whole core for part of each 100 ms (the default period).
    pub fn create(name: &str, cores: f64) -> Result<CpuGroup, String> {
        const LEAST_US: f64 = 1_000.0;
        let period = (LEAST_US / cores).max(LEAST_US).ceil();
        let cpu = Group::create(CPU_ROOT, name)?;
        cpu.write("cpu.cfs_period_us", period as u64)?;
        cpu.write("cpu.cfs_quota_us", (cores * period).round() as u64)?;
        let accounting = Group::create(CPUACCT_ROOT, name)?;
        Ok(CpuGroup { cpu, accounting })
    }

    /// A command that runs `program` inside the group (and its accounting group) from its first
    /// instruction on (see [`MemoryGroup::command`]).
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(r#"echo $$ > "$0" && echo $$ > "$2" && exec "$1""#)
            .arg(self.cpu.path.join("cgroup.procs"))
            .arg(program)
            .arg(self.accounting.path.join("cgroup.procs"));
        command
    }

    /// CPU time used by the group's processes so far, every thread (`cpuacct.usage`: the
    /// scheduler's own count, in ns, where `/proc/PID/stat` samples at each clock tick).
    pub fn usage(&self) -> Result<Duration, String> {
        let path = self.accounting.path.join("cpuacct.usage");
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let ns: u64 =
            (text.trim().parse()).map_err(|err| format!("{}: {err}: {text:?}", path.display()))?;
        Ok(Duration::from_nanos(ns))
    }
}

impl Drop for Group {
    /// Removes the group; waits up to 5 s for the processes in it to end first (a process still in
    /// it keeps it from being removed).
    fn drop(&mut self) {
        let started = Instant::now();
        while std::fs::remove_dir(&self.path).is_err() && started.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
