//! The test build holds one `app-core`: its dev-dependencies reach no crate of the workspace that
//! depends on `app-core` (a dev-dependency on `testkit` would bring a second `app-core` through
//! `k8s-server` and `lambda-fn`). `contract`, the one workspace crate they may name, depends on none.

use std::path::Path;

const DEPEND_ON_APP_CORE: &[&str] = &["app-core", "testkit", "k8s-server", "lambda-fn"];

/// The names of the dependencies in `section` of the manifest at `path` (relative to the workspace).
fn dependencies(path: &str, section: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(path)).unwrap();
    let header = format!("[{section}]");
    let start = text
        .find(&header)
        .unwrap_or_else(|| panic!("{path} has no {header}"));
    text[start + header.len()..]
        .lines()
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split(['=', '.']).next())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect()
}

#[test]
fn app_cores_tests_reach_no_second_app_core() {
    let dev = dependencies("app-core/Cargo.toml", "dev-dependencies");
    assert!(dev.contains(&"contract".to_owned()), "{dev:?}");
    for name in DEPEND_ON_APP_CORE {
        assert!(
            !dev.iter().any(|d| d == name),
            "app-core's dev-dependencies name {name}: {dev:?}"
        );
    }
    let contract = dependencies("contract/Cargo.toml", "dependencies");
    for name in DEPEND_ON_APP_CORE {
        assert!(
            !contract.iter().any(|d| d == name),
            "contract depends on {name}: {contract:?}"
        );
    }
}
