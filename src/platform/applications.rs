//! The platform's Argo CD Applications (Helm charts, versions from the config, values that
//! matter on kind) and the Argo CD Ingress. Objects only: `up` applies them.

use crate::config::{Config, IngressService, Provider};
use serde_json::{Value, json};

/// kindling's own ClusterIssuer, backed by its local CA (see `tls::cluster`).
pub const CLUSTER_ISSUER: &str = "kindling-ca";

/// The ClusterIssuer every Ingress gets its certificate from: `network.cluster_issuer` (an
/// existing one, e.g. ACME), else kindling's local CA.
pub fn cluster_issuer(config: &Config) -> &str {
    match config.network.cluster_issuer.as_str() {
        "" => CLUSTER_ISSUER,
        name => name,
    }
}

/// Whether kindling makes its own ClusterIssuer (no `network.cluster_issuer` given).
pub fn uses_local_ca(config: &Config) -> bool {
    config.network.cluster_issuer.is_empty()
}
/// The namespace Argo CD runs in.
pub const ARGOCD_NAMESPACE: &str = "argocd";

/// Sync policy shared by every platform Application: automated with prune and self-heal,
/// server-side apply (kube-prometheus-stack's CRDs exceed the last-applied annotation), retries.
fn sync_policy() -> Value {
    json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
        "retry": { "limit": 10, "backoff": { "duration": "10s", "factor": 2, "maxDuration": "3m" } }
    })
}

fn application(name: &str, namespace: &str, source: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": ARGOCD_NAMESPACE,
            "labels": { "app.kubernetes.io/part-of": "kindling" },
            // Deleting the Application deletes what it made.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"]
        },
        "spec": {
            "project": "default",
            "source": source,
            "destination": { "server": "https://kubernetes.default.svc", "namespace": namespace },
            "syncPolicy": sync_policy()
        }
    })
}

/// The ingress class of kindling's Traefik (created by its chart).
pub const INGRESS_CLASS: &str = "traefik";

/// The ingress class every kindling Ingress uses: on an existing cluster
/// `network.ingress_class` when set (the cluster's own controller), else kindling's Traefik's.
pub fn ingress_class(config: &Config) -> &str {
    match adopted_ingress_class(config) {
        Some(name) => name,
        None => INGRESS_CLASS,
    }
}

/// The existing cluster's IngressClass kindling uses instead of installing Traefik.
pub fn adopted_ingress_class(config: &Config) -> Option<&str> {
    (config.cluster.provider == Provider::Existing && !config.network.ingress_class.is_empty())
        .then_some(config.network.ingress_class.as_str())
}

/// The key usages cert-manager's ingress-shim requests. Its default is "digital signature,
/// key encipherment" (cert-manager v1.21.1 pkg/controller/certificate-shim/sync.go); macOS
/// (since Catalina) rejects a TLS server certificate without the serverAuth extended key usage.
pub const INGRESS_USAGES: &str = "digital signature,key encipherment,server auth";

/// The annotations every kindling Ingress carries: the issuer and the key usages.
pub fn ingress_annotations(config: &Config) -> Value {
    json!({
        "cert-manager.io/cluster-issuer": cluster_issuer(config),
        "cert-manager.io/usages": INGRESS_USAGES
    })
}

/// TLS for an ingress host: the annotations cert-manager watches, and the `tls` entry.
fn tls(config: &Config, host: &str, secret: &str) -> (Value, Value) {
    (
        ingress_annotations(config),
        json!([{ "secretName": secret, "hosts": [host] }]),
    )
}

/// Traefik, shaped for where it runs: `traefik_on_kind` or `traefik_on_existing`.
pub fn traefik(config: &Config) -> Value {
    let values = match config.cluster.provider {
        Provider::Kind => traefik_on_kind(),
        Provider::Existing => traefik_on_existing(config),
    };
    application(
        "traefik",
        "traefik",
        json!({
            "repoURL": "https://traefik.github.io/charts",
            "chart": "traefik",
            "targetRevision": config.components.traefik,
            "helm": { "releaseName": "traefik", "valuesObject": values }
        }),
    )
}

/// The Service Traefik's chart makes (release `traefik` in namespace `traefik`: its fullname),
/// whose load-balancer address every Ingress publishes on an existing cluster.
pub const TRAEFIK_SERVICE: (&str, &str) = ("traefik", "traefik");

/// On an existing cluster: no host ports, no node selector, no control-plane toleration (any
/// node runs it), exposed as `network.ingress_service`:
/// - LoadBalancer on `http_port`/`https_port` (`ports.*.exposedPort`), its address copied into
///   every Ingress status from the Service (`publishedService`, traefik v3.7
///   pkg/provider/kubernetes/ingress: nothing is published while the Service has no address, so
///   Argo CD keeps Ingresses Progressing until the load balancer answers);
/// - NodePort on `http_port`/`https_port` as node ports, publishing `ingress_address` (a NodePort
///   Service has no load-balancer status to copy).
///
/// Its IngressClass is not made the cluster's default, and only Ingresses are served (the CRD
/// provider is off: kindling makes no IngressRoutes, and a cluster's own Traefik CRDs are left
/// to it).
fn traefik_on_existing(config: &Config) -> Value {
    let network = &config.network;
    let (ports, published) = match network.ingress_service {
        IngressService::LoadBalancer => (
            json!({
                "web": { "exposedPort": network.http_port },
                "websecure": { "exposedPort": network.https_port }
            }),
            json!({ "publishedService": { "enabled": true } }),
        ),
        IngressService::NodePort => {
            let endpoint = match network.ingress_address.parse::<std::net::IpAddr>() {
                Ok(_) => json!({ "ip": network.ingress_address }),
                Err(_) => json!({ "hostname": network.ingress_address }),
            };
            (
                json!({
                    "web": { "nodePort": network.http_port },
                    "websecure": { "nodePort": network.https_port }
                }),
                json!({ "publishedService": { "enabled": false }, "ingressEndpoint": endpoint }),
            )
        }
    };
    let service_type = match network.ingress_service {
        IngressService::LoadBalancer => "LoadBalancer",
        IngressService::NodePort => "NodePort",
    };
    json!({
        "ports": ports,
        "service": { "spec": { "type": service_type } },
        "ingressClass": { "enabled": true, "isDefaultClass": false, "name": INGRESS_CLASS },
        "providers": {
            "kubernetesCRD": { "enabled": false },
            "kubernetesIngress": published
        }
    })
}

/// Traefik on the node labelled ingress-ready: host ports 80/443 (kind maps them to the host's
/// 127.0.0.1), no LoadBalancer (it never gets an address on kind), and 127.0.0.1 published into
/// every Ingress status so Argo CD sees Ingresses Healthy.
fn traefik_on_kind() -> Value {
    json!({
        "ports": { "web": { "hostPort": 80 }, "websecure": { "hostPort": 443 } },
        // Since chart 40.0.0 the type lives under service.spec (templates/_service.tpl renders
        // only .service.spec); a `service.type` key passes the schema and is ignored.
        "service": { "spec": { "type": "ClusterIP" } },
        "nodeSelector": { "ingress-ready": "true" },
        "tolerations": [
            { "key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule" }
        ],
        // Host ports allow one pod per node: replace it rather than surge.
        "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 1, "maxSurge": 0 } },
        "ingressClass": { "enabled": true, "isDefaultClass": true, "name": INGRESS_CLASS },
        "providers": {
            "kubernetesIngress": {
                "publishedService": { "enabled": false },
                "ingressEndpoint": { "ip": "127.0.0.1" }
            }
        }
    })
}

/// cert-manager from its OCI chart (Argo CD ≥ 3.1 reads `oci://` sources; the version keeps its v).
pub fn cert_manager(config: &Config) -> Value {
    application(
        "cert-manager",
        "cert-manager",
        json!({
            "repoURL": "oci://quay.io/jetstack/charts/cert-manager",
            "path": ".",
            "targetRevision": config.components.cert_manager,
            "helm": { "releaseName": "cert-manager", "valuesObject": { "crds": { "enabled": true } } }
        }),
    )
}

/// The Secret holding Grafana's admin credentials (the password is generated by `up`).
pub const GRAFANA_ADMIN_SECRET: &str = "grafana-admin";

/// kube-prometheus-stack: every ServiceMonitor/PodMonitor/rule selected (not only the chart's),
/// the control-plane scrapes kind binds to 127.0.0.1 turned off, Grafana's admin from a Secret,
/// and TLS ingresses for Grafana and Prometheus.
pub fn kube_prometheus_stack(config: &Config) -> Value {
    let domain = &config.network.domain;
    let (grafana_host, prometheus_host) =
        (format!("grafana.{domain}"), format!("prometheus.{domain}"));
    let (g_annotations, g_tls) = tls(config, &grafana_host, "grafana-tls");
    let (p_annotations, p_tls) = tls(config, &prometheus_host, "prometheus-tls");
    let class = ingress_class(config);
    let values = json!({
        "prometheus": {
            "prometheusSpec": {
                "serviceMonitorSelectorNilUsesHelmValues": false,
                "podMonitorSelectorNilUsesHelmValues": false,
                "ruleSelectorNilUsesHelmValues": false,
                "probeSelectorNilUsesHelmValues": false
            },
            "ingress": {
                "enabled": true, "ingressClassName": class, "annotations": p_annotations,
                "hosts": [prometheus_host], "tls": p_tls
            }
        },
        "grafana": {
            "admin": { "existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password" },
            "ingress": {
                "enabled": true, "ingressClassName": class, "annotations": g_annotations,
                "hosts": [grafana_host], "tls": g_tls
            }
        },
        "kubeControllerManager": { "enabled": false },
        "kubeScheduler": { "enabled": false },
        "kubeEtcd": { "enabled": false },
        "kubeProxy": { "enabled": false },
        // Docker Desktop's VM has no shared root mount.
        "prometheus-node-exporter": { "hostRootFsMount": { "enabled": false } }
    });
    application(
        "kube-prometheus-stack",
        "monitoring",
        json!({
            "repoURL": "https://prometheus-community.github.io/helm-charts",
            "chart": "kube-prometheus-stack",
            "targetRevision": config.components.kube_prometheus_stack,
            "helm": { "releaseName": "kube-prometheus-stack", "valuesObject": values }
        }),
    )
}

/// Argo Rollouts with its dashboard (TLS ingress) and controller metrics for Prometheus. The
/// chart is `components.argo_rollouts_chart`; the controller and dashboard images are pinned to
/// `components.argo_rollouts`, so the running version is the configured one whatever the chart's
/// default.
pub fn argo_rollouts(config: &Config) -> Value {
    let host = format!("rollouts.{}", config.network.domain);
    let (annotations, tls) = tls(config, &host, "rollouts-tls");
    let version = &config.components.argo_rollouts;
    let values = json!({
        "controller": {
            "image": { "tag": version },
            "metrics": { "enabled": true, "serviceMonitor": { "enabled": true } }
        },
        "dashboard": {
            "enabled": true,
            "image": { "tag": version },
            "ingress": {
                "enabled": true, "ingressClassName": ingress_class(config), "annotations": annotations,
                "hosts": [host], "tls": tls
            }
        }
    });
    application(
        "argo-rollouts",
        "argo-rollouts",
        json!({
            "repoURL": "https://argoproj.github.io/argo-helm",
            "chart": "argo-rollouts",
            "targetRevision": config.components.argo_rollouts_chart,
            "helm": { "releaseName": "argo-rollouts", "valuesObject": values }
        }),
    )
}

/// metrics-server: the resource metrics API (`v1beta1.metrics.k8s.io`) HPAs and `kubectl top`
/// need; kind has none, and without it the production HPA's ScalingActive is False
/// (FailedGetResourceMetric), which Argo CD rates Degraded (gitops-engine health_hpa.go). On
/// kind the kubelets' serving certificates are self-signed: `--kubelet-insecure-tls`.
pub fn metrics_server(config: &Config) -> Value {
    application(
        "metrics-server",
        "kube-system",
        json!({
            "repoURL": "https://kubernetes-sigs.github.io/metrics-server/",
            "chart": "metrics-server",
            "targetRevision": config.components.metrics_server,
            "helm": {
                "releaseName": "metrics-server",
                "valuesObject": { "args": ["--kubelet-insecure-tls"] }
            }
        }),
    )
}

/// The Ingress for Argo CD's UI (TLS ends here: argocd-server runs with server.insecure).
pub fn argocd_ingress(config: &Config) -> Value {
    let host = format!("argocd.{}", config.network.domain);
    let (annotations, tls) = tls(config, &host, "argocd-tls");
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": "argocd-server", "namespace": ARGOCD_NAMESPACE, "annotations": annotations },
        "spec": {
            "ingressClassName": ingress_class(config),
            "tls": tls,
            "rules": [{
                "host": host,
                "http": { "paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": { "service": { "name": "argocd-server", "port": { "number": 80 } } }
                }] }
            }]
        }
    })
}

/// Every platform Application, in the order they are best created. The platform step waits
/// for each to be Synced and Healthy before anything that depends on it (demo environments).
pub fn all(config: &Config) -> Vec<Value> {
    let mut apps = vec![
        traefik(config),
        cert_manager(config),
        kube_prometheus_stack(config),
        argo_rollouts(config),
        metrics_server(config),
    ];
    if adopted_ingress_class(config).is_some() {
        // The cluster's own ingress controller serves kindling's Ingresses.
        apps.retain(|a| a["metadata"]["name"] != "traefik");
    }
    apps
}

/// Everything the platform step applies: the `monitoring` namespace, Grafana's admin Secret
/// (with `grafana_password`), the Grafana dashboards, and every platform Application.
pub fn platform_objects(config: &Config, grafana_password: &str) -> Vec<Value> {
    let mut objects = vec![
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "monitoring" } }),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": { "name": GRAFANA_ADMIN_SECRET, "namespace": "monitoring" },
            "stringData": { "admin-user": "admin", "admin-password": grafana_password }
        }),
    ];
    objects.extend(super::gitops::dashboards());
    objects.extend(all(config));
    objects
}
