//! Child processes that do not outlive this one, however it ends.
//!
//! [`Supervised::spawn`] starts a command in a process group of its own (so a Ctrl-C meant for this
//! process does not reach it first) beside a small guard shell that holds a pipe to this process.
//! Dropping the value, or [`Supervised::stop`], ends the whole group: SIGTERM (and SIGCONT, for a
//! frozen process), then SIGKILL after a grace period. When this process dies without running
//! destructors (a Ctrl-C on a test run, SIGKILL), the kernel closes the pipe and the guard does the
//! same to the group.
//!
//! Our own rather than `process-wrap` (the successor of `command-group`): its blocking API starts a
//! group (std's `CommandExt::process_group` does that here) and signals it, but ends nothing on drop
//! (its kill-on-drop is Tokio's, a SIGKILL to the leader alone, without a grace period) and nothing
//! when this process is killed. Nor `PR_SET_PDEATHSIG`: it fires when the spawning *thread* ends (a
//! test's, long before the process) and reaches the child, not its group.

use std::fs::File;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The signals [`Supervised::signal`] and friends send (`Signal::TERM`, `Signal::STOP`, ...).
pub use rustix::process::Signal;
use rustix::process::{Pid, kill_process, kill_process_group};

use crate::procfs;

/// Waits for a line on stdin (which only ever closes), then ends process group `$0`.
const GUARD: &str = r#"read _
kill -s TERM -- "-$0" 2>/dev/null; kill -s CONT -- "-$0" 2>/dev/null
sleep 2
kill -s KILL -- "-$0" 2>/dev/null"#;

/// How long [`Drop`] gives the group to exit after SIGTERM.
const DROP_LIMIT: Duration = Duration::from_secs(10);

/// A child process leading its own process group, ended with that group.
pub struct Supervised {
    child: Child,
    guard: Option<Child>,
}

impl Supervised {
    /// Starts `command` in a new process group, with the guard beside it. Stdio is the caller's to set.
    pub fn spawn(command: &mut Command) -> std::io::Result<Supervised> {
        use std::os::unix::process::CommandExt;
        let child = command.process_group(0).spawn()?;
        let guard = Command::new("/bin/sh")
            .args(["-c", GUARD])
            .arg(child.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut supervised = Supervised { child, guard: None };
        // Without its guard the child could outlive this process: end it (in `drop`) and say why.
        supervised.guard = Some(guard?);
        Ok(supervised)
    }

    /// Like [`Supervised::spawn`], with the command's stdout and stderr going to the file `log`.
    pub fn spawn_logged(command: &mut Command, log: &Path) -> std::io::Result<Supervised> {
        let file = File::create(log)?;
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        Self::spawn(command)
    }

    /// The process id, which is also its process group's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs (a stopped process does; one that exited, reaped or not, does not).
    pub fn is_running(&self) -> bool {
        procfs::is_running(self.pid())
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The piped stdout, once (when the command was given `Stdio::piped()`).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Sends `signal` to the process alone; one that has exited is no error.
    pub fn signal(&self, signal: Signal) {
        signal_process(self.pid(), signal);
    }

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: Signal) {
        signal_group(self.pid(), signal);
    }

    /// Ends the process group: SIGTERM (and SIGCONT), up to `limit` for the process to exit, then
    /// SIGKILL to whatever is left in the group. Returns how the process ended. Idempotent.
    pub fn stop(&mut self, limit: Duration) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.kill_group_and_guard();
            return Some(status);
        }
        self.signal_group(Signal::TERM);
        self.signal_group(Signal::CONT);
        let status = self.wait_for(limit);
        self.kill_group_and_guard();
        status.or_else(|| self.child.wait().ok())
    }

    /// Kills the process group at once (SIGKILL) and reaps the process.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        self.kill_group_and_guard();
        self.child.wait().ok()
    }

    fn kill_group_and_guard(&mut self) {
        self.signal_group(Signal::KILL);
        let _ = self.child.wait();
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop(DROP_LIMIT);
    }
}

/// Sends `signal` to process `pid`; a process that is already gone is no error.
pub fn signal_process(pid: u32, signal: Signal) {
    if let Some(pid) = to_pid(pid) {
        let _ = kill_process(pid, signal);
    }
}

/// Sends `signal` to every process of process group `pgid`.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Some(pgid) = to_pid(pgid) {
        let _ = kill_process_group(pgid, signal);
    }
}

/// The last `lines` lines of the log file at `path` (empty if it cannot be read), for failure messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn to_pid(pid: u32) -> Option<Pid> {
    Pid::from_raw(i32::try_from(pid).ok()?)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};

    use super::*;

    /// Set for a copy of this test binary that owns a `sleep` and then waits to be killed.
    const OWNER: &str = "TESTKIT_PROCESS_OWNER";

    fn gone_within(pid: u32, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while procfs::is_running(pid) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    #[test]
    fn dropping_it_ends_the_process_and_what_it_started() {
        // GIVEN a shell that started a grandchild in its process group
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(Stdio::piped());
        let mut process = Supervised::spawn(&mut command).unwrap();
        let mut line = String::new();
        BufReader::new(process.take_stdout().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        let shell = process.pid();

        // WHEN it is dropped
        drop(process);

        // THEN both are gone
        assert!(!procfs::is_running(shell));
        assert!(gone_within(grandchild, Duration::from_secs(2)));
    }

    #[test]
    fn it_ends_when_its_owner_is_killed() {
        if std::env::var_os(OWNER).is_some() {
            // The owner: start the child, say its pid (after libtest's "test NAME ... "), wait to be killed.
            let process = Supervised::spawn(Command::new("sleep").arg("300")).unwrap();
            println!("child {}", process.pid());
            std::thread::sleep(Duration::from_secs(300));
            return;
        }
        // GIVEN a copy of this test binary owning a child
        let mut owner = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "process::tests::it_ends_when_its_owner_is_killed",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(OWNER, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let child: u32 = BufReader::new(owner.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.rsplit_once("child ")?.1.trim().parse().ok())
            .expect("the owner names its child");
        assert!(procfs::is_running(child));

        // WHEN the owner is killed, so that no destructor runs
        owner.kill().unwrap();
        owner.wait().unwrap();

        // THEN the child is ended by its guard
        assert!(gone_within(child, Duration::from_secs(5)));
    }
}
