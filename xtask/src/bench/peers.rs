//! The Node.js peers (`bench/node/`): the seed's Lambda handler behind a tiny Runtime API loop, and a
//! plain `http` server doing the same lookup. Their npm dependencies (AWS SDK v3) are installed into
//! `target/bench/node`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

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
