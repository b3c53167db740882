//! The simulated kind cluster is no more generous than kind: pods fail to start for the
//! ordinary reasons, LoadBalancers get no address, Ingresses only the ingress controller's
//! address, HPAs no metrics without metrics-server — and Argo CD rates all that by its rules.

mod support;

use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn a_load_balancer_service_keeps_its_application_progressing_while_cluster_ip_is_healthy() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("lb", "lb", &[], Value::Null),
        vec![
            deployment("web", "nginx:1.27", json!({})),
            service("web", "LoadBalancer"),
        ],
    );
    c.deploy(
        application("cip", "cip", &[], Value::Null),
        vec![
            deployment("web", "nginx:1.27", json!({})),
            service("web", "ClusterIP"),
        ],
    );
    let (health, sync, phase, _) = c.settled("lb").await;
    assert_eq!(
        (health.as_str(), sync.as_str(), phase.as_str()),
        ("Progressing", "Synced", "Succeeded")
    );
    assert_eq!(
        c.resource_health("lb", "Service", "web").unwrap().status,
        Some(kind_sim::Status::Progressing)
    );
    assert_eq!(
        c.resource_health("lb", "Deployment", "web").unwrap().status,
        Some(kind_sim::Status::Healthy)
    );
    assert_eq!(c.state("cip").0, "Healthy");
    let svc = c.api.get("v1", "Service", Some("lb"), "web").unwrap();
    assert!(
        svc["status"]["loadBalancer"]["ingress"].is_null(),
        "nothing assigns an address on kind"
    );
}

#[tokio::test]
async fn an_image_no_mirror_serves_leaves_its_pod_in_image_pull_back_off() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("pull", "pull", &[], Value::Null),
        vec![
            deployment(
                "mirrored",
                "quay.io/prometheus/prometheus:v3.7.0",
                json!({}),
            ),
            deployment("nowhere", "registry.example.test/team/app:1.0", json!({})),
            deployment("hostless", "busybox:1.37", json!({})),
        ],
    );
    let (health, ..) = c.settled("pull").await;
    assert_eq!(health, "Progressing");
    let (reason, message) = waiting(&c, "pull", "nowhere-").unwrap();
    assert_eq!(reason, "ImagePullBackOff");
    assert!(
        message.contains("registry.example.test/team/app:1.0"),
        "{message}"
    );
    assert!(
        waiting(&c, "pull", "mirrored-").is_none() && waiting(&c, "pull", "hostless-").is_none(),
        "docker.io (no host) and quay.io are mirrored"
    );
    let h = c.resource_health("pull", "Deployment", "nowhere").unwrap();
    assert_eq!(h.status, Some(kind_sim::Status::Progressing));
    assert_eq!(
        h.message,
        "Waiting for rollout to finish: 0 of 1 updated replicas are available..."
    );
    // Argo CD would rate the pod itself Degraded (an Always pod waiting in a *BackOff).
    let pod = c
        .pods("pull")
        .into_iter()
        .find(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("nowhere-")
        })
        .unwrap();
    assert_eq!(
        c.sim.rules.assess(&pod).unwrap().unwrap().status,
        Some(kind_sim::Status::Degraded)
    );
}

#[tokio::test]
async fn missing_secrets_configmaps_and_service_accounts_keep_pods_from_starting_until_they_exist()
{
    let Some(c) = default_cluster().await else {
        return;
    };
    let volume = json!({"volumes": [{"name": "tls", "secret": {"secretName": "tls"}}]});
    let env = json!({"containers": [{"name": "env", "image": "nginx:1.27",
        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "password"}}},
                {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": true}}}],
        "envFrom": [{"configMapRef": {"name": "settings"}}]}]});
    c.deploy(
        application("refs", "refs", &[], Value::Null),
        vec![
            deployment("mount", "nginx:1.27", volume),
            deployment("env", "nginx:1.27", env),
            deployment(
                "account",
                "nginx:1.27",
                json!({"serviceAccountName": "robot"}),
            ),
        ],
    );
    let (health, ..) = c.settled("refs").await;
    assert_eq!(health, "Progressing");
    assert_eq!(
        waiting(&c, "refs", "mount-").unwrap().0,
        "ContainerCreating"
    );
    let (reason, message) = waiting(&c, "refs", "env-").unwrap();
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("CreateContainerConfigError", "secret \"admin\" not found")
    );
    assert!(
        !c.pods("refs").iter().any(|p| p["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("account-")),
        "the ServiceAccount admission plugin refuses the pod"
    );
    let rs = c
        .api
        .list("apps/v1", "ReplicaSet", Some("refs"))
        .into_iter()
        .find(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("account-")
        })
        .unwrap();
    assert!(
        rs["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("serviceaccount \"robot\" not found")
    );

    // Once they exist, everything starts (the kubelet and the ReplicaSet controller retry).
    for o in [
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "refs"}, "data": {}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "admin", "namespace": "refs"}, "data": {"password": "cGFzcw=="}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "refs"}, "data": {}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot", "namespace": "refs"}}),
    ] {
        c.api.apply(o).unwrap();
    }
    assert_eq!(c.settled("refs").await.0, "Healthy");
}

#[tokio::test]
async fn an_unmet_node_selector_or_an_untolerated_taint_leaves_pods_pending() {
    let config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n    labels:\n      ingress-ready: \"true\"\n  - role: worker\n";
    let options = kind_sim::Options {
        kind: kind_sim::kind::Options {
            config: Some(config.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(c) = cluster(options).await else {
        return;
    };
    let to_ingress_node = json!({"nodeSelector": {"ingress-ready": "true"}});
    let tolerating = json!({"nodeSelector": {"ingress-ready": "true"},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]});
    c.deploy(
        application("sched", "sched", &[], Value::Null),
        vec![
            deployment("untolerated", "nginx:1.27", to_ingress_node),
            deployment("tolerating", "nginx:1.27", tolerating),
            deployment(
                "nowhere",
                "nginx:1.27",
                json!({"nodeSelector": {"disk": "ssd"}}),
            ),
        ],
    );
    c.settled("sched").await;
    let condition = |prefix: &str| {
        let pod = c
            .pods("sched")
            .into_iter()
            .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with(prefix))
            .unwrap();
        (
            pod["status"]["phase"].as_str().unwrap().to_string(),
            pod["status"]["conditions"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            pod["spec"]["nodeName"].clone(),
        )
    };
    let (phase, message, _) = condition("untolerated-");
    assert_eq!(phase, "Pending");
    assert!(
        message
            .contains("1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
        "{message}"
    );
    assert!(
        message.contains("1 node(s) didn't match Pod's node affinity/selector"),
        "{message}"
    );
    let (phase, _, node) = condition("tolerating-");
    assert_eq!(
        (phase.as_str(), node.as_str()),
        ("Running", Some("kind-control-plane"))
    );
    assert!(condition("nowhere-").1.starts_with(
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    ));
}

#[tokio::test]
async fn two_pods_cannot_share_a_host_port_on_one_node() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let mut d = deployment("ingress", "docker.io/traefik:v3.7.11", json!({}));
    d["spec"]["replicas"] = json!(2);
    d["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 8000, "hostPort": 80}]);
    c.deploy(application("ports", "ports", &[], Value::Null), vec![d]);
    c.settled("ports").await;
    let phases: Vec<String> = c
        .pods("ports")
        .iter()
        .map(|p| p["status"]["phase"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        phases.iter().filter(|p| *p == "Running").count(),
        1,
        "{phases:?}"
    );
    let pending = c
        .pods("ports")
        .into_iter()
        .find(|p| p["status"]["phase"] == "Pending")
        .unwrap();
    assert!(
        pending["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("didn't have free ports for the requested pod ports")
    );
    assert_eq!(c.state("ports").0, "Progressing");
}

#[tokio::test]
async fn jobs_complete_when_their_pods_can_start_and_stay_progressing_when_not() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let job = |name: &str, image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}})
    };
    c.deploy(
        application("jobs", "jobs", &[], Value::Null),
        vec![
            job("ok", "busybox:1.37"),
            job("stuck", "unknown.example.test/tool:1"),
        ],
    );
    c.settled("jobs").await;
    assert_eq!(
        c.resource_health("jobs", "Job", "ok").unwrap().status,
        Some(kind_sim::Status::Healthy)
    );
    assert_eq!(
        c.resource_health("jobs", "Job", "stuck").unwrap().status,
        Some(kind_sim::Status::Progressing)
    );
    assert_eq!(c.state("jobs").0, "Progressing");
}

fn hpa(target_kind: &str, api_version: &str) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": api_version, "kind": target_kind, "name": "web"},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
}

/// metrics-server as its chart deploys it (Deployment, Service, APIService), with `args`.
fn metrics_server(args: &[&str]) -> Vec<Value> {
    let mut d = deployment(
        "metrics-server",
        "registry.k8s.io/metrics-server/metrics-server:v0.8.1",
        json!({}),
    );
    d["spec"]["template"]["spec"]["containers"][0]["args"] = json!(args);
    vec![
        d,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics-server"},
               "spec": {"selector": {"app": "metrics-server"}, "ports": [{"name": "https", "port": 443}]}}),
        json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"},
               "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
                        "insecureSkipTLSVerify": true, "service": {"name": "metrics-server", "namespace": "kube-system"}}}),
    ]
}

#[tokio::test]
async fn an_hpa_is_degraded_without_the_metrics_api_and_healthy_once_metrics_server_is_ready() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let requests = json!({"containers": [{"name": "web", "image": "nginx:1.27", "resources": {"requests": {"cpu": "50m"}}}]});
    c.deploy(
        application("scaled", "scaled", &[], Value::Null),
        vec![
            deployment("web", "nginx:1.27", requests),
            hpa("Deployment", "apps/v1"),
        ],
    );
    let (health, ..) = c.settled("scaled").await;
    assert_eq!(health, "Degraded");
    let h = c
        .resource_health("scaled", "HorizontalPodAutoscaler", "web")
        .unwrap();
    assert!(
        h.message
            .contains("unable to fetch metrics from resource metrics API"),
        "{}",
        h.message
    );

    // metrics-server without --kubelet-insecure-tls never gets ready on kind: still no metrics.
    c.deploy(
        application("metrics-server", "kube-system", &[], Value::Null),
        metrics_server(&["--secure-port=10250"]),
    );
    assert_eq!(c.settled("metrics-server").await.0, "Progressing");
    let api = c
        .resource_health("metrics-server", "APIService", "v1beta1.metrics.k8s.io")
        .unwrap();
    assert!(
        api.message.starts_with("MissingEndpoints: "),
        "{}",
        api.message
    );
    assert_eq!(c.state("scaled").0, "Degraded");

    c.deploy(
        application("metrics-server", "kube-system", &[], Value::Null),
        metrics_server(&["--secure-port=10250", "--kubelet-insecure-tls"]),
    );
    assert_eq!(c.settled("metrics-server").await.0, "Healthy");
    assert_eq!(c.state("scaled").0, "Healthy");
}

#[tokio::test]
async fn an_hpa_on_containers_without_requests_cannot_compute_utilization() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let mut objects = metrics_server(&["--kubelet-insecure-tls"]);
    objects.extend([
        deployment("web", "nginx:1.27", json!({})),
        hpa("Deployment", "apps/v1"),
    ]);
    c.deploy(
        application("norequests", "kube-system", &[], Value::Null),
        objects,
    );
    assert_eq!(c.settled("norequests").await.0, "Degraded");
    let h = c
        .resource_health("norequests", "HorizontalPodAutoscaler", "web")
        .unwrap();
    assert!(
        h.message.contains("missing request for cpu"),
        "{}",
        h.message
    );
}

fn ingress(name: &str, class: Option<&str>) -> Value {
    let mut i = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
        "spec": {"rules": [{"host": format!("{name}.localhost"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}});
    if let Some(class) = class {
        i["spec"]["ingressClassName"] = json!(class);
    }
    i
}

/// Traefik as its chart deploys it, publishing `endpoint_args`.
fn traefik(endpoint_args: &[&str]) -> Vec<Value> {
    let mut d = deployment("traefik", "docker.io/traefik:v3.7.11", json!({}));
    let mut args = vec!["--providers.kubernetesingress"];
    args.extend_from_slice(endpoint_args);
    d["spec"]["template"]["spec"]["containers"][0]["args"] = json!(args);
    vec![
        d,
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "traefik", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": "traefik.io/ingress-controller"}}),
    ]
}

#[tokio::test]
async fn ingresses_are_healthy_only_with_the_address_the_ingress_controller_publishes() {
    let Some(c) = default_cluster().await else {
        return;
    };
    c.deploy(
        application("site", "site", &[], Value::Null),
        vec![
            ingress("site", Some("traefik")),
            ingress("other", Some("nginx")),
            ingress("classless", None),
        ],
    );
    assert_eq!(c.settled("site").await.0, "Progressing");

    // A Traefik that publishes nothing writes no status.
    c.deploy(
        application("traefik", "traefik", &[], Value::Null),
        traefik(&[]),
    );
    c.settled("traefik").await;
    assert_eq!(c.state("site").0, "Progressing");

    c.deploy(
        application("traefik", "traefik", &[], Value::Null),
        traefik(&["--providers.kubernetesingress.ingressendpoint.ip=127.0.0.1"]),
    );
    c.settled("traefik").await;
    let lb = |name: &str| {
        c.api
            .get("networking.k8s.io/v1", "Ingress", Some("site"), name)
            .unwrap()["status"]["loadBalancer"]["ingress"]
            .clone()
    };
    assert_eq!(lb("site"), json!([{"ip": "127.0.0.1"}]));
    assert_eq!(
        lb("classless"),
        json!([{"ip": "127.0.0.1"}]),
        "Traefik's class is the default"
    );
    assert!(
        lb("other").is_null(),
        "another class's Ingress is not Traefik's"
    );
    assert_eq!(
        c.resource_health("site", "Ingress", "site").unwrap().status,
        Some(kind_sim::Status::Healthy)
    );
    assert_eq!(
        c.state("site").0,
        "Progressing",
        "the nginx-class Ingress never gets an address"
    );
}

#[tokio::test]
async fn argo_cd_install_manifest_comes_up_once_its_redis_secret_init_has_run() {
    let Some(c) = default_cluster().await else {
        return;
    };
    let objects = upstream("argo-cd/v3.5.1/install.yaml");
    let (crds, rest): (Vec<Value>, Vec<Value>) = objects
        .into_iter()
        .partition(|o| o["kind"] == "CustomResourceDefinition");
    for o in crds.into_iter().chain(rest) {
        let mut o = o;
        let namespaced = c
            .api
            .served(
                o["apiVersion"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
            )
            .unwrap()
            .namespaced;
        if namespaced {
            o["metadata"]["namespace"] = json!("argocd");
        }
        c.api.apply(o).unwrap();
    }
    c.sim.settled().await;
    for (kind, name) in [
        ("Deployment", "argocd-server"),
        ("Deployment", "argocd-repo-server"),
        ("Deployment", "argocd-redis"),
        ("Deployment", "argocd-dex-server"),
        ("StatefulSet", "argocd-application-controller"),
    ] {
        let o = c.api.get("apps/v1", kind, Some("argocd"), name).unwrap();
        let h = c.sim.rules.assess(&o).unwrap().unwrap();
        assert_eq!(
            h.status,
            Some(kind_sim::Status::Healthy),
            "{kind}/{name}: {}",
            h.message
        );
    }
    assert!(
        c.api
            .get("v1", "Secret", Some("argocd"), "argocd-redis")
            .is_some()
    );

    // Without public.ecr.aws among the mirrors, redis cannot be pulled.
    let options = kind_sim::Options {
        kind: kind_sim::kind::Options {
            registries: ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(c) = cluster(options).await else {
        return;
    };
    let redis = upstream("argo-cd/v3.5.1/install.yaml")
        .into_iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "argocd-redis")
        .unwrap();
    c.deploy(application("redis", "argocd", &[], Value::Null), vec![redis, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "argocd-redis"}})]);
    c.settled("redis").await;
    let (reason, message) = waiting(&c, "argocd", "argocd-redis-").unwrap();
    assert_eq!(reason, "ImagePullBackOff");
    assert!(
        message.contains("public.ecr.aws/docker/library/redis"),
        "{message}"
    );
}
