//! Why an Argo CD Application is not Healthy, as `up` tells it (src/platform/app_health.rs):
//! Argo CD v3.5.1 writes neither an Application health message nor per-resource health, so
//! kindling rates each resource of `status.resources` itself by Argo CD's rules — the same
//! code (crates/argocd-health) the simulated Argo CD rates with.

mod support;

use kind_sim::{Rendered, Sim};
use serde_json::{Value, json};
use std::sync::Arc;

/// A simulated kind cluster whose Argo CD renders Application "shop" as `objects`.
async fn cluster(objects: Vec<Value>) -> Option<(fake_apiserver::FakeApiServer, Sim)> {
    support::shared_dir()?;
    let api = fake_apiserver::FakeApiServer::start().await;
    let source = move |app: &Value, _: &[String]| -> Result<Rendered, String> {
        Ok(Rendered {
            revision: app["spec"]["source"]["targetRevision"]
                .as_str()
                .unwrap_or("")
                .into(),
            objects: objects.clone(),
        })
    };
    let sim = Sim::start(&api, Arc::new(source), kind_sim::Options::default()).unwrap();
    Some((api, sim))
}

fn deployment(name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": image}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_left_progressing_is_explained_resource_by_resource_as_argo_cd_rates_them() {
    let objects = vec![
        deployment("web", "docker.io/library/nginx:1.27"),
        deployment("worker", "registry.example.test/team/worker:1.0"),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}}),
    ];
    let Some((api, sim)) = cluster(objects).await else {
        return;
    };
    api.apply(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "shop", "namespace": "argocd"},
        "spec": {"project": "default", "source": {"repoURL": "https://example.test/shop", "targetRevision": "1"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
                 "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}}))
    .unwrap();
    sim.settled().await;
    assert_eq!(sim.app_status("shop").unwrap().0, "Progressing");

    // kindling's rating of every resource is Argo CD's (the simulated Argo CD's resource tree).
    for node in sim.argocd.resource_tree("shop") {
        let api_version = if node.group.is_empty() {
            "v1".to_string()
        } else {
            format!("{}/v1", node.group)
        };
        let live = api
            .get(&api_version, &node.kind, Some(&node.namespace), &node.name)
            .unwrap();
        assert_eq!(
            kindling::platform::app_health::rate(&live),
            node.health,
            "{} {}",
            node.kind,
            node.name
        );
    }

    let client = kindling::k8s::client_from_kubeconfig(api.kubeconfig(), None)
        .await
        .unwrap();
    let app = kube::Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        "argocd",
        &kindling::platform::demo_checks::application_resource(),
    )
    .get("shop")
    .await
    .unwrap();
    let explained = kindling::platform::app_health::explain(client, app).await;
    assert!(
        explained.contains(
            "Service shop/web: Progressing: type LoadBalancer and no address in status.loadBalancer.ingress"
        ),
        "{explained}"
    );
    assert!(
        explained.contains(
            "Deployment shop/worker: Progressing: Waiting for rollout to finish: 0 of 1 updated replicas are available..."
        ),
        "{explained}"
    );
    assert!(
        explained.contains("container worker: ImagePullBackOff")
            && explained.contains("registry.example.test/team/worker:1.0"),
        "{explained}"
    );
    assert!(
        !explained.contains("Deployment shop/web") && !explained.contains("ConfigMap"),
        "only what is not Healthy: {explained}"
    );
}
