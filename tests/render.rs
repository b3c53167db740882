//! `kindling render`: every object and file `up` would create, one folder per area, with no
//! Docker or cluster — deterministic, Secrets redacted, listed by `--output json`, and made by
//! the same functions `up` applies.

mod support;

use kindling::config::Config;
use kindling::platform::applications::{INGRESS_CLASS, INGRESS_USAGES};
use kindling::render::redact::REDACTED;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use support::render::{kustomize, render, try_render};

/// Every file below `root` with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn two_renders_are_byte_identical_and_hold_every_area() {
    let Some(kustomize) = kustomize() else {
        return;
    };
    let config = Config::builtin();
    let first = render(&config, Some(&kustomize));
    let second = render(&config, Some(&kustomize));
    let (a, b) = (tree(&first.out()), tree(&second.out()));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the two renders hold different files"
    );
    for (path, bytes) in &a {
        assert!(&b[path] == bytes, "{path} differs between two renders");
    }

    let has = |prefix: &str| a.keys().any(|p| p.starts_with(prefix));
    for area in [
        "cluster/kind-config.yaml",
        "cluster/configmap-local-registry-hosting.yaml",
        "containerd/localhost:5001/hosts.toml",
        "argocd/configmap-argocd-cmd-params-cm.yaml",
        "argocd/ingress-argocd-server.yaml",
        "platform/application-",
        "platform/secret-grafana-admin.yaml",
        "platform/configmap-kindling-demo-app-dashboard.yaml",
        "ca-issuer/clusterissuer-kindling-ca.yaml",
        "artifact/demo-app/generated/production/kustomization.yaml",
        "demo-apps/appproject-applications.yaml",
        "demo-apps/secret-kindling-manifests.yaml",
        "demo-environments/dev/rollout-demo-app.yaml",
        "demo-environments/staging/rollout-demo-app.yaml",
        "demo-environments/production/horizontalpodautoscaler-demo-app.yaml",
    ] {
        assert!(has(area), "no {area} in the render: {:?}", a.keys());
    }
    for upstream in &config.registry.mirrors {
        assert!(
            has(&format!("containerd/{upstream}/hosts.toml")),
            "{upstream}"
        );
    }
    // Argo CD's redis comes from public.ecr.aws; its cache proxies https://public.ecr.aws.
    let ecr = String::from_utf8_lossy(&a["containerd/public.ecr.aws/hosts.toml"]).into_owned();
    assert!(
        ecr.contains("server = \"https://public.ecr.aws\"")
            && ecr.contains("[host.\"http://kindling-mirror-public-ecr-aws:5000\"]"),
        "{ecr}"
    );
    for app in kindling::platform::applications::all(&config) {
        let name = app["metadata"]["name"].as_str().unwrap();
        assert!(has(&format!("platform/application-{name}.yaml")), "{name}");
    }
    for env in ["dev", "staging", "production"] {
        assert!(has(&format!("demo-apps/application-demo-app-{env}.yaml")));
    }
}

#[test]
fn the_render_shows_no_secret_value() {
    let mut config = Config::builtin();
    let password = support::unique("grafana-password-never-shown");
    config.credentials.grafana_admin_password = password.clone();
    let rendered = render(&config, kustomize().as_deref());
    for (path, bytes) in tree(&rendered.out()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&password),
            "{path} shows the Grafana password"
        );
    }
    let secrets: Vec<(String, Value)> = rendered
        .objects("")
        .into_iter()
        .filter(|(_, o)| o["kind"] == "Secret")
        .collect();
    let names: Vec<&str> = secrets
        .iter()
        .map(|(_, o)| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"grafana-admin") && names.contains(&"kindling-manifests"),
        "{names:?}"
    );
    for (path, secret) in &secrets {
        for field in ["data", "stringData"] {
            for (key, value) in secret[field].as_object().into_iter().flatten() {
                assert_eq!(value, REDACTED, "{path}: {field}.{key}");
            }
        }
    }
}

#[test]
fn output_json_lists_exactly_the_files_written() {
    let rendered = render(&Config::builtin(), kustomize().as_deref());
    let listed: Vec<String> = rendered.index["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    let mut on_disk: Vec<String> = tree(&rendered.out()).into_keys().collect();
    on_disk.retain(|p| p != "index.json");
    assert_eq!(listed, on_disk);
    assert_eq!(
        rendered.index["out"],
        rendered.out().display().to_string().as_str()
    );
    // Every listed object is the object in its file.
    for file in rendered.index["files"].as_array().unwrap() {
        let Some(id) = file["object"].as_object() else {
            continue;
        };
        let path = file["path"].as_str().unwrap();
        let text = std::fs::read_to_string(rendered.out().join(path)).unwrap();
        let object: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(object["kind"], id["kind"], "{path}");
        assert_eq!(object["metadata"]["name"], id["name"], "{path}");
    }
}

#[test]
fn every_ingress_asks_for_server_auth_under_the_configured_domain() {
    let Some(kustomize) = kustomize() else {
        return;
    };
    let config = Config::builtin();
    let domain = &config.network.domain;
    let rendered = render(&config, Some(&kustomize));
    let ingresses: Vec<(String, Value)> = rendered
        .objects("")
        .into_iter()
        .filter(|(_, o)| o["kind"] == "Ingress")
        .collect();
    // Argo CD's and one per demo environment (the charts' Ingresses: tests/platform_helm.rs).
    assert!(ingresses.len() >= 4, "{ingresses:?}");
    for (path, ingress) in &ingresses {
        let annotations = &ingress["metadata"]["annotations"];
        assert_eq!(
            annotations["cert-manager.io/usages"], INGRESS_USAGES,
            "{path}: without serverAuth macOS rejects the certificate"
        );
        assert_eq!(annotations["cert-manager.io/cluster-issuer"], "kindling-ca");
        assert_eq!(ingress["spec"]["ingressClassName"], INGRESS_CLASS, "{path}");
        for rule in ingress["spec"]["rules"].as_array().unwrap() {
            let host = rule["host"].as_str().unwrap();
            assert!(host.ends_with(&format!(".{domain}")), "{path}: {host}");
        }
    }
    // The platform Applications' ingress values carry the annotation too.
    for (path, app) in rendered.objects("platform") {
        let text = serde_json::to_string(&app["spec"]["source"]["helm"]).unwrap();
        let ingresses = text.matches("\"ingressClassName\"").count();
        let usages = text.matches("\"cert-manager.io/usages\"").count();
        assert_eq!(ingresses, usages, "{path}");
    }
}

#[test]
fn the_render_follows_the_configuration() {
    let mut config = Config::builtin();
    config.network.domain = "kindling.test".into();
    config.registry.host_port = 5002;
    config.registry.mirrors = vec!["docker.io".into()];
    let rendered = render(&config, kustomize().as_deref());
    let files = tree(&rendered.out());
    assert!(files.contains_key("containerd/localhost:5002/hosts.toml"));
    assert!(!files.keys().any(|p| p.starts_with("containerd/quay.io")));
    let kind_config = String::from_utf8_lossy(&files["cluster/kind-config.yaml"]).into_owned();
    assert_eq!(
        kind_config,
        kindling::cluster::kind_config::render(&config),
        "the kind config is what kind receives"
    );
    let ingress: Value =
        serde_saphyr::from_slice(&files["argocd/ingress-argocd-server.yaml"]).unwrap();
    assert_eq!(ingress["spec"]["rules"][0]["host"], "argocd.kindling.test");
}

#[test]
fn without_kustomize_the_tree_is_written_and_the_user_told() {
    let rendered = render(&Config::builtin(), None);
    let files = tree(&rendered.out());
    assert!(files.contains_key("artifact/demo-app/generated/dev/kustomization.yaml"));
    assert!(!files.keys().any(|p| p.starts_with("demo-environments")));
    assert_eq!(rendered.index["kustomize"], Value::Null);
    let notes = rendered.index["notes"].to_string();
    assert!(notes.contains("demo-environments/ not rendered"), "{notes}");
    // JSON readers get `kustomize: null` and the note; a person gets a warning.
    let human = support::kindling()
        .env("PATH", rendered.dir.path().join("no-tools"))
        .env_remove("KINDLING_KUSTOMIZE_BIN")
        .args(["render", "--out"])
        .arg(rendered.dir.path().join("human"))
        .output()
        .unwrap();
    assert!(human.status.success());
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("no kustomize or kubectl"), "{stderr}");
}

#[test]
fn render_replaces_its_own_output_and_refuses_a_folder_it_did_not_write() {
    let config = Config::builtin();
    let first = render(&config, None);
    // Rendering again into the same folder replaces it (files from before do not linger).
    std::fs::write(first.out().join("platform/stale.yaml"), "stale").unwrap();
    let (status, _) = try_render(&config, None, Some(&first.out()));
    assert!(status.success());
    assert!(!first.out().join("platform/stale.yaml").exists());

    let foreign = first.dir.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "my notes").unwrap();
    let (status, refused) = try_render(&config, None, Some(&foreign));
    assert_eq!(status.code(), Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("not an earlier `kindling render`"));
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "my notes"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}

/// An existing cluster with its own ingress class, an ACME issuer and a registry of the team's.
fn existing_config() -> Config {
    let mut config = Config::builtin();
    config.cluster.provider = kindling::config::Provider::Existing;
    config.cluster.context = "team".into();
    config.network.domain = "platform.example.com".into();
    config.network.ingress_class = "nginx".into();
    config.network.cluster_issuer = "letsencrypt".into();
    config.registry.push_host = "registry.example.com/team".into();
    config
}

#[test]
fn on_an_existing_cluster_the_render_shows_what_up_applies_there() {
    let config = existing_config();
    let rendered = render(&config, kustomize().as_deref());
    let files = tree(&rendered.out());
    // No kind, no node wiring, no local CA issuer (letsencrypt signs).
    for gone in ["cluster/", "containerd/", "ca-issuer/"] {
        assert!(
            !files.keys().any(|p| p.starts_with(gone)),
            "{gone} rendered"
        );
    }
    // The cluster's nginx serves kindling's Ingresses: no Traefik Application.
    assert!(!files.contains_key("platform/application-traefik.yaml"));
    for (path, object) in rendered.objects("") {
        // What Argo CD applies from the artifact is the Applications' (deleted with them).
        if !path.starts_with("demo-environments/") {
            assert_eq!(
                object["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kindling",
                "{path}: up labels everything it applies to a cluster it does not own"
            );
        }
        if object["kind"] == "Ingress" {
            assert_eq!(object["spec"]["ingressClassName"], "nginx", "{path}");
            let annotations = &object["metadata"]["annotations"];
            assert_eq!(
                annotations["cert-manager.io/cluster-issuer"], "letsencrypt",
                "{path}"
            );
            assert_eq!(
                annotations["cert-manager.io/usages"], INGRESS_USAGES,
                "{path}"
            );
        }
    }
    // The charts' Ingress values and the demo's generated layers say the same.
    for (path, app) in rendered.objects("platform") {
        let text = serde_json::to_string(&app["spec"]["source"]["helm"]).unwrap();
        assert!(!text.contains("\"traefik\""), "{path}: {text}");
        assert!(!text.contains("kindling-ca"), "{path}: {text}");
    }
    // The demo environments pull from the team's registry, and Argo CD reads the artifact
    // there over HTTPS (no insecureOCIForceHttp).
    // (The Secret's values are redacted in the render; its keys stay.)
    let secret: Value =
        serde_saphyr::from_slice(&files["demo-apps/secret-kindling-manifests.yaml"]).unwrap();
    assert!(
        secret["stringData"]["insecureOCIForceHttp"].is_null(),
        "{secret}"
    );
    let application: Value =
        serde_saphyr::from_slice(&files["demo-apps/application-demo-app-staging.yaml"]).unwrap();
    assert_eq!(
        application["spec"]["source"]["repoURL"],
        "oci://registry.example.com/team/kindling-manifests"
    );
    let layer = String::from_utf8_lossy(
        &files["artifact/demo-app/generated/production/kustomization.yaml"],
    )
    .into_owned();
    assert!(
        layer.contains("newName: registry.example.com/team/demo-app"),
        "{layer}"
    );
    if rendered.index["kustomize"].is_string() {
        let (_, ingress) = rendered
            .objects("demo-environments/staging")
            .into_iter()
            .find(|(_, o)| o["kind"] == "Ingress")
            .expect("the staging Ingress");
        assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
        assert_eq!(
            ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
            "letsencrypt"
        );
        assert_eq!(
            ingress["spec"]["rules"][0]["host"],
            "staging-demo.platform.example.com"
        );
    }
}

#[test]
fn on_an_existing_cluster_traefik_is_a_load_balancer_or_node_ports_as_configured() {
    let mut config = existing_config();
    config.network.ingress_class.clear();
    let traefik = |config: &Config| -> Value {
        let rendered = render(config, None);
        let files = tree(&rendered.out());
        let app: Value =
            serde_saphyr::from_slice(&files["platform/application-traefik.yaml"]).unwrap();
        app["spec"]["source"]["helm"]["valuesObject"].clone()
    };
    let values = traefik(&config);
    assert_eq!(values["service"]["spec"]["type"], "LoadBalancer");
    assert_eq!(values["ports"]["websecure"]["exposedPort"], 443);
    assert!(
        values["ports"]["websecure"]["hostPort"].is_null(),
        "{values}"
    );
    assert!(values["nodeSelector"].is_null(), "{values}");
    assert!(values["tolerations"].is_null(), "{values}");
    assert_eq!(values["ingressClass"]["isDefaultClass"], false);
    assert_eq!(
        values["providers"]["kubernetesIngress"]["publishedService"]["enabled"],
        true
    );

    config.network.ingress_service = kindling::config::IngressService::NodePort;
    config.network.ingress_address = "203.0.113.10".into();
    config.network.http_port = 30080;
    config.network.https_port = 30443;
    let values = traefik(&config);
    assert_eq!(values["service"]["spec"]["type"], "NodePort");
    assert_eq!(values["ports"]["websecure"]["nodePort"], 30443);
    assert_eq!(
        values["providers"]["kubernetesIngress"]["ingressEndpoint"]["ip"],
        "203.0.113.10"
    );
}
