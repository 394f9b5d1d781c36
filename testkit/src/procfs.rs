//! What `/proc` says about a process (Linux): its parent and group, its descendants, whether it still
//! runs, its peak memory and its CPU time; and about the machine: its load and its CPU.
//!
//! The files are read and parsed by the `procfs` crate; this module asks the kit's questions of it,
//! with process ids as `u32` like [`std::process::Child::id`].

use std::time::Duration;

use ::procfs::process::{Process, all_processes};
use ::procfs::{CpuInfo, Current};

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
    stat_of(&process(pid)?)
}

/// Whether `pid` exists and has not exited (a zombie counts as exited).
pub fn is_running(pid: u32) -> bool {
    stat(pid).is_some_and(|stat| stat.state != 'Z')
}

/// The children of `pid` (started by any of its threads).
pub fn children(pid: u32) -> Vec<u32> {
    let Some(threads) = process(pid).and_then(|process| process.tasks().ok()) else {
        return Vec::new();
    };
    threads
        .filter_map(Result::ok)
        .filter_map(|thread| thread.children().ok())
        .flatten()
        .collect()
}

/// Every process below `pid` (children, their children, ...), whatever process group or session they
/// moved to.
pub fn descendants(pid: u32) -> Vec<Stat> {
    // The crate lists processes; the walk down the tree is ours (it has none).
    let all: Vec<Stat> = all_processes()
        .map(|processes| {
            processes
                .filter_map(Result::ok)
                .filter_map(|process| stat_of(&process))
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
    process(pid)?.status().ok()?.vmhwm
}

/// CPU time `pid` has used so far (user + system, every thread).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = process(pid)?.stat().ok()?;
    Some(ticks_to_duration(stat.utime + stat.stime))
}

/// The part of [`cpu_time`] spent in user space (its own code, not the kernel's).
pub fn user_time(pid: u32) -> Option<Duration> {
    Some(ticks_to_duration(process(pid)?.stat().ok()?.utime))
}

/// CPU time of the children this process has waited for (user + system): how much a load generator
/// used, read before and after a run.
pub fn children_cpu_time() -> Option<Duration> {
    let stat = Process::myself().ok()?.stat().ok()?;
    Some(ticks_to_duration(
        u64::try_from(stat.cutime + stat.cstime).ok()?,
    ))
}

/// The one-minute load average (`NaN` if `/proc/loadavg` cannot be read).
///
/// Read here rather than through the crate's `LoadAverage`, which holds it as an `f32`: the bench
/// writes this number into its data, where the kernel's `0.30` would become `0.30000001192092896`.
pub fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first = text.split_whitespace().next();
    first.and_then(|load| load.parse().ok()).unwrap_or(f64::NAN)
}

/// `/proc/cpuinfo`'s model name (of the first CPU), if it has one.
pub fn cpu_model() -> Option<String> {
    Some(CpuInfo::current().ok()?.model_name(0)?.to_owned())
}

/// The process `pid`, if it exists.
fn process(pid: u32) -> Option<Process> {
    Process::new(i32::try_from(pid).ok()?).ok()
}

fn stat_of(process: &Process) -> Option<Stat> {
    let stat = process.stat().ok()?;
    Some(Stat {
        pid: u32::try_from(stat.pid).ok()?,
        ppid: u32::try_from(stat.ppid).ok()?,
        pgid: u32::try_from(stat.pgrp).ok()?,
        state: stat.state,
        comm: stat.comm,
    })
}

/// CPU times in `/proc` count clock ticks (`USER_HZ`).
fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos(ticks * 1_000_000_000 / ::procfs::ticks_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_ticks_become_time() {
        // Linux's USER_HZ is 100 on every architecture this runs on.
        assert_eq!(ticks_to_duration(250), Duration::from_millis(2_500));
    }

    #[test]
    fn this_process_is_found_running_with_its_parent_and_memory() {
        let me = std::process::id();
        let stat = stat(me).expect("this process has a /proc entry");
        assert_eq!(stat.pid, me);
        assert!(is_running(me));
        assert!(peak_rss_kib(me).is_some_and(|kib| kib > 0));
        assert!(cpu_time(me).is_some());
        assert!(user_time(me) <= cpu_time(me));
        assert!(children_cpu_time().is_some());
        assert!(load_average() >= 0.0);
        // Arm kernels write no "model name" line.
        #[cfg(target_arch = "x86_64")]
        assert!(cpu_model().is_some());
    }

    #[test]
    fn a_child_is_found_below_this_process_until_it_exits() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let found = descendants(me);
        let below = found.iter().find(|p| p.pid == child.id());
        assert!(below.is_some_and(|p| p.ppid == me && p.comm == "sleep"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_running(child.id()));
    }
}
