//! Python tools the project needs, each installed once into its own virtual environment under
//! `target/ci-venv/` with a pinned version (so a fresh machine and CI behave the same), safe to call
//! from several processes at once.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::paths::target_dir;

/// Makes sure `requirement` (e.g. `schemathesis==4.32.5`) is installed in `target/ci-venv/<venv>` and
/// returns the path of its `binary`.
pub fn ensure_tool(venv: &str, requirement: &str, binary: &str) -> Result<PathBuf> {
    let dir = target_dir().join("ci-venv").join(venv);
    let bin = dir.join("bin").join(binary);
    let stamp = dir.join(".requirement");
    // Several processes (parallel test binaries) may ask at once: one installs, the others wait.
    std::fs::create_dir_all(target_dir().join("ci-venv"))?;
    let lock = std::fs::File::create(dir.with_extension("lock"))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}.lock", dir.display()))?;
    if bin.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirement) {
        return Ok(bin);
    }
    println!("==> installing {requirement} into {}", dir.display());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "venv"]).arg(&dir)).with_context(|| {
        format!(
            "{python} -m venv: install Python 3 with venv (Debian: apt-get install -y python3-venv)"
        )
    })?;
    run(Command::new(dir.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))?;
    std::fs::write(&stamp, requirement)?;
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
