//! Child processes that do not outlive this one, however it ends.
//!
//! The program runs under a small shell in a process group of its own. The shell sends it SIGTERM and
//! reaps it when its stdin closes: when [`Watched`] is stopped or dropped, and also when this process
//! dies without running destructors (a Ctrl-C on a test run, SIGKILL), since the kernel then closes
//! the pipe. Its own process group keeps a Ctrl-C meant for this process from reaching the shell first.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::procfs;

/// Runs `$2...` with its output in file `$1`, prints its pid, then SIGTERM when stdin closes.
const SCRIPT: &str = r#"log=$1; shift
"$@" >"$log" 2>&1 &
echo "$!"
read _
kill -TERM "$!" 2>/dev/null
wait"#;

/// The command that runs `program` under the watchdog, its output going to `log`. Add arguments,
/// environment and working directory to it as for `program` itself, then [`Watched::spawn`] it.
pub fn command(program: &Path, log: &Path) -> Command {
    let mut command = Command::new("/bin/sh");
    command.args(["-c", SCRIPT, "sh"]).arg(log).arg(program);
    command
}

/// A program running under the watchdog.
pub struct Watched {
    shell: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl Watched {
    /// Starts `command` (from [`command`]).
    pub fn spawn(mut command: Command) -> std::io::Result<Watched> {
        let mut shell = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stdin = shell.stdin.take();
        let mut pid = String::new();
        BufReader::new(shell.stdout.take().expect("piped stdout")).read_line(&mut pid)?;
        let pid = pid.trim().parse().map_err(std::io::Error::other)?;
        Ok(Watched { shell, stdin, pid })
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The shell's process id, which is also the process group's id.
    pub fn group(&self) -> u32 {
        self.shell.id()
    }

    /// Whether the program still runs.
    pub fn is_running(&self) -> bool {
        procfs::is_running(self.pid)
    }

    /// Sends the program SIGTERM and waits up to `limit` for it to exit; then SIGKILL to whatever is
    /// left in the process group. Idempotent.
    pub fn stop(&mut self, limit: Duration) {
        if self.stdin.take().is_none() {
            return;
        }
        let deadline = Instant::now() + limit;
        while matches!(self.shell.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        procfs::signal_group(self.shell.id(), "KILL");
        let _ = self.shell.wait();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}
