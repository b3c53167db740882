//! Every custom resource kindling ships (the rendered overlays, the Argo CD templates with
//! their placeholders filled, a CA ClusterIssuer and a Certificate) is accepted by
//! server-side apply on the real apiextensions-apiserver loaded with the upstream CRDs; and
//! `kindling lint`'s schema verdict agrees with the server's for each of them and for
//! crafted bad variants (unknown field, wrong type, missing required, bad enum, metadata).

mod support;

use kindling::lint::{self, SchemaStore};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use support::crds::{Kinds, apply, install_crds};

/// The Argo CD templates with the placeholders `kindling up` fills.
fn argocd_objects() -> Vec<Value> {
    let dir = support::root().join("manifests/argocd");
    let mut out = Vec::new();
    for file in lint::input::files_below(&dir).unwrap() {
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace(
                "${MANIFESTS_REPO}",
                "oci://kind-registry:5000/kindling-manifests",
            )
            .replace("${MANIFESTS_REVISION}", "v1");
        out.extend(lint::input::parse_documents(&text).unwrap());
    }
    out
}

fn cert_manager_objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "kindling-ca"},
               "spec": {"ca": {"secretName": "kindling-ca"}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": "demo", "namespace": "staging"},
               "spec": {"secretName": "demo-tls", "dnsNames": ["staging-demo.localhost"],
                        "issuerRef": {"name": "kindling-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}}}),
    ]
}

fn is_custom(o: &Value, kinds: &Kinds) -> bool {
    kinds.contains_key(&(
        o["apiVersion"].as_str().unwrap_or("").into(),
        o["kind"].as_str().unwrap_or("").into(),
    ))
}

/// A copy of `o` (renamed, so good and bad never collide) changed by `f`.
fn variant(o: &Value, suffix: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = o.clone();
    let name = format!("{}-{suffix}", v["metadata"]["name"].as_str().unwrap());
    v["metadata"]["name"] = json!(name);
    f(&mut v);
    v
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent).unwrap_or_else(|| panic!("{pointer}"))[key] = value;
}

/// A named change to a good object.
type Mutation = (&'static str, &'static str, Box<dyn FnOnce(&mut Value)>);

/// Crafted mistakes, each one the server must reject: (label, object).
fn bad_variants(good: &BTreeMap<&str, Value>) -> Vec<(String, Value)> {
    let g = |k: &str| good.get(k).unwrap_or_else(|| panic!("{k}"));
    let cases: Vec<Mutation> = vec![
        (
            "Rollout/staging",
            "unknown",
            Box::new(|v| set(v, "/spec/strategy/canary/stepz", json!([]))),
        ),
        (
            "Rollout/staging",
            "deep-unknown",
            Box::new(|v| {
                set(
                    v,
                    "/spec/strategy/canary/steps/1/pause/durationn",
                    json!("1m"),
                )
            }),
        ),
        (
            "Rollout/staging",
            "wrongtype",
            Box::new(|v| set(v, "/spec/replicas", json!("five"))),
        ),
        (
            "Rollout/staging",
            "container-unknown",
            Box::new(|v| set(v, "/spec/template/spec/containers/0/imagee", json!("x"))),
        ),
        (
            "Rollout/staging",
            "meta-unknown",
            Box::new(|v| set(v, "/metadata/lables", json!({"a": "b"}))),
        ),
        (
            "Rollout/production",
            "norequired",
            Box::new(|v| remove(v, "/spec/strategy/blueGreen/activeService")),
        ),
        (
            "Rollout/production",
            "wrongtype-bool",
            Box::new(|v| {
                set(
                    v,
                    "/spec/strategy/blueGreen/autoPromotionEnabled",
                    json!("no"),
                )
            }),
        ),
        (
            "AnalysisTemplate/success-rate",
            "unknown",
            Box::new(|v| set(v, "/spec/metrics/0/provider/prometheus/adress", json!("x"))),
        ),
        (
            "AnalysisTemplate/success-rate",
            "norequired",
            Box::new(|v| remove(v, "/spec/metrics/0/name")),
        ),
        (
            "AnalysisTemplate/error-rate-only",
            "wrongtype",
            Box::new(|v| set(v, "/spec/args", json!({"name": "x"}))),
        ),
        (
            "ServiceMonitor/demo-app",
            "unknown",
            Box::new(|v| set(v, "/spec/podTargetLabel", json!(["x"]))),
        ),
        (
            "ServiceMonitor/demo-app",
            "enum",
            Box::new(|v| set(v, "/spec/endpoints/0/scheme", json!("ftp"))),
        ),
        (
            "ServiceMonitor/demo-app",
            "wrongtype",
            Box::new(|v| set(v, "/spec/endpoints", json!({"port": "http"}))),
        ),
        (
            "Application/demo-app-production",
            "unknown",
            Box::new(|v| set(v, "/spec/syncPolicy/automated/prunee", json!(true))),
        ),
        (
            "Application/demo-app-production",
            "wrongtype",
            Box::new(|v| set(v, "/spec/syncPolicy/retry/limit", json!("five"))),
        ),
        (
            "Application/demo-app-production",
            "norequired",
            Box::new(|v| remove(v, "/spec/destination")),
        ),
        (
            "AppProject/applications",
            "unknown",
            Box::new(|v| set(v, "/spec/destinations/0/nameSpace", json!("x"))),
        ),
        (
            "ClusterIssuer/kindling-ca",
            "norequired",
            Box::new(|v| remove(v, "/spec/ca/secretName")),
        ),
        (
            "ClusterIssuer/kindling-ca",
            "unknown",
            Box::new(|v| set(v, "/spec/ca/secret", json!("x"))),
        ),
        (
            "Certificate/demo",
            "norequired",
            Box::new(|v| remove(v, "/spec/secretName")),
        ),
        (
            "Certificate/demo",
            "wrongtype",
            Box::new(|v| set(v, "/spec/dnsNames", json!("a.local"))),
        ),
    ];
    cases
        .into_iter()
        .map(|(key, suffix, f)| (format!("{key} {suffix}"), variant(g(key), suffix, f)))
        .collect()
}

#[tokio::test]
async fn shipped_custom_resources_are_accepted_and_lint_agrees_with_the_server() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let upstream = shared.join("upstream");
    let client = server.client().await;
    let kinds = install_crds(&client, &upstream).await;
    let store = SchemaStore::load(&upstream).unwrap();

    let mut shipped = Vec::new();
    for env in ["dev", "staging", "production"] {
        shipped.extend(
            lint::input::parse_documents(&support::render_overlay(&kustomize, env))
                .unwrap()
                .into_iter()
                .filter(|o| is_custom(o, &kinds)),
        );
    }
    shipped.extend(argocd_objects());
    shipped.extend(cert_manager_objects());
    assert!(
        shipped.len() >= 4 * 3 + 4 + 2,
        "{} custom resources",
        shipped.len()
    );

    // Good ones, keyed for the variants (staging/production Rollouts by namespace).
    let mut good = BTreeMap::new();
    for o in &shipped {
        let kind = o["kind"].as_str().unwrap();
        let name = o["metadata"]["name"].as_str().unwrap();
        let key = match (kind, o["metadata"]["namespace"].as_str()) {
            ("Rollout", Some(ns)) => format!("Rollout/{ns}"),
            _ => format!("{kind}/{name}"),
        };
        good.insert(Box::leak(key.into_boxed_str()) as &str, o.clone());
    }

    let mut disagreements = Vec::new();
    for o in &shipped {
        let label = format!(
            "{} {}/{}",
            o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]
        );
        let server_verdict = apply(&client, &kinds, o).await;
        assert!(
            server_verdict.is_ok(),
            "server rejected shipped {label}: {server_verdict:?}"
        );
        let lint_verdict =
            lint::schema_violations(o, &store).expect("every shipped kind has a schema");
        assert!(
            lint_verdict.is_empty(),
            "lint rejected shipped {label}: {lint_verdict:?}"
        );
    }
    for (label, o) in bad_variants(&good) {
        let server_verdict = apply(&client, &kinds, &o).await;
        let lint_verdict = lint::schema_violations(&o, &store).unwrap();
        eprintln!("{label}: server {server_verdict:?}; lint {lint_verdict:?}");
        if server_verdict.is_ok() || lint_verdict.is_empty() {
            disagreements.push(format!(
                "{label}: server {server_verdict:?}, lint {lint_verdict:?}"
            ));
        }
    }
    // Upstream's own Rollout fixtures (third-party data; metadata reduced to what an apply
    // may carry): whatever the verdict, lint and the server must agree.
    for file in [
        "bluegreen-rollout.yaml",
        "canary-demo.yaml",
        "canary-rollout.yaml",
    ] {
        let path = upstream.join("argo-rollouts/v1.9.1/testdata").join(file);
        let mut o = lint::input::parse_documents(&std::fs::read_to_string(path).unwrap())
            .unwrap()
            .remove(0);
        let meta = &o["metadata"];
        o["metadata"] = json!({"name": meta["name"], "namespace": meta["namespace"]});
        let server_verdict = apply(&client, &kinds, &o).await;
        let lint_verdict = lint::schema_violations(&o, &store).unwrap();
        eprintln!("testdata {file}: server {server_verdict:?}; lint {lint_verdict:?}");
        if server_verdict.is_ok() != lint_verdict.is_empty() {
            disagreements.push(format!(
                "testdata {file}: server {server_verdict:?}, lint {lint_verdict:?}"
            ));
        }
    }
    // Edge cases where only agreement matters (whichever way the server decides).
    let mut null_field = good["Rollout/staging"].clone();
    null_field["metadata"]["name"] = json!("demo-app-null-unknown");
    null_field["spec"]["notDeclared"] = Value::Null;
    let mut count_string = good["AnalysisTemplate/success-rate"].clone();
    count_string["metadata"]["name"] = json!("success-rate-count-string");
    count_string["spec"]["metrics"][0]["count"] = json!("3");
    for (label, o) in [
        ("undeclared null field", null_field),
        ("count as a string", count_string),
    ] {
        let server_verdict = apply(&client, &kinds, &o).await;
        let lint_verdict = lint::schema_violations(&o, &store).unwrap();
        eprintln!("{label}: server {server_verdict:?}; lint {lint_verdict:?}");
        if server_verdict.is_ok() != lint_verdict.is_empty() {
            disagreements.push(format!(
                "{label}: server {server_verdict:?}, lint {lint_verdict:?}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "every crafted mistake rejected by both:\n{}",
        disagreements.join("\n")
    );
}
