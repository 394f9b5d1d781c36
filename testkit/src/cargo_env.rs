//! Running cargo from a process that cargo started (a test, `cargo xtask`) without rebuilding half the
//! dependency tree.
//!
//! Cargo gives the programs it runs variables such as `CARGO_PKG_NAME=tests` and `CARGO_MANIFEST_DIR`.
//! A nested cargo inherits them, and build scripts that watch them (`ring`'s does, through
//! `rerun-if-env-changed`) then see a change: `ring`, `rustls` and everything above them are rebuilt,
//! and rebuilt again by the next plain `cargo build`. Removing them gives the nested cargo the
//! environment of a shell.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::paths::{target_dir, workspace_root};

/// Variables cargo sets for a program it runs, by exact name.
const NAMES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// Variables cargo sets for a program it runs, by prefix.
const PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// Removes from `command`'s environment what cargo set for this process (cargo's own configuration,
/// such as `CARGO_TARGET_DIR` or `CARGO_HOME`, stays).
pub fn remove_inherited(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if is_inherited(&name) {
            command.env_remove(&name);
        }
    }
    command
}

fn is_inherited(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    NAMES.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// The packages whose binaries tests run, always built together: cargo resolves features per
/// selection of packages, so building them in one selection (the one `cargo xtask demo` builds)
/// compiles their dependencies once for every caller, not once per package.
pub const PRODUCT_PACKAGES: [&str; 2] = ["k8s-server", "lambda-fn"];

/// `target/debug/BIN`, one of [`PRODUCT_PACKAGES`]' binaries, built (with all the others, once per
/// process) so that it is the code under test: a test of another package has no `CARGO_BIN_EXE_`
/// for it. Panics if the build fails.
pub fn build_binary(bin: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command.arg("build").current_dir(workspace_root());
        for package in PRODUCT_PACKAGES {
            command.args(["-p", package]);
        }
        remove_inherited(&mut command);
        let status = command.status().expect("cargo runs");
        assert!(
            status.success(),
            "cargo build of {PRODUCT_PACKAGES:?}: {status}"
        );
    });
    target_dir().join("debug").join(bin)
}
