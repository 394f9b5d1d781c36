//! `cargo xtask solutions`: every exercise solution of the workshop (module 6) still applies and
//! passes its check.
//!
//! Each patch in `docs/workshop/solutions/` is applied (`git apply`) to a scratch copy of the
//! repository as it is now (the working tree's tracked files, through `git stash create`) under
//! `target/workshop-solutions/<name>/`, and the command on its `Check: ` line runs there with this
//! workspace's target directory, so the dependencies are not built again. Module 6 must give the same
//! command as that exercise's check, so that a reader runs what CI runs.
//!
//! Cargo names and fingerprints the artifacts of workspace crates by their path relative to the
//! workspace root, so the scratch copy's `app-core`, `k8s-server`, ... would replace this workspace's
//! in the shared target directory, and each side would then take the other's for fresh. The copy's
//! packages therefore get the version suffix [`SALT`] (build metadata: the same version to anything
//! that compares them), which gives their artifacts names of their own. Only the binaries' copies at
//! `target/debug/NAME` are shared: `cargo xtask test` runs this last, and the next build puts this
//! workspace's back.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::steps::{self, target_dir, workspace_root};

/// The line of a patch's header that gives the command checking it.
const CHECK: &str = "Check: ";

/// The build metadata added to the scratch copy's package versions.
const SALT: &str = "+workshop-solution";

/// Where the solutions are, from the workspace root.
const SOLUTIONS: &str = "docs/workshop/solutions";

/// The module whose exercises they solve, from the workspace root.
const MODULE: &str = "docs/workshop/06-exercises.md";

/// Runs `cargo xtask solutions`.
pub fn run() -> Result<()> {
    let module = fs::read_to_string(workspace_root().join(MODULE))
        .with_context(|| format!("cannot read {MODULE}"))?;
    let patches = patches()?;
    if patches.is_empty() {
        bail!("no solution patches in {SOLUTIONS}");
    }
    for patch in patches {
        let name = patch
            .file_stem()
            .context("a patch has a name")?
            .to_string_lossy()
            .into_owned();
        let check = check_command(&patch)?;
        if !module.contains(&format!("check: `{check}`")) {
            bail!("{name}: {MODULE} does not give the patch's check (`{check}`)");
        }
        let scratch = target_dir().join("workshop-solutions").join(&name);
        scratch_copy(&scratch)?;
        quiet(
            &format!("{name}: git apply"),
            Command::new("git")
                .arg("apply")
                .arg(&patch)
                .current_dir(&scratch),
        )?;
        let mut command = Command::new("bash");
        command
            .args(["-c", &format!("cd \"$0\" && {check}")])
            .arg(&scratch)
            .env("CARGO_TARGET_DIR", target_dir());
        testkit::cargo_env::remove_inherited(&mut command);
        steps::run(
            &format!("solution {name}: `{check}` on a copy with the patch applied"),
            &mut command,
        )?;
    }
    Ok(())
}

/// The solution patches, sorted by name.
fn patches() -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = fs::read_dir(workspace_root().join(SOLUTIONS))
        .with_context(|| format!("cannot read {SOLUTIONS}"))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .collect();
    found.sort();
    Ok(found)
}

/// The command on the patch's `Check: ` line.
fn check_command(patch: &Path) -> Result<String> {
    let text =
        fs::read_to_string(patch).with_context(|| format!("cannot read {}", patch.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix(CHECK))
        .map(|check| check.trim().to_owned())
        .with_context(|| format!("{} has no `{CHECK}COMMAND` line", patch.display()))
}

/// A fresh copy of the repository's tracked files, as they are in the working tree, at `dir`.
fn scratch_copy(dir: &Path) -> Result<()> {
    let root = workspace_root();
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stash = quiet(
        "git stash create",
        Command::new("git")
            .args(["stash", "create"])
            .current_dir(&root),
    )?;
    let tree = match stash.trim() {
        "" => "HEAD",
        commit => commit,
    };
    quiet(
        "git archive | tar",
        Command::new("bash")
            .args(["-c", "git -C \"$0\" archive \"$1\" | tar -x -C \"$2\""])
            .arg(&root)
            .arg(tree)
            .arg(dir),
    )?;
    salt_versions(dir)?;
    // A repository of its own, so that `git apply` there does not see this one around it.
    quiet(
        "git init (scratch copy)",
        Command::new("git").args(["init", "-q"]).current_dir(dir),
    )?;
    Ok(())
}

/// Adds [`SALT`] to the version of each package of the workspace at `dir`.
fn salt_versions(dir: &Path) -> Result<()> {
    let manifest: toml::Table = fs::read_to_string(dir.join("Cargo.toml"))?.parse()?;
    let members = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("members"))
        .and_then(toml::Value::as_array)
        .context("the workspace lists its members")?;
    for member in members.iter().filter_map(toml::Value::as_str) {
        let path = dir.join(member).join("Cargo.toml");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let line = text
            .lines()
            .find(|line| line.starts_with("version = \"") && line.ends_with('"'))
            .with_context(|| format!("{} has no version line", path.display()))?;
        let salted = format!("{}{SALT}\"", line.trim_end_matches('"'));
        fs::write(&path, text.replacen(line, &salted, 1))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Runs `command` with its output captured; fails with `what` and that output unless it succeeds.
fn quiet(what: &str, command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: cannot start"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
