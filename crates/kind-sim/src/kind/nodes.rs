//! Nodes as kind v0.33.0 creates them from its config.
//!
//! - Names: `<cluster>-control-plane`, `-control-plane2`..., `<cluster>-worker`, `-worker2`...
//!   (kind pkg/cluster/internal/create/actions/config, nodes named by role and index).
//! - Labels: the kubelet's well-known ones (kubernetes.io/hostname, os, arch), kubeadm's
//!   `node-role.kubernetes.io/control-plane` and `node.kubernetes.io/exclude-from-external-load-balancers`
//!   on control-plane nodes, plus each node's `labels` from the kind config (kubelet
//!   `node-labels`).
//! - Taints: kubeadm taints control-plane nodes `node-role.kubernetes.io/control-plane:NoSchedule`;
//!   kind removes that taint and the exclude-from-external-load-balancers label when the
//!   cluster has exactly one node (pkg/cluster/internal/create/actions/kubeadminit/init.go,
//!   "if we are only provisioning one node, remove the control plane taint"; unchanged from
//!   v0.32.0 to v0.33.0).

use serde_json::{Value, json};

pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane";

/// The Node objects of a kind cluster named `cluster` with config `config` (None: kind's
/// default, one control-plane node).
pub fn from_config(cluster: &str, config: Option<&str>) -> Result<Vec<Value>, String> {
    let nodes: Vec<Value> = match config {
        Some(text) => {
            let doc = crate::yaml::parse(text).map_err(|e| format!("kind config: {e}"))?;
            match doc["nodes"].as_array() {
                Some(n) if !n.is_empty() => n.clone(),
                _ => vec![json!({"role": "control-plane"})],
            }
        }
        None => vec![json!({"role": "control-plane"})],
    };
    let single = nodes.len() == 1;
    let (mut control_planes, mut workers) = (0, 0);
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let role = node["role"].as_str().unwrap_or("control-plane");
        let name = match role {
            "control-plane" => {
                control_planes += 1;
                suffixed(&format!("{cluster}-control-plane"), control_planes)
            }
            "worker" => {
                workers += 1;
                suffixed(&format!("{cluster}-worker"), workers)
            }
            other => return Err(format!("kind config: unknown node role {other:?}")),
        };
        let mut labels = json!({
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        });
        let mut taints = Vec::new();
        if role == "control-plane" {
            labels[CONTROL_PLANE_TAINT] = json!("");
            if !single {
                labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
                taints.push(json!({"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"}));
            }
        }
        for (k, v) in node["labels"].as_object().into_iter().flatten() {
            labels[k] = match v {
                Value::String(s) => json!(s),
                other => json!(other.to_string()),
            };
        }
        let mut spec = json!({"podCIDR": format!("10.244.{i}.0/24"), "providerID": format!("kind://docker/{cluster}/{name}")});
        if !taints.is_empty() {
            spec["taints"] = json!(taints);
        }
        out.push(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
            "status": {
                "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", i + 2)},
                              {"type": "Hostname", "address": name}],
                "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status"}],
                "nodeInfo": {"kubeletVersion": "v1.36.4", "containerRuntimeVersion": "containerd://2.2.0",
                             "operatingSystem": "linux", "architecture": "amd64"},
            },
        }));
    }
    Ok(out)
}

fn suffixed(base: &str, n: usize) -> String {
    if n == 1 {
        base.to_string()
    } else {
        format!("{base}{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDLING_LIKE: &str = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n    labels:\n      ingress-ready: \"true\"\n";

    #[test]
    fn a_single_node_cluster_has_its_control_plane_taint_removed_and_keeps_config_labels() {
        let nodes = from_config("k", Some(KINDLING_LIKE)).unwrap();
        assert_eq!(nodes.len(), 1);
        let n = &nodes[0];
        assert_eq!(n["metadata"]["name"], "k-control-plane");
        assert_eq!(n["metadata"]["labels"]["ingress-ready"], "true");
        assert_eq!(n["metadata"]["labels"][CONTROL_PLANE_TAINT], "");
        assert!(n["spec"]["taints"].is_null());
        assert!(
            n["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"]
                .is_null()
        );
    }

    #[test]
    fn with_workers_the_control_plane_keeps_its_taint() {
        let config = format!("{KINDLING_LIKE}  - role: worker\n  - role: worker\n");
        let nodes = from_config("k", Some(&config)).unwrap();
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["k-control-plane", "k-worker", "k-worker2"]);
        assert_eq!(nodes[0]["spec"]["taints"][0]["key"], CONTROL_PLANE_TAINT);
        assert!(nodes[1]["spec"]["taints"].is_null());
        assert!(nodes[1]["metadata"]["labels"]["ingress-ready"].is_null());
    }
}
