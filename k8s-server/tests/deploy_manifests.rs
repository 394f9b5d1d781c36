//! What the manifests mean, not only whether they parse: every selector of the rendered Kustomize
//! overlays is evaluated against the labels real pods carry, and the SAM template is read the way
//! CloudFormation, Lambda and CloudWatch act on it in a new account.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::{Mapping, Value};
use support::manifests::{function, named, one, render, sam_template, text};

type Labels = BTreeMap<String, String>;

/// A pod as the cluster sees it: its namespace's labels and its own.
struct Pod {
    name: &'static str,
    namespace: String,
    namespace_labels: Labels,
    labels: Labels,
}

impl Pod {
    fn new(name: &'static str, namespace: &str, labels: Labels) -> Pod {
        Pod {
            name,
            namespace: namespace.to_owned(),
            // Kubernetes labels every namespace with its name.
            namespace_labels: labels_of(&[("kubernetes.io/metadata.name", namespace)]),
            labels,
        }
    }
}

fn labels_of(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn mapping_labels(value: &Value) -> Labels {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

/// Does the label selector (`matchLabels`, `matchExpressions`) select `labels`? An empty selector
/// selects everything.
fn selects(selector: &Value, labels: &Labels) -> bool {
    let match_labels = mapping_labels(&selector["matchLabels"]);
    let expressions = selector["matchExpressions"]
        .as_sequence()
        .into_iter()
        .flatten();
    match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        && expressions.into_iter().all(|e| {
            let key = e["key"].as_str().expect("matchExpressions key");
            let values: Vec<String> = e["values"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let value = labels.get(key);
            match e["operator"].as_str() {
                Some("In") => value.is_some_and(|v| values.contains(v)),
                Some("NotIn") => value.is_none_or(|v| !values.contains(v)),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                other => panic!("unknown selector operator {other:?}"),
            }
        })
}

/// The pods one NetworkPolicy peer (`from`/`to` entry) selects, for a policy in `namespace`. An
/// `ipBlock` peer selects no pod by its labels.
fn peer_selects(peer: &Value, namespace: &str, pod: &Pod) -> bool {
    let pods = &peer["podSelector"];
    let namespaces = &peer["namespaceSelector"];
    if pods.is_null() && namespaces.is_null() {
        return false;
    }
    let in_namespace = if namespaces.is_null() {
        pod.namespace == namespace
    } else {
        selects(namespaces, &pod.namespace_labels)
    };
    in_namespace && (pods.is_null() || selects(pods, &pod.labels))
}

/// The labels of the pods a workload's template creates, plus what the controller adds.
fn template_labels(workload: &Value, added: &[(&str, &str)]) -> Labels {
    let mut labels = mapping_labels(&workload["spec"]["template"]["metadata"]["labels"]);
    labels.extend(labels_of(added));
    labels
}

/// The pods of a cluster running the overlays: CoreDNS as EKS and kind label it, this
/// application's pods as its Deployment and Job create them, Prometheus in `monitoring`, and
/// bystanders that no rule should reach.
fn cluster(objects: &[Value]) -> Vec<Pod> {
    // The application's namespace (the Job's kustomization uses the one overlays/aws creates).
    let app_namespace = objects
        .iter()
        .find_map(|o| o["metadata"]["namespace"].as_str())
        .expect("namespaced objects")
        .to_owned();
    let mut app_namespace_labels = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Namespace"))
        .map(|n| mapping_labels(&n["metadata"]["labels"]))
        .unwrap_or_default();
    app_namespace_labels.insert("kubernetes.io/metadata.name".into(), app_namespace.clone());
    let in_app_namespace = |name, labels| Pod {
        name,
        namespace: app_namespace.clone(),
        namespace_labels: app_namespace_labels.clone(),
        labels,
    };
    let mut pods = vec![
        // EKS's CoreDNS add-on (kube-system, k8s-app: kube-dns).
        Pod::new(
            "coredns (EKS)",
            "kube-system",
            labels_of(&[
                ("k8s-app", "kube-dns"),
                ("eks.amazonaws.com/component", "coredns"),
                ("pod-template-hash", "5d8c6b9f7c"),
            ]),
        ),
        // kind's CoreDNS (kubeadm's manifest: the same label).
        Pod::new(
            "coredns (kind)",
            "kube-system",
            labels_of(&[("k8s-app", "kube-dns"), ("pod-template-hash", "7db6d8ff4d")]),
        ),
        Pod::new(
            "kube-proxy",
            "kube-system",
            labels_of(&[("k8s-app", "kube-proxy")]),
        ),
        Pod::new(
            "prometheus",
            "monitoring",
            labels_of(&[("app.kubernetes.io/name", "prometheus")]),
        ),
        Pod::new(
            "another app",
            "default",
            labels_of(&[("app.kubernetes.io/name", "other")]),
        ),
        in_app_namespace("a debug pod", labels_of(&[("run", "debug")])),
        // The OpenTelemetry Collector as its Helm chart labels it.
        Pod::new(
            "otel collector",
            "opentelemetry",
            labels_of(&[
                ("app.kubernetes.io/name", "opentelemetry-collector"),
                ("app.kubernetes.io/instance", "opentelemetry-collector"),
            ]),
        ),
    ];
    if let Some(deployment) = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Deployment"))
    {
        pods.push(in_app_namespace(
            "user-lookup",
            template_labels(deployment, &[("pod-template-hash", "6f9c7d8b5")]),
        ));
    }
    if let Some(job) = objects.iter().find(|o| o["kind"].as_str() == Some("Job")) {
        let name = job["metadata"]["name"].as_str().expect("Job name");
        pods.push(in_app_namespace(
            "user-import",
            template_labels(
                job,
                &[
                    ("batch.kubernetes.io/job-name", name),
                    ("job-name", name),
                    ("batch.kubernetes.io/controller-uid", "0b1c"),
                ],
            ),
        ));
    }
    pods
}

fn names<'a>(pods: impl Iterator<Item = &'a Pod>) -> BTreeSet<&'static str> {
    pods.map(|p| p.name).collect()
}

const EVERY_POD: &[&str] = &[
    "coredns (EKS)",
    "coredns (kind)",
    "kube-proxy",
    "prometheus",
    "another app",
    "a debug pod",
    "otel collector",
    "user-lookup",
    "user-import",
];
const COREDNS: &[&str] = &["coredns (EKS)", "coredns (kind)"];

/// What each rule of each policy must select, as the comments above the rules say: (policy,
/// direction, port) → pods. A rule of ipBlocks only selects no pod.
fn expected_peers(policy: &str, direction: &str, port: u64) -> &'static [&'static str] {
    match (policy, direction, port) {
        // The API port from anywhere (the Service, the NLB's targets, other pods).
        ("user-lookup", "ingress", 8080) => EVERY_POD,
        // The metrics port from the monitoring namespace only.
        ("user-lookup", "ingress", 9090) => &["prometheus"],
        // DNS to the cluster DNS pods only, on EKS and kind alike.
        ("user-lookup" | "user-import", "egress", 53) => COREDNS,
        // HTTPS to public addresses, the Pod Identity agent: addresses, no pod.
        ("user-lookup" | "user-import", "egress", 443 | 80) => &[],
        // OTLP/HTTP to the OpenTelemetry Collector only.
        ("user-lookup", "egress", 4318) => &["otel collector"],
        other => panic!("a NetworkPolicy rule nobody expects: {other:?}"),
    }
}

#[test]
fn every_network_policy_rule_selects_exactly_the_pods_its_comment_names() {
    for overlay in ["local", "aws", "aws-import"] {
        let objects = render(overlay);
        let pods = cluster(&objects);
        let policies: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"].as_str() == Some("NetworkPolicy"))
            .collect();
        assert!(!policies.is_empty(), "overlay {overlay}: no NetworkPolicy");
        for policy in policies {
            let name = text(&policy["metadata"]["name"]);
            let namespace = text(&policy["metadata"]["namespace"]);
            let spec = &policy["spec"];

            // THEN the policy applies to its workload's pods, and to no other pod
            let governed =
                names(pods.iter().filter(|p| {
                    p.namespace == namespace && selects(&spec["podSelector"], &p.labels)
                }));
            assert_eq!(
                governed.into_iter().collect::<Vec<_>>(),
                [name.as_str()],
                "overlay {overlay}: NetworkPolicy {name} spec.podSelector"
            );

            // AND each rule reaches exactly the pods it is meant for
            for (direction, peers_key) in [("ingress", "from"), ("egress", "to")] {
                for rule in spec[direction].as_sequence().into_iter().flatten() {
                    let peers: Vec<&Value> = rule[peers_key]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .collect();
                    let selected = if peers.is_empty() {
                        names(pods.iter())
                    } else {
                        names(pods.iter().filter(|pod| {
                            peers.iter().any(|peer| peer_selects(peer, &namespace, pod))
                        }))
                    };
                    for port in rule["ports"]
                        .as_sequence()
                        .expect("every rule names its ports")
                    {
                        let port = port["port"].as_u64().expect("a numbered port");
                        let expected: BTreeSet<&str> = expected_peers(&name, direction, port)
                            .iter()
                            .copied()
                            .filter(|p| names(pods.iter()).contains(p))
                            .collect();
                        assert_eq!(
                            selected, expected,
                            "overlay {overlay}: NetworkPolicy {name}, {direction} port {port}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_deployment_service_budget_and_spreads_select_the_application_pods_only() {
    for overlay in ["local", "aws"] {
        let objects = render(overlay);
        let pods = cluster(&objects);
        let deployment = one(&objects, "Deployment");
        let in_namespace = |selector: &dyn Fn(&Pod) -> bool| {
            names(
                pods.iter()
                    .filter(|p| p.namespace == "user-lookup" && selector(p)),
            )
        };
        let application = BTreeSet::from(["user-lookup"]);

        let selector = &deployment["spec"]["selector"];
        assert_eq!(
            in_namespace(&|p| selects(selector, &p.labels)),
            application,
            "overlay {overlay}: Deployment selector vs its own pods"
        );
        // A Service selector is a plain map of labels.
        let service = &one(&objects, "Service")["spec"]["selector"];
        let service = Value::Mapping(Mapping::from_iter([(
            Value::from("matchLabels"),
            service.clone(),
        )]));
        assert!(
            !service["matchLabels"].is_null(),
            "overlay {overlay}: Service selector"
        );
        assert_eq!(
            in_namespace(&|p| selects(&service, &p.labels)),
            application,
            "overlay {overlay}: Service selector"
        );
        let budget = &one(&objects, "PodDisruptionBudget")["spec"]["selector"];
        assert_eq!(
            in_namespace(&|p| selects(budget, &p.labels)),
            application,
            "overlay {overlay}: PodDisruptionBudget selector"
        );
        for spread in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_sequence()
            .expect("topologySpreadConstraints")
        {
            assert_eq!(
                in_namespace(&|p| selects(&spread["labelSelector"], &p.labels)),
                application,
                "overlay {overlay}: spread over {:?}",
                spread["topologyKey"]
            );
        }
    }
}

/// The template's resources by logical id.
fn resources(template: &Value) -> &Mapping {
    template["Resources"].as_mapping().expect("Resources")
}

/// The logical id a `!Ref` names.
fn reference(value: &Value) -> Option<String> {
    function(value, "Ref").map(text)
}

#[test]
fn no_function_reserves_concurrency_that_a_new_account_refuses() {
    // Lambda refuses a reservation that leaves less than 100 unreserved, and new accounts have a
    // reduced quota: any fixed reservation can fail the first create. So a reservation is a
    // parameter, 0 by default, left out (not 0, which throttles everything) when 0.
    let template = sam_template();
    let parameters = &template["Parameters"];
    let conditions = &template["Conditions"];
    for (id, resource) in resources(&template) {
        let kind = resource["Type"].as_str().unwrap_or_default();
        if !kind.ends_with("::Function") {
            continue;
        }
        let reserved = &resource["Properties"]["ReservedConcurrentExecutions"];
        if reserved.is_null() {
            continue;
        }
        let branches = function(reserved, "If")
            .and_then(Value::as_sequence)
            .unwrap_or_else(|| panic!("{id:?}: a fixed ReservedConcurrentExecutions {reserved:?}"));
        let parameter =
            reference(&branches[1]).unwrap_or_else(|| panic!("{id:?}: reserves a parameter"));
        assert_eq!(
            reference(&branches[2]).as_deref(),
            Some("AWS::NoValue"),
            "{id:?}: left out otherwise"
        );
        assert_eq!(
            parameters[parameter.as_str()]["Default"].as_u64(),
            Some(0),
            "{id:?}: {parameter} defaults to no reservation"
        );
        // The condition is "parameter is not 0".
        let condition = &conditions[text(&branches[0]).as_str()];
        let not_equals = function(condition, "Not")
            .and_then(|n| function(&n[0], "Equals"))
            .unwrap_or_else(|| panic!("{id:?}: condition {condition:?}"));
        assert_eq!(reference(&not_equals[0]), Some(parameter.clone()), "{id:?}");
        assert_eq!(not_equals[1].as_u64(), Some(0), "{id:?}");
    }
}

#[test]
fn every_alarm_notifies_a_topic_that_cloudwatch_can_publish_to() {
    let template = sam_template();
    let resources = resources(&template);
    let alarms: Vec<(&Value, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect();
    assert!(!alarms.is_empty(), "no alarm");
    for (id, alarm) in alarms {
        let props = &alarm["Properties"];
        let actions: Vec<&Value> = ["AlarmActions", "OKActions", "InsufficientDataActions"]
            .iter()
            .flat_map(|key| props[*key].as_sequence().into_iter().flatten())
            .collect();
        assert!(!actions.is_empty(), "{id:?} notifies nobody");
        for action in actions {
            let topic_id = reference(action)
                .unwrap_or_else(|| panic!("{id:?}: action {action:?} is not a topic of the stack"));
            let topic = &resources[topic_id.as_str()];
            assert_eq!(topic["Type"].as_str(), Some("AWS::SNS::Topic"), "{id:?}");
            let key = &topic["Properties"]["KmsMasterKeyId"];
            if key.is_null() {
                continue; // unencrypted: CloudWatch can publish
            }
            // An alias or key id (alias/aws/sns above all) has a policy this stack cannot see or
            // change; the AWS managed key's never lets CloudWatch use it.
            let key_id = reference(key).unwrap_or_else(|| {
                panic!("{topic_id}: KmsMasterKeyId {key:?} is not a key of this stack")
            });
            let key = &resources[key_id.as_str()];
            assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"), "{key_id}");
            let grants_cloudwatch = key["Properties"]["KeyPolicy"]["Statement"]
                .as_sequence()
                .expect("KeyPolicy.Statement")
                .iter()
                .filter(|s| s["Effect"].as_str() == Some("Allow"))
                .filter(|s| {
                    let service = &s["Principal"]["Service"];
                    service.as_str() == Some("cloudwatch.amazonaws.com")
                        || service
                            .as_sequence()
                            .is_some_and(|all| all.iter().any(|v| v == "cloudwatch.amazonaws.com"))
                })
                .any(|s| {
                    let actions: Vec<String> = match &s["Action"] {
                        Value::Sequence(all) => all.iter().map(text).collect(),
                        one => vec![text(one)],
                    };
                    ["kms:Decrypt", "kms:GenerateDataKey"].iter().all(|needed| {
                        actions.iter().any(|a| {
                            a == "kms:*"
                                || a == needed
                                || a.strip_suffix('*').is_some_and(|p| needed.starts_with(p))
                        })
                    })
                });
            assert!(
                grants_cloudwatch,
                "{key_id}: its policy must allow cloudwatch.amazonaws.com kms:Decrypt and \
                 kms:GenerateDataKey*"
            );
        }
    }
}

#[test]
fn no_resource_survives_a_failed_first_create_or_blocks_the_next_stack() {
    let template = sam_template();
    for (id, resource) in resources(&template) {
        let policy = resource["DeletionPolicy"].as_str();
        // Retain keeps what a rolled-back first create made, and the retry then collides with it.
        assert_ne!(
            policy,
            Some("Retain"),
            "{id:?}: use RetainExceptOnCreate, which deletes it when its first create rolls back"
        );
        // A protected table cannot be deleted, not even by that rollback.
        assert_ne!(
            resource["Properties"]["DeletionProtectionEnabled"].as_bool(),
            Some(true),
            "{id:?}: deletion protection on create"
        );
        // What outlives the stack must not hold the name the next stack of the same name wants.
        if policy == Some("RetainExceptOnCreate") {
            for name_property in ["BucketName", "TableName", "QueueName", "TopicName"] {
                let name = &resource["Properties"][name_property];
                if !name.is_null() {
                    assert!(
                        format!("{name:?}").contains("AWS::StackId"),
                        "{id:?}: {name_property} {name:?} is the same for the next stack"
                    );
                }
            }
        }
    }
}

#[test]
fn the_lookup_scope_defaults_to_the_form_a_cognito_token_carries() {
    // Cognito grants resource server scopes as IDENTIFIER/NAME; a bare name never matches.
    let template = sam_template();
    let default = template["Parameters"]["JwtRequiredScope"]["Default"]
        .as_str()
        .expect("JwtRequiredScope default");
    let aws = render("aws");
    let overlay = named(&aws, "ConfigMap", &configmap_name(&aws))["data"]["JWT_REQUIRED_SCOPE"]
        .as_str()
        .expect("JWT_REQUIRED_SCOPE in the aws overlay")
        .to_owned();
    assert_eq!(default, overlay, "the same scope on both targets");
    let (server, name) = default.split_once('/').expect("RESOURCE-SERVER/NAME");
    assert!(!server.is_empty() && !name.is_empty(), "{default}");
}

/// The generated (hash-suffixed) name of the server's ConfigMap.
fn configmap_name(objects: &[Value]) -> String {
    text(
        &one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]
            ["name"],
    )
}
