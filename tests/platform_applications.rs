//! The platform's Applications and Argo CD's Ingress: accepted by the real Application CRD
//! (server-side apply with strict validation on the crd-apiserver), lint-clean, and carrying
//! the values that matter on kind.

mod support;

use kindling::config::Config;
use kindling::platform::applications;
use serde_json::Value;

fn values(app: &Value) -> &Value {
    &app["spec"]["source"]["helm"]["valuesObject"]
}

#[test]
fn applications_carry_the_kind_specific_values() {
    let mut config = Config::builtin();
    config.network.domain = "kindling.test".into();
    let apps = applications::all(&config);
    let names: Vec<&str> = apps
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "traefik",
            "cert-manager",
            "kube-prometheus-stack",
            "argo-rollouts",
            "metrics-server"
        ]
    );
    for app in &apps {
        let sync = &app["spec"]["syncPolicy"];
        assert_eq!(sync["automated"]["prune"], true);
        assert_eq!(sync["automated"]["selfHeal"], true);
        assert!(
            sync["syncOptions"]
                .as_array()
                .unwrap()
                .contains(&"ServerSideApply=true".into())
        );
        assert!(sync["retry"]["limit"].as_i64().unwrap() > 0);
    }

    let traefik = values(&apps[0]);
    assert_eq!(traefik["ports"]["web"]["hostPort"], 80);
    assert_eq!(traefik["ports"]["websecure"]["hostPort"], 443);
    // Chart ≥ 40 reads the type from service.spec.type; `service.type` is accepted and ignored
    // (tests/platform_helm.rs renders the chart and finds no LoadBalancer).
    assert_eq!(
        traefik["service"]["spec"]["type"], "ClusterIP",
        "a LoadBalancer never gets an address on kind"
    );
    assert_eq!(traefik["service"].get("type"), None);
    assert_eq!(traefik["nodeSelector"]["ingress-ready"], "true");
    assert_eq!(
        traefik["providers"]["kubernetesIngress"]["ingressEndpoint"]["ip"],
        "127.0.0.1"
    );
    assert_eq!(apps[0]["spec"]["source"]["targetRevision"], "41.3.0");

    assert_eq!(
        apps[1]["spec"]["source"]["repoURL"],
        "oci://quay.io/jetstack/charts/cert-manager"
    );
    assert_eq!(apps[1]["spec"]["source"]["targetRevision"], "v1.21.1");
    assert_eq!(values(&apps[1])["crds"]["enabled"], true);

    let kps = values(&apps[2]);
    assert_eq!(
        kps["prometheus"]["prometheusSpec"]["serviceMonitorSelectorNilUsesHelmValues"],
        false
    );
    for off in [
        "kubeControllerManager",
        "kubeScheduler",
        "kubeEtcd",
        "kubeProxy",
    ] {
        assert_eq!(kps[off]["enabled"], false, "{off}");
    }
    assert_eq!(
        kps["grafana"]["ingress"]["hosts"][0],
        "grafana.kindling.test"
    );
    assert_eq!(
        kps["grafana"]["admin"]["existingSecret"],
        applications::GRAFANA_ADMIN_SECRET
    );
    assert_eq!(
        kps["prometheus"]["ingress"]["tls"][0]["hosts"][0],
        "prometheus.kindling.test"
    );
    assert_eq!(
        kps["prometheus"]["ingress"]["annotations"]["cert-manager.io/cluster-issuer"],
        "kindling-ca"
    );
    for ingress in [
        &kps["prometheus"]["ingress"],
        &kps["grafana"]["ingress"],
        &values(&apps[3])["dashboard"]["ingress"],
    ] {
        assert_eq!(
            ingress["annotations"]["cert-manager.io/usages"],
            applications::INGRESS_USAGES
        );
    }

    let rollouts = values(&apps[3]);
    assert_eq!(rollouts["dashboard"]["enabled"], true);
    assert_eq!(
        rollouts["dashboard"]["ingress"]["hosts"][0],
        "rollouts.kindling.test"
    );
    assert_eq!(rollouts["controller"]["image"]["tag"], "v1.9.1");
    // 2.41.1 is the chart that ships v1.9.1 (2.41.0 ships v1.9.0).
    assert_eq!(apps[3]["spec"]["source"]["targetRevision"], "2.41.1");

    let metrics = &apps[4];
    assert_eq!(metrics["spec"]["source"]["chart"], "metrics-server");
    assert_eq!(metrics["spec"]["source"]["targetRevision"], "3.13.1");
    assert_eq!(
        values(metrics)["args"],
        serde_json::json!(["--kubelet-insecure-tls"]),
        "kind's kubelet serving certificates are self-signed"
    );
    assert_eq!(
        rollouts["controller"]["metrics"]["serviceMonitor"]["enabled"],
        true
    );

    let ingress = applications::argocd_ingress(&config);
    assert_eq!(ingress["spec"]["rules"][0]["host"], "argocd.kindling.test");
    assert_eq!(ingress["metadata"]["namespace"], "argocd");
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/usages"],
        "digital signature,key encipherment,server auth"
    );
}

#[test]
fn the_platform_step_applies_the_dashboards_with_the_applications() {
    let config = Config::builtin();
    let objects = applications::platform_objects(&config, "pw");
    let dashboard = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("the Grafana dashboard ConfigMap");
    assert_eq!(dashboard["metadata"]["namespace"], "monitoring");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    assert!(dashboard["data"]["demo-app.json"].is_string());
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(secret["stringData"]["admin-password"], "pw");
    let apps = objects
        .iter()
        .filter(|o| o["kind"] == "Application")
        .count();
    assert_eq!(apps, applications::all(&config).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_are_accepted_by_the_real_application_crd() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let client = server.client().await;
    let kinds = support::crds::install_crds(&client, &shared.join("upstream")).await;
    for app in applications::all(&Config::builtin()) {
        support::crds::apply(&client, &kinds, &app)
            .await
            .unwrap_or_else(|e| panic!("{} rejected: {e}", app["metadata"]["name"]));
    }
    // The server really validates: a misspelled field in the same object is refused.
    let mut bad = applications::traefik(&Config::builtin());
    bad["spec"]["syncPolicy"]["automatic"] = bad["spec"]["syncPolicy"]["automated"].take();
    let err = support::crds::apply(&client, &kinds, &bad)
        .await
        .unwrap_err();
    assert!(err.contains("automatic"), "{err}");
}

#[test]
fn lint_finds_nothing_wrong() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let store = kindling::lint::SchemaStore::load(&shared.join("upstream")).unwrap();
    let mut objects = applications::all(&Config::builtin());
    objects.push(applications::argocd_ingress(&Config::builtin()));
    for object in &objects {
        let violations = kindling::lint::schema_violations(object, &store);
        assert_eq!(violations, Some(vec![]), "{}", object["metadata"]["name"]);
    }
}
