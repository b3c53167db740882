//! The scheduler and the kubelet, for the ordinary ways a pod fails to start.
//!
//! Scheduler (kube-scheduler's filter plugins NodeAffinity, TaintToleration, NodePorts,
//! VolumeBinding): a pod goes to the first node that matches its nodeSelector and required
//! node affinity, tolerates the node's NoSchedule/NoExecute taints, has the pod's host ports
//! free (one pod per node per hostPort/protocol) and whose claimed PVCs exist. Otherwise the
//! pod stays Pending with PodScheduled False, reason Unschedulable and a message in the
//! scheduler's words ("0/1 nodes are available: 1 node(s) didn't match Pod's node
//! affinity/selector. ..."). Not modelled: resource requests, pod (anti-)affinity, topology
//! spread, preemption.
//!
//! Kubelet (pkg/kubelet, containerd): a secret, configMap or projected volume whose object
//! does not exist (and is not `optional`) keeps every container ContainerCreating (the
//! FailedMount case); then per container, init containers first: an image from a registry no
//! mirror serves → ImagePullBackOff; an env `valueFrom` / `envFrom` reference to a missing
//! Secret, ConfigMap or key (not optional) → CreateContainerConfigError; else running and
//! ready. metrics-server is ready only with `--kubelet-insecure-tls` (kind's kubelet serving
//! certificates are self-signed, so its scrapes fail x509 verification and /readyz never
//! passes). Pods that do not restart (`Never`, `OnFailure`: Jobs, hook pods) run to
//! completion: Succeeded, exit code 0. Containers never crash here.

use super::{Ctx, expression_matches, name, namespace, selector_matches};
use serde_json::{Value, json};

/// The pod's nodeSelector and required node affinity admit `node`.
pub fn node_fits_selectors(spec: &Value, node: &Value) -> bool {
    let labels = &node["metadata"]["labels"];
    let by_selector = spec["nodeSelector"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| labels[k].as_str() == v.as_str()));
    let terms = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    let by_affinity = terms.as_array().is_none_or(|terms| {
        terms.iter().any(|t| {
            let exprs = t["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|e| expression_matches(e, |k| labels[k].as_str().map(str::to_string)));
            let fields = t["matchFields"].as_array().into_iter().flatten().all(|e| {
                expression_matches(e, |k| {
                    (k == "metadata.name").then(|| name(node).to_string())
                })
            });
            exprs && fields
        })
    });
    by_selector && by_affinity
}

/// Every NoSchedule / NoExecute taint of the node is tolerated.
pub fn tolerates(spec: &Value, node: &Value) -> bool {
    untolerated(spec, node).is_none()
}

fn untolerated<'a>(spec: &Value, node: &'a Value) -> Option<&'a Value> {
    let tolerations = spec["tolerations"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|taint| {
            let effect = taint["effect"].as_str().unwrap_or("");
            if effect == "PreferNoSchedule" {
                return false;
            }
            !tolerations.iter().any(|t| {
                let key_ok =
                    t["key"].is_null() && t["operator"] == "Exists" || t["key"] == taint["key"];
                let op_ok = match t["operator"].as_str().unwrap_or("Equal") {
                    "Exists" => true,
                    _ => t["value"].as_str().unwrap_or("") == taint["value"].as_str().unwrap_or(""),
                };
                let effect_ok = t["effect"]
                    .as_str()
                    .is_none_or(|e| e.is_empty() || e == effect);
                key_ok && op_ok && effect_ok
            })
        })
}

fn host_ports(spec: &Value) -> Vec<(i64, String, String)> {
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| {
            let host_port = p["hostPort"].as_i64().filter(|h| *h > 0)?;
            Some((
                host_port,
                p["protocol"].as_str().unwrap_or("TCP").to_string(),
                p["hostIP"].as_str().unwrap_or("0.0.0.0").to_string(),
            ))
        })
        .collect()
}

fn terminal(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

pub fn schedule(c: &Ctx) {
    let nodes = c.list("v1", "Node", None);
    let mut pods = c.list("v1", "Pod", None);
    pods.sort_by(|a, b| {
        a["metadata"]["creationTimestamp"]
            .as_str()
            .cmp(&b["metadata"]["creationTimestamp"].as_str())
    });
    // Host ports in use per node, updated as this pass binds pods.
    let mut used: Vec<(String, (i64, String, String))> = pods
        .iter()
        .filter(|p| !terminal(p) && p["spec"]["nodeName"].is_string())
        .flat_map(|p| {
            let node = p["spec"]["nodeName"].as_str().unwrap_or("").to_string();
            host_ports(&p["spec"])
                .into_iter()
                .map(move |hp| (node.clone(), hp))
        })
        .collect();
    for pod in pods.iter().filter(|p| {
        p["spec"]["nodeName"].is_null()
            && !terminal(p)
            && p["metadata"]["deletionTimestamp"].is_null()
    }) {
        let spec = &pod["spec"];
        let ns = namespace(pod);
        let missing_claim = spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|v| {
                let claim = v["persistentVolumeClaim"]["claimName"].as_str()?;
                c.get("v1", "PersistentVolumeClaim", Some(ns), claim)
                    .is_none()
                    .then(|| claim.to_string())
            });
        let wanted = host_ports(spec);
        let mut reasons: Vec<String> = Vec::new();
        let mut chosen = None;
        if let Some(claim) = &missing_claim {
            reasons.extend(
                nodes
                    .iter()
                    .map(|_| format!("persistentvolumeclaim \"{claim}\" not found")),
            );
        } else {
            for node in &nodes {
                let n = name(node);
                if !node_fits_selectors(spec, node) {
                    reasons.push("node(s) didn't match Pod's node affinity/selector".into());
                } else if let Some(taint) = untolerated(spec, node) {
                    reasons.push(format!(
                        "node(s) had untolerated taint {{{}: {}}}",
                        taint["key"].as_str().unwrap_or(""),
                        taint["value"].as_str().unwrap_or("")
                    ));
                } else if wanted.iter().any(|w| {
                    used.iter()
                        .any(|(un, u)| un == n && u.0 == w.0 && u.1 == w.1)
                }) {
                    reasons
                        .push("node(s) didn't have free ports for the requested pod ports".into());
                } else {
                    chosen = Some(n.to_string());
                    break;
                }
            }
        }
        match chosen {
            Some(node) => {
                used.extend(wanted.into_iter().map(|w| (node.clone(), w)));
                // Binding (pods/binding): nodeName is set once.
                let _ = c.fake.patch(
                    "v1",
                    "Pod",
                    Some(ns),
                    name(pod),
                    json!({"spec": {"nodeName": node}}),
                );
            }
            None => {
                let total = nodes.len();
                let mut counts: Vec<(String, usize)> = Vec::new();
                for r in reasons {
                    match counts.iter_mut().find(|(k, _)| *k == r) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((r, 1)),
                    }
                }
                counts.sort();
                let parts: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
                let message = format!(
                    "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
                    parts.join(", ")
                );
                c.set_status(pod, json!({
                    "phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
                }));
            }
        }
    }
}

/// The registry host of an image reference (docker.io when it names none).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// Why a container cannot be created from its config (env references), if it cannot.
fn config_error(c: &Ctx, ns: &str, container: &Value) -> Option<String> {
    for env in container["env"].as_array().into_iter().flatten() {
        let from = &env["valueFrom"];
        for (field, kind, what) in [
            ("secretKeyRef", "Secret", "secret"),
            ("configMapKeyRef", "ConfigMap", "configmap"),
        ] {
            let r = &from[field];
            if !r.is_object() || r["optional"] == true {
                continue;
            }
            let obj_name = r["name"].as_str().unwrap_or("");
            let key = r["key"].as_str().unwrap_or("");
            match c.get("v1", kind, Some(ns), obj_name) {
                None => return Some(format!("{what} \"{obj_name}\" not found")),
                Some(o) => {
                    let has = o["data"][key].is_string()
                        || o["stringData"][key].is_string()
                        || o["binaryData"][key].is_string();
                    if !has {
                        return Some(format!("couldn't find key {key} in {kind} {ns}/{obj_name}"));
                    }
                }
            }
        }
    }
    for from in container["envFrom"].as_array().into_iter().flatten() {
        for (field, kind, what) in [
            ("secretRef", "Secret", "secret"),
            ("configMapRef", "ConfigMap", "configmap"),
        ] {
            let r = &from[field];
            if !r.is_object() || r["optional"] == true {
                continue;
            }
            let obj_name = r["name"].as_str().unwrap_or("");
            if c.get("v1", kind, Some(ns), obj_name).is_none() {
                return Some(format!("{what} \"{obj_name}\" not found"));
            }
        }
    }
    None
}

/// The first volume that cannot be mounted: (volume, message).
fn mount_error(c: &Ctx, ns: &str, spec: &Value) -> Option<(String, String)> {
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let vname = v["name"].as_str().unwrap_or("").to_string();
        let mut refs: Vec<(&str, &str, bool)> = Vec::new();
        if v["secret"].is_object() {
            refs.push((
                "Secret",
                v["secret"]["secretName"].as_str().unwrap_or(""),
                v["secret"]["optional"] == true,
            ));
        }
        if v["configMap"].is_object() {
            refs.push((
                "ConfigMap",
                v["configMap"]["name"].as_str().unwrap_or(""),
                v["configMap"]["optional"] == true,
            ));
        }
        for s in v["projected"]["sources"].as_array().into_iter().flatten() {
            if s["secret"].is_object() {
                refs.push((
                    "Secret",
                    s["secret"]["name"].as_str().unwrap_or(""),
                    s["secret"]["optional"] == true,
                ));
            }
            if s["configMap"].is_object() {
                refs.push((
                    "ConfigMap",
                    s["configMap"]["name"].as_str().unwrap_or(""),
                    s["configMap"]["optional"] == true,
                ));
            }
        }
        for (kind, obj, optional) in refs {
            if !optional && c.get("v1", kind, Some(ns), obj).is_none() {
                let what = kind.to_lowercase();
                return Some((
                    vname,
                    format!(
                        "MountVolume.SetUp failed for volume \"{}\" : {what} \"{obj}\" not found",
                        v["name"].as_str().unwrap_or("")
                    ),
                ));
            }
        }
    }
    None
}

/// Why a running container would not become ready, if it would not.
fn not_ready(container: &Value) -> bool {
    let image = container["image"].as_str().unwrap_or("");
    if image.contains("metrics-server/metrics-server") {
        let args: Vec<&str> = container["args"]
            .as_array()
            .into_iter()
            .chain(container["command"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        return !args
            .iter()
            .any(|a| *a == "--kubelet-insecure-tls" || *a == "--kubelet-insecure-tls=true");
    }
    false
}

/// One container's fate: Err(waiting state) or Ok(ready).
fn container_state(c: &Ctx, ns: &str, container: &Value) -> Result<bool, Value> {
    let image = container["image"].as_str().unwrap_or("");
    if !c.registries.iter().any(|r| r == registry_of(image)) {
        return Err(json!({"reason": "ImagePullBackOff", "message": format!(
            "Back-off pulling image \"{image}\": ErrImagePull: failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": no mirror serves {}", registry_of(image))}));
    }
    if let Some(m) = config_error(c, ns, container) {
        return Err(json!({"reason": "CreateContainerConfigError", "message": m}));
    }
    Ok(!not_ready(container))
}

pub fn kubelet(c: &Ctx) {
    for pod in c.list("v1", "Pod", None) {
        let Some(node) = pod["spec"]["nodeName"].as_str() else {
            continue;
        };
        if terminal(&pod) || !pod["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let (spec, ns) = (&pod["spec"], namespace(&pod));
        let completes = spec["restartPolicy"]
            .as_str()
            .is_some_and(|p| p != "Always");
        let containers: Vec<&Value> = spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let inits: Vec<&Value> = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let status_of = |c: &Value, state: Value, ready: bool| {
            json!({
                "name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "restartCount": 0,
                "started": state["running"].is_object(), "state": state,
            })
        };
        let waiting = |reason: &str, message: &str| {
            let mut w = json!({"reason": reason});
            if !message.is_empty() {
                w["message"] = json!(message);
            }
            json!({"waiting": w})
        };
        let mut init_statuses = Vec::new();
        let mut statuses = Vec::new();
        let mut initialized = true;
        let mut phase = "Pending";
        if let Some((_, _message)) = mount_error(c, ns, spec) {
            initialized = inits.is_empty();
            init_statuses = inits
                .iter()
                .map(|i| status_of(i, waiting("PodInitializing", ""), false))
                .collect();
            statuses = containers
                .iter()
                .map(|k| status_of(k, waiting("ContainerCreating", ""), false))
                .collect();
        } else {
            for init in &inits {
                if !initialized {
                    init_statuses.push(status_of(init, waiting("PodInitializing", ""), false));
                    continue;
                }
                match container_state(c, ns, init) {
                    Ok(_) => {
                        super::operators::on_container_completed(c, &pod, init);
                        init_statuses.push(status_of(
                            init,
                            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                            false,
                        ));
                    }
                    Err(w) => {
                        initialized = false;
                        init_statuses.push(status_of(init, json!({"waiting": w}), false));
                    }
                }
            }
            if !initialized {
                statuses = containers
                    .iter()
                    .map(|k| status_of(k, waiting("PodInitializing", ""), false))
                    .collect();
            } else {
                let mut any_running = false;
                let mut all_ok = true;
                for k in &containers {
                    match container_state(c, ns, k) {
                        Ok(ready) => {
                            any_running = true;
                            let state = if completes {
                                json!({"terminated": {"exitCode": 0, "reason": "Completed"}})
                            } else {
                                json!({"running": {}})
                            };
                            statuses.push(status_of(k, state, ready && !completes));
                            all_ok &= ready;
                        }
                        Err(w) => {
                            all_ok = false;
                            statuses.push(status_of(k, json!({"waiting": w}), false));
                        }
                    }
                }
                phase = match (completes, all_ok, any_running) {
                    (true, true, _) => "Succeeded",
                    (_, _, true) => "Running",
                    _ => "Pending",
                };
            }
        }
        let unready: Vec<&str> = statuses
            .iter()
            .filter(|s| s["ready"] != true)
            .filter_map(|s| s["name"].as_str())
            .collect();
        let ready = unready.is_empty() && phase == "Running";
        let cond = |t: &str, ok: bool, reason: &str, message: String| {
            let mut v = json!({"type": t, "status": if ok { "True" } else { "False" }});
            if !ok && !reason.is_empty() {
                v["reason"] = json!(reason);
                v["message"] = json!(message);
            }
            v
        };
        let list = format!("[{}]", unready.join(" "));
        let (ready_reason, ready_message) = if phase == "Succeeded" {
            ("PodCompleted", String::new())
        } else {
            (
                "ContainersNotReady",
                format!("containers with unready status: {list}"),
            )
        };
        let mut status = json!({
            "phase": phase,
            "hostIP": node_ip(c, node), "podIP": "10.244.0.10",
            "conditions": [
                cond("PodReadyToStartContainers", phase != "Pending" || initialized, "", String::new()),
                cond("Initialized", initialized, "ContainersNotInitialized", "containers with incomplete status: [init]".into()),
                cond("Ready", ready, ready_reason, ready_message.clone()),
                cond("ContainersReady", ready, ready_reason, ready_message),
                cond("PodScheduled", true, "", String::new()),
            ],
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        });
        if !init_statuses.is_empty() {
            status["initContainerStatuses"] = json!(init_statuses);
        }
        status["startTime"] = pod["status"]["startTime"].clone();
        if status["startTime"].is_null() {
            status["startTime"] = json!(fake_apiserver::now_rfc3339());
        }
        c.set_status(&pod, status);
        if phase == "Succeeded" {
            for k in &containers {
                super::operators::on_container_completed(c, &pod, k);
            }
        }
    }
}

fn node_ip(c: &Ctx, node: &str) -> Value {
    c.get("v1", "Node", None, node)
        .map(|n| n["status"]["addresses"][0]["address"].clone())
        .unwrap_or(Value::Null)
}

/// Ready pods selected by a Service's selector.
pub fn service_endpoints(c: &Ctx, service: &Value) -> Vec<Value> {
    let selector = &service["spec"]["selector"];
    if !selector.is_object() {
        return Vec::new();
    }
    c.list("v1", "Pod", Some(namespace(service)))
        .into_iter()
        .filter(|p| selector_matches(&json!({"matchLabels": selector}), &p["metadata"]["labels"]))
        .filter(super::workloads::pod_ready)
        .collect()
}
