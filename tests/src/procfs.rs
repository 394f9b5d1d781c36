//! The little process bookkeeping the real-process helpers need (Linux): a process's descendants, whether
//! it still runs, its peak memory, and signals to a process or a whole process group.

use std::process::{Command, Stdio};

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

/// Sends `signal` (`TERM`, `KILL`, ...) to process `pid`; a process that is already gone is no error.
pub fn signal(pid: u32, signal: &str) {
    kill(signal, &pid.to_string());
}

/// Sends `signal` to every process of process group `pgid`.
pub fn signal_group(pgid: u32, signal: &str) {
    kill(signal, &format!("-{pgid}"));
}

fn kill(signal: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", target])
        .stderr(Stdio::null())
        .status();
}
