//! app-core's top-level modules use each other in one direction: no module reaches itself through
//! `crate::` paths in its product code (tests may use anything). Read from the sources, so that a new
//! `use crate::…` that closes a circle fails here, naming the modules on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_reaches_itself_through_crate_paths() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = uses_of(&src);
    assert!(
        graph.len() > 5,
        "read too few modules under {}: {graph:?}",
        src.display()
    );
    // The lookup use case knows nothing of HTTP or of who may call it: the router's state carries the
    // access rule (`http::AppState`).
    for outside in ["http", "auth"] {
        assert!(
            !graph["service"].contains(outside),
            "service uses {outside}: {graph:#?}"
        );
    }
    let circles = in_circles(&graph);
    assert!(
        circles.is_empty(),
        "these app-core modules reach themselves through `use crate::` (a circle): {circles:?}; \
         their uses: {graph:#?}"
    );
}

#[test]
fn the_check_finds_a_circle() {
    let graph: Graph = [
        ("config", &["auth"][..]),
        ("auth", &["transport"]),
        ("transport", &["config"]),
        ("http", &["auth"]),
    ]
    .into_iter()
    .map(|(m, uses)| (m.to_owned(), uses.iter().map(|u| u.to_string()).collect()))
    .collect();

    assert_eq!(in_circles(&graph), ["auth", "config", "transport"]);
    assert_eq!(
        product_code("use crate::a;\n#[cfg(test)]\npub(crate) mod tests {\n use crate::b;\n}\n"),
        "use crate::a;\n"
    );
}

/// For each top-level module under `src`, the other top-level modules its product code names as
/// `crate::NAME`.
fn uses_of(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let is_test_file = relative
            .iter()
            .any(|part| part == "tests" || part == "tests.rs");
        if path.extension().is_none_or(|ext| ext != "rs") || top == "lib" || is_test_file {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let uses = graph.entry(top.clone()).or_default();
        for (at, _) in product_code(&text).match_indices("crate::") {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name != top && !name.is_empty() {
                uses.insert(name);
            }
        }
    }
    graph
}

/// `text` up to its unit-test module (`#[cfg(test)] mod tests`, which this crate puts last).
fn product_code(text: &str) -> &str {
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        let rest = text[start + "#[cfg(test)]".len()..].trim_start();
        let rest = rest.strip_prefix("pub(crate) ").unwrap_or(rest);
        if rest.starts_with("mod ") {
            return &text[..start];
        }
        from = start + 1;
    }
    text
}

/// The modules that reach themselves, sorted.
fn in_circles(graph: &Graph) -> Vec<String> {
    graph
        .keys()
        .filter(|module| {
            let mut seen = BTreeSet::new();
            let mut next: Vec<&String> = graph[*module].iter().collect();
            while let Some(name) = next.pop() {
                if name == *module {
                    return true;
                }
                if seen.insert(name) {
                    next.extend(graph.get(name).into_iter().flatten());
                }
            }
            false
        })
        .cloned()
        .collect()
}
