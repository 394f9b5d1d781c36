//! Running a command as a named, timed step, and finding the workspace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo target directory (`$CARGO_TARGET_DIR`, else `target/` in the workspace).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

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

/// `cargo`, as the one running this command.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
