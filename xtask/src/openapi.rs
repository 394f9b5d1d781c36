//! `cargo xtask openapi`: regenerates `docs/openapi.json` from the code (a unit test in app-core fails
//! while the committed file is stale).

use anyhow::{Context, Result};

use crate::steps::workspace_root;

/// Runs `cargo xtask openapi`.
pub fn run() -> Result<()> {
    let path = workspace_root().join("docs/openapi.json");
    std::fs::write(&path, app_core::http::openapi_json())
        .with_context(|| format!("writing {}", path.display()))?;
    println!("openapi: wrote {}", path.display());
    Ok(())
}
