//! The demo app's overlays rendered by the real kustomize: linted clean by the real binary
//! against the upstream CRDs, and shaped as the issue asks (namespaces, replicas, steps,
//! blue-green settings, HPA, hosts, analysis arguments).

mod support;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

const ENVS: [&str; 3] = ["dev", "staging", "production"];

fn objects(yaml: &str) -> Vec<Value> {
    kindling::lint::input::parse_documents(yaml).unwrap()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
}

#[test]
fn rendered_overlays_and_raw_files_lint_clean() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for env in ENVS {
        let file = dir.path().join(format!("{env}.yaml"));
        std::fs::write(&file, support::render_overlay(&kustomize, env)).unwrap();
        files.push(file);
    }
    // One run (schema loading dominates): the three renders plus the raw folder.
    let out = support::kindling()
        .args(["--output", "json", "lint", "--schemas"])
        .arg(shared.join("upstream"))
        .args(&files)
        .arg(support::root().join("manifests"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let objects = report["objects"].as_array().unwrap();
    for o in objects {
        let rendered = files.iter().any(|f| o["file"] == f.display().to_string());
        if rendered {
            assert_eq!(
                o["status"], "valid",
                "every rendered object has a schema and passes: {o:#}"
            );
        } else if o["status"] == "skipped" {
            // Raw files: only kustomize's own files are not Kubernetes objects.
            let file = o["file"].as_str().unwrap();
            assert!(
                file.ends_with("kustomization.yaml") || file.contains("overlays/"),
                "{o:#}"
            );
        } else {
            assert_eq!(o["status"], "valid", "{o:#}");
        }
    }
    let rendered = objects
        .iter()
        .filter(|o| files.iter().any(|f| o["file"] == f.display().to_string()));
    let kinds: Vec<&str> = rendered.map(|o| o["kind"].as_str().unwrap()).collect();
    for kind in [
        "Rollout",
        "Service",
        "Ingress",
        "ServiceMonitor",
        "AnalysisTemplate",
        "HorizontalPodAutoscaler",
    ] {
        assert!(kinds.contains(&kind), "{kind} rendered and linted");
    }
}

fn analysis_args_ok(analysis: &Value) {
    let args = analysis["args"].as_array().unwrap();
    assert!(args.contains(
        &json!({"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}})
    ));
    assert!(args.contains(&json!({"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})));
}

#[test]
fn overlays_have_the_shape_the_issue_asks_for() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    for env in ENVS {
        let objs = objects(&support::render_overlay(&kustomize, env));
        let ns = if env == "dev" { "default" } else { env };
        assert!(
            objs.iter().all(|o| o["metadata"]["namespace"] == ns),
            "{env}: all in {ns}"
        );
        let rollout = find(&objs, "Rollout", "demo-app");
        let pod = &rollout["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
        let host = format!(
            "{}.localhost",
            match env {
                "dev" => "demo",
                "staging" => "staging-demo",
                _ => "prod-demo",
            }
        );
        let ingress = find(&objs, "Ingress", "demo-app");
        assert_eq!(ingress["spec"]["rules"][0]["host"], host.as_str());
        assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], host.as_str());
        assert_eq!(ingress["spec"]["ingressClassName"], "traefik");
        assert_eq!(
            ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
            "kindling-ca"
        );
        let sm = find(&objs, "ServiceMonitor", "demo-app");
        assert_eq!(
            sm["spec"]["podTargetLabels"],
            json!(["rollouts-pod-template-hash"])
        );
        assert_eq!(sm["spec"]["endpoints"][0]["interval"], "15s");
        for t in ["success-rate", "error-rate-only"] {
            let template = find(&objs, "AnalysisTemplate", t);
            for m in template["spec"]["metrics"].as_array().unwrap() {
                assert!(m["count"].as_i64().unwrap() > 0, "count always set");
                let q = m["provider"]["prometheus"]["query"].as_str().unwrap();
                assert!(q.contains("namespace=\"{{args.namespace}}\""), "{q}");
                assert!(
                    q.contains("rollouts_pod_template_hash=\"{{args.canary-hash}}\""),
                    "{q}"
                );
            }
        }
        match env {
            "dev" => {
                assert_eq!(rollout["spec"]["replicas"], 1);
                assert_eq!(
                    c["resources"]["requests"],
                    json!({"cpu": "50m", "memory": "32Mi"})
                );
                assert!(rollout["spec"]["strategy"]["canary"].get("steps").is_none());
            }
            "staging" => {
                assert_eq!(
                    rollout["spec"]["replicas"], 5,
                    "20/40/60% exact without traffic routing"
                );
                let steps = rollout["spec"]["strategy"]["canary"]["steps"]
                    .as_array()
                    .unwrap();
                let shape: Vec<String> = steps
                    .iter()
                    .map(
                        |s| match s.as_object().unwrap().keys().next().unwrap().as_str() {
                            "setWeight" => format!("{}%", s["setWeight"]),
                            "pause" => {
                                format!("pause {}", s["pause"]["duration"].as_str().unwrap())
                            }
                            _ => format!(
                                "analysis {}",
                                s["analysis"]["templates"][0]["templateName"]
                                    .as_str()
                                    .unwrap()
                            ),
                        },
                    )
                    .collect();
                assert_eq!(
                    shape,
                    [
                        "20%",
                        "pause 1m",
                        "analysis error-rate-only",
                        "40%",
                        "pause 1m",
                        "analysis success-rate",
                        "60%",
                        "pause 1m",
                        "analysis success-rate",
                    ]
                );
                steps
                    .iter()
                    .filter_map(|s| s.get("analysis"))
                    .for_each(analysis_args_ok);
            }
            _ => {
                assert!(
                    rollout["spec"].get("replicas").is_none(),
                    "the HPA owns replicas"
                );
                let bg = &rollout["spec"]["strategy"]["blueGreen"];
                assert!(rollout["spec"]["strategy"].get("canary").is_none());
                assert_eq!(bg["activeService"], "demo-app");
                assert_eq!(bg["previewService"], "demo-app-canary");
                assert_eq!(bg["autoPromotionEnabled"], false);
                assert_eq!(bg["scaleDownDelaySeconds"], 30);
                assert_eq!(bg["previewReplicaCount"], 1);
                for a in ["prePromotionAnalysis", "postPromotionAnalysis"] {
                    assert_eq!(bg[a]["templates"][0]["templateName"], "success-rate");
                    analysis_args_ok(&bg[a]);
                }
                let hpa = find(&objs, "HorizontalPodAutoscaler", "demo-app");
                assert_eq!(
                    hpa["spec"]["scaleTargetRef"],
                    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo-app"})
                );
                assert_eq!(
                    (
                        hpa["spec"]["minReplicas"].clone(),
                        hpa["spec"]["maxReplicas"].clone()
                    ),
                    (json!(3), json!(10))
                );
                let targets: Vec<(String, i64)> = hpa["spec"]["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        (
                            m["resource"]["name"].as_str().unwrap().into(),
                            m["resource"]["target"]["averageUtilization"]
                                .as_i64()
                                .unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(targets, [("cpu".into(), 70), ("memory".into(), 80)]);
                assert_eq!(
                    hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
                    300
                );
            }
        }
    }
}

#[test]
fn kustomize_build_piped_into_lint_with_schemas_from_the_environment() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let empty = tempfile::tempdir().unwrap();
    let out = support::kindling()
        .args(["--output", "json", "lint", "-"])
        .env("KINDLING_SCHEMAS_DIR", empty.path())
        .write_stdin(support::render_overlay(&kustomize, "staging"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["schemas"],
        empty.path().display().to_string(),
        "KINDLING_SCHEMAS_DIR used"
    );
    for o in report["objects"].as_array().unwrap() {
        let expected = if o["apiVersion"] == "v1" || o["kind"] == "Ingress" {
            "valid"
        } else {
            "skipped"
        };
        assert_eq!(
            o["status"], expected,
            "no CRD schemas: custom resources skipped, core checked: {o:#}"
        );
        assert_eq!(o["file"], "-");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The generated layer exactly as manifests/README.md specifies it sets image, domain and
/// timing on top of each overlay.
#[test]
fn generated_layer_from_the_readme_sets_image_domain_and_timing() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&support::root().join("manifests"), dir.path());
    for (env, prefix) in [
        ("dev", "demo"),
        ("staging", "staging-demo"),
        ("production", "prod-demo"),
    ] {
        let layer = dir.path().join("demo-app/generated").join(env);
        std::fs::create_dir_all(&layer).unwrap();
        let host = format!("{prefix}.example.test");
        std::fs::write(
            layer.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../overlays/{env}\n\
                 images:\n  - name: localhost:5001/demo-app\n    newName: localhost:5002/demo-app\n    newTag: v2\n\
                 patches:\n  - target: {{kind: Ingress, name: demo-app}}\n    patch: |\n\
                 \x20     - {{op: replace, path: /spec/rules/0/host, value: {host}}}\n\
                 \x20     - {{op: replace, path: /spec/tls/0/hosts/0, value: {host}}}\n\
                 \x20 - target: {{kind: AnalysisTemplate, name: error-rate-only}}\n    patch: |\n\
                 \x20     - {{op: replace, path: /spec/metrics/0/interval, value: 5s}}\n"
            ),
        )
        .unwrap();
        let out = Command::new(&kustomize)
            .arg("build")
            .arg(&layer)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let objs = objects(&String::from_utf8(out.stdout).unwrap());
        let rollout = find(&objs, "Rollout", "demo-app");
        assert_eq!(
            rollout["spec"]["template"]["spec"]["containers"][0]["image"],
            "localhost:5002/demo-app:v2"
        );
        let ingress = find(&objs, "Ingress", "demo-app");
        assert_eq!(ingress["spec"]["rules"][0]["host"], host.as_str());
        assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], host.as_str());
        let template = find(&objs, "AnalysisTemplate", "error-rate-only");
        assert_eq!(template["spec"]["metrics"][0]["interval"], "5s");
    }
}
