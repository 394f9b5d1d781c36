//! The criterion micro-benchmarks (`k8s-server/benches/lookup.rs`, `app-core/benches/auth.rs`): built
//! with the other artifacts, run on the server core, read back from criterion's `estimates.json` files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::harness::{Cores, bench_dir};
use super::results::Micro;
use crate::steps;

/// The criterion benchmark targets: the lookup in k8s-server (whose router records metrics into
/// Prometheus), the bearer-token verification in app-core.
const BENCHES: [(&str, &str); 2] = [("k8s-server", "lookup"), ("app-core", "auth")];

/// Where criterion writes its data (`target/bench/criterion`).
fn criterion_home() -> PathBuf {
    bench_dir().join("criterion")
}

/// Builds the benchmark (bench profile: release settings at opt-level 3, as the server) without running it.
pub fn build() -> Result<()> {
    for (package, bench) in BENCHES {
        steps::run(
            &format!("cargo bench -p {package} --bench {bench} --no-run (criterion)"),
            steps::cargo().args(["bench", "-p", package, "--bench", bench, "--no-run"]),
        )?;
    }
    Ok(())
}

/// Runs the benchmark pinned to the server core and returns each benchmark's median.
pub fn run(cores: &Cores) -> Result<Vec<Micro>> {
    let home = criterion_home();
    let _ = std::fs::remove_dir_all(&home);
    for (package, bench) in BENCHES {
        let mut command = cores.pinned(cores.server, steps::cargo().get_program());
        command
            .args(["bench", "-p", package, "--bench", bench, "--", "--noplot"])
            .env("CRITERION_HOME", &home);
        steps::run(
            &format!("cargo bench -p {package} --bench {bench} (criterion, pinned)"),
            &mut command,
        )?;
    }
    read(&home)
}

/// Reads `HOME/GROUP/NAME/new/estimates.json` for every benchmark, fastest first.
fn read(home: &Path) -> Result<Vec<Micro>> {
    let mut found = Vec::new();
    for group in std::fs::read_dir(home).with_context(|| format!("no {}", home.display()))? {
        let group = group?.path();
        let Ok(benches) = std::fs::read_dir(&group) else {
            continue;
        };
        for bench in benches {
            let bench = bench?.path();
            let estimates = bench.join("new/estimates.json");
            let Ok(text) = std::fs::read_to_string(&estimates) else {
                continue;
            };
            let json: serde_json::Value = serde_json::from_str(&text)?;
            let median_ns = json["median"]["point_estimate"]
                .as_f64()
                .with_context(|| format!("no median in {}", estimates.display()))?;
            let name = |path: &Path| {
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            };
            found.push(Micro {
                name: format!("{}/{}", name(&group), name(&bench)),
                median_ns,
            });
        }
    }
    found.sort_by(|a, b| a.median_ns.total_cmp(&b.median_ns));
    Ok(found)
}
