//! The workload controllers of kube-controller-manager (Kubernetes 1.36), reduced to what
//! decides the statuses Argo CD reads:
//!
//! - Deployment (pkg/controller/deployment): one ReplicaSet per pod template
//!   (`<name>-<pod-template-hash>`), old ones scaled down (first, when the strategy allows no
//!   surge or is Recreate; else once the new one is available); status counts from the
//!   ReplicaSets, conditions Available / Progressing, ReplicaFailure copied from the new set.
//!   Not modelled: progressDeadlineSeconds (a stuck Deployment stays Progressing), maxUnavailable
//!   arithmetic, minReadySeconds.
//! - ReplicaSet (pkg/controller/replicaset): creates and deletes pods to `spec.replicas`; a pod
//!   the API server refuses (its ServiceAccount does not exist: the ServiceAccount admission
//!   plugin) sets ReplicaFailure True, reason FailedCreate.
//! - StatefulSet (pkg/controller/statefulset): pods `<name>-<ordinal>`, OrderedReady (the next
//!   pod only once the previous is Ready) unless Parallel, PVCs from volumeClaimTemplates,
//!   revisions `<name>-<hash>`, pods of an old revision replaced from the highest ordinal.
//! - DaemonSet (pkg/controller/daemon): one pod per node whose labels and taints admit the
//!   template, pinned by node affinity and placed by the scheduler.
//! - Job (pkg/controller/job): pods until `completions` succeeded (`parallelism` at a time);
//!   then SuccessCriteriaMet and Complete; `suspend` → Suspended.

use super::{Ctx, hash, int, name, namespace, owned_by, owner_ref, selector_matches, uid};
use serde_json::{Value, json};

fn active(pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    phase != "Succeeded" && phase != "Failed" && pod["metadata"]["deletionTimestamp"].is_null()
}

pub fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Creates a pod from `template`, as the API server admits it (the ServiceAccount admission
/// plugin refuses a pod whose ServiceAccount does not exist).
fn create_pod(
    c: &Ctx,
    owner: &Value,
    template: &Value,
    name: Option<String>,
    extra_labels: Value,
    spec_patch: Value,
) -> Result<(), String> {
    let ns = namespace(owner);
    let mut spec = template["spec"].clone();
    let sa = spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .unwrap_or("default")
        .to_string();
    spec["serviceAccountName"] = json!(sa);
    if spec["restartPolicy"].is_null() {
        spec["restartPolicy"] = json!("Always");
    }
    json_merge(&mut spec, &spec_patch);
    let pod_name = name
        .clone()
        .unwrap_or_else(|| format!("{}-", super::name(owner)));
    if c.get("v1", "ServiceAccount", Some(ns), &sa).is_none() {
        return Err(format!(
            "pods \"{pod_name}\" is forbidden: error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"
        ));
    }
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    json_merge(&mut labels, &extra_labels);
    let mut metadata = json!({
        "namespace": ns, "labels": labels, "ownerReferences": owner_ref(owner),
        "annotations": template["metadata"]["annotations"],
    });
    match name {
        Some(n) => metadata["name"] = json!(n),
        None => metadata["generateName"] = json!(pod_name),
    }
    c.fake
        .create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}))
        .map(|_| ())
        .map_err(|e| e.message)
}

fn json_merge(base: &mut Value, patch: &Value) {
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            match b.get_mut(k) {
                Some(existing) if existing.is_object() && v.is_object() => json_merge(existing, v),
                _ => {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn delete(c: &Ctx, obj: &Value) {
    let ns = namespace(obj);
    let ns = (!ns.is_empty()).then_some(ns);
    let _ = c.fake.delete(
        obj["apiVersion"].as_str().unwrap_or(""),
        obj["kind"].as_str().unwrap_or(""),
        ns,
        name(obj),
    );
}

fn condition(type_: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": if status { "True" } else { "False" }, "reason": reason, "message": message})
}

pub fn deployments(c: &Ctx) {
    for d in c.list("apps/v1", "Deployment", None) {
        let ns = namespace(&d);
        let replicas = int(&d["spec"]["replicas"], 1);
        let template = &d["spec"]["template"];
        let h = hash(template);
        let new_name = format!("{}-{h}", name(&d));
        let sets: Vec<Value> = c
            .list("apps/v1", "ReplicaSet", Some(ns))
            .into_iter()
            .filter(|rs| owned_by(rs, &d))
            .collect();
        let paused = d["spec"]["paused"] == true;
        let new = sets.iter().find(|rs| name(rs) == new_name).cloned();
        if !paused {
            let no_surge = d["spec"]["strategy"]["type"] == "Recreate"
                || d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
                || d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "0%";
            let new_available = new
                .as_ref()
                .map_or(0, |rs| int(&rs["status"]["availableReplicas"], 0));
            for old in sets.iter().filter(|rs| name(rs) != new_name) {
                if int(&old["spec"]["replicas"], 0) != 0 && (no_surge || new_available >= replicas)
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
            let old_pods: i64 = sets
                .iter()
                .filter(|rs| name(rs) != new_name)
                .map(|rs| int(&rs["status"]["replicas"], 0))
                .sum();
            // Recreate waits for the old pods to go first.
            let may_scale_up = d["spec"]["strategy"]["type"] != "Recreate" || old_pods == 0;
            match &new {
                None if may_scale_up => {
                    let mut labels = template["metadata"]["labels"].clone();
                    labels["pod-template-hash"] = json!(h);
                    let mut selector = d["spec"]["selector"].clone();
                    selector["matchLabels"]["pod-template-hash"] = json!(h);
                    let mut tpl = template.clone();
                    tpl["metadata"]["labels"] = labels.clone();
                    let _ = c.fake.create(json!({
                        "apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": new_name, "namespace": ns, "labels": labels,
                                     "ownerReferences": owner_ref(&d)},
                        "spec": {"replicas": replicas, "selector": selector, "template": tpl},
                    }));
                }
                Some(rs) if int(&rs["spec"]["replicas"], 1) != replicas && may_scale_up => {
                    let _ = c.fake.patch(
                        "apps/v1",
                        "ReplicaSet",
                        Some(ns),
                        &new_name,
                        json!({"spec": {"replicas": replicas}}),
                    );
                }
                _ => {}
            }
        }
        let sum = |field: &str| -> i64 { sets.iter().map(|rs| int(&rs["status"][field], 0)).sum() };
        let updated = new
            .as_ref()
            .map_or(0, |rs| int(&rs["status"]["replicas"], 0));
        let available = sum("availableReplicas");
        let total = sum("replicas");
        let complete = updated == replicas && total == replicas && available >= replicas;
        let mut conditions = vec![
            condition(
                "Available",
                available >= replicas,
                if available >= replicas {
                    "MinimumReplicasAvailable"
                } else {
                    "MinimumReplicasUnavailable"
                },
                if available >= replicas {
                    "Deployment has minimum availability."
                } else {
                    "Deployment does not have minimum availability."
                },
            ),
            if complete {
                condition(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                )
            } else {
                condition(
                    "Progressing",
                    true,
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{new_name}\" is progressing."),
                )
            },
        ];
        if let Some(f) = new.as_ref().and_then(|rs| {
            rs["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "ReplicaFailure").cloned())
        }) {
            conditions.push(f);
        }
        let status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": total, "updatedReplicas": updated,
            "readyReplicas": sum("readyReplicas"), "availableReplicas": available,
            "unavailableReplicas": (replicas - available).max(0),
            "conditions": conditions,
        });
        c.set_status(&d, status);
    }
}

pub fn replica_sets(c: &Ctx) {
    for rs in c.list("apps/v1", "ReplicaSet", None) {
        let want = int(&rs["spec"]["replicas"], 1);
        let pods: Vec<Value> = c.pods_of(&rs).into_iter().filter(active).collect();
        let mut failure = None;
        if (pods.len() as i64) < want {
            for _ in pods.len() as i64..want {
                if let Err(e) =
                    create_pod(c, &rs, &rs["spec"]["template"], None, json!({}), json!({}))
                {
                    failure = Some(e);
                    break;
                }
            }
        } else {
            for pod in pods.iter().skip(want as usize) {
                delete(c, pod);
            }
        }
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let mut status = json!({
            "observedGeneration": rs["metadata"]["generation"],
            "replicas": pods.len().min(want as usize), "fullyLabeledReplicas": pods.len().min(want as usize),
            "readyReplicas": ready, "availableReplicas": ready,
        });
        if let Some(message) = failure {
            status["conditions"] =
                json!([condition("ReplicaFailure", true, "FailedCreate", &message)]);
        }
        c.set_status(&rs, status);
    }
}

pub fn stateful_sets(c: &Ctx) {
    for sts in c.list("apps/v1", "StatefulSet", None) {
        let (ns, sname) = (namespace(&sts), name(&sts));
        let replicas = int(&sts["spec"]["replicas"], 1);
        let revision = format!("{sname}-{}", hash(&sts["spec"]["template"]));
        let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
        let pods = c.pods_of(&sts);
        let pod = |i: i64| pods.iter().find(|p| name(p) == format!("{sname}-{i}"));
        // Replace one pod of an old revision, highest ordinal first, when the rest are ready.
        let all_ready = (0..replicas).all(|i| pod(i).is_some_and(pod_ready));
        let stale = (0..replicas)
            .rev()
            .filter_map(pod)
            .find(|p| p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str());
        if let Some(stale) = stale
            && sts["spec"]["updateStrategy"]["type"] != "OnDelete"
            && (all_ready || parallel)
        {
            delete(c, stale);
        }
        let mut failure = None;
        for i in 0..replicas {
            if pod(i).is_some() {
                continue;
            }
            if !parallel && (0..i).any(|j| !pod(j).is_some_and(pod_ready)) {
                break;
            }
            let pod_name = format!("{sname}-{i}");
            let mut volumes = Vec::new();
            for tpl in sts["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let claim = format!("{}-{pod_name}", name(tpl));
                if c.get("v1", "PersistentVolumeClaim", Some(ns), &claim)
                    .is_none()
                {
                    let _ = c.fake.create(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim, "namespace": ns, "labels": tpl["metadata"]["labels"]},
                        "spec": tpl["spec"]}));
                }
                volumes.push(
                    json!({"name": name(tpl), "persistentVolumeClaim": {"claimName": claim}}),
                );
            }
            let mut spec_patch =
                json!({"hostname": pod_name, "subdomain": sts["spec"]["serviceName"]});
            if !volumes.is_empty() {
                let mut all = sts["spec"]["template"]["spec"]["volumes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                all.extend(volumes);
                spec_patch["volumes"] = json!(all);
            }
            let labels = json!({"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                                "apps.kubernetes.io/pod-index": i.to_string()});
            if let Err(e) = create_pod(
                c,
                &sts,
                &sts["spec"]["template"],
                Some(pod_name),
                labels,
                spec_patch,
            ) {
                failure = Some(e);
                break;
            }
            if !parallel {
                break;
            }
        }
        let current: Vec<&Value> = (0..replicas).filter_map(pod).collect();
        let updated = current
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count() as i64;
        let ready = current.iter().filter(|p| pod_ready(p)).count();
        let current_revision = if updated == replicas {
            revision.clone()
        } else {
            sts["status"]["currentRevision"]
                .as_str()
                .unwrap_or(&revision)
                .to_string()
        };
        let mut status = json!({
            "observedGeneration": sts["metadata"]["generation"], "replicas": current.len(),
            "readyReplicas": ready, "availableReplicas": ready,
            "currentReplicas": if current_revision == revision { updated } else { current.len() as i64 - updated },
            "updatedReplicas": updated, "currentRevision": current_revision, "updateRevision": revision,
            "collisionCount": 0,
        });
        if let Some(m) = failure {
            status["conditions"] = json!([condition("ReplicaFailure", true, "FailedCreate", &m)]);
        }
        c.set_status(&sts, status);
    }
}

pub fn daemon_sets(c: &Ctx) {
    let nodes = c.list("v1", "Node", None);
    for ds in c.list("apps/v1", "DaemonSet", None) {
        let template = &ds["spec"]["template"];
        let h = hash(template);
        // The daemon controller adds tolerations for node conditions, not for the control-plane taint.
        let eligible: Vec<&Value> = nodes
            .iter()
            .filter(|n| {
                super::pods::node_fits_selectors(&template["spec"], n)
                    && super::pods::tolerates(&template["spec"], n)
            })
            .collect();
        let pods = c.pods_of(&ds);
        let on_node = |node: &str| -> Option<&Value> {
            pods.iter().find(|p| {
                p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0] == node
            })
        };
        let on_delete = ds["spec"]["updateStrategy"]["type"] == "OnDelete";
        for node in &eligible {
            let node_name = super::name(node);
            match on_node(node_name) {
                Some(p)
                    if !on_delete
                        && p["metadata"]["labels"]["controller-revision-hash"] != h.as_str() =>
                {
                    delete(c, p)
                }
                Some(_) => {}
                None => {
                    let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}});
                    let _ = create_pod(
                        c,
                        &ds,
                        template,
                        None,
                        json!({"controller-revision-hash": h}),
                        json!({"affinity": affinity}),
                    );
                }
            }
        }
        let scheduled: Vec<&Value> = eligible
            .iter()
            .filter_map(|n| on_node(super::name(n)))
            .collect();
        let ready = scheduled.iter().filter(|p| pod_ready(p)).count();
        let updated = scheduled
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == h.as_str())
            .count();
        let status = json!({
            "observedGeneration": ds["metadata"]["generation"], "desiredNumberScheduled": eligible.len(),
            "currentNumberScheduled": scheduled.len(), "numberMisscheduled": 0, "numberReady": ready,
            "numberAvailable": ready, "updatedNumberScheduled": updated,
            "numberUnavailable": eligible.len() - ready,
        });
        c.set_status(&ds, status);
    }
}

pub fn jobs(c: &Ctx) {
    for job in c.list("batch/v1", "Job", None) {
        let status = &job["status"];
        let done = status["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
            })
        });
        if done {
            continue;
        }
        if job["spec"]["suspend"] == true {
            let mut s = status.clone();
            s["conditions"] = json!([condition(
                "Suspended",
                true,
                "JobSuspended",
                "Job suspended"
            )]);
            c.set_status(&job, s);
            continue;
        }
        let completions = int(&job["spec"]["completions"], 1);
        let parallelism = int(&job["spec"]["parallelism"], 1);
        let pods = c.pods_of(&job);
        let succeeded = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count() as i64;
        let running: Vec<&Value> = pods.iter().filter(|p| active(p)).collect();
        let mut active_count = running.len() as i64;
        if succeeded >= completions {
            let now = fake_apiserver::now_rfc3339();
            c.set_status(&job, json!({
                "startTime": status["startTime"].as_str().unwrap_or(&now), "completionTime": now,
                "succeeded": succeeded, "active": 0, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": [
                    condition("SuccessCriteriaMet", true, "CompletionsReached", "Reached expected number of succeeded pods"),
                    condition("Complete", true, "CompletionsReached", "Reached expected number of succeeded pods"),
                ],
            }));
            continue;
        }
        while active_count < parallelism && succeeded + active_count < completions {
            let labels = json!({"batch.kubernetes.io/job-name": name(&job), "job-name": name(&job),
                "batch.kubernetes.io/controller-uid": uid(&job), "controller-uid": uid(&job)});
            if create_pod(c, &job, &job["spec"]["template"], None, labels, json!({})).is_err() {
                break;
            }
            active_count += 1;
        }
        let ready = running.iter().filter(|p| pod_ready(p)).count();
        let now = fake_apiserver::now_rfc3339();
        c.set_status(
            &job,
            json!({
                "startTime": status["startTime"].as_str().unwrap_or(&now),
                "active": running.len(), "succeeded": succeeded, "ready": ready, "terminating": 0,
                "uncountedTerminatedPods": {},
            }),
        );
    }
}

/// Whether a selector-based workload's pods match (used by Services and HPAs).
pub fn pods_selected(c: &Ctx, ns: &str, selector: &Value) -> Vec<Value> {
    c.list("v1", "Pod", Some(ns))
        .into_iter()
        .filter(|p| active(p) && selector_matches(selector, &p["metadata"]["labels"]))
        .collect()
}
