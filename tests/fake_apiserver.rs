//! The fake API server behaves like the real one where kindling depends on it, as seen by the
//! real kube::Client.

use fake_apiserver::FakeApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use serde_json::json;

async fn start() -> (FakeApiServer, kube::Client) {
    let fake = FakeApiServer::builder().namespace("demo").start().await;
    let client = kindling::k8s::client_from_kubeconfig(fake.kubeconfig(), None)
        .await
        .unwrap();
    (fake, client)
}

fn config_map(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

#[tokio::test]
async fn errors_are_status_objects_with_the_real_codes() {
    let (_fake, client) = start().await;
    let missing_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "nope");
    let err = missing_ns
        .create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .unwrap_err();
    let kube::Error::Api(s) = err else {
        panic!("{err}")
    };
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (404, "NotFound", "namespaces \"nope\" not found")
    );

    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "demo");
    api.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .unwrap();
    let kube::Error::Api(s) = api
        .create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(s.message, "configmaps \"a\" already exists");

    let kube::Error::Api(s) = api
        .create(&PostParams::default(), &config_map("Bad_Name", json!({})))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    let kube::Error::Api(s) = api.get("missing").await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (s.code, s.message.as_str()),
        (404, "configmaps \"missing\" not found")
    );
    let deployments: Api<Deployment> = Api::namespaced(client, "demo");
    let kube::Error::Api(s) = deployments.get("missing").await.unwrap_err() else {
        panic!()
    };
    assert_eq!(s.message, "deployments.apps \"missing\" not found");
}

#[tokio::test]
async fn generation_and_the_status_subresource() {
    let (_fake, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "demo");
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "status": {"replicas": 99},
    });
    let ssa = PatchParams::apply("test").force();
    let created = api.patch("web", &ssa, &Patch::Apply(&d)).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.status.is_none(),
        "status on the main resource is ignored"
    );

    let status = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1, "observedGeneration": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(
        status.metadata.generation,
        Some(1),
        "status changes keep the generation"
    );
    assert_eq!(status.status.unwrap().replicas, Some(1));

    let rv = status.metadata.resource_version.clone();
    let same = api.patch("web", &ssa, &Patch::Apply(&d)).await.unwrap();
    assert_eq!(
        same.metadata.resource_version, rv,
        "a no-op apply keeps the resourceVersion"
    );

    let scaled = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(
                    json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]),
                )
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
    assert_eq!(
        scaled.status.unwrap().replicas,
        Some(1),
        "spec writes keep the status"
    );
}

#[tokio::test]
async fn list_with_selectors_and_watch_from_a_resource_version() {
    let (fake, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "demo");
    api.create(
        &PostParams::default(),
        &config_map("a", json!({"app": "x"})),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &config_map("b", json!({"app": "y"})),
    )
    .await
    .unwrap();
    let list = api
        .list(&ListParams::default().labels("app in (x,z)"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].metadata.name.as_deref(), Some("a"));
    let rv = list.metadata.resource_version.unwrap();

    api.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .unwrap();
    api.delete("a", &DeleteParams::foreground()).await.unwrap();
    let events: Vec<_> = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .unwrap()
        .take(2)
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap()),
            WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.clone().unwrap()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.clone().unwrap()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, vec!["MODIFIED b", "DELETED a"]);
    assert!(fake.requests() >= 6);
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents_and_pod_logs_are_served() {
    let (fake, client) = start().await;
    fake.create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})).unwrap();
    fake.set_pod_log("demo", "p", "c", false, "one\ntwo\nthree\n");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let tail = pods
        .logs(
            "p",
            &LogParams {
                tail_lines: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tail, "two\nthree\n");

    fake.delete("v1", "Namespace", None, "demo").unwrap();
    assert!(fake.get("v1", "Pod", Some("demo"), "p").is_none());
}

#[tokio::test]
async fn kube_discovery_works_legacy_and_aggregated() {
    let (_fake, client) = start().await;
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("apps") && discovery.has_group("rbac.authorization.k8s.io"));
    let aggregated = kube::Discovery::new(client).run_aggregated().await.unwrap();
    let (resource, caps) = aggregated
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
        ))
        .unwrap();
    assert_eq!(resource.plural, "networkpolicies");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
}
