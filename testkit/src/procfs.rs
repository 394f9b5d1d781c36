//! What `/proc` says about a process (Linux): its parent and group, its descendants, whether it still
//! runs, its peak memory and its CPU time; and about the machine: its load and its CPU.

use std::time::Duration;

/// One line of `/proc/<pid>/stat`, the fields used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The process id.
    pub pid: u32,
    /// The parent's process id.
    pub ppid: u32,
    /// The process group id.
    pub pgid: u32,
    /// `R`, `S`, `Z` (exited, not reaped yet), ...
    pub state: char,
    /// The executable's name (at most 15 bytes).
    pub comm: String,
}

/// The process `pid`, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may itself contain spaces and parentheses.
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Stat {
        pid,
        ppid,
        pgid,
        state,
        comm,
    })
}

/// Whether `pid` exists and has not exited (a zombie counts as exited).
pub fn is_running(pid: u32) -> bool {
    stat(pid).is_some_and(|stat| stat.state != 'Z')
}

/// The children of `pid` (started by any of its threads).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    threads
        .filter_map(Result::ok)
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Every process below `pid` (children, their children, ...), whatever process group or session they
/// moved to.
pub fn descendants(pid: u32) -> Vec<Stat> {
    let all: Vec<Stat> = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .filter_map(stat)
                .collect()
        })
        .unwrap_or_default();
    let mut found: Vec<Stat> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for child in all.iter().filter(|p| p.ppid == parent) {
            parents.push(child.pid);
            found.push(child.clone());
        }
    }
    found
}

/// The peak resident memory of `pid` in KiB (`VmHWM`), while it runs.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU time `pid` has used so far (user + system, every thread).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu_time(
        &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
        14,
    )
}

/// The part of [`cpu_time`] spent in user space (its own code, not the kernel's).
pub fn user_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(ticks_to_duration(stat_ticks(&stat, 14)?))
}

/// CPU time of the children this process has waited for (user + system): how much a load generator
/// used, read before and after a run.
pub fn children_cpu_time() -> Option<Duration> {
    stat_cpu_time(&std::fs::read_to_string("/proc/self/stat").ok()?, 16)
}

/// The one-minute load average (`NaN` if `/proc/loadavg` cannot be read).
pub fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first = text.split_whitespace().next();
    first.and_then(|load| load.parse().ok()).unwrap_or(f64::NAN)
}

/// `/proc/cpuinfo`'s model name, if it has one.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let model = info
        .lines()
        .find_map(|line| line.strip_prefix("model name"))?;
    Some(model.trim_start_matches([' ', '\t', ':']).to_owned())
}

/// Adds the two clock-tick fields numbered `field` and `field + 1` (1-based, as in `proc(5)`) of a
/// `/proc/PID/stat` line.
fn stat_cpu_time(stat: &str, field: usize) -> Option<Duration> {
    Some(ticks_to_duration(
        stat_ticks(stat, field)? + stat_ticks(stat, field + 1)?,
    ))
}

/// Field number `field` (1-based, as in `proc(5)`) of a `/proc/PID/stat` line, in clock ticks.
fn stat_ticks(stat: &str, field: usize) -> Option<u64> {
    let after_name = stat.rsplit_once(')')?.1;
    // The first field after the name is field 3 (the state).
    after_name.split_whitespace().nth(field - 3)?.parse().ok()
}

/// Linux reports CPU times in USER_HZ, which is 100.
fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 7 3 20 0";
        assert_eq!(stat_cpu_time(stat, 14), Some(Duration::from_secs(2)));
        assert_eq!(stat_cpu_time(stat, 16), Some(Duration::from_millis(100)));
        assert_eq!(stat_ticks(stat, 14), Some(150));
    }

    #[test]
    fn this_process_is_found_running_with_its_parent_and_memory() {
        let me = std::process::id();
        let stat = stat(me).expect("this process has a /proc entry");
        assert_eq!(stat.pid, me);
        assert!(is_running(me));
        assert!(peak_rss_kib(me).is_some_and(|kib| kib > 0));
        assert!(cpu_time(me).is_some());
        assert!(load_average() >= 0.0);
        // Arm kernels write no "model name" line.
        #[cfg(target_arch = "x86_64")]
        assert!(cpu_model().is_some());
    }
}
