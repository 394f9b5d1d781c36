//! The Node.js peers (`bench/node/`): the seed's Lambda handler behind a tiny Runtime API loop, and a
//! plain `http` server doing the same lookup. Their npm dependencies (AWS SDK v3) are installed into
//! `target/bench/node`. And the Python hello world (`bench/python/`), the calibration's third runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::harness::{Cores, bench_dir};
use crate::steps::{self, workspace_root};

/// The Node.js peers, installed.
pub struct Node {
    /// `bench/node` (the scripts).
    scripts: PathBuf,
    /// `target/bench/node/node_modules`.
    modules: PathBuf,
    /// `node --version`.
    pub version: String,
}

impl Node {
    /// Installs the peers' npm dependencies (once; again when `bench/node/package.json` changes).
    pub fn install() -> Result<Node> {
        let version = String::from_utf8(
            Command::new("node")
                .arg("--version")
                .output()
                .context("the Node.js peers need `node` and `npm` on PATH")?
                .stdout,
        )?
        .trim()
        .to_owned();
        let scripts = workspace_root().join("bench/node");
        let dir = bench_dir().join("node");
        std::fs::create_dir_all(&dir)?;
        let manifest = std::fs::read(scripts.join("package.json"))?;
        let installed = dir.join("package.json");
        let modules = dir.join("node_modules");
        if std::fs::read(&installed).ok().as_ref() != Some(&manifest) || !modules.is_dir() {
            std::fs::write(&installed, &manifest)?;
            steps::run(
                "npm install (AWS SDK v3 for the Node.js peers, into target/bench/node)",
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                    .arg("--prefix")
                    .arg(&dir),
            )?;
        }
        Ok(Node {
            scripts,
            modules,
            version,
        })
    }

    /// `node bench/node/SCRIPT` on `core`, finding the SDK in `target/bench/node`.
    pub fn command(&self, cores: &Cores, core: usize, script: &str) -> Command {
        let mut command = cores.command(core, "node");
        command
            .arg(self.scripts.join(script))
            .env("NODE_PATH", &self.modules)
            .env("NODE_ENV", "production");
        command
    }

    /// The seed's handler under the Runtime API loop.
    pub fn lambda(&self, cores: &Cores) -> Command {
        self.command(cores, cores.server, "bootstrap.js")
    }

    /// The plain `http` server on `port`.
    pub fn server(&self, cores: &Cores, port: u16) -> Command {
        let mut command = self.command(cores, cores.server, "server.js");
        command.arg(port.to_string());
        command
    }

    /// Bytes of the handler's dependencies (`node_modules`): what its deployment package carries.
    pub fn modules_bytes(&self) -> u64 {
        dir_bytes(&self.modules)
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
                    Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The Python hello world (`bench/python/bootstrap.py` and `hello.py`), standard library only.
pub struct Python {
    /// The interpreter itself, not a version manager's shim (whose own start would count as init).
    executable: PathBuf,
    /// `bench/python`.
    scripts: PathBuf,
    /// `MAJOR.MINOR`, to pick the published figure of the same version.
    pub version: String,
}

impl Python {
    /// Finds `python3` on PATH and asks it for its executable and version.
    pub fn locate() -> Result<Python> {
        let output = Command::new("python3")
            .args([
                "-c",
                "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
            ])
            .output()
            .context("the Python hello world needs `python3` on PATH (install Python 3)")?;
        ensure!(
            output.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout)?;
        let mut lines = text.lines();
        let (Some(executable), Some(version)) = (lines.next(), lines.next()) else {
            anyhow::bail!("python3 did not print its executable and version: {text:?}");
        };
        Ok(Python {
            executable: executable.into(),
            scripts: workspace_root().join("bench/python"),
            version: version.to_owned(),
        })
    }

    /// The hello world under its Runtime API loop, on `cores.server`, its bytecode cache kept in
    /// `target/bench/python` rather than beside the scripts. Without `site` (`-S`): it needs nothing
    /// from site-packages, and a machine's site-packages may run `.pth` hooks at every start that
    /// Lambda's Python does not have (this one's imports a certificate bundle, about 30 ms).
    pub fn hello(&self, cores: &Cores) -> Command {
        let mut command = cores.command(cores.server, &self.executable);
        command
            .arg("-S")
            .arg(self.scripts.join("bootstrap.py"))
            .env("PYTHONPYCACHEPREFIX", bench_dir().join("python"));
        command
    }
}
