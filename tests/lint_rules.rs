//! `kindling lint`'s Rollout rules, through the real binary: a good set of objects passes,
//! each rule is caught by one crafted mistake (exit 1, message on the Rollout), and what
//! only may be a problem (a referenced object not in the input) is a warning, an error
//! only with --strict.

mod support;

use serde_json::{Value, json};

fn canary_set() -> Vec<Value> {
    vec![
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {
                "replicas": 5,
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a", "tier": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}},
                "strategy": {"canary": {
                    "canaryService": "r-canary", "stableService": "r-stable",
                    "maxSurge": 1, "maxUnavailable": 0,
                    "steps": [{"setWeight": 20}, {"analysis": {
                        "templates": [{"templateName": "t"}],
                        "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}]}}}}),
        service("r-canary"),
        service("r-stable"),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": {"args": [{"name": "hash"}, {"name": "optional", "value": "x"}],
                     "metrics": [{"name": "m", "count": 1, "successCondition": "result[0] > 0",
                                  "provider": {"prometheus": {"address": "http://p:9090", "query": "vector(1)"}}}]}}),
    ]
}

fn bluegreen_set() -> Vec<Value> {
    let mut set = canary_set();
    set[0]["spec"]["strategy"] = json!({"blueGreen": {
        "activeService": "r-stable", "previewService": "r-canary", "autoPromotionEnabled": false,
        "prePromotionAnalysis": {"templates": [{"templateName": "t"}],
            "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}});
    set
}

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
        "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

/// Runs `kindling --output json lint --schemas <dir> -` on the objects (as a JSON stream).
fn lint(objects: &[Value], schemas: &std::path::Path) -> (i32, Value) {
    lint_with(objects, schemas, &[])
}

fn lint_with(objects: &[Value], schemas: &std::path::Path, flags: &[&str]) -> (i32, Value) {
    let input: String = objects.iter().map(|o| format!("{o}\n")).collect();
    let out = support::kindling()
        .args(["--output", "json", "lint", "--schemas"])
        .arg(schemas)
        .args(flags)
        .arg("-")
        .write_stdin(input)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

fn rollout_messages(report: &Value) -> Vec<String> {
    rollout_list(report, "messages")
}

fn rollout_warnings(report: &Value) -> Vec<String> {
    rollout_list(report, "warnings")
}

fn rollout_list(report: &Value, field: &str) -> Vec<String> {
    let rollout = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Rollout")
        .unwrap();
    rollout[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// Lints a set and asserts exit 0 (valid, or skipped without schemas) with no Rollout error.
fn assert_accepted(objects: &[Value]) -> Value {
    let empty = tempfile::tempdir().unwrap();
    let (code, report) = lint(objects, empty.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        rollout_messages(&report).len(),
        1,
        "only the 'no schema' skip note: {report:#}"
    );
    report
}

/// Lints a mutated set and asserts exit 1 with `expected` in the Rollout's messages.
fn assert_caught(objects: Vec<Value>, expected: &str) {
    let empty = tempfile::tempdir().unwrap();
    let (code, report) = lint(&objects, empty.path());
    let messages = rollout_messages(&report);
    assert_eq!(
        code, 1,
        "expected exit 1 for {expected:?}; messages {messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains(expected)),
        "expected {expected:?} in {messages:#?}"
    );
}

#[test]
fn good_sets_pass_without_and_with_schemas() {
    let empty = tempfile::tempdir().unwrap();
    for set in [canary_set(), bluegreen_set()] {
        let (code, report) = lint(&set, empty.path());
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(
            rollout_messages(&report).len(),
            1,
            "only the 'no schema' skip note: {report:#}"
        );
        assert_eq!(report["objects"][0]["status"], "skipped");
        assert_eq!(
            report["objects"][1]["status"], "valid",
            "Service checked as a core object"
        );
    }
    let Some(upstream) = support::shared_dir().map(|d| d.join("upstream")) else {
        return;
    };
    let (code, report) = lint(&canary_set(), &upstream);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "valid"),
        "{report:#}"
    );
}

#[test]
fn selector_rules() {
    let mut set = canary_set();
    set[0]["spec"].as_object_mut().unwrap().remove("selector");
    assert_caught(set, ".spec.selector: Required value");

    let mut set = canary_set();
    set[0]["spec"]["selector"]["matchLabels"]["app"] = json!("b");
    assert_caught(set, "`selector` does not match template `labels`");

    let mut set = canary_set();
    set[0]["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]});
    assert_caught(set, "`selector` does not match template `labels`");

    let mut set = canary_set();
    set[0]["spec"]["selector"] = json!({});
    assert_caught(set, "empty selector is invalid for deployment");
}

#[test]
fn a_workload_ref_rollout_needs_no_selector_or_template() {
    let mut set = canary_set();
    let spec = set[0]["spec"].as_object_mut().unwrap();
    spec.remove("selector");
    spec.remove("template");
    spec.insert(
        "workloadRef".into(),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "r"}),
    );
    assert_accepted(&set);
    // With a workloadRef the template comes from the Deployment: one here is a mistake.
    set[0]["spec"]["template"] = json!({"metadata": {"labels": {"app": "a"}}});
    assert_caught(set, "template must be empty for workload reference rollout");
}

#[test]
fn max_surge_and_max_unavailable_both_zero() {
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["maxSurge"] = json!("0%");
    assert_caught(
        set,
        ".spec.strategy.canary.maxSurge: Invalid value: 0%: MaxSurge and MaxUnavailable both can not be zero",
    );
}

#[test]
fn services_that_are_in_the_input_must_select_the_pods() {
    let mut set = canary_set();
    set[2]["spec"]["selector"] = json!({"app": "a", "tier": "db"});
    assert_caught(
        set,
        ".spec.strategy.canary.stableService: Invalid value: \"r-stable\": Service \"r-stable\" has unmatch label \"tier\" in rollout",
    );
    // The controller adds the pod-template hash to selectors itself: never a mismatch.
    let mut set = canary_set();
    set[2]["spec"]["selector"] = json!({"app": "a", "rollouts-pod-template-hash": "abc"});
    assert_accepted(&set);
    // An empty selector has no label to mismatch (upstream agrees).
    let mut set = canary_set();
    set[2]["spec"]["selector"] = json!({});
    assert_accepted(&set);
    // Ping-pong Services are held to the same rule.
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["pingPong"] =
        json!({"pingService": "r-canary", "pongService": "r-stable"});
    set[0]["spec"]["strategy"]["canary"]["trafficRouting"] =
        json!({"alb": {"ingress": "ing", "rootService": "r-canary"}});
    set[1]["spec"]["selector"] = json!({"app": "other"});
    assert_caught(
        set,
        ".spec.strategy.canary.pingPong.pingService: Invalid value: \"r-canary\": Service \"r-canary\" has unmatch label \"app\" in rollout",
    );
}

#[test]
fn objects_a_rollout_names_that_are_not_in_the_input_are_warnings_errors_under_strict() {
    let empty = tempfile::tempdir().unwrap();
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["trafficRouting"] =
        json!({"nginx": {"stableIngress": "r-ingress"}});
    // Only the Rollout: its Services, Ingress and AnalysisTemplate may be in the cluster.
    let only_rollout = vec![set[0].clone()];
    let (code, report) = lint(&only_rollout, empty.path());
    assert_eq!(code, 0, "{report:#}");
    let warnings = rollout_warnings(&report);
    for expected in [
        ".spec.strategy.canary.canaryService: Service \"r-canary\" is not in the input (namespace ns)",
        ".spec.strategy.canary.stableService: Service \"r-stable\" is not in the input",
        ".spec.strategy.canary.trafficRouting.nginx.stableIngress: Ingress \"r-ingress\" is not in the input",
        ".spec.strategy.canary.steps[1].analysis.templates[0]: AnalysisTemplate \"t\" is not in the input",
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(expected)),
            "missing warning {expected:?} in {warnings:#?}"
        );
    }
    assert_eq!(report["warnings"], 4, "{report:#}");
    // A Service in another namespace is not the one the Rollout uses.
    let mut other_ns = canary_set();
    other_ns[2]["metadata"]["namespace"] = json!("other");
    let (code, report) = lint(&other_ns, empty.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(rollout_warnings(&report).len(), 1, "{report:#}");

    let (code, report) = lint_with(&only_rollout, empty.path(), &["--strict"]);
    assert_eq!(code, 1, "--strict: warnings are errors: {report:#}");
    assert!(
        rollout_messages(&report)
            .iter()
            .any(|m| m.contains("Service \"r-canary\" is not in the input")),
        "{report:#}"
    );
}

#[test]
fn an_ingress_without_a_rule_for_the_stable_service_is_a_warning() {
    let empty = tempfile::tempdir().unwrap();
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["trafficRouting"] =
        json!({"nginx": {"stableIngress": "r-ingress"}});
    let ingress = |service: &str| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "r-ingress", "namespace": "ns"},
            "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}})
    };
    set.push(ingress("r-stable"));
    let (code, report) = lint(&set, empty.path());
    assert_eq!(
        (code, rollout_warnings(&report).len()),
        (0, 0),
        "{report:#}"
    );
    *set.last_mut().unwrap() = ingress("elsewhere");
    let (code, report) = lint(&set, empty.path());
    assert_eq!(code, 0, "upstream's linter accepts it: {report:#}");
    assert!(
        rollout_warnings(&report)[0].contains(
            "ingress `r-ingress` has no rules using service r-stable backend: the controller will mark the Rollout InvalidSpec"
        ),
        "{report:#}"
    );
}

#[test]
fn experiment_template_weights_need_smi_alb_istio_or_plugin_routing() {
    let with_routing = |routing: Option<Value>| {
        let mut set = canary_set();
        let canary = &mut set[0]["spec"]["strategy"]["canary"];
        canary["steps"] = json!([{"setWeight": 20}, {"experiment": {"templates": [
            {"name": "canary", "specRef": "canary", "weight": 20}]}}]);
        if let Some(r) = routing {
            canary["trafficRouting"] = r;
        }
        set
    };
    assert_caught(
        with_routing(Some(json!({"nginx": {"stableIngress": "i"}}))),
        ".spec.strategy.canary.steps[1].experiment.templates[0].weight: Invalid value: 20: Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and Plugins at this time",
    );
    assert_caught(
        with_routing(None),
        "Experiment template weight cannot be set unless TrafficRouting is enabled",
    );
    for ok in [
        json!({"smi": {}}),
        json!({"alb": {"ingress": "i"}}),
        json!({"istio": {"virtualService": {"name": "v"}}}),
        json!({"plugins": {"example/plugin": {}}}),
    ] {
        let set = with_routing(Some(ok.clone()));
        let empty = tempfile::tempdir().unwrap();
        let (code, report) = lint(&set, empty.path());
        assert_eq!(code, 0, "{ok}: {report:#}");
    }
}

#[test]
fn what_the_crd_schema_cannot_say_weights_replicas_and_pause_durations() {
    let with_steps = |steps: Value| {
        let mut set = canary_set();
        set[0]["spec"]["strategy"]["canary"]["steps"] = steps;
        set
    };
    assert_caught(
        with_steps(json!([{"setWeight": 150}])),
        ".spec.strategy.canary.steps[0].setWeight: Invalid value: 150: SetWeight needs to be between 0 and 100",
    );
    assert_caught(
        with_steps(json!([{"setWeight": -1}])),
        "SetWeight needs to be between 0 and 100",
    );
    assert_caught(
        with_steps(json!([{"pause": {"duration": "forever"}}])),
        ".spec.strategy.canary.steps[0].pause.duration: Invalid value: -1: Duration needs to be greater than 0",
    );
    assert_caught(
        with_steps(json!([{"pause": {"duration": "-5s"}}])),
        ".spec.strategy.canary.steps[0].pause.duration: Invalid value: -5: Duration needs to be greater than 0",
    );
    assert_caught(
        with_steps(json!([{}])),
        "Step must have one of the following set: experiment, setWeight, setCanaryScale or pause",
    );
    assert_accepted(&with_steps(json!([
        {"setWeight": 0}, {"pause": {"duration": "1h30m"}}, {"pause": {"duration": 30}},
        {"pause": {"duration": "30"}}, {"setWeight": 100}, {"pause": {}}
    ])));
    let mut set = canary_set();
    set[0]["spec"]["replicas"] = json!(-1);
    assert_caught(
        set,
        ".spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    );
}

#[test]
fn analysis_templates_in_the_input_get_their_args() {
    let mut set = canary_set();
    set[0]["spec"]["strategy"]["canary"]["steps"][1]["analysis"]["args"] = json!([]);
    assert_caught(
        set,
        "AnalysisTemplate \"t\" needs argument \"hash\", which is not supplied",
    );

    let mut set = bluegreen_set();
    set[0]["spec"]["strategy"]["blueGreen"]["postPromotionAnalysis"] =
        json!({"templates": [{"templateName": "t"}]});
    assert_caught(
        set,
        ".spec.strategy.blueGreen.postPromotionAnalysis.args: AnalysisTemplate \"t\" needs argument \"hash\"",
    );
}

#[test]
fn blue_green_active_and_preview_must_differ() {
    let mut set = bluegreen_set();
    set[0]["spec"]["strategy"]["blueGreen"]["previewService"] = json!("r-stable");
    assert_caught(
        set,
        ".spec.strategy.blueGreen.activeService: Invalid value: \"r-stable\": This rollout uses the same service for the active and preview services, but two different services are required.",
    );
}

#[test]
fn missing_path_is_a_usage_error_and_yaml_errors_are_invalid() {
    let out = support::kindling()
        .args(["lint", "--schemas", "/nonexistent-schemas", "-"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "kind: [unclosed\n").unwrap();
    let out = support::kindling()
        .args(["lint", "--schemas"])
        .arg(dir.path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid YAML"));
}
