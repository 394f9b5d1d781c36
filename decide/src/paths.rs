//! Where the lab finds the repository's files.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("decide lives in the workspace")
        .to_path_buf()
}

/// `path` relative to the current directory when it is inside it.
pub fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

/// `path` relative to the workspace root when it is inside it (the same from any directory),
/// else as [`display`] shows it.
pub fn in_workspace(path: &Path) -> String {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    match absolute.strip_prefix(workspace_root()) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => display(path),
    }
}
