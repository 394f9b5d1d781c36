//! Running a command as a named, timed step, and finding the workspace.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

pub use testkit::paths::{target_dir, workspace_root};

/// Runs `command` in the workspace root as step `name`: prints what runs, how it ended and how long it
/// took, and fails if the command does.
pub fn run(name: &str, command: &mut Command) -> Result<()> {
    command.current_dir(workspace_root());
    println!("==> {name}");
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let took = started.elapsed().as_secs_f64();
    if status.success() {
        println!("<== {name}: ok ({took:.1}s)");
        Ok(())
    } else {
        println!("<== {name}: FAILED ({took:.1}s)");
        bail!("{name} failed ({status})")
    }
}

/// `cargo`, as the one running this command, without the variables cargo set for this process (they
/// would make it rebuild `ring` and everything above it: see `testkit::cargo_env`).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    testkit::cargo_env::remove_inherited(&mut command);
    command
}
