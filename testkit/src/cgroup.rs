//! A cgroup v1 memory group for one test: a process started in it is OOM-killed by the kernel once
//! it uses more than the limit, as a container is under its memory limit. Needs root and a writable
//! `/sys/fs/cgroup/memory` (the failure says so); the group is removed when the value is dropped.

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
        let path = self.path.join(file);
        std::fs::write(&path, value.to_string())
            .map_err(|err| format!("cannot write {value} to {}: {err}", path.display()))
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
        std::fs::read_to_string(self.path.join("memory.oom_control"))
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
        std::fs::read_to_string(self.path.join("memory.max_usage_in_bytes"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemoryGroup {
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
