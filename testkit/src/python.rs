//! Python tools the project needs, each in its own virtual environment under `target/ci-venv/`,
//! installed from `tools/python/<venv>.txt` (the whole tree pinned by hash) so that a fresh machine
//! and CI behave the same. Safe to call from several processes at once.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::paths::{target_dir, workspace_root};

/// Makes sure `target/ci-venv/<venv>` holds exactly `tools/python/<venv>.txt` (reinstalled when the
/// file changes, by `tools/python/install`) and returns the path of its `binary`.
pub fn ensure_tool(venv: &str, binary: &str) -> Result<PathBuf> {
    let venvs = target_dir().join("ci-venv");
    // Several processes (parallel test binaries) may ask at once: one installs, the others wait.
    std::fs::create_dir_all(&venvs)?;
    let lock_path = venvs.join(format!("{venv}.lock"));
    let lock = std::fs::File::create(&lock_path)?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    let install = workspace_root().join("tools/python/install");
    run(Command::new("bash")
        .arg(&install)
        .arg(venv)
        .env("CARGO_TARGET_DIR", target_dir()))?;
    let bin = venvs.join(venv).join("bin").join(binary);
    if !bin.is_file() {
        bail!(
            "{} is missing after installing tools/python/{venv}.txt",
            bin.display()
        );
    }
    Ok(bin)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
