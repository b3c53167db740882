//! A kind cluster's nodes and controllers, acting on the fake API server the way the real
//! ones do — including the ordinary ways a pod fails to start — so that Argo CD's rules
//! judge real-looking statuses. Each controller is small and cites the behaviour it models.
//!
//! - nodes ([`nodes`]): as kind v0.33.0 makes them from its config;
//! - workloads ([`workloads`]): Deployment → ReplicaSet → Pods, StatefulSet, DaemonSet, Job;
//! - pods ([`pods`]): the scheduler (nodeSelector, affinity, taints, host ports, PVCs) and the
//!   kubelet (volumes, env references, image pulls, readiness, run-to-completion);
//! - network ([`network`]): no load-balancer controller, Ingress status from the ingress
//!   controller's published address, APIService availability, HPAs, PVC binding;
//! - operators ([`operators`]): what the platform's own controllers do (cert-manager,
//!   prometheus-operator, Argo Rollouts, kube-webhook-certgen);
//! - admission ([`admission`]): webhooks refuse writes while their Service has no ready pod.

pub mod admission;
pub mod network;
pub mod nodes;
pub mod operators;
pub mod pods;
pub mod workloads;

use crate::runtime::Activity;
use fake_apiserver::Fake;
use serde_json::{Value, json};
use sha2::Digest;

/// What the simulated kind cluster is.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster name (nodes are `<name>-control-plane`, `<name>-worker`...).
    pub name: String,
    /// kind's cluster config (kind.x-k8s.io/v1alpha4 YAML); None: one control-plane node.
    pub config: Option<String>,
    /// Registry hosts whose images can be pulled (the cluster's mirrored upstreams and the
    /// local registry). An image without a host is docker.io's.
    pub registries: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            name: "kind".into(),
            config: None,
            registries: [
                "docker.io",
                "quay.io",
                "ghcr.io",
                "registry.k8s.io",
                "public.ecr.aws",
                "localhost:5001",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Starts the cluster: creates its nodes and runs its controllers on `fake`.
pub fn start(fake: &Fake, activity: &Activity, options: &Options) -> Result<(), String> {
    for node in nodes::from_config(&options.name, options.config.as_deref())? {
        fake.apply(node.clone()).map_err(|e| e.to_string())?;
        fake.set_status("v1", "Node", None, name(&node), node["status"].clone())
            .map_err(|e| e.to_string())?;
    }
    // kind's default StorageClass (local-path-provisioner, WaitForFirstConsumer).
    fake.apply(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }))
    .map_err(|e| e.to_string())?;
    admission::install(fake, options.registries.clone());
    let registries = options.registries.clone();
    let f = fake.clone();
    activity.spawn(fake.clone(), move || {
        let (f, registries) = (f.clone(), registries.clone());
        async move {
            let c = Ctx {
                fake: &f,
                registries: &registries,
            };
            // Until nothing changes in a round (each write also wakes the loop again).
            namespaces(&c);
            workloads::deployments(&c);
            workloads::replica_sets(&c);
            workloads::stateful_sets(&c);
            workloads::daemon_sets(&c);
            workloads::jobs(&c);
            pods::schedule(&c);
            pods::kubelet(&c);
            network::persistent_volume_claims(&c);
            network::ingress_status(&c);
            network::api_services(&c);
            network::horizontal_pod_autoscalers(&c);
            operators::cert_manager(&c);
            operators::prometheus_operator(&c);
            operators::argo_rollouts(&c);
            None
        }
    });
    Ok(())
}

/// What every controller gets.
pub struct Ctx<'a> {
    pub fake: &'a Fake,
    pub registries: &'a [String],
}

impl Ctx<'_> {
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        self.fake.list(api_version, kind, namespace)
    }

    /// Pods whose controller is `owner`.
    pub fn pods_of(&self, owner: &Value) -> Vec<Value> {
        let ns = namespace(owner);
        self.list("v1", "Pod", Some(ns))
            .into_iter()
            .filter(|p| owned_by(p, owner))
            .collect()
    }

    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.fake.get(api_version, kind, ns, name)
    }

    /// Replaces the status when it differs (the fake ignores writes that change nothing).
    pub fn set_status(&self, obj: &Value, status: Value) {
        if obj["status"] == status {
            return;
        }
        let ns = namespace(obj);
        let ns = (!ns.is_empty()).then_some(ns);
        let _ = self.fake.set_status(
            obj["apiVersion"].as_str().unwrap_or(""),
            obj["kind"].as_str().unwrap_or(""),
            ns,
            name(obj),
            status,
        );
    }
}

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

pub fn owned_by(obj: &Value, owner: &Value) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid(owner)))
}

/// A controller ownerReference to `owner`.
pub fn owner_ref(owner: &Value) -> Value {
    json!([{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    }])
}

/// A stable 10-character hash in Kubernetes' safe alphabet (pod-template-hash style).
pub fn hash(v: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = sha2::Sha256::digest(serde_json::to_vec(v).unwrap_or_default());
    digest
        .iter()
        .take(10)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

pub fn int(v: &Value, default: i64) -> i64 {
    v.as_i64().unwrap_or(default)
}

/// metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists,
/// DoesNotExist). An empty selector matches everything.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels[k].as_str();
    let by_labels = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let by_expressions = selector["matchExpressions"].as_array().is_none_or(|es| {
        es.iter()
            .all(|e| expression_matches(e, |k| label(k).map(str::to_string)))
    });
    by_labels && by_expressions
}

/// One requirement (label selector or node selector term expression).
pub fn expression_matches(e: &Value, value_of: impl Fn(&str) -> Option<String>) -> bool {
    let key = e["key"].as_str().unwrap_or("");
    let values: Vec<&str> = e["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let v = value_of(key);
    match e["operator"].as_str().unwrap_or("") {
        "In" => v.is_some_and(|v| values.contains(&v.as_str())),
        "NotIn" => v.is_none_or(|v| !values.contains(&v.as_str())),
        "Exists" => v.is_some(),
        "DoesNotExist" => v.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(w)) = (
                v.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|w| w.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if e["operator"] == "Gt" { v > w } else { v < w }
        }
        _ => false,
    }
}

/// The namespace controllers: every namespace gets the `default` ServiceAccount
/// (serviceaccounts-controller) and the `kube-root-ca.crt` ConfigMap (root-ca-cert-publisher).
fn namespaces(c: &Ctx) {
    for ns in c.list("v1", "Namespace", None) {
        if !ns["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let n = name(&ns);
        if c.get("v1", "ServiceAccount", Some(n), "default").is_none() {
            let _ = c
                .fake
                .create(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": n}}));
        }
        if c.get("v1", "ConfigMap", Some(n), "kube-root-ca.crt")
            .is_none()
        {
            let _ = c.fake.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": n},
                "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(simulated)\n-----END CERTIFICATE-----\n"}}));
        }
    }
}
