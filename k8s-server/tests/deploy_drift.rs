//! Drift between `deploy/` and the binaries: the manifests must set only variables the binaries read,
//! with values they accept, and point probes and ports at what `k8s-server` really serves.
//!
//! The Kustomize overlays are rendered with `kubectl kustomize` (kubectl from `$KUBECTL`, which
//! `cargo xtask test` installs under `target/ci-venv`), then the server is started with each overlay's
//! environment and its probe paths are requested. The deploy guides are checked against the
//! manifests too: the Kubernetes guide's "Values to set" block runs on a copy of `deploy/k8s` and
//! must leave no placeholder, and the Lambda guide's `sam deploy --guided` answers must name every
//! template parameter with its default. What the selectors and the SAM template mean is checked in
//! `deploy_manifests.rs`.

mod support;

use std::collections::BTreeMap;
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
use support::manifests::{named, one, render, repo, sam_template, text};

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
        // AND the workshop's picture of the drain states these figures
        let picture = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/pictures/drain.svg"
        ))
        .expect("docs/pictures/drain.svg");
        let sum = format!(
            "{} + {} + {} = {} s &lt; terminationGracePeriodSeconds {} s",
            pre_stop.as_secs(),
            server_config.shutdown_delay.as_secs(),
            server_config.shutdown_timeout.as_secs(),
            (pre_stop + drain).as_secs(),
            grace.as_secs()
        );
        assert!(
            picture.contains(&sum),
            "overlay {overlay}: docs/pictures/drain.svg does not say `{sum}`: redraw it"
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

    // AND the table outlives the stack (deleted or replaced), except when its first create rolls
    // back (deploy_manifests.rs checks that nothing survives that)
    let table = resources
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .expect("a table");
    assert_eq!(
        table["DeletionPolicy"].as_str(),
        Some("RetainExceptOnCreate")
    );
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));

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
        vars::OTEL_EXPORTER_OTLP_ENDPOINT => "http://127.0.0.1:4318",
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
    let objects = render("aws-import");
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
    let server = render("aws");
    let server_image =
        &one(&server, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(&container["image"], server_image, "the same image");
    assert!(
        !server.iter().any(|o| o["kind"].as_str() == Some("Job")),
        "the import Job is applied on purpose (overlays/aws-import), never with the application"
    );

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

    // AND the exits a retry cannot change (bad arguments, bad configuration: as the binary
    // really exits) fail the Job at once, while a transient failure (exit 1) is retried
    let import_job = |args: &[&str], vars: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_import-job"))
            .env_clear()
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .expect("import-job runs")
            .status
            .code()
            .expect("an exit code")
    };
    let location = args[0].as_str();
    let bad_arguments = import_job(&[location, "--from-line", "zero"], &[]);
    let bad_configuration = import_job(&[location], &[(vars::STORE_TIMEOUT_MS, "soon")]);
    let container_name = text(&container["name"]);
    let fail_at_once: Vec<i32> = spec["podFailurePolicy"]["rules"]
        .as_sequence()
        .expect("podFailurePolicy.rules")
        .iter()
        .filter(|rule| rule["action"].as_str() == Some("FailJob"))
        .map(|rule| &rule["onExitCodes"])
        .filter(|codes| {
            codes["operator"].as_str() == Some("In")
                && codes["containerName"].as_str() == Some(&container_name)
        })
        .flat_map(|codes| codes["values"].as_sequence().expect("values").iter())
        .map(|code| i32::try_from(code.as_i64().expect("an exit code")).unwrap())
        .collect();
    assert_eq!(
        fail_at_once,
        [bad_arguments, bad_configuration],
        "FailJob on import-job's exit codes for bad arguments and bad configuration"
    );
    assert!(!fail_at_once.contains(&1), "exit 1 (transient) is retried");
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

/// How long an NLB with IP targets keeps sending new connections to a deregistering target, as the
/// AWS Load Balancer Controller's issues 2366 and 3270 measured it (about two minutes, whatever
/// `deregistration_delay`).
const NLB_MEASURED_DEREGISTRATION: Duration = Duration::from_secs(120);

/// The margin over that: the controller deregisters only once it has seen the endpoint change, and
/// its AWS calls are rate limited (issue 2366: "a short grace period in case there is a delay (eg.
/// deregistration was rate limited)"). Half again the measured time.
const NLB_DRAIN_MARGIN: Duration = Duration::from_secs(60);

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
    // plus the margin the AWS Load Balancer Controller's issues justify
    // (deployment-drain.yaml): they measure new connections for about two minutes whatever the
    // delay, so the delay cannot be shortened below that either
    let deregistration = Duration::from_secs(deregistration).max(NLB_MEASURED_DEREGISTRATION);
    let accepting = pre_stop + server_config.shutdown_delay;
    assert!(
        accepting >= deregistration + NLB_DRAIN_MARGIN,
        "preStop {pre_stop:?} + SHUTDOWN_DELAY_MS {:?} < deregistration {deregistration:?} + \
         margin {NLB_DRAIN_MARGIN:?}",
        server_config.shutdown_delay
    );
    // AND the drain after that still ends before SIGKILL, with room to spare
    let grace = Duration::from_secs(
        pod["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("terminationGracePeriodSeconds"),
    );
    assert!(
        grace >= accepting + server_config.shutdown_timeout + Duration::from_secs(5),
        "grace {grace:?} vs accepting {accepting:?} + drain {:?} + 5 s",
        server_config.shutdown_timeout
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
fn network_policies_open_the_api_port_and_the_metrics_port_to_monitoring_and_name_every_destination()
 {
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

        // AND every egress rule names where it goes (what each selects: deploy_manifests.rs)
        for rule in policy["egress"].as_sequence().expect("egress") {
            assert!(
                rule["to"].as_sequence().is_some_and(|to| !to.is_empty()),
                "overlay {overlay}: an egress rule open to any destination: {rule:?}"
            );
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

/// The section of `guide` (a file under `docs/`) that starts at the heading `heading`, up to the
/// next heading of the same or a higher level.
fn guide_section(guide: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(repo().join("docs").join(guide)).expect("the guide");
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("{guide}: no heading {heading:?}"));
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = &text[start + heading.len()..];
    let end = body
        .lines()
        .filter(|line| {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            hashes > 0 && hashes <= level && line[hashes..].starts_with(' ')
        })
        .find_map(|line| body.find(&format!("\n{line}\n")))
        .unwrap_or(body.len());
    body[..end].to_owned()
}

/// The first code span of each table row of `section` (the table's first column).
fn first_column(section: &str) -> Vec<String> {
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(cell, _)| cell.to_owned()))
        .collect()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Every file under `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Every file's text under `dir`, one after the other.
fn all_text(dir: &std::path::Path) -> String {
    files(dir)
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("a text file"))
        .collect()
}

#[test]
fn the_kubernetes_guides_values_to_set_replace_every_placeholder_the_aws_overlays_render() {
    // GIVEN the guide's list of values to set and its block that replaces them
    let section = guide_section("deploy-kubernetes.md", "### 4. Values to set");
    let placeholders: Vec<String> = first_column(&section)
        .into_iter()
        .filter(|cell| cell != "placeholder")
        // `sha256:0000…` stands for the 64 zeros: match its written part
        .map(|cell| cell.trim_end_matches('…').to_owned())
        .collect();
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block replacing the placeholders");
    // AND every placeholder-shaped value of the manifests is in the list, and every listed one is
    // in the manifests
    let sources = all_text(&repo().join("deploy/k8s"));
    for shape in [
        "123456789012",
        "eu-west-1",
        "eu-west-1_EXAMPLE",
        "1example23456789",
        "sha256:0000",
        "certificate/00000000-0000",
        "my-import-bucket",
    ] {
        assert!(
            placeholders.iter().any(|p| p.contains(shape)),
            "the guide's values to set do not list {shape}: {placeholders:?}"
        );
    }
    for placeholder in &placeholders {
        assert!(
            sources.contains(placeholder.as_str()),
            "the guide lists {placeholder}, which deploy/k8s does not hold"
        );
    }

    // WHEN the block runs on a copy of deploy/k8s, with a reader's values
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("values-to-set");
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(&repo().join("deploy/k8s"), &root.join("deploy/k8s"));
    let digest = format!("sha256:{}", "ab".repeat(32));
    let cert =
        "arn:aws:acm:ap-southeast-2:210987654321:certificate/11111111-2222-3333-4444-555555555555";
    let import_url = "s3://sample-bucket/imports/sample.jsonl";
    let kubectl = support::manifests::kubectl();
    let path = format!(
        "{}:{}",
        kubectl.parent().expect("kubectl's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(&root)
        .env("PATH", path)
        .envs([
            ("ACCOUNT_ID", "210987654321"),
            ("AWS_REGION", "ap-southeast-2"),
            ("DIGEST", digest.as_str()),
            ("CERT_ARN", cert),
            ("POOL", "ap-southeast-2_Sample123"),
            ("CLIENT_ID", "7sampleclient0id"),
            ("IMPORT_URL", import_url),
        ])
        .output()
        .expect("bash runs");
    assert!(
        run.status.success(),
        "the guide's block failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    // THEN nothing of a placeholder is left in what the overlays render, and nothing else changed
    let render_copy = |overlay: &str| {
        support::manifests::render_dir(&root.join("deploy/k8s/overlays").join(overlay))
    };
    let (app, import) = (render_copy("aws"), render_copy("aws-import"));
    let rendered = format!("{app:?}{import:?}");
    for placeholder in &placeholders {
        assert!(
            !rendered.contains(placeholder.as_str()),
            "{placeholder} is still in the rendered overlays"
        );
    }
    let leftovers: Vec<_> = files(&root)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|x| x == "bak"))
        .collect();
    assert!(leftovers.is_empty(), "the block leaves {leftovers:?}");
    // AND each value landed where the service reads it
    let image = format!("210987654321.dkr.ecr.ap-southeast-2.amazonaws.com/k8s-server@{digest}");
    let env = container_env(&app);
    assert_eq!(
        pod_spec(&app)["containers"][0]["image"].as_str(),
        Some(image.as_str())
    );
    assert_eq!(env["AWS_REGION"], "ap-southeast-2");
    assert_eq!(
        env[vars::JWT_ISSUER],
        "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_Sample123"
    );
    assert_eq!(env[vars::JWT_AUDIENCE], "7sampleclient0id");
    let annotation = |objects: &[Value], kind: &str, key: &str| {
        text(&one(objects, kind)["metadata"]["annotations"][key])
    };
    assert_eq!(
        annotation(&app, "ServiceAccount", "eks.amazonaws.com/role-arn"),
        "arn:aws:iam::210987654321:role/user-lookup-dynamodb-read"
    );
    assert_eq!(
        annotation(
            &app,
            "Service",
            "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
        ),
        cert
    );
    assert_eq!(
        annotation(&import, "ServiceAccount", "eks.amazonaws.com/role-arn"),
        "arn:aws:iam::210987654321:role/user-import"
    );
    let job = &one(&import, "Job")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(job["image"].as_str(), Some(image.as_str()));
    assert_eq!(job["args"][0].as_str(), Some(import_url));
    let job_region = job["env"]
        .as_sequence()
        .expect("the Job's env")
        .iter()
        .find(|e| e["name"].as_str() == Some("AWS_REGION"))
        .map(|e| text(&e["value"]));
    assert_eq!(job_region.as_deref(), Some("ap-southeast-2"));
}

#[test]
fn the_lambda_guide_answers_every_parameter_sam_deploy_guided_asks_for() {
    // sam deploy --guided asks for each template parameter, in the template's order.
    let template = sam_template();
    let parameters: Vec<String> = template["Parameters"]
        .as_mapping()
        .expect("Parameters")
        .keys()
        .map(text)
        .collect();
    let prompts: Vec<String> = first_column(&guide_section("deploy-lambda.md", "## With SAM"))
        .into_iter()
        .filter_map(|cell| cell.strip_prefix("Parameter ").map(str::to_owned))
        .collect();
    let asked: Vec<String> = prompts
        .iter()
        .map(|p| p.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        asked, parameters,
        "the guide's prompt table vs the template"
    );
    // AND each prompt shows the template's default
    for (prompt, name) in prompts.iter().zip(&parameters) {
        let default = &template["Parameters"][name.as_str()]["Default"];
        let shown = format!(
            "[{}]",
            if default.is_null() {
                String::new()
            } else {
                text(default)
            }
        );
        assert!(prompt.ends_with(&shown), "{prompt}: the default is {shown}");
    }
}
