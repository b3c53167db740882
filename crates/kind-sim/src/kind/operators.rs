//! What the platform's own controllers do, so their custom resources reach the states
//! Argo CD's Lua checks rate. Each acts only while its controller pod is running and ready
//! (found by image), as the real one would.
//!
//! - cert-manager v1.21.1: a CA (Cluster)Issuer is Ready (KeyPairVerified, "Signing CA
//!   verified") when its `spec.ca.secretName` Secret with tls.crt and tls.key exists in the
//!   cluster resource namespace (`--cluster-resource-namespace`, the controller's namespace in
//!   the chart) — else Ready False, ErrGetKeyPair, "Error getting keypair for CA issuer: ..."
//!   (pkg/issuer/ca/setup.go); selfSigned issuers are Ready. ingress-shim
//!   (pkg/controller/certificate-shim) makes one Certificate per `spec.tls` entry of an Ingress
//!   annotated `cert-manager.io/cluster-issuer` or `cert-manager.io/issuer`, named after the
//!   secret, with the TLS hosts and `cert-manager.io/usages`. A Certificate whose issuer is
//!   Ready gets its Secret and Ready True "Certificate is up to date and has not expired"
//!   (readiness_controller.go); otherwise Issuing True / Ready False "Issuing certificate as
//!   Secret does not exist" (policies/checks.go).
//! - prometheus-operator v0.93: a Prometheus or Alertmanager becomes a StatefulSet
//!   (`prometheus-<name>`, `alertmanager-<name>`), and its status the StatefulSet reporter's
//!   (pkg/operator/statefulset_reporter.go): Available True when every replica is ready, else
//!   False NoPodReady / Degraded SomePodsNotReady; Reconciled True.
//! - Argo Rollouts v1.9.1: a Rollout gets a ReplicaSet per pod template; the first revision
//!   becomes stable at once (no steps, no analysis); a later one walks the canary steps
//!   (setWeight passes, a timed pause passes at once, a pause without duration pauses:
//!   CanaryPauseStep) or the blue-green gates (pre-promotion analysis, BlueGreenPause without
//!   auto-promotion, cut-over, post-promotion analysis). AnalysisRuns are not simulated: an
//!   analysis step or gate waits until its run's verdict is written into the Rollout's status
//!   (`canary.currentStepAnalysisRunStatus`, `blueGreen.pre/postPromotionAnalysisRunStatus`,
//!   as the controller records it) — Successful passes, Failed/Error aborts, Inconclusive
//!   pauses. A promotion (pause conditions cleared; promoteFull) moves on; `status.abort`
//!   stops the update (RolloutAborted, Degraded; the canary scaled down) until retried or
//!   replaced by a new revision. phase and message as utils/rollout/rolloututil.go
//!   `CalculateRolloutPhase`.
//! - kube-webhook-certgen (jkroepke/kube-webhook-certgen, kube-prometheus-stack's admission
//!   Jobs): `create` writes the `--secret-name` Secret (ca, cert, key) into `--namespace`.
//! - Argo CD's redis `secret-init` init container (`argocd admin redis-initial-password`)
//!   creates the `argocd-redis` Secret the other Argo CD components read.

use super::{Ctx, hash, int, name, namespace, owned_by, owner_ref};
use serde_json::{Value, json};

/// A running, ready pod whose image contains `image`.
fn running(c: &Ctx, image: &str) -> Option<Value> {
    c.list("v1", "Pod", None).into_iter().find(|p| {
        p["status"]["phase"] == "Running"
            && super::workloads::pod_ready(p)
            && p["spec"]["containers"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|k| k["image"].as_str().is_some_and(|i| i.contains(image)))
            })
    })
}

fn arg_value(pod: &Value, key: &str) -> Option<String> {
    pod["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|k| k["args"].as_array().cloned().unwrap_or_default())
        .find_map(|a| {
            let a = a.as_str()?.to_string();
            let (k, v) = a.split_once('=')?;
            (k == key).then(|| v.to_string())
        })
}

fn ready_condition(obj: &Value) -> Option<bool> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| c["status"] == "True")
}

fn cond(t: &str, ok: bool, reason: &str, message: &str) -> Value {
    json!({"type": t, "status": if ok { "True" } else { "False" }, "reason": reason, "message": message,
           "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

pub fn cert_manager(c: &Ctx) {
    let Some(controller) = running(c, "jetstack/cert-manager-controller") else {
        return;
    };
    if c.fake.served("cert-manager.io/v1", "Certificate").is_none() {
        return;
    }
    let resource_ns = arg_value(&controller, "--cluster-resource-namespace")
        .filter(|v| !v.starts_with("$("))
        .unwrap_or_else(|| namespace(&controller).to_string());
    for (kind, cluster) in [("ClusterIssuer", true), ("Issuer", false)] {
        for issuer in c.list("cert-manager.io/v1", kind, None) {
            let ns = if cluster {
                resource_ns.as_str()
            } else {
                namespace(&issuer)
            };
            let spec = &issuer["spec"];
            let condition = if let Some(secret) = spec["ca"]["secretName"].as_str() {
                match c.get("v1", "Secret", Some(ns), secret) {
                    Some(s)
                        if s["data"]["tls.crt"].is_string() && s["data"]["tls.key"].is_string()
                            || s["stringData"]["tls.crt"].is_string()
                                && s["stringData"]["tls.key"].is_string() =>
                    {
                        cond("Ready", true, "KeyPairVerified", "Signing CA verified")
                    }
                    Some(_) => cond(
                        "Ready",
                        false,
                        "ErrGetKeyPair",
                        "Error getting keypair for CA issuer: secret has no tls.crt or tls.key",
                    ),
                    None => cond(
                        "Ready",
                        false,
                        "ErrGetKeyPair",
                        &format!(
                            "Error getting keypair for CA issuer: secret \"{secret}\" not found"
                        ),
                    ),
                }
            } else if spec["selfSigned"].is_object() {
                cond("Ready", true, "IsReady", "")
            } else {
                continue; // ACME, Vault...: not modelled.
            };
            let mut status = issuer["status"].clone();
            if !status.is_object() {
                status = json!({});
            }
            if status["conditions"][0]["status"] != condition["status"]
                || status["conditions"][0]["message"] != condition["message"]
            {
                status["conditions"] = json!([condition]);
                c.set_status(&issuer, status);
            }
        }
    }
    // ingress-shim.
    for ing in c.list("networking.k8s.io/v1", "Ingress", None) {
        let a = &ing["metadata"]["annotations"];
        let (issuer, issuer_kind) = match (
            a["cert-manager.io/cluster-issuer"].as_str(),
            a["cert-manager.io/issuer"].as_str(),
        ) {
            (Some(i), _) => (i, "ClusterIssuer"),
            (None, Some(i)) => (i, "Issuer"),
            _ => continue,
        };
        for tls in ing["spec"]["tls"].as_array().into_iter().flatten() {
            let Some(secret) = tls["secretName"].as_str() else {
                continue;
            };
            let mut spec = json!({"secretName": secret, "dnsNames": tls["hosts"],
                "issuerRef": {"name": issuer, "kind": issuer_kind, "group": "cert-manager.io"}});
            if let Some(usages) = a["cert-manager.io/usages"].as_str() {
                spec["usages"] = json!(usages.split(',').map(str::trim).collect::<Vec<_>>());
            } else {
                spec["usages"] = json!(["digital signature", "key encipherment"]);
            }
            let ns = namespace(&ing);
            let existing = c.get("cert-manager.io/v1", "Certificate", Some(ns), secret);
            if existing.as_ref().is_none_or(|e| e["spec"] != spec) {
                let _ = c.fake.apply(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                    "metadata": {"name": secret, "namespace": ns, "ownerReferences": owner_ref(&ing)}, "spec": spec}));
            }
        }
    }
    for cert in c.list("cert-manager.io/v1", "Certificate", None) {
        let ns = namespace(&cert);
        let issuer_ref = &cert["spec"]["issuerRef"];
        let issuer_name = issuer_ref["name"].as_str().unwrap_or("");
        let issuer = if issuer_ref["kind"] == "ClusterIssuer" {
            c.get("cert-manager.io/v1", "ClusterIssuer", None, issuer_name)
        } else {
            c.get("cert-manager.io/v1", "Issuer", Some(ns), issuer_name)
        };
        let secret = cert["spec"]["secretName"].as_str().unwrap_or("");
        let status = if issuer.as_ref().and_then(ready_condition) == Some(true) {
            if c.get("v1", "Secret", Some(ns), secret).is_none() {
                let _ = c.fake.create(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": secret, "namespace": ns, "annotations": {"cert-manager.io/certificate-name": name(&cert)}},
                    "data": {"tls.crt": "c2ltdWxhdGVk", "tls.key": "c2ltdWxhdGVk", "ca.crt": "c2ltdWxhdGVk"}}));
            }
            json!({"conditions": [cond("Ready", true, "Ready", "Certificate is up to date and has not expired")],
                   "notAfter": "2027-01-01T00:00:00Z", "revision": 1})
        } else {
            let m = "Issuing certificate as Secret does not exist";
            json!({"conditions": [cond("Ready", false, "DoesNotExist", m), cond("Issuing", true, "DoesNotExist", m)]})
        };
        if cert["status"]["conditions"] != status["conditions"] {
            c.set_status(&cert, status);
        }
    }
}

/// The StatefulSet reporter's Available condition and counts for a governing object.
fn report(c: &Ctx, owner: &Value, sts_name: &str, expected: i64) -> Value {
    let ns = namespace(owner);
    let pods: Vec<Value> = c
        .list("v1", "Pod", Some(ns))
        .into_iter()
        .filter(|p| {
            p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{sts_name}-")))
        })
        .collect();
    let ready = pods
        .iter()
        .filter(|p| super::workloads::pod_ready(p))
        .count() as i64;
    let (status, reason) = match c.get("apps/v1", "StatefulSet", Some(ns), sts_name) {
        None => ("False", "StatefulSetNotFound"),
        Some(_) if ready < expected && ready == 0 => ("False", "NoPodReady"),
        Some(_) if ready < expected => ("Degraded", "SomePodsNotReady"),
        Some(_) => ("True", ""),
    };
    let messages: Vec<String> = pods
        .iter()
        .filter_map(|p| {
            let m = p["status"]["containerStatuses"]
                .as_array()?
                .iter()
                .find_map(|s| s["state"]["waiting"]["message"].as_str())?;
            Some(format!("pod {}: {m}", name(p)))
        })
        .collect();
    json!({
        "replicas": pods.len(), "updatedReplicas": pods.len(), "availableReplicas": ready,
        "unavailableReplicas": pods.len() as i64 - ready, "paused": false,
        "conditions": [
            {"type": "Available", "status": status, "reason": reason, "message": messages.join("\n"),
             "observedGeneration": owner["metadata"]["generation"], "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "Reconciled", "status": "True", "reason": "", "message": "",
             "observedGeneration": owner["metadata"]["generation"], "lastTransitionTime": "2026-01-01T00:00:00Z"},
        ],
    })
}

pub fn prometheus_operator(c: &Ctx) {
    let Some(operator) = running(c, "prometheus-operator/prometheus-operator") else {
        return;
    };
    let reloader = arg_value(&operator, "--prometheus-config-reloader")
        .unwrap_or_else(|| "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.0".into());
    for (kind, prefix, default_image, port) in [
        (
            "Prometheus",
            "prometheus",
            "quay.io/prometheus/prometheus",
            9090,
        ),
        (
            "Alertmanager",
            "alertmanager",
            "quay.io/prometheus/alertmanager",
            9093,
        ),
    ] {
        if c.fake.served("monitoring.coreos.com/v1", kind).is_none() {
            continue;
        }
        for cr in c.list("monitoring.coreos.com/v1", kind, None) {
            let (ns, n) = (namespace(&cr), name(&cr));
            let spec = &cr["spec"];
            let replicas = int(&spec["replicas"], 1);
            let image = spec["image"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    format!(
                        "{default_image}:{}",
                        spec["version"].as_str().unwrap_or("latest")
                    )
                });
            let sts_name = format!("{prefix}-{n}");
            let labels = json!({"app.kubernetes.io/name": prefix, "app.kubernetes.io/instance": n,
                "app.kubernetes.io/managed-by": "prometheus-operator", prefix: n,
                "operator.prometheus.io/name": n});
            let mut pod_spec = json!({
                "containers": [
                    {"name": prefix, "image": image, "ports": [{"name": "web", "containerPort": port}]},
                    {"name": "config-reloader", "image": reloader},
                ],
                "serviceAccountName": spec["serviceAccountName"].as_str().unwrap_or("default"),
            });
            for field in ["nodeSelector", "tolerations", "affinity", "securityContext"] {
                if !spec[field].is_null() {
                    pod_spec[field] = spec[field].clone();
                }
            }
            let desired = json!({"replicas": replicas, "serviceName": format!("{prefix}-operated"),
                "selector": {"matchLabels": labels}, "podManagementPolicy": "Parallel",
                "template": {"metadata": {"labels": labels}, "spec": pod_spec}});
            let existing = c.get("apps/v1", "StatefulSet", Some(ns), &sts_name);
            if existing.as_ref().is_none_or(|s| s["spec"] != desired) {
                let _ = c.fake.apply(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": sts_name, "namespace": ns, "labels": labels, "ownerReferences": owner_ref(&cr)},
                    "spec": desired}));
            }
            let status = report(c, &cr, &sts_name, replicas);
            c.set_status(&cr, status);
        }
    }
}

/// An AnalysisRun's verdict as the controller records it in the Rollout's status
/// (`RolloutAnalysisRunStatus.status`): the runs themselves are not simulated, so a step or a
/// blue-green gate waits until someone (a test standing in for the analysis) writes one.
fn verdict(run_status: &Value) -> Option<&str> {
    run_status["status"].as_str().filter(|s| !s.is_empty())
}

enum Gate {
    Passed,
    Waiting,
    Inconclusive,
    Failed,
}

/// analysis.go: Successful passes, Failed or Error aborts the update, Inconclusive pauses it
/// (InconclusiveAnalysis); anything else is still running.
fn gate(run_status: &Value) -> Gate {
    match verdict(run_status) {
        Some("Successful") => Gate::Passed,
        Some("Failed" | "Error") => Gate::Failed,
        Some("Inconclusive") => Gate::Inconclusive,
        _ => Gate::Waiting,
    }
}

fn pause(status: &mut Value, reason: &str) {
    if status["pauseConditions"][0]["reason"] != reason {
        status["pauseConditions"] =
            json!([{"reason": reason, "startTime": "2026-01-01T00:00:00Z"}]);
    }
    status["controllerPause"] = json!(true);
}

/// The canary steps from `status.currentStepIndex` on (rollout/canary.go): setWeight and
/// setCanaryScale pass, a timed pause passes at once (time is not simulated), a pause without
/// a duration pauses (CanaryPauseStep) until promoted, an analysis step waits for its run's
/// verdict (`status.canary.currentStepAnalysisRunStatus`), an experiment waits. Returns
/// whether every step is done, or Err when a failed analysis aborts the update.
fn walk_canary(steps: &[Value], status: &mut Value) -> Result<bool, ()> {
    let mut i = status["currentStepIndex"].as_u64().unwrap_or(0) as usize;
    while let Some(step) = steps.get(i) {
        if step["setWeight"].is_number() || step["setCanaryScale"].is_object() {
            i += 1;
        } else if step["pause"].is_object() {
            if !step["pause"]["duration"].is_null() {
                i += 1;
                continue;
            }
            pause(status, "CanaryPauseStep");
            break;
        } else if step["analysis"].is_object() {
            match gate(&status["canary"]["currentStepAnalysisRunStatus"]) {
                Gate::Passed => {
                    status["canary"]["currentStepAnalysisRunStatus"] = Value::Null;
                    i += 1;
                }
                Gate::Failed => return Err(()),
                Gate::Inconclusive => {
                    pause(status, "InconclusiveAnalysis");
                    break;
                }
                Gate::Waiting => break,
            }
        } else {
            break; // experiment: not modelled, waits
        }
    }
    status["currentStepIndex"] = json!(i);
    Ok(i >= steps.len())
}

/// rollout/bluegreen.go: pre-promotion analysis (its run's verdict in
/// `status.blueGreen.prePromotionAnalysisRunStatus`), then a pause until promoted when
/// autoPromotionEnabled is false (BlueGreenPause), then the active Service's cut-over, then
/// post-promotion analysis before the new ReplicaSet is stable (`promoted`: a promotion just
/// cleared the pause). Returns whether it is promoted and verified, or Err when an analysis
/// fails.
fn walk_blue_green(
    strategy: &Value,
    status: &mut Value,
    current: &str,
    promoted: bool,
) -> Result<bool, ()> {
    status["blueGreen"]["previewSelector"] = json!(current);
    if status["blueGreen"]["activeSelector"] != current {
        if strategy["prePromotionAnalysis"].is_object() {
            match gate(&status["blueGreen"]["prePromotionAnalysisRunStatus"]) {
                Gate::Passed => {}
                Gate::Failed => return Err(()),
                Gate::Inconclusive => {
                    pause(status, "InconclusiveAnalysis");
                    return Ok(false);
                }
                Gate::Waiting => return Ok(false),
            }
        }
        if strategy["autoPromotionEnabled"] == false && !promoted {
            pause(status, "BlueGreenPause");
            return Ok(false);
        }
        status["blueGreen"]["activeSelector"] = json!(current);
    }
    if strategy["postPromotionAnalysis"].is_object() {
        return match gate(&status["blueGreen"]["postPromotionAnalysisRunStatus"]) {
            Gate::Passed => Ok(true),
            Gate::Failed => Err(()),
            Gate::Inconclusive => {
                pause(status, "InconclusiveAnalysis");
                Ok(false)
            }
            Gate::Waiting => Ok(false),
        };
    }
    Ok(true)
}

/// conditions.go `RolloutAbortedReason` / `RolloutAbortedMessage`.
const ABORTED: &str = "RolloutAborted";

fn aborted_condition(status: &Value) -> bool {
    status["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["reason"] == ABORTED))
}

/// A new attempt at the current template: steps from the start, no verdicts, no pause.
fn restart_update(status: &mut Value) {
    status["currentStepIndex"] = json!(0);
    status["pauseConditions"] = Value::Null;
    status["controllerPause"] = Value::Null;
    status["canary"]["currentStepAnalysisRunStatus"] = Value::Null;
    status["blueGreen"]["prePromotionAnalysisRunStatus"] = Value::Null;
    status["blueGreen"]["postPromotionAnalysisRunStatus"] = Value::Null;
    if let Some(cs) = status["conditions"].as_array_mut() {
        cs.retain(|c| c["reason"] != ABORTED);
    }
}

pub fn argo_rollouts(c: &Ctx) {
    if running(c, "argoproj/argo-rollouts").is_none()
        || c.fake.served("argoproj.io/v1alpha1", "Rollout").is_none()
    {
        return;
    }
    for ro in c.list("argoproj.io/v1alpha1", "Rollout", None) {
        let ns = namespace(&ro);
        let spec = &ro["spec"];
        let replicas = int(&spec["replicas"], 1);
        let template = &spec["template"];
        let current = hash(template);
        let mut status = ro["status"].clone();
        if !status.is_object() {
            status = json!({});
        }
        let generation = ro["metadata"]["generation"].as_i64().unwrap_or(1);
        let new_generation = status["observedGeneration"] != generation.to_string().as_str();
        let stable = status["stableRS"].as_str().map(str::to_string);
        // The ReplicaSet of the current template.
        let rs_name = format!("{}-{current}", name(&ro));
        let sets: Vec<Value> = c
            .list("apps/v1", "ReplicaSet", Some(ns))
            .into_iter()
            .filter(|rs| owned_by(rs, &ro))
            .collect();
        if !sets.iter().any(|rs| name(rs) == rs_name) {
            let mut labels = template["metadata"]["labels"].clone();
            labels["rollouts-pod-template-hash"] = json!(current);
            let mut selector = spec["selector"].clone();
            selector["matchLabels"]["rollouts-pod-template-hash"] = json!(current);
            let mut tpl = template.clone();
            tpl["metadata"]["labels"] = labels.clone();
            let _ = c.fake.create(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns, "labels": labels, "ownerReferences": owner_ref(&ro)},
                "spec": {"replicas": replicas, "selector": selector, "template": tpl}}));
        }
        let new_rs = sets.iter().find(|rs| name(rs) == rs_name);
        let available = new_rs.map_or(0, |rs| int(&rs["status"]["availableReplicas"], 0));
        let updated = new_rs.map_or(0, |rs| int(&rs["status"]["replicas"], 0));
        let total: i64 = sets
            .iter()
            .map(|rs| int(&rs["status"]["replicas"], 0))
            .sum();
        status["observedGeneration"] = json!(generation.to_string());
        status["currentPodHash"] = json!(current);
        status["replicas"] = json!(total);
        status["updatedReplicas"] = json!(updated);
        status["readyReplicas"] = json!(available);
        status["availableReplicas"] = json!(available);
        status["selector"] = json!(format!("rollouts-pod-template-hash={current}"));
        let blue_green = spec["strategy"]["blueGreen"].is_object();
        let promote = |status: &mut Value| {
            status["stableRS"] = json!(current);
            status["pauseConditions"] = Value::Null;
            status["controllerPause"] = Value::Null;
            if blue_green {
                status["blueGreen"] = json!({"activeSelector": current});
            } else {
                status["canary"] = json!({});
                status["currentStepIndex"] = json!(
                    spec["strategy"]["canary"]["steps"]
                        .as_array()
                        .map_or(0, Vec::len)
                );
            }
        };
        match stable.as_deref() {
            // The first revision becomes stable at once, without steps or analysis.
            None => {
                if available >= replicas {
                    promote(&mut status);
                }
            }
            Some(s) if s == current => {}
            Some(_) if new_generation => {
                restart_update(&mut status);
                status["abort"] = Value::Null;
            }
            // Aborted (`kindling rollout abort`, or a failed analysis): the update stops,
            // the canary's pods go, the stable ones serve; Degraded until retried
            // (status.abort false again) or a new revision comes.
            Some(_) if status["abort"] == true => {
                status["pauseConditions"] = Value::Null;
                status["controllerPause"] = Value::Null;
                if !aborted_condition(&status) {
                    let revision = sets.len();
                    let mut conditions =
                        status["conditions"].as_array().cloned().unwrap_or_default();
                    conditions.retain(|c| c["type"] != "Progressing");
                    conditions.push(json!({"type": "Progressing", "status": "False", "reason": ABORTED,
                        "message": format!("Rollout aborted update to revision {revision}"),
                        "lastTransitionTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-01T00:00:00Z"}));
                    status["conditions"] = json!(conditions);
                }
                if !blue_green && new_rs.is_some_and(|rs| int(&rs["spec"]["replicas"], 0) != 0) {
                    let _ = c.fake.patch(
                        "apps/v1",
                        "ReplicaSet",
                        Some(ns),
                        &rs_name,
                        json!({"spec": {"replicas": 0}}),
                    );
                }
            }
            Some(_) if spec["paused"] == true => {}
            Some(_) => {
                if aborted_condition(&status) {
                    // Retried: the update starts over.
                    restart_update(&mut status);
                }
                let paused = status["pauseConditions"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty());
                // A promotion cleared the pause conditions: the controller moves on.
                let unpausing = !paused && status["controllerPause"] == true;
                if unpausing {
                    status["controllerPause"] = Value::Null;
                    if !blue_green {
                        let i = status["currentStepIndex"].as_u64().unwrap_or(0);
                        status["currentStepIndex"] = json!(i + 1);
                    }
                }
                if status["promoteFull"] == true {
                    status["promoteFull"] = Value::Null;
                    promote(&mut status);
                } else if !paused || unpausing {
                    let strategy = if blue_green {
                        walk_blue_green(
                            &spec["strategy"]["blueGreen"],
                            &mut status,
                            &current,
                            unpausing,
                        )
                    } else {
                        let steps = spec["strategy"]["canary"]["steps"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        walk_canary(&steps, &mut status)
                    };
                    match strategy {
                        Ok(true) if available >= replicas => promote(&mut status),
                        Ok(_) => {}
                        // analysis.go: a failed run aborts the update.
                        Err(()) => status["abort"] = json!(true),
                    }
                }
            }
        }
        // Old ReplicaSets go once the current one is stable.
        if status["stableRS"] == current.as_str() {
            for old in sets
                .iter()
                .filter(|rs| name(rs) != rs_name && int(&rs["spec"]["replicas"], 0) != 0)
            {
                let _ = c.fake.patch(
                    "apps/v1",
                    "ReplicaSet",
                    Some(ns),
                    name(old),
                    json!({"spec": {"replicas": 0}}),
                );
            }
        }
        let (phase, message) = rollout_phase(spec, &status, replicas);
        status["phase"] = json!(phase);
        status["message"] = json!(message);
        c.set_status(&ro, status);
    }
}

/// rolloututil.go `CalculateRolloutPhase`.
fn rollout_phase(spec: &Value, status: &Value, replicas: i64) -> (&'static str, String) {
    for c in status["conditions"].as_array().into_iter().flatten() {
        if c["type"] == "InvalidSpec" {
            return (
                "Degraded",
                format!("InvalidSpec: {}", c["message"].as_str().unwrap_or("")),
            );
        }
        if let Some(reason @ (ABORTED | "ProgressDeadlineExceeded")) = c["reason"].as_str() {
            return (
                "Degraded",
                format!("{reason}: {}", c["message"].as_str().unwrap_or("")),
            );
        }
    }
    if spec["paused"] == true {
        return ("Paused", "manually paused".into());
    }
    if let Some(p) = status["pauseConditions"].as_array().and_then(|p| p.first()) {
        return ("Paused", p["reason"].as_str().unwrap_or("").to_string());
    }
    let int_of = |f: &str| status[f].as_i64().unwrap_or(0);
    if int_of("updatedReplicas") < replicas {
        return ("Progressing", "more replicas need to be updated".into());
    }
    if int_of("availableReplicas") < int_of("updatedReplicas") {
        return (
            "Progressing",
            "updated replicas are still becoming available".into(),
        );
    }
    let current = status["currentPodHash"].as_str().unwrap_or("");
    let stable = status["stableRS"].as_str().unwrap_or("");
    if spec["strategy"]["blueGreen"].is_object() {
        if status["blueGreen"]["activeSelector"]
            .as_str()
            .is_none_or(|a| a != current)
        {
            return ("Progressing", "active service cutover pending".into());
        }
        if stable.is_empty() || stable != current {
            return (
                "Progressing",
                "waiting for post-promotion verification to complete".into(),
            );
        }
    } else if spec["strategy"]["canary"].is_object() {
        if spec["strategy"]["canary"]["trafficRouting"].is_null()
            && int_of("replicas") > int_of("updatedReplicas")
        {
            return ("Progressing", "old replicas are pending termination".into());
        }
        if stable.is_empty() || stable != current {
            return ("Progressing", "waiting for all steps to complete".into());
        }
    }
    ("Healthy", String::new())
}

/// What a container that ran to completion (an init container, or a Job's) left behind
/// (the kubelet calls this).
pub fn on_container_completed(c: &Ctx, pod: &Value, container: &Value) {
    let image = container["image"].as_str().unwrap_or("");
    let words: Vec<&str> = container["command"]
        .as_array()
        .into_iter()
        .chain(container["args"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let create_secret = |ns: &str, secret: &str, data: Value| {
        if c.get("v1", "Secret", Some(ns), secret).is_none() {
            let _ = c.fake.create(
                json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": secret, "namespace": ns}, "data": data}),
            );
        }
    };
    // kube-webhook-certgen `create --secret-name=S --namespace=N`.
    if image.contains("kube-webhook-certgen") && words.first() == Some(&"create") {
        let flag = |key: &str| {
            words
                .iter()
                .find_map(|a| a.strip_prefix(&format!("{key}=")).map(str::to_string))
        };
        if let Some(secret) = flag("--secret-name") {
            let ns = flag("--namespace").unwrap_or_else(|| namespace(pod).to_string());
            create_secret(
                &ns,
                &secret,
                json!({"ca": "c2ltdWxhdGVk", "cert": "c2ltdWxhdGVk", "key": "c2ltdWxhdGVk"}),
            );
        }
    }
    // Argo CD's redis secret-init: `argocd admin redis-initial-password` creates Secret
    // argocd-redis (key auth) in its namespace (argo-cd v3.5.1
    // cmd/argocd/commands/admin/redis_initial_password.go).
    if words
        .windows(2)
        .any(|w| w == ["admin", "redis-initial-password"])
    {
        create_secret(
            namespace(pod),
            "argocd-redis",
            json!({"auth": "c2ltdWxhdGVk"}),
        );
    }
}
